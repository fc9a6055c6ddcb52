/** Cache API (SPEC §6): drop every cache; files on disk are the truth and stay untouched. */
import type { FastifyInstance } from 'fastify';
import { paramsOf } from '../params.js';
import type { RouteContext } from './context.js';
import { OPERATIONS as OPS } from '../openapi/operations.js';

export const CACHE_PATHS = { '/api/v1/cache/clear': ['POST'] };

export function cacheRoutes(app: FastifyInstance, { cms, guard }: RouteContext): void {
  app.post('/api/v1/cache/clear', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.clearCache);
    cms.clearCaches();
    return reply.code(204).send();
  });
}
