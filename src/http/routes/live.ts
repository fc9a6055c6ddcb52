/**
 * Server-sent events from the store's change feed (issue 14: open admin views update when an
 * entry changes through the API, on disk or on another node). Fetch-based clients send the token
 * as a header, so no secret sits in the URL; tokens themselves are never reported.
 */
import type { FastifyInstance } from 'fastify';
import { isReservedId } from '../../core/entries/service.js';
import type { StoreChange } from '../../core/store/store.js';
import { HttpError } from '../errors.js';
import { paramsOf } from '../params.js';
import { OPERATIONS as OPS } from '../openapi/operations.js';
import type { RouteContext } from './context.js';

export const LIVE_PATHS = { '/api/v1/changes': ['GET'] };

/** Streams open at once, in all: each holds a connection and a listener. */
const MAX_STREAMS = 256;
/** A stream ends after this long: the client reconnects, and so authenticates again (a revoked token stops). */
const STREAM_LIFETIME_MS = 5 * 60_000;
/** A comment line now and then keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** A client that reads slower than changes come is dropped rather than buffered without end. */
const MAX_BUFFERED = 1 << 20;

export function liveRoutes(app: FastifyInstance, { cms, guard }: RouteContext): void {
  let open = 0;
  const streams = new Set<() => void>();
  // Closing the server ends the streams first (they would hold it open otherwise).
  app.addHook('preClose', (done) => {
    for (const finish of [...streams]) finish();
    done();
  });
  app.get('/api/v1/changes', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.watchChanges);
    if (open >= MAX_STREAMS) throw new HttpError('service_unavailable', 'too many change streams are open; retry in 5 s', { 'retry-after': '5' });
    open++;
    const res = reply.raw;
    // The pipeline's headers so far (request id, CORS) go out with the stream's own.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = String(value);
    reply.hijack();
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    const send = (text: string) => {
      if (res.writableLength > MAX_BUFFERED) return finish();
      res.write(text);
    };
    send(`retry: 2000\n: ${cms.store.entryCount} entries\n\nevent: ready\ndata: {}\n\n`);
    const unsubscribe = cms.store.onChange((change: StoreChange) => {
      if (change.kind === 'clear') return send('event: clear\ndata: {}\n\n');
      if (isReservedId(change.id)) return;
      send(`event: change\ndata: ${JSON.stringify({ kind: change.kind, id: change.id, origin: change.origin })}\n\n`);
    });
    const heartbeat = setInterval(() => send(': ping\n\n'), HEARTBEAT_MS);
    const lifetime = setTimeout(() => finish(), STREAM_LIFETIME_MS);
    heartbeat.unref();
    lifetime.unref();
    let finished = false;
    function finish(): void {
      if (finished) return;
      finished = true;
      open--;
      streams.delete(finish);
      unsubscribe();
      clearInterval(heartbeat);
      clearTimeout(lifetime);
      res.end();
    }
    streams.add(finish);
    res.on('close', finish);
    request.raw.on('close', finish);
  });
}
