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
type Decoded = { id: string; token: string } | null;

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
  /** id and token of a plain `id=…&token=…` query (through the full path's decoder), else null. */
  const decode = (query: string): Decoded => {
    let found = decoded.get(query);
    if (found === undefined) {
      const params = decodePlainQuery(query, limits);
      const id = params?.['id'];
      const token = params?.['token'];
      found = typeof id === 'string' && typeof token === 'string' && token !== '' && Object.keys(params!).length === 2 ? { id, token } : null;
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
  return (req, res) => {
    if (!usable || req.method !== 'GET') return false;
    const url = req.url ?? '';
    const mark = url.indexOf('?');
    if (mark !== ENTRIES_PATH.length || !url.startsWith(ENTRIES_PATH)) return false;
    const started = pipeline.now();
    const headers = req.headers;
    if (headers.authorization !== undefined || headers['x-access-token'] !== undefined) return miss();
    // The full path's own decoder (its plain case): any other query goes the full way.
    const params = decode(url.slice(mark + 1));
    if (params === null) return miss();
    const { id, token } = params;
    const remote = req.socket.remoteAddress;
    if (brake.isBlocked(remote ?? '')) return miss();
    const entry = cms.entries.peek(id);
    // Only answers ready without work: plain entries, or renderings still valid in the cache.
    const answer = entry && cms.entries.peekAnswer(entry);
    if (!answer) return miss();
    const body = answer.json;
    // Compressed answers are the full path's business (compression is asynchronous).
    if (pipeline.codingFor(headers['accept-encoding'], body.length) !== undefined) return miss();
    // Last: this counts the call, so from here on the answer is ours.
    if (!cms.tokens.authorizeCachedRead('entries', 'entries:read', token)) return miss();
    if (metrics) metrics.fastPathHits++;
    const requestId = pipeline.requestId(headers[REQUEST_ID_HEADER]);
    // In the full path's order: request id and CORS (its onRequest hook), then the answer's own.
    const out: Record<string, string> = {};
    out[REQUEST_ID_HEADER] = requestId;
    // (A loop, not a spread after the id: V8 copies that shape only in its slow runtime path.)
    const cors = pipeline.cors.headersFor(headers.origin);
    for (const name in cors) out[name] = cors[name]!;
    out['etag'] = answer.etag;
    out['cache-control'] = cacheControl;
    let status: 200 | 304 = 200;
    let bytes = 0;
    if (pipeline.notModified(headers['if-none-match'], answer.etag)) {
      status = 304;
      res.writeHead(304, out);
      res.end();
    } else {
      bytes = Buffer.byteLength(body);
      out['content-type'] = JSON_TYPE;
      if (pipeline.mayCompress(body.length)) out['vary'] = withVary(out['vary'], 'Accept-Encoding');
      out['content-length'] = String(bytes);
      res.writeHead(200, out);
      res.end(body);
    }
    pipeline.finish({ id: requestId, method: 'GET', route: ENTRIES_PATH, url, status, bytes, remote, started }, status === 200 ? ok : notModified);
    return true;
  };
}
