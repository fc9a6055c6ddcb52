/**
 * Issue 9 item 27: compression honours q-values, CORS with an origin list always says Vary: Origin,
 * and local dates in a DST gap/overlap or impossible dates never roll over silently.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET with exactly the given headers (fetch would add and decode Accept-Encoding itself). */
function rawGet(url: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

function writeEntry(projectDir: string, id: string, frontMatter: string, content = ''): void {
  const dir = path.join(projectDir, 'entries', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'entry.md'), `---\n${frontMatter}\n---\n${content}`);
}

const BIG = 'All work and no play makes Jack a dull boy. '.repeat(200); // well over compress_threshold

describe('compression negotiation (item 27)', () => {
  let t: TestServer;
  let projectDir: string;
  before(async () => {
    projectDir = tempProject();
    writeEntry(projectDir, 'big', 'title: Big', BIG);
    t = await startTestServer({ projectDir });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('follows Accept-Encoding q-values, * and q=0', async () => {
    const url = `${t.base}/entries?id=big&token=${q(t.token)}`;
    const cases: [string, string | undefined][] = [
      ['br;q=0, gzip', 'gzip'],
      ['gzip;q=1, br;q=0.5', 'gzip'],
      ['*, br;q=0', 'gzip'],
      ['gzip;q=0, br;q=0', undefined],
      ['identity', undefined],
      ['gzip, deflate, br', 'br'],
      ['br', 'br'],
    ];
    for (const [accept, expected] of cases) {
      const answer = await rawGet(url, { 'accept-encoding': accept });
      assert.equal(answer.status, 200, accept);
      assert.equal(answer.headers['content-encoding'], expected, `Accept-Encoding: ${accept}`);
      assert.match(String(answer.headers['vary']), /accept-encoding/i, accept);
      const decoded = expected === 'br' ? brotliDecompressSync(answer.body) : expected === 'gzip' ? gunzipSync(answer.body) : answer.body;
      assert.equal(JSON.parse(decoded.toString('utf8')).content, BIG.trim()); // the body is answered trimmed, as the reference reads it
    }
  });
});

describe('CORS with an origin list: Vary: Origin on every answer (item 27)', () => {
  let t: TestServer;
  let projectDir: string;
  const ALLOWED = 'https://app.example';
  before(async () => {
    projectDir = tempProject();
    writeEntry(projectDir, 'small', 'title: Small');
    writeEntry(projectDir, 'big', 'title: Big', BIG);
    t = await startTestServer({ projectDir, settings: { cors: { origin: [ALLOWED] } } });
    await call(t.base, 'GET', '/entries', { query: `id=small&token=${q(t.token)}` }); // warm the fast path
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('sends Vary: Origin from both paths, on 200, 304, compressed answers and errors, whatever the Origin', async () => {
    const fastUrl = `${t.base}/entries?id=small&token=${q(t.token)}`;
    const etag = (await rawGet(fastUrl, {})).headers['etag']!;
    const bearer = { authorization: `Bearer ${t.token}` };
    const requests: [string, string, Record<string, string>][] = [
      ['fast path 200', fastUrl, {}],
      ['fast path 304', fastUrl, { 'if-none-match': etag }],
      ['full path 200', `${t.base}/entries?id=small`, bearer],
      ['full path 304', `${t.base}/entries?id=small`, { ...bearer, 'if-none-match': etag }],
      ['compressed 200', `${t.base}/entries?id=big`, { ...bearer, 'accept-encoding': 'gzip' }],
      ['404', `${t.base}/entries?id=none&token=${q(t.token)}`, {}],
      ['401', `${t.base}/entries?id=small&token=wrong`, {}],
      ['no such endpoint', `${t.base}/nowhere`, {}],
    ];
    for (const origin of [undefined, 'https://other.example', ALLOWED]) {
      for (const [what, url, headers] of requests) {
        const answer = await rawGet(url, origin ? { ...headers, origin } : headers);
        const vary = String(answer.headers['vary'] ?? '').toLowerCase().split(/\s*,\s*/);
        assert.ok(vary.includes('origin'), `${what} from ${origin ?? 'no origin'}: Vary is "${answer.headers['vary'] ?? ''}"`);
        if (what === 'compressed 200') assert.ok(vary.includes('accept-encoding'), `${what}: Vary keeps Accept-Encoding`);
        assert.equal(answer.headers['access-control-allow-origin'], origin === ALLOWED ? ALLOWED : undefined, `${what} from ${origin}`);
      }
    }
    const preflight = await call(t.base, 'OPTIONS', '/entries', {
      headers: { origin: ALLOWED, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.deepEqual(preflight.headers.get('vary')?.toLowerCase().split(/\s*,\s*/).sort(), ['access-control-request-headers', 'origin']);
  });
});

describe('dates in a zone with DST, and impossible dates (item 27)', () => {
  let t: TestServer;
  let projectDir: string;
  before(async () => {
    projectDir = tempProject();
    writeEntry(projectDir, 'gap', "published_at: '28-03-2021 02:30'"); // clocks go 02:00 → 03:00
    writeEntry(projectDir, 'overlap', "published_at: '31-10-2021 02:30'"); // 02:00–03:00 happens twice
    writeEntry(projectDir, 'impossible', "published_at: '31-02-2021 10:00'\ncreated_at: '2021-02-31T10:00:00Z'");
    writeEntry(projectDir, 'normal', "published_at: '15-05-2020 06:57'\ncreated_at: '2021-10-31T02:30:00+01:00'");
    t = await startTestServer({ projectDir, settings: { timezone: 'Europe/Berlin' } });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  const fetchEntry = async (id: string) => {
    const answer = await call(t.base, 'GET', '/entries', { query: `id=${id}&token=${q(t.token)}` });
    assert.equal(answer.status, 200, id);
    return answer.body;
  };

  it('moves a time in the spring-forward gap forward by the gap', async () => {
    assert.equal((await fetchEntry('gap')).published_at, Date.parse('2021-03-28T03:30:00+02:00') / 1000);
  });

  it('reads a time in the fall-back overlap as its first (summer time) occurrence', async () => {
    assert.equal((await fetchEntry('overlap')).published_at, Date.parse('2021-10-31T02:30:00+02:00') / 1000);
  });

  it('answers an impossible date as stored, never rolled over into March', async () => {
    const entry = await fetchEntry('impossible');
    assert.equal(entry.published_at, '31-02-2021 10:00');
    assert.equal(entry.created_at, '2021-02-31T10:00:00Z');
  });

  it('still converts ordinary local dates and keeps explicit offsets', async () => {
    const entry = await fetchEntry('normal');
    assert.equal(entry.published_at, Date.parse('2020-05-15T06:57:00+02:00') / 1000);
    assert.equal(entry.created_at, Date.parse('2021-10-31T02:30:00+01:00') / 1000);
  });
});

describe('cors.credentials (SPEC §12)', () => {
  let t: TestServer;
  let projectDir: string;
  before(async () => {
    projectDir = tempProject();
    writeEntry(projectDir, 'small', 'title: Small');
    t = await startTestServer({ projectDir, settings: { cors: { origin: '*', credentials: true } } });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('answers the requesting origin (never *) with Access-Control-Allow-Credentials, on both paths and preflights', async () => {
    const origin = 'https://app.example';
    const url = `${t.base}/entries?id=small&token=${q(t.token)}`;
    for (const what of ['first (full path)', 'second (fast path)']) {
      const answer = await rawGet(url, { origin });
      assert.equal(answer.headers['access-control-allow-origin'], origin, what);
      assert.equal(answer.headers['access-control-allow-credentials'], 'true', what);
      assert.ok(String(answer.headers['vary'] ?? '').toLowerCase().includes('origin'), what);
    }
    const preflight = await call(t.base, 'OPTIONS', '/entries', { headers: { origin, 'access-control-request-method': 'PATCH' } });
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    // Without an Origin there is nothing to allow.
    assert.equal((await rawGet(url, {})).headers['access-control-allow-credentials'], undefined);
  });
});
