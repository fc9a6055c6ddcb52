/**
 * The hottest call — GET one entry with a `token` query parameter — answered straight from the
 * caches, before Fastify's request machinery, when everything is the plain success case: known
 * route, plain query string (`id` and `token` only), cached entry, cached and usable token, an
 * answer sent without compression. Anything else (errors included) returns false and goes the full
 * way, so every refusal and every error keeps one implementation. It is a shortcut through the
 * pipeline (request id, CORS, negotiation, ETag, metrics, access log are the pipeline's), not
 * around it, and its answer is byte for byte what the full path sends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cms } from '../core/cms.js';
import type { FailureBrake } from './auth.js';
import { decodeLimitsOf, decodePlainQuery } from './body.js';
import { REQUEST_ID_HEADER, type Pipeline } from './pipeline/index.js';
import { withVary } from './pipeline/negotiation.js';
import { JSON_TYPE } from './reply.js';

const ENTRIES_PATH = '/api/v1/entries';

/** Query strings decoded lately: the same few URLs come again and again, and decoding is pure. */
const DECODED_MAX = 1024;
/** `key`: the entry id as the cache knows it (entries.peekKey), made once per query string. */
type Decoded = { key: string; token: string } | null;

export function createFastPath(cms: Cms, brake: FailureBrake, pipeline: Pipeline): (req: IncomingMessage, res: ServerResponse) => boolean {
  const settings = cms.settings;
  // Client addresses behind a proxy come from headers: leave that to Fastify's trustProxy.
  const usable = settings.server.trust_proxy === false;
  const cacheControl = pipeline.cacheControl;
  const limits = decodeLimitsOf(settings);
  const metrics = pipeline.metrics;
  // Resolved once: counting an answer is then a few additions.
  const ok = pipeline.slot('GET', ENTRIES_PATH, 200);
  const notModified = pipeline.slot('GET', ENTRIES_PATH, 304);
  const decoded = new Map<string, Decoded>();
  /** Entry key and token of a plain `id=…&token=…` query (through the full path's decoder), else null. */
  const decode = (query: string): Decoded => {
    let found = decoded.get(query);
    if (found === undefined) {
      const params = decodePlainQuery(query, limits);
      const id = params?.['id'];
      const token = params?.['token'];
      const key = typeof id === 'string' ? cms.entries.peekKey(id) : undefined;
      found = key !== undefined && typeof token === 'string' && token !== '' && Object.keys(params!).length === 2 ? { key, token } : null;
      // Bounded whatever clients send: forgotten all at once when full.
      if (decoded.size >= DECODED_MAX) decoded.clear();
      decoded.set(query, found);
    }
    return found;
  };
  const miss = (): false => {
    if (metrics) metrics.fastPathMisses++;
    return false;
  };
  /** An answer's bytes and constant headers, prepared once per answer rather than per request. */
  const prepared = new PreparedAnswers(cacheControl, (length) => pipeline.mayCompress(length));
  return (req, res) => {
    if (!usable || req.method !== 'GET') return false;
    const url = req.url ?? '';
    const mark = url.indexOf('?');
    if (mark !== ENTRIES_PATH.length || !url.startsWith(ENTRIES_PATH)) return false;
    const started = pipeline.now();
    const headers = wantedHeaders(req.rawHeaders);
    if (headers === null) return miss();
    // The full path's own decoder (its plain case): any other query goes the full way.
    const params = decode(url.slice(mark + 1));
    if (params === null) return miss();
    const { key, token } = params;
    const remote = req.socket.remoteAddress;
    if (brake.isBlocked(remote ?? '')) return miss();
    const entry = cms.entries.peekByKey(key);
    // Only answers ready without work: plain entries, or renderings still valid in the cache.
    const answer = entry && cms.entries.peekAnswer(entry);
    if (!answer) return miss();
    // Compressed answers are the full path's business (compression is asynchronous).
    if (pipeline.codingFor(headers.acceptEncoding, answer.json.length) !== undefined) return miss();
    // Last: this counts the call, so from here on the answer is ours.
    if (!cms.tokens.countCachedRead('entries', 'entries:read', token)) return miss();
    if (metrics) metrics.fastPathHits++;
    const requestId = pipeline.requestId(headers.requestId);
    const ready = prepared.of(answer);
    // In the full path's order: request id and CORS (its onRequest hook), then the answer's own.
    const corsHeaders = pipeline.cors.headersFor(headers.origin);
    let status: 200 | 304 = 200;
    let bytes = 0;
    if (pipeline.notModified(headers.ifNoneMatch, answer.etag)) {
      status = 304;
      res.writeHead(304, flatHead(requestId, prepared.corsPairs(corsHeaders, false).pairs, ready.notModifiedPairs));
      res.end();
    } else {
      bytes = ready.body.length;
      const cors = prepared.corsPairs(corsHeaders, ready.mayCompress);
      // Accept-Encoding joins CORS's Vary where there is one, else has its own after the content type.
      const own = ready.mayCompress && !cors.hasVary ? ready.okPairsWithVary : ready.okPairs;
      res.writeHead(200, flatHead(requestId, cors.pairs, own));
      res.end(ready.body);
    }
    pipeline.finish({ id: requestId, method: 'GET', route: ENTRIES_PATH, url, status, bytes, remote, started }, status === 200 ? ok : notModified);
    return true;
  };
}

/** The request headers the fast path reads. */
interface WantedHeaders {
  acceptEncoding: string | undefined;
  origin: string | undefined;
  ifNoneMatch: string | undefined;
  requestId: string | undefined;
}

/**
 * The headers the fast path reads, straight from the raw list, or null when the request is not
 * its case (credentials in headers; any of these headers repeated, which Node would join or drop).
 * Hand-written because `req.headers` builds an object of every header on first read, which costs
 * more than the whole rest of this answer; this reads only the few that matter.
 */
export function wantedHeaders(raw: string[]): WantedHeaders | null {
  const found: WantedHeaders = { acceptEncoding: undefined, origin: undefined, ifNoneMatch: undefined, requestId: undefined };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // Only names of the wanted lengths are lowercased and compared.
    switch (name.length) {
      case 6:
        if (name.toLowerCase() !== 'origin') break;
        if (found.origin !== undefined) return null;
        found.origin = raw[i + 1]!;
        break;
      case 12:
        if (name.toLowerCase() !== REQUEST_ID_HEADER) break;
        if (found.requestId !== undefined) return null;
        found.requestId = raw[i + 1]!;
        break;
      case 13: {
        const lower = name.toLowerCase();
        if (lower === 'authorization') return null;
        if (lower !== 'if-none-match') break;
        if (found.ifNoneMatch !== undefined) return null;
        found.ifNoneMatch = raw[i + 1]!;
        break;
      }
      case 14:
        if (name.toLowerCase() === 'x-access-token') return null;
        break;
      case 15:
        if (name.toLowerCase() !== 'accept-encoding') break;
        if (found.acceptEncoding !== undefined) return null;
        found.acceptEncoding = raw[i + 1]!;
        break;
    }
  }
  return found;
}

/** writeHead's flat [name, value, name, value, …] form: request id, CORS, then the answer's own. */
function flatHead(requestId: string, cors: readonly string[], own: readonly string[]): string[] {
  const head = new Array<string>(2 + cors.length + own.length);
  head[0] = REQUEST_ID_HEADER;
  head[1] = requestId;
  let at = 2;
  for (let i = 0; i < cors.length; i++) head[at++] = cors[i]!;
  for (let i = 0; i < own.length; i++) head[at++] = own[i]!;
  return head;
}

/**
 * A header value (Latin-1 by HTTP's rules) held one byte per character. Text sliced out of a file
 * with any character beyond Latin-1 (the settings file has some) is held two bytes per character,
 * and a header block holding one such value is converted on every write.
 */
function oneByte(value: string): string {
  return Buffer.from(value, 'latin1').toString('latin1');
}

interface PreparedAnswer {
  etag: string;
  /** The JSON text as UTF-8, encoded once: a string body is re-encoded on every write. */
  body: Buffer;
  /** Whether the answer depends on Accept-Encoding (Vary names it). */
  mayCompress: boolean;
  okPairs: readonly string[];
  /** okPairs with `vary: Accept-Encoding`, for answers whose CORS headers have no Vary. */
  okPairsWithVary: readonly string[];
  notModifiedPairs: readonly string[];
}

interface CorsPairs {
  pairs: readonly string[];
  hasVary: boolean;
}

/** Answers at most this long are remembered prepared; longer ones are prepared per request. */
const PREPARED_MAX_CHARS = 64 * 1024;
/** All prepared answers together hold at most this many body bytes: forgotten all at once when full. */
const PREPARED_BUDGET = 16 * 1024 * 1024;

class PreparedAnswers {
  private readonly byJson = new Map<string, PreparedAnswer>();
  private held = 0;
  /** CORS header sets as flat pairs, with and without Accept-Encoding merged into their Vary. */
  private readonly corsFlat = new WeakMap<object, CorsPairs>();
  private readonly corsFlatCompressible = new WeakMap<object, CorsPairs>();

  private readonly cacheControl: string;

  constructor(
    cacheControl: string,
    private readonly mayCompress: (length: number) => boolean,
  ) {
    this.cacheControl = oneByte(cacheControl);
  }

  of(answer: { etag: string; json: string }): PreparedAnswer {
    // Keyed by the JSON text: the caches hand out the same string object each time, whose hash V8
    // keeps (the ETag is built anew on each read). The ETag must match too.
    const memorable = answer.json.length <= PREPARED_MAX_CHARS;
    const known = memorable ? this.byJson.get(answer.json) : undefined;
    if (known !== undefined && known.etag === answer.etag) return known;
    const body = Buffer.from(answer.json, 'utf8');
    const etag = oneByte(answer.etag);
    const mayCompress = this.mayCompress(answer.json.length);
    const start = ['etag', etag, 'cache-control', this.cacheControl, 'content-type', JSON_TYPE];
    const length = ['content-length', String(body.length)];
    const ready: PreparedAnswer = {
      etag: answer.etag,
      body,
      mayCompress,
      okPairs: [...start, ...length],
      okPairsWithVary: [...start, 'vary', 'Accept-Encoding', ...length],
      notModifiedPairs: ['etag', etag, 'cache-control', this.cacheControl],
    };
    if (memorable) {
      if (this.held + body.length > PREPARED_BUDGET) {
        this.byJson.clear();
        this.held = 0;
      }
      this.held += body.length - (known?.body.length ?? 0);
      this.byJson.set(answer.json, ready);
    }
    return ready;
  }

  /** `cors` as flat pairs; with `mayCompress`, Accept-Encoding joins its Vary when it has one. */
  corsPairs(cors: Readonly<Record<string, string>>, mayCompress: boolean): CorsPairs {
    const memo = mayCompress ? this.corsFlatCompressible : this.corsFlat;
    let found = memo.get(cors);
    if (found === undefined) {
      const pairs: string[] = [];
      for (const name in cors) pairs.push(name, oneByte(mayCompress && name === 'vary' ? withVary(cors[name], 'Accept-Encoding') : cors[name]!));
      found = { pairs, hasVary: 'vary' in cors };
      memo.set(cors, found);
    }
    return found;
  }
}
