/**
 * Issue 13 item 1: one HTTP pipeline. The fast path (GET one cached entry, token in the query) and
 * the Fastify routes must send the same request id, CORS, Vary, compression and ETag headers for
 * the same request; the metrics' fast-path counter proves which path answered.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';
import { metricValue, rawGet, writeEntry, type RawAnswer } from './http-raw.js';

const BIG = 'All work and no play makes Jack a dull boy. '.repeat(200); // over compress_threshold
const SANE_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** Headers that differ between any two answers, whatever the path. */
const PER_ANSWER = new Set(['date', 'x-request-id', 'connection', 'keep-alive', 'transfer-encoding']);

function comparable(headers: http.IncomingHttpHeaders): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_ANSWER.has(name)));
}

function decoded(answer: RawAnswer): string {
  const coding = answer.headers['content-encoding'];
  const bytes = coding === 'br' ? brotliDecompressSync(answer.body) : coding === 'gzip' ? gunzipSync(answer.body) : answer.body;
  return bytes.toString('utf8');
}

async function fastHits(t: TestServer): Promise<number> {
  const text = (await rawGet(`${t.server.url}/metrics`)).body.toString('utf8');
  return metricValue(text, 'flextype_fast_path_total', { result: 'hit' }) ?? NaN;
}

for (const [what, cors] of [
  ['any origin', { origin: '*' }],
  ['an origin list', { origin: ['https://app.example'] }],
  ['credentials', { origin: '*', credentials: true }],
] as const) {
  describe(`one pipeline, fast path and Fastify routes answer alike (CORS: ${what})`, () => {
    let t: TestServer;
    let projectDir: string;
    before(async () => {
      projectDir = tempProject();
      writeEntry(projectDir, 'small', 'title: Small');
      writeEntry(projectDir, 'big', 'title: Big', BIG);
      t = await startTestServer({ projectDir, settings: { cors } });
      // Warm the caches, so the fast path can answer.
      for (const id of ['small', 'big']) await rawGet(`${t.base}/entries?id=${id}&token=${q(t.token)}`);
    });
    after(async () => {
      await t.close();
      removeProject(projectDir);
    });

    // [entry, request headers, whether the fast path may answer (it leaves compressing to the full path)]
    const cases: [string, Record<string, string>, boolean][] = [
      ['small', {}, true],
      ['small', { origin: 'https://app.example' }, true],
      ['small', { origin: 'https://other.example' }, true],
      ['small', { 'accept-encoding': 'gzip, deflate, br' }, true],
      ['small', { 'accept-encoding': 'identity;q=0, gzip' }, false], // identity refused: compressed even when small
      ['small', { 'accept-encoding': 'identity;q=0' }, true], // nothing acceptable: plain bytes
      ['big', {}, true],
      ['big', { 'accept-encoding': 'identity' }, true],
      ['big', { 'accept-encoding': 'gzip;q=0, br;q=0' }, true],
      ['big', { 'accept-encoding': 'gzip' }, false],
      ['big', { 'accept-encoding': 'br;q=0.5, gzip;q=0.8', origin: 'https://app.example' }, false],
      ['big', { 'accept-encoding': '*' }, false],
    ];
    for (const [id, headers, fastPossible] of cases) {
      it(`${id} with ${JSON.stringify(headers)}`, async () => {
        const hitsBefore = await fastHits(t);
        const fast = await rawGet(`${t.base}/entries?id=${id}&token=${q(t.token)}`, headers);
        const hitsAfter = await fastHits(t);
        assert.equal(hitsAfter - hitsBefore, fastPossible ? 1 : 0, 'answered by the fast path');
        const full = await rawGet(`${t.base}/entries?id=${id}`, { ...headers, authorization: `Bearer ${t.token}` });
        assert.equal(await fastHits(t), hitsAfter, 'the Bearer form takes the full path');
        assert.equal(fast.status, 200);
        assert.deepEqual(comparable(fast.headers), comparable(full.headers));
        assert.equal(decoded(fast), decoded(full));
        // And the 304 of each path.
        const etag = String(fast.headers['etag']);
        const fast304 = await rawGet(`${t.base}/entries?id=${id}&token=${q(t.token)}`, { ...headers, 'if-none-match': etag });
        const full304 = await rawGet(`${t.base}/entries?id=${id}`, { ...headers, authorization: `Bearer ${t.token}`, 'if-none-match': `"other", ${etag}` });
        assert.equal(fast304.status, 304);
        assert.equal(full304.status, 304);
        assert.deepEqual(comparable(fast304.headers), comparable(full304.headers));
      });
    }
  });
}

describe('compression follows Accept-Encoding q-values (one negotiation for every answer)', () => {
  let t: TestServer;
  let projectDir: string;
  before(async () => {
    projectDir = tempProject();
    writeEntry(projectDir, 'small', 'title: Small');
    writeEntry(projectDir, 'big', 'title: Big', BIG);
    t = await startTestServer({ projectDir });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  // [Accept-Encoding, coding of a big body, coding of a small body]
  const cases: [string | undefined, string | undefined, string | undefined][] = [
    [undefined, undefined, undefined],
    ['gzip', 'gzip', undefined],
    ['br', 'br', undefined],
    ['gzip, br', 'br', undefined], // a tie: ours is brotli
    ['gzip;q=1, br;q=0.5', 'gzip', undefined],
    ['br;q=0.2, gzip;q=0.1', 'br', undefined],
    ['gzip;q=0.001', 'gzip', undefined],
    ['*', 'br', undefined],
    ['*;q=0.5, gzip', 'gzip', undefined],
    ['*, br;q=0', 'gzip', undefined],
    ['deflate', undefined, undefined], // none of ours
    ['identity', undefined, undefined],
    ['gzip;q=0, br;q=0', undefined, undefined],
    ['identity;q=0, gzip', 'gzip', 'gzip'], // plain bytes refused: even a small body is compressed
    ['identity;q=0, br;q=0.5, gzip;q=0.4', 'br', 'br'],
    ['*;q=0, gzip', 'gzip', 'gzip'], // * excludes identity too
    ['identity;q=0', undefined, undefined], // nothing acceptable: plain bytes rather than a 406
    ['*;q=0', undefined, undefined],
    ['GZIP', 'gzip', undefined], // codings are case-insensitive
  ];
  for (const [accept, big, small] of cases) {
    it(`Accept-Encoding: ${accept ?? '(none)'}`, async () => {
      for (const [id, expected] of [['big', big], ['small', small]] as const) {
        const answer = await rawGet(`${t.base}/entries?id=${id}&token=${q(t.token)}`, accept === undefined ? {} : { 'accept-encoding': accept });
        assert.equal(answer.status, 200);
        assert.equal(answer.headers['content-encoding'], expected, `${id}: coding`);
        const body = JSON.parse(decoded(answer)) as { title: string };
        assert.equal(body.title, id === 'big' ? 'Big' : 'Small');
        // Answers that could be compressed say they depend on Accept-Encoding.
        if (id === 'big' || expected !== undefined) assert.match(String(answer.headers['vary']), /accept-encoding/i, `${id}: Vary`);
      }
    });
  }
});

describe('request ids (X-Request-Id) on both paths', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true });
    await rawGet(`${t.base}/entries?id=movies/inception&token=${q(t.token)}`); // warm
  });
  after(async () => t.close());

  const requests = (t: TestServer): [string, string, Record<string, string>][] => [
    ['fast path', `${t.base}/entries?id=movies/inception&token=${q(t.token)}`, {}],
    ['full path', `${t.base}/entries?id=movies/inception`, { authorization: `Bearer ${t.token}` }],
    ['an error', `${t.base}/entries?id=movies/none&token=${q(t.token)}`, {}],
    ['no such endpoint', `${t.base}/nowhere`, {}],
    ['health', `${t.base}/health`, {}],
  ];

  it('echoes a sane X-Request-Id', async () => {
    for (const [what, url, headers] of requests(t)) {
      for (const id of ['abc-123', 'A.b_c-9', 'x'.repeat(128), '01J9Z3K5Q7R8S9T0V1W2X3Y4Z5']) {
        const answer = await rawGet(url, { ...headers, 'x-request-id': id });
        assert.equal(answer.headers['x-request-id'], id, `${what}: ${id}`);
      }
    }
  });

  it('generates a fresh id when there is none or it is not a sane token', async () => {
    for (const [what, url, headers] of requests(t)) {
      const seen = new Set<string>();
      for (const given of [undefined, '', 'x'.repeat(129), 'has space', 'semi;colon', 'quote"', 'ünïcode', 'a/b', '{"json":1}']) {
        const answer = await rawGet(url, given === undefined ? headers : { ...headers, 'x-request-id': given });
        const id = String(answer.headers['x-request-id']);
        assert.match(id, SANE_ID, `${what}: generated for ${JSON.stringify(given)}`);
        assert.notEqual(id, given);
        assert.ok(!seen.has(id), `${what}: ids are unique`);
        seen.add(id);
      }
    }
  });

  it('on a preflight too, and exposes the header to browsers', async () => {
    const preflight = await call(t.base, 'OPTIONS', '/entries', { headers: { origin: 'https://app.example', 'access-control-request-method': 'PATCH', 'x-request-id': 'pre-1' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('x-request-id'), 'pre-1');
    const answer = await rawGet(`${t.base}/entries?id=movies/inception&token=${q(t.token)}`, { origin: 'https://app.example' });
    assert.match(String(answer.headers['access-control-expose-headers']), /X-Request-Id/);
  });
});
