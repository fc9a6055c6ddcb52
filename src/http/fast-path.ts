/**
 * The hottest call — GET one entry with a `token` query parameter — answered straight from the
 * caches, before Fastify's request machinery, when everything is the plain success case: known
 * route, plain query string (`id` and `token` only), cached entry, cached and usable token, small
 * body. Anything else (errors included) returns false and goes the full way, so every refusal and
 * every error keeps one implementation. The answer is byte-for-byte what the full path sends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cms } from '../core/cms.js';
import type { FailureBrake } from './auth.js';
import { decodeLimitsOf, decodePlainQuery } from './body.js';
import { etagListIncludes } from '../core/store/store.js';
import { JSON_TYPE } from './reply.js';
import { corsHeaders } from './cors.js';

const ENTRIES_PATH = '/api/v1/entries';

export function createFastPath(cms: Cms, brake: FailureBrake): (req: IncomingMessage, res: ServerResponse) => boolean {
  const settings = cms.settings;
  // Client addresses behind a proxy come from headers: leave that to Fastify's trustProxy.
  const usable = settings.server.trust_proxy === false;
  const cacheControl = settings.server.cache_control;
  const threshold = settings.server.compress_threshold;
  const limits = decodeLimitsOf(settings);
  return (req, res) => {
    if (!usable || req.method !== 'GET') return false;
    const url = req.url ?? '';
    const mark = url.indexOf('?');
    if (mark !== ENTRIES_PATH.length || !url.startsWith(ENTRIES_PATH)) return false;
    const headers = req.headers;
    if (headers.authorization !== undefined || headers['x-access-token'] !== undefined) return false;
    // The full path's own decoder (its plain case): any other query goes the full way.
    const params = decodePlainQuery(url.slice(mark + 1), limits);
    if (!params) return false;
    const { id, token } = params;
    if (typeof id !== 'string' || typeof token !== 'string' || token === '' || Object.keys(params).length !== 2) return false;
    if (brake.isBlocked(req.socket.remoteAddress ?? '')) return false;
    const entry = cms.entries.peek(id);
    // Only answers ready without work: plain entries, or renderings still valid in the cache.
    const answer = entry && cms.entries.peekAnswer(entry);
    if (!answer) return false;
    const body = answer.json;
    if (body.length >= threshold) return false; // compression is the full path's business
    // Last: this counts the call, so from here on the answer is ours.
    if (!cms.tokens.authorizeCachedRead('entries', 'entries:read', token)) return false;
    const out: Record<string, string> = corsHeaders(settings, headers.origin);
    out['etag'] = answer.etag;
    out['cache-control'] = cacheControl;
    if (etagListIncludes(headers['if-none-match'], answer.etag)) {
      res.writeHead(304, out);
      res.end();
      return true;
    }
    out['content-type'] = JSON_TYPE;
    out['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(200, out);
    res.end(body);
    return true;
  };
}
