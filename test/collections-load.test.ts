/**
 * Collection answers under load (issue 9, items 11 and 22): large answers are streamed, heavy
 * queries are queued (503 with Retry-After past the queue) while light requests stay fast, and
 * broken entries are skipped with a count in X-Skipped-Count. Orderings, never timings.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const ENTRIES = 2000;

/** A project with ENTRIES entries of about 1 KB each below `many`, and one broken entry. */
function bigProject(): string {
  const dir = tempProject(false);
  const filler = 'x'.repeat(1000);
  mkdirSync(path.join(dir, 'entries', 'many'), { recursive: true });
  writeFileSync(path.join(dir, 'entries', 'many', 'entry.md'), '---\ntitle: Many\n---\n');
  for (let i = 0; i < ENTRIES; i++) {
    const folder = path.join(dir, 'entries', 'many', `e${i}`);
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'entry.md'), `---\ntitle: Entry ${i}\nfiller: ${filler}\n---\nBody ${i}.\n`);
  }
  mkdirSync(path.join(dir, 'entries', 'small', 'ok'), { recursive: true });
  mkdirSync(path.join(dir, 'entries', 'small', 'broken'), { recursive: true });
  writeFileSync(path.join(dir, 'entries', 'small', 'entry.md'), '---\ntitle: Small\n---\n');
  writeFileSync(path.join(dir, 'entries', 'small', 'ok', 'entry.md'), '---\ntitle: Fine\n---\n');
  writeFileSync(path.join(dir, 'entries', 'small', 'broken', 'entry.md'), '---\ntitle: [unclosed\n---\n');
  return dir;
}

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One GET on its own connection; `onEnd` is called when the whole body has arrived. */
function rawGet(url: string, headers: Record<string, string> = {}, onHeaders?: () => void): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      onHeaders?.();
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('collections: large answers streamed, heavy queries queued', () => {
  let projectDir: string;
  let t: TestServer;
  before(async () => {
    projectDir = bigProject();
    t = await startTestServer({
      projectDir,
      withToken: true,
      settings: {
        server: { stream_threshold: 64 * 1024 },
        query: { heavy: { threshold: 100, concurrency: 1, queue: 2, retry_after: 3 } },
      },
    });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  const collectionUrl = (id: string) => `${t.base}/entries?id=${q(id)}&options[collection]=true&token=${q(t.token)}`;

  it('streams a large collection (no Content-Length, no ETag), complete and in order, also gzipped', async () => {
    const plain = await rawGet(collectionUrl('many'));
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-length'], undefined);
    assert.equal(plain.headers['transfer-encoding'], 'chunked');
    assert.equal(plain.headers['etag'], undefined);
    assert.equal(plain.headers['x-total-count'], String(ENTRIES));
    const body = JSON.parse(plain.body.toString('utf8')) as Record<string, { title: string }>;
    const ids = Object.keys(body);
    assert.equal(ids.length, ENTRIES);
    assert.deepEqual(ids.slice(0, 3), ['many/e0', 'many/e1', 'many/e2']);
    assert.equal(ids[ENTRIES - 1], `many/e${ENTRIES - 1}`);
    assert.equal(body['many/e1234']!.title, 'Entry 1234');

    const zipped = await rawGet(collectionUrl('many'), { 'accept-encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(zipped.body).toString('utf8'), plain.body.toString('utf8'));
  });

  it('answers 503 with Retry-After past the queue, and a probe GET during the burst finishes before the burst', async () => {
    const burst = 8;
    const order: string[] = [];
    let probe: Promise<RawAnswer> | undefined;
    const startProbe = () => {
      // Sent once the server has begun answering the burst.
      probe ??= rawGet(`${t.base}/entries?id=small/ok&token=${q(t.token)}`).then((r) => {
        order.push('probe');
        return r;
      });
    };
    const answers = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        rawGet(collectionUrl('many'), {}, startProbe).then((r) => {
          order.push(`burst-${i}`);
          return r;
        }),
      ),
    );
    const probed = await probe!;
    assert.equal(probed.status, 200);
    assert.equal(JSON.parse(probed.body.toString('utf8')).title, 'Fine');

    const busy = answers.filter((a) => a.status === 503);
    const served = answers.filter((a) => a.status === 200);
    assert.ok(busy.length >= 1, `some heavy queries are refused (statuses ${answers.map((a) => a.status).join(',')})`);
    assert.ok(served.length >= 1 + 2, 'the running query and the queued ones are served');
    for (const refused of busy) {
      assert.equal(refused.headers['retry-after'], '3');
      const error = JSON.parse(refused.body.toString('utf8'));
      assert.equal(error.http_status_code, 503);
      assert.match(error.detail, /retry/);
    }
    for (const ok of served) assert.equal(Object.keys(JSON.parse(ok.body.toString('utf8'))).length, ENTRIES);
    assert.ok(order.indexOf('probe') < order.length - 1, `the probe finished before the last burst answer (order: ${order.join(' ')})`);

    // Every slot was given back: a heavy query runs again, and a light collection never waits.
    assert.equal((await rawGet(collectionUrl('many'))).status, 200);
  });
});

describe('collections: broken entries are skipped and counted', () => {
  let projectDir: string;
  let t: TestServer;
  before(async () => {
    projectDir = bigProject();
    t = await startTestServer({ projectDir });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('answers the readable entries, X-Skipped-Count (exposed to CORS) and logs the broken one', async () => {
    const r = await call(t.base, 'GET', '/entries', {
      query: `id=small&options[collection]=true&token=${q(t.token)}`,
      headers: { origin: 'https://app.example' },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ['small/ok']);
    assert.equal(r.headers.get('x-skipped-count'), '1');
    assert.match(r.headers.get('access-control-expose-headers') ?? '', /X-Skipped-Count/i);
    assert.match(t.logs.text, /"id":"small\/broken".*entry skipped/);

    const clean = await call(t.base, 'GET', '/entries', { query: `id=many&options[collection]=true&options[filter][limit]=1&token=${q(t.token)}` });
    assert.equal(clean.status, 200);
    assert.equal(clean.headers.get('x-skipped-count'), '0');
  });
});
