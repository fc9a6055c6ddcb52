/** Entries API (SPEC §3): thin handlers that parse, authenticate and call the entries service. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CachedEntry } from '../../core/store/store.js';
import { ifMatchOf, paramsOf } from '../params.js';
import type { RouteContext } from './context.js';
import { OPERATIONS as OPS } from '../openapi/operations.js';

export const ENTRIES_PATHS = {
  '/api/v1/entries': ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
  '/api/v1/entries/copy': ['PUT'],
  '/api/v1/entries/source': ['GET', 'PUT'],
  '/api/v1/entries/preview': ['POST'],
};

export function entriesRoutes(app: FastifyInstance, { cms, guard, replier, heavyQueries }: RouteContext): void {
  // Content may print the request's own URL (`(getAbsoluteUrl)`), so rendering knows it.
  const sessionOf = (request: FastifyRequest) =>
    cms.renderer.session({ origin: `${request.protocol}://${request.headers.host ?? request.hostname}`, uri: request.url });
  // Writes answer the entry as fetched (rendered), with an ETag for a following If-Match.
  const sendEntry = async (request: FastifyRequest, reply: FastifyReply, entry: CachedEntry) => {
    const answer = await cms.entries.answerOf(entry, sessionOf(request));
    return replier.sendBody(request, reply.header('etag', answer.etag), 200, answer.json);
  };

  app.get('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.fetchEntry);
    const result = await cms.entries.fetch(params['id'], params['options'], { admit: heavyQueries.admitFor(reply.raw), session: sessionOf(request) });
    if (result.kind === 'entry') {
      const body = result.filtered ? JSON.stringify(result.data) : result.answer.json;
      return replier.sendRead(request, reply, body, result.filtered ? undefined : result.answer.etag);
    }
    const total = result.result.kind === 'items' || result.result.kind === 'groups' ? result.result.total : undefined;
    if (total !== undefined) reply.header('x-total-count', String(total));
    // Broken entries are left out of collections, and the answer says how many.
    reply.header('x-skipped-count', String(result.skipped.length));
    return replier.sendCollection(request, reply, result.result);
  });

  app.post('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.createEntry);
    return sendEntry(request, reply, await cms.entries.create(params['id'], params['data']));
  });

  app.patch('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.updateEntry);
    return sendEntry(request, reply, await cms.entries.update(params['id'], params['data'], ifMatchOf(request)));
  });

  app.put('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.moveEntry);
    const moved = await cms.entries.move(params['id'], params['new_id'], ifMatchOf(request));
    // A broken entry can be moved but not shown: nothing to answer but success.
    return moved ? sendEntry(request, reply, moved) : reply.code(204).send();
  });

  app.put('/api/v1/entries/copy', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.copyEntry);
    return sendEntry(request, reply, await cms.entries.copy(params['id'], params['new_id']));
  });

  app.delete('/api/v1/entries', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.deleteEntry);
    await cms.entries.delete(params['id'], ifMatchOf(request));
    return reply.code(204).send();
  });

  // The editor's raw text, its save, and its preview (issue 14): write access only.
  app.get('/api/v1/entries/source', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.fetchEntrySource);
    const found = await cms.entries.source(params['id']);
    return replier.sendRead(request, reply, JSON.stringify(found), found.etag);
  });

  app.put('/api/v1/entries/source', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.saveEntrySource);
    return sendEntry(request, reply, await cms.entries.writeSource(params['id'], params['source'], ifMatchOf(request)));
  });

  app.post('/api/v1/entries/preview', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.previewEntry);
    const view = await cms.entries.preview(params['id'], params['data'], sessionOf(request));
    return replier.sendBody(request, reply, 200, JSON.stringify(view));
  });
}
