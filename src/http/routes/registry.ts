/** Registry API (SPEC §5): read-only configuration, secrets filtered out. */
import type { FastifyInstance } from 'fastify';
import { badRequest, notFound } from '../../core/errors.js';
import { paramsOf } from '../params.js';
import type { RouteContext } from './context.js';
import { OPERATIONS as OPS } from '../openapi/operations.js';

export const REGISTRY_PATHS = { '/api/v1/registry': ['GET'] };

export function registryRoutes(app: FastifyInstance, { cms, guard, replier }: RouteContext): void {
  app.get('/api/v1/registry', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.getRegistry);
    const id = params['id'];
    if (typeof id !== 'string') throw badRequest('parameter "id" must be a dot path');
    const found = cms.registry.exposed(id);
    let value = found.value;
    if (!found.found) {
      if (params['default'] === undefined) throw notFound(`registry key "${id}" does not exist`);
      value = params['default'];
    }
    return replier.sendRead(request, reply, JSON.stringify({ id, value }));
  });
}
