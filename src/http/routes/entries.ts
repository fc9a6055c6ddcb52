/** Entries API (SPEC §3): thin handlers that parse, authenticate and call the entries service. */
import type { FastifyInstance } from 'fastify';
import { ifMatchOf, paramsOf } from '../params.js';
import { renderCollection } from '../reply.js';
import type { RouteContext } from './context.js';

export const ENTRIES_PATHS = {
  '/api/v1/entries': ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
  '/api/v1/entries/copy': ['PUT'],
};

export function entriesRoutes(app: FastifyInstance, { cms, guard, replier }: RouteContext): void {
  const read = { api: 'entries', scope: 'entries:read', requireAccess: false } as const;
  const write = { api: 'entries', scope: 'entries:write', requireAccess: true } as const;

  app.get('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...read, required: ['id'] });
    const result = await cms.entries.fetch(params['id'], params['options']);
    if (result.kind === 'entry') {
      const body = result.filtered ? JSON.stringify(result.data) : cms.store.jsonOf(result.entry);
      return replier.sendRead(request, reply, body, result.filtered ? undefined : result.entry.etag);
    }
    const { body, total } = renderCollection(result.result);
    if (total !== undefined) reply.header('x-total-count', String(total));
    return replier.sendRead(request, reply, body);
  });

  app.post('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...write, required: ['id'] });
    const entry = await cms.entries.create(params['id'], params['data']);
    reply.header('etag', entry.etag);
    return replier.sendBody(request, reply, 200, cms.store.jsonOf(entry));
  });

  app.patch('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...write, required: ['id', 'data'] });
    const entry = await cms.entries.update(params['id'], params['data'], ifMatchOf(request));
    reply.header('etag', entry.etag);
    return replier.sendBody(request, reply, 200, cms.store.jsonOf(entry));
  });

  app.put('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...write, required: ['id', 'new_id'] });
    const entry = await cms.entries.move(params['id'], params['new_id'], ifMatchOf(request));
    reply.header('etag', entry.etag);
    return replier.sendBody(request, reply, 200, cms.store.jsonOf(entry));
  });

  app.put('/api/v1/entries/copy', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...write, required: ['id', 'new_id'] });
    const entry = await cms.entries.copy(params['id'], params['new_id']);
    reply.header('etag', entry.etag);
    return replier.sendBody(request, reply, 200, cms.store.jsonOf(entry));
  });

  app.delete('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...write, required: ['id'] });
    await cms.entries.delete(params['id'], ifMatchOf(request));
    return reply.code(204).send();
  });
}
