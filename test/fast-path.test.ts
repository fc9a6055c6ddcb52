import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, q, startTestServer, type TestServer } from './helpers.js';

// The cached GET of one entry is answered before Fastify (src/http/fast-path.ts); the Bearer
// header form of the same call always takes the full path. Both must answer the same.
describe('fast path for GET one entry', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true });
    // Warm the caches so the fast path can be taken.
    await call(t.base, 'GET', '/entries', { query: `id=movies/inception&token=${q(t.token)}` });
  });
  after(async () => t.close());

  it('answers exactly what the full path answers', async () => {
    const fast = await call(t.base, 'GET', '/entries', { query: `id=movies/inception&token=${q(t.token)}`, headers: { origin: 'http://app.example' } });
    const full = await call(t.base, 'GET', '/entries', {
      query: 'id=movies/inception',
      headers: { authorization: `Bearer ${t.token}`, origin: 'http://app.example' },
    });
    assert.equal(fast.status, 200);
    assert.equal(fast.text, full.text);
    for (const name of ['content-type', 'etag', 'cache-control', 'access-control-allow-origin', 'access-control-expose-headers']) {
      assert.equal(fast.headers.get(name), full.headers.get(name), name);
      assert.ok(fast.headers.get(name), `${name} present`);
    }
  });

  it('answers 304 for a current If-None-Match and counts every call once', async () => {
    const first = await call(t.base, 'GET', '/entries', { query: `id=movies/arrival&token=${q(t.token)}` });
    const callsNow = async () => {
      const fetched = await t.server.cms.tokens.fetch(t.token, undefined);
      assert.equal(fetched.kind, 'entry');
      return fetched.kind === 'entry' ? Number(fetched.data['calls']) : NaN;
    };
    const before = await callsNow();
    const notModified = await call(t.base, 'GET', '/entries', {
      query: `id=movies/arrival&token=${q(t.token)}`,
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.text, '');
    await call(t.base, 'GET', '/entries', { query: `id=movies/arrival&token=${q(t.token)}` });
    assert.equal((await callsNow()) - before, 2);
  });

  it('leaves every refusal to the full path (same error bodies)', async () => {
    const unknownToken = await call(t.base, 'GET', '/entries', { query: 'id=movies/inception&token=nope' });
    assert.equal(unknownToken.status, 401);
    assert.equal(unknownToken.body.title, 'Unauthorized');
    const missing = await call(t.base, 'GET', '/entries', { query: `id=movies/none&token=${q(t.token)}` });
    assert.equal(missing.status, 404);
    const unsafe = await call(t.base, 'GET', '/entries', { query: `id=..&token=${q(t.token)}` });
    assert.equal(unsafe.status, 400);
    const tokenEntry = await call(t.base, 'GET', '/entries', { query: `id=tokens/${q(t.token)}&token=${q(t.token)}` });
    assert.equal(tokenEntry.status, 404);
  });

  it('refuses a disabled token on the very next request', async () => {
    const created = await t.server.cms.tokens.create({ title: 'soon disabled' });
    const ok = await call(t.base, 'GET', '/entries', { query: `id=movies/inception&token=${q(created.token)}` });
    assert.equal(ok.status, 200);
    await t.server.cms.tokens.update(created.token, { state: 'disabled' });
    const refused = await call(t.base, 'GET', '/entries', { query: `id=movies/inception&token=${q(created.token)}` });
    assert.equal(refused.status, 400);
    assert.match(refused.body.detail, /disabled/);
  });
});
