/**
 * Local control requests of `flextype serve`, used by the CLI on the same machine (cache:clear).
 * They are authenticated by a random secret that `serve` keeps in var/server.json (mode 0600), so
 * whoever may read the project's files may clear its caches, and nobody else. Requests from another
 * machine are answered as if the endpoint did not exist.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Cms } from '../../core/cms.js';
import { sendError } from '../errors.js';

export const CONTROL_SECRET_HEADER = 'x-flextype-control';
export const CONTROL_CACHE_CLEAR_PATH = '/_control/cache/clear';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** True when the request comes from this machine: loopback, or the address it connected to. */
function isLocal(request: FastifyRequest): boolean {
  const remote = request.socket.remoteAddress ?? '';
  return LOOPBACK.test(remote) || remote === request.socket.localAddress;
}

function secretMatches(given: unknown, secret: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function controlRoutes(app: FastifyInstance, cms: Cms, secret: string, log?: { info(msg: string): void }): void {
  if (secret.length < 32) throw new Error('the control secret must have at least 32 characters');
  app.post(CONTROL_CACHE_CLEAR_PATH, async (request, reply) => {
    if (!isLocal(request)) return sendError(reply, 'not_found', `no endpoint POST ${CONTROL_CACHE_CLEAR_PATH}`);
    if (!secretMatches(request.headers[CONTROL_SECRET_HEADER], secret)) {
      return sendError(reply, 'unauthorized', 'the control secret is wrong');
    }
    await cms.clearCaches('cli');
    log?.info('caches cleared (flextype cache:clear)');
    return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify({ cleared: true, pid: process.pid }));
  });
}
