/**
 * The access log: one JSON line per answered request, in pino's line format (level 30 = info) so
 * that pino-pretty and log shippers read it like the other logs, written to the logger's own
 * destination. Lines are batched and written every FLUSH_MS (or sooner once BATCH_MAX characters
 * wait): a write per request, or even per event-loop turn under load, costs a system call each at
 * tens of thousands of requests a second. Lines still reach the log within FLUSH_MS, and all
 * pending ones at shutdown.
 *
 * A line holds the request id, method, route pattern, URL with credentials redacted, status,
 * duration, body bytes and client address; never a header (so no Authorization, no access token).
 */
import pino, { type Logger } from 'pino';
import { redactUrl } from './redact.js';

export interface AccessRecord {
  id: string;
  method: string;
  /** The route pattern ('unmatched' when no route took the request). */
  route: string;
  url: string;
  status: number;
  /** Milliseconds from the request to its answer. */
  ms: number;
  /** Body bytes sent (compressed size when compressed). */
  bytes: number;
  remote: string | undefined;
}

interface Sink {
  write(text: string): unknown;
}

/** Flush at least this often in characters, even within one turn of the event loop. */
const BATCH_MAX = 64 * 1024;
/** Lines wait at most this long (milliseconds) before they are written. */
const FLUSH_MS = 50;
/** URLs (and route names) as they appear in lines, remembered: the same ones come again and again. */
const QUOTED_MAX = 1024;

export class AccessLog {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly pid = process.pid;
  private readonly quoted = new Map<string, string>();

  private constructor(private readonly sink: Sink) {}

  /** The access log writing where `logger` writes, or undefined when that logger drops info lines. */
  static of(logger: Logger): AccessLog | undefined {
    if (!logger.isLevelEnabled('info')) return undefined;
    // pino keeps its destination under a symbol; everything the logger writes goes there.
    const stream = (logger as unknown as Record<symbol, Sink | undefined>)[pino.symbols.streamSym];
    return stream && typeof stream.write === 'function' ? new AccessLog(stream) : undefined;
  }

  write(record: AccessRecord): void {
    // Hand-made rather than JSON.stringify of an object: the strings that come from the client
    // (id is a checked token, method is one of Node's known methods) are escaped where they can need it.
    this.pending +=
      `{"level":30,"time":${Date.now()},"pid":${this.pid},"reqId":"${record.id}","method":"${record.method}",` +
      `"route":${this.quote(record.route, false)},"url":${this.quote(record.url, true)},"status":${record.status},` +
      `"ms":${Math.round(record.ms * 1000) / 1000},"bytes":${record.bytes},"remote":${record.remote === undefined ? 'null' : JSON.stringify(record.remote)},"msg":"request"}\n`;
    if (this.pending.length >= BATCH_MAX) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      // Never what keeps a process alive: close() flushes what is left.
      this.timer.unref();
    }
  }

  /** A JSON string of `text` (a URL with credentials redacted), remembered; bounded whatever clients send. */
  private quote(text: string, url: boolean): string {
    const key = url ? text : `\0${text}`; // a route name never collides with a URL
    let found = this.quoted.get(key);
    if (found === undefined) {
      found = JSON.stringify(url ? redactUrl(text) : text);
      if (this.quoted.size >= QUOTED_MAX) this.quoted.clear();
      this.quoted.set(key, found);
    }
    return found;
  }

  /** Writes what is pending now (also on close, so no line is lost at shutdown). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.sink.write(text);
  }
}
