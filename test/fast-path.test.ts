import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';
import { ON_POSTGRES } from './engine-helpers.js';
import { metricValue, rawGet, writeEntry } from './http-raw.js';

/** A GET answered as sent: status, header lines in order, body bytes. */
function rawLines(url: string, headers: Record<string, string> = {}): Promise<{ status: number; lines: [string, string][]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const lines: [string, string][] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, lines, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

async function fastHits(t: TestServer): Promise<number> {
  return metricValue((await rawGet(`${t.server.url}/metrics`)).body.toString('utf8'), 'flextype_fast_path_total', { result: 'hit' }) ?? NaN;
}

/** Header lines that differ between any two answers. */
const PER_ANSWER = new Set(['date', 'x-request-id']);
const comparableLines = (lines: [string, string][]) => lines.filter(([name]) => !PER_ANSWER.has(name.toLowerCase()));

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

// The fast path sends prepared bytes (body encoded once, header values held one byte per
// character, tokens admitted once per revision of their file): the bytes must stay the full path's.
describe('fast path: the same bytes as the full path, and tokens checked on every call', () => {
  let t: TestServer;
  let projectDir: string;
  before(async () => {
    projectDir = tempProject();
    // Characters beyond Latin-1 and beyond the BMP: the JSON text is held two bytes per character.
    writeEntry(projectDir, 'wide', 'title: "Crème brûlée — 東京 🎬"', 'Naïve café ✓');
    writeEntry(projectDir, 'narrow', 'title: Plain');
    t = await startTestServer({ projectDir, settings: { cors: { origin: ['https://app.example'] } } });
    for (const id of ['wide', 'narrow']) await rawGet(`${t.base}/entries?id=${id}&token=${q(t.token)}`);
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  for (const id of ['wide', 'narrow']) {
    for (const headers of [{}, { origin: 'https://app.example' }, { origin: 'https://elsewhere.example', 'x-request-id': 'trace-1' }] as Record<string, string>[]) {
      it(`${id} with ${JSON.stringify(headers)}: header lines in the same order with the same values, same body bytes`, async () => {
        const before = await fastHits(t);
        const fast = await rawLines(`${t.base}/entries?id=${id}&token=${q(t.token)}`, headers);
        assert.equal((await fastHits(t)) - before, 1, 'answered by the fast path');
        const full = await rawLines(`${t.base}/entries?id=${id}`, { ...headers, authorization: `Bearer ${t.token}` });
        assert.equal(fast.status, 200);
        assert.deepEqual(comparableLines(fast.lines), comparableLines(full.lines));
        assert.ok(fast.body.equals(full.body), 'same body bytes');
        assert.equal(Number(fast.lines.find(([name]) => name === 'content-length')?.[1]), fast.body.length);
        assert.equal((JSON.parse(fast.body.toString('utf8')) as { title: string }).title, id === 'wide' ? 'Crème brûlée — 東京 🎬' : 'Plain');
        const requestId = fast.lines.find(([name]) => name === 'x-request-id')?.[1];
        if (headers['x-request-id']) assert.equal(requestId, headers['x-request-id']);
        else assert.ok(requestId);
      });
    }
  }

  it('an answer changed on the same entry is sent with its new bytes and ETag', async () => {
    const first = await rawLines(`${t.base}/entries?id=narrow&token=${q(t.token)}`);
    const updated = await call(t.base, 'PATCH', '/entries', { json: { id: 'narrow', data: { title: 'Plain, then not' }, token: t.token, access_token: t.accessToken } });
    assert.equal(updated.status, 200);
    await rawGet(`${t.base}/entries?id=narrow&token=${q(t.token)}`); // cached again
    const before = await fastHits(t);
    const second = await rawLines(`${t.base}/entries?id=narrow&token=${q(t.token)}`);
    assert.equal((await fastHits(t)) - before, 1, 'answered by the fast path');
    assert.equal((JSON.parse(second.body.toString('utf8')) as { title: string }).title, 'Plain, then not');
    const etagOf = (lines: [string, string][]) => lines.find(([name]) => name === 'etag')?.[1];
    assert.notEqual(etagOf(second.lines), etagOf(first.lines));
    assert.equal(Number(second.lines.find(([name]) => name === 'content-length')?.[1]), second.body.length);
  });

  it('a token whose scopes lose entries:read is refused on its very next call', async () => {
    const reader = await t.server.cms.tokens.create({ title: 'reader', scopes: ['entries:read'] });
    for (let i = 0; i < 3; i++) assert.equal((await call(t.base, 'GET', '/entries', { query: `id=wide&token=${q(reader.token)}` })).status, 200);
    await t.server.cms.tokens.update(reader.token, { scopes: ['registry:read'] });
    const refused = await call(t.base, 'GET', '/entries', { query: `id=wide&token=${q(reader.token)}` });
    assert.equal(refused.status, 401);
    assert.match(refused.body.detail, /scope/);
  });

  it('limit_calls holds exactly on the fast path: the call reaching the limit succeeds, the next is refused', async () => {
    const limited = await t.server.cms.tokens.create({ title: 'limited', limit_calls: 3 });
    const before = await fastHits(t);
    for (let i = 0; i < 3; i++) assert.equal((await call(t.base, 'GET', '/entries', { query: `id=wide&token=${q(limited.token)}` })).status, 200);
    // (On PostgreSQL a call that finds no reserved budget left takes the full path to reserve more.)
    if (!ON_POSTGRES) assert.equal((await fastHits(t)) - before, 3, 'answered by the fast path');
    const refused = await call(t.base, 'GET', '/entries', { query: `id=wide&token=${q(limited.token)}` });
    assert.equal(refused.status, 400);
    assert.match(refused.body.detail, /limit_calls/);
  });

  it('a token deleted is refused on its very next call', async () => {
    const doomed = await t.server.cms.tokens.create({ title: 'doomed' });
    assert.equal((await call(t.base, 'GET', '/entries', { query: `id=wide&token=${q(doomed.token)}` })).status, 200);
    await t.server.cms.tokens.delete(doomed.token);
    assert.equal((await call(t.base, 'GET', '/entries', { query: `id=wide&token=${q(doomed.token)}` })).status, 401);
  });
});
