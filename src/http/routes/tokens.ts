/** Tokens API (SPEC §4): token entries, token creation and the hashing helpers. */
import type { FastifyInstance } from 'fastify';
import { paramsOf } from '../params.js';
import { renderCollection } from '../reply.js';
import type { RouteContext } from './context.js';

export const TOKENS_PATHS = {
  '/api/v1/tokens': ['GET', 'POST', 'PATCH', 'DELETE'],
  '/api/v1/tokens/generate': ['POST'],
  '/api/v1/tokens/generate-hash': ['POST'],
  '/api/v1/tokens/verify-hash': ['POST'],
  '/api/v1/tokens/validate-hash': ['POST'],
};

export function tokensRoutes(app: FastifyInstance, { cms, guard, replier }: RouteContext): void {
  const write = { api: 'tokens', scope: 'tokens:write', requireAccess: true } as const;

  app.get('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    // [ours] reading tokens needs the access token too.
    await guard(request, params, { api: 'tokens', scope: 'tokens:read', requireAccess: true, required: ['id'] });
    const result = await cms.tokens.fetch(params['id'], params['options']);
    if (result.kind === 'entry') return replier.sendRead(request, reply, JSON.stringify(result.data));
    const { body, total } = renderCollection(result.result);
    if (total !== undefined) reply.header('x-total-count', String(total));
    return replier.sendRead(request, reply, body);
  });

  app.post('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    const caller = await guard(request, params, { ...write, required: [] });
    const created = await cms.tokens.create(params['data'], caller);
    return replier.sendBody(request, reply, 200, JSON.stringify(created));
  });

  app.patch('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    const caller = await guard(request, params, { ...write, required: ['id', 'data'] });
    const updated = await cms.tokens.update(params['id'], params['data'], caller);
    return replier.sendBody(request, reply, 200, JSON.stringify(updated));
  });

  app.delete('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    const caller = await guard(request, params, { ...write, required: ['id'] });
    await cms.tokens.delete(params['id'], caller);
    return reply.code(204).send();
  });

  app.post('/api/v1/tokens/generate', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...write, required: [] });
    return replier.sendBody(request, reply, 200, JSON.stringify(cms.tokens.generate()));
  });

  app.post('/api/v1/tokens/generate-hash', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, { ...write, required: ['string'] });
    return replier.sendBody(request, reply, 200, JSON.stringify(await cms.tokens.generateHash(params['string'])));
  });

  for (const path of ['/api/v1/tokens/verify-hash', '/api/v1/tokens/validate-hash']) {
    app.post(path, async (request, reply) => {
      const params = paramsOf(request);
      await guard(request, params, { ...write, required: ['string', 'hash'] });
      const result = await cms.tokens.verifyHash(params['string'], params['hash']);
      return replier.sendBody(request, reply, 200, JSON.stringify(result));
    });
  }
}
