/** Query API (SPEC §10): evaluates a map of expressions; a scoped token needs entries:read and registry:read. */
import type { FastifyInstance } from 'fastify';
import { runQuery } from '../../core/render/query.js';
import { paramsOf } from '../params.js';
import type { RouteContext } from './context.js';
import { OPERATIONS as OPS } from '../openapi/operations.js';

export const QUERY_PATHS = { '/api/v1/query': ['POST'] };

export function queryRoutes(app: FastifyInstance, { cms, guard, replier }: RouteContext): void {
  app.post('/api/v1/query', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.runQuery);
    const origin = `${request.protocol}://${request.host}`;
    const body = await runQuery(cms, params['query'], { origin, uri: request.url });
    return replier.sendBody(request, reply.header('cache-control', 'no-store'), 200, body);
  });
}
