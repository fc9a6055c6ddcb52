/** Tokens API (SPEC §4): token entries, token creation and the hashing helpers. */
import type { FastifyInstance } from 'fastify';
import { paramsOf } from '../params.js';
import { renderCollection } from '../reply.js';
import type { RouteContext } from './context.js';
import { OPERATIONS as OPS } from '../openapi/operations.js';

export const TOKENS_PATHS = {
  '/api/v1/tokens': ['GET', 'POST', 'PATCH', 'DELETE'],
  '/api/v1/tokens/generate': ['POST'],
  '/api/v1/tokens/generate-hash': ['POST'],
  '/api/v1/tokens/verify-hash': ['POST'],
  '/api/v1/tokens/validate-hash': ['POST'],
  '/api/v1/tokens/self': ['GET'],
};

export function tokensRoutes(app: FastifyInstance, { cms, guard, replier }: RouteContext): void {
  // What the caller's own token may do (the admin app offers only that); no scope needed.
  app.get('/api/v1/tokens/self', async (request, reply) => {
    const params = paramsOf(request);
    const caller = await guard(request, params, OPS.describeSelf);
    const answer = {
      scopes: caller.scopes === undefined ? null : [...caller.scopes],
      limit_calls: caller.limitCalls,
      expires_at: caller.expiresAt ?? null,
    };
    return replier.sendBody(request, reply.header('cache-control', 'no-store'), 200, JSON.stringify(answer));
  });

  app.get('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    // [ours] reading tokens needs the access token too.
    await guard(request, params, OPS.fetchToken);
    const result = await cms.tokens.fetch(params['id'], params['options']);
    if (result.kind === 'entry') return replier.sendRead(request, reply, JSON.stringify(result.data));
    const { body, total } = renderCollection(result.result);
    if (total !== undefined) reply.header('x-total-count', String(total));
    return replier.sendRead(request, reply, body);
  });

  app.post('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    const caller = await guard(request, params, OPS.createToken);
    const created = await cms.tokens.create(params['data'], caller);
    return replier.sendBody(request, reply, 200, JSON.stringify(created));
  });

  app.patch('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    const caller = await guard(request, params, OPS.updateToken);
    const updated = await cms.tokens.update(params['id'], params['data'], caller);
    return replier.sendBody(request, reply, 200, JSON.stringify(updated));
  });

  app.delete('/api/v1/tokens', async (request, reply) => {
    const params = paramsOf(request);
    const caller = await guard(request, params, OPS.deleteToken);
    await cms.tokens.delete(params['id'], caller);
    return reply.code(204).send();
  });

  app.post('/api/v1/tokens/generate', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.generateToken);
    return replier.sendBody(request, reply, 200, JSON.stringify(cms.tokens.generate()));
  });

  app.post('/api/v1/tokens/generate-hash', async (request, reply) => {
    const params = paramsOf(request);
    await guard(request, params, OPS.generateHash);
    return replier.sendBody(request, reply, 200, JSON.stringify(await cms.tokens.generateHash(params['string'])));
  });

  for (const op of [OPS.verifyHash, OPS.validateHash]) {
    app.post(op.path, async (request, reply) => {
      const params = paramsOf(request);
      await guard(request, params, op);
      const result = await cms.tokens.verifyHash(params['string'], params['hash']);
      return replier.sendBody(request, reply, 200, JSON.stringify(result));
    });
  }
}
