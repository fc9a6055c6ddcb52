/**
 * One delivery attempt (a signed POST with a time limit), the backoff between attempts, and the
 * delivery log (var/webhooks/deliveries.jsonl: the last attempts, for `flextype webhooks:log`).
 */
import { appendFile, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { loadManifest } from '../settings.js';
import type { Endpoint, WebhookEvent } from './events.js';
import { readJsonLines, writeFileAtomic } from './outbox.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface AttemptResult {
  ok: boolean;
  /** The HTTP status, or null when none came (refused, timed out…). */
  status: number | null;
  duration_ms: number;
  error?: string;
}

export interface LogRecord extends AttemptResult {
  at: string;
  endpoint: string;
  event: string;
  event_id: string;
  attempt: number;
  /** Set on the last attempt of an event: delivered, or failed (given up). */
  outcome?: 'delivered' | 'failed';
  /** Who attempted it: the server, or a CLI command (test, redeliver). */
  by: 'server' | 'cli';
}

const userAgent = `flextype-ts-webhooks/${loadManifest().version}`;

function reasonOf(err: unknown): string {
  const error = err as Error & { code?: string };
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

/**
 * POSTs the event, signed; a 2xx status is success, anything else (redirects too: never followed,
 * the operator named this URL) a failure. One connection per attempt, closed after it (a CLI command
 * ends at once; a receiver that hangs holds nothing of ours past the timeout).
 */
export function attemptDelivery(endpoint: Endpoint, event: WebhookEvent, timeoutSeconds: number, stop?: AbortSignal): Promise<AttemptResult> {
  const body = JSON.stringify({ id: event.id, event: event.event, occurred_at: event.occurred_at, data: event.data });
  const timeoutMs = Math.round(timeoutSeconds * 1000);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(endpoint.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const request = send(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'user-agent': userAgent,
          [EVENT_HEADER]: event.event,
          [DELIVERY_HEADER]: event.id,
          [SIGNATURE_HEADER]: signatureHeader(endpoint.secret, body),
        },
      },
      (response) => {
        // The answer's body is not needed (and could be large): only its status counts.
        response.resume();
        const status = response.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        finish(ok ? { ok, status, duration_ms: elapsed() } : { ok, status, duration_ms: elapsed(), error: `HTTP ${status}` });
        request.destroy();
      },
    );
    let done = false;
    const failWith = (error: string) => {
      finish({ ok: false, status: null, duration_ms: elapsed(), error });
      request.destroy();
    };
    const onStop = () => failWith('stopped (server shutting down)');
    const timer = setTimeout(() => failWith(`no answer within ${timeoutSeconds} s`), timeoutMs);
    const finish = (result: AttemptResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop?.removeEventListener('abort', onStop);
      resolve(result);
    };
    if (stop?.aborted) return failWith('stopped (server shutting down)');
    stop?.addEventListener('abort', onStop);
    request.on('error', (err) => finish({ ok: false, status: null, duration_ms: elapsed(), error: reasonOf(err) }));
    request.end(body);
  });
}

/** Milliseconds to wait after failed attempt `attempt` (1-based): exponential, capped, with jitter. */
export function backoffMs(attempt: number, baseSeconds: number, maxSeconds: number, random = Math.random): number {
  const full = Math.min(maxSeconds, baseSeconds * 2 ** (attempt - 1)) * 1000;
  // Between half and all of it: endpoints failing together do not retry in lockstep.
  return Math.round(full / 2 + (random() * full) / 2);
}

export function deliveryLogFile(dir: string): string {
  return path.join(dir, 'deliveries.jsonl');
}

export function failedFile(dir: string): string {
  return path.join(dir, 'failed.jsonl');
}

/** An append-only JSON-lines file kept to its last `size` lines (trimmed when twice as long). */
export class BoundedLog {
  private lines = -1;

  constructor(
    private readonly file: string,
    private readonly size: number,
  ) {}

  async append(record: object): Promise<void> {
    // One write per line, in append mode: a CLI command may add lines while the server does.
    await appendFile(this.file, JSON.stringify(record) + '\n', { mode: 0o600 });
    if (this.lines < 0) this.lines = (await readJsonLines(this.file)).length;
    else this.lines++;
    if (this.lines > this.size * 2) await this.trim();
  }

  private async trim(): Promise<void> {
    const text = await readFile(this.file, 'utf8');
    const kept = text.split('\n').filter((line) => line !== '').slice(-this.size);
    await writeFileAtomic(this.file, kept.map((line) => line + '\n').join(''), false);
    this.lines = kept.length;
  }
}
