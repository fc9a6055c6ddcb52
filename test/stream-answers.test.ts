/**
 * Streamed collection answers (issue 12, item 5): byte-identical to the buffered answer of the same
 * collection (plain and gzipped, items and groups), and a client that goes away stops the
 * production (items are serialized only as the socket takes them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import type { FilterResult, Item } from '../src/core/query/filter.js';
import { loadSettings } from '../src/core/settings.js';
import { Pipeline } from '../src/http/pipeline/index.js';
import { createReplier } from '../src/http/reply.js';
import { q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const ENTRIES = 3000;

function project(): string {
  const dir = tempProject(false);
  mkdirSync(path.join(dir, 'entries', 'many'), { recursive: true });
  writeFileSync(path.join(dir, 'entries', 'many', 'entry.md'), '---\ntitle: Many\n---\n');
  for (let i = 0; i < ENTRIES; i++) {
    const folder = path.join(dir, 'entries', 'many', `e${i}`);
    mkdirSync(folder);
    // Non-ASCII text, escapes and numbers: a byte comparison sees any difference in encoding.
    writeFileSync(path.join(folder, 'entry.md'), `---\ntitle: "Entrée ${i} \\"q\\" ✓"\ntag: ${i % 3 === 0 ? 'news' : 'other'}\nrating: ${(i * 7) % 11}\n---\nBody ${i} ${'x'.repeat(200)}\n`);
  }
  return dir;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('streamed collection answers', () => {
  let dir: string;
  let streamed: TestServer;
  let buffered: TestServer;
  before(async () => {
    dir = project();
    streamed = await startTestServer({ projectDir: dir, withToken: true, settings: { server: { stream_threshold: 4096 } } });
    // The same entries (on PostgreSQL the same schema: a second node); the first server drops them.
    buffered = await startTestServer({ projectDir: dir, withToken: true, settings: { server: { stream_threshold: 1 << 30 } }, sameStoreAs: streamed, keepStore: true });
  });
  after(async () => {
    await buffered.close();
    await streamed.close();
    removeProject(dir);
  });

  const url = (t: TestServer, options: string) => `${t.base}/entries?id=many&options[collection]=true${options}&token=${q(t.token)}`;

  for (const [name, options] of [
    ['every item', ''],
    ['a where + sort_by', '&options[filter][where][0][key]=tag&options[filter][where][0][value]=news&options[filter][sort_by][key]=rating&options[filter][sort_by][direction]=DESC'],
    ['groups', '&options[filter][group_by]=tag'],
  ] as const) {
    it(`is byte-identical to the buffered answer: ${name}, plain and gzipped`, async () => {
      const a = await get(url(streamed, options));
      const b = await get(url(buffered, options));
      assert.equal(a.headers['transfer-encoding'], 'chunked');
      assert.equal(a.headers['etag'], undefined);
      assert.ok(b.headers['content-length'] !== undefined || b.headers['content-encoding'] !== undefined);
      assert.ok(a.body.length > 100_000, `a big answer (${a.body.length} bytes)`);
      assert.ok(a.body.equals(b.body), 'same bytes');
      const az = await get(url(streamed, options), { 'accept-encoding': 'gzip' });
      const bz = await get(url(buffered, options), { 'accept-encoding': 'gzip' });
      assert.equal(az.headers['content-encoding'], 'gzip');
      assert.ok(gunzipSync(az.body).equals(gunzipSync(bz.body)));
      assert.ok(gunzipSync(az.body).equals(a.body));
    });
  }
});

describe('a streamed answer whose client goes away', () => {
  const TOTAL = 200_000;
  let serialized = 0;
  let base: string;
  const app = Fastify();
  before(async () => {
    const settings = loadSettings(tempProject(false), { server: { cache_control: 'no-store', compress_threshold: 1 << 30 }, metrics: { enabled: false } });
    const pipeline = new Pipeline({ settings, sources: { entries: () => 0, cachedEntries: () => 0, renderCache: () => ({ hits: 0, misses: 0 }) } });
    const replier = createReplier(pipeline, { streamThreshold: 1024 });
    // Each item counts its own serialization (JSON.stringify calls toJSON when it writes it).
    const items: Item[] = Array.from({ length: TOTAL }, (_, i) => ({
      id: `e${i}`,
      data: { toJSON: () => (serialized++, { n: i, text: 'y'.repeat(100) }) } as unknown as Item['data'],
    }));
    const result: FilterResult = { kind: 'items', items, total: TOTAL };
    app.get('/big', (request, reply) => replier.sendCollection(request, reply, result));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => app.close());

  it('stops serializing items once the client has disconnected', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/big`, { agent: false }, (res) => {
        res.once('data', () => {
          // Gone after the first chunk.
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    // Give the server every chance to go on producing, then check it did not.
    let last = -1;
    while (last !== serialized) {
      last = serialized;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(serialized < TOTAL / 2, `${serialized} of ${TOTAL} items serialized after the client left`);
    // A full read of the same answer serializes every item (the counter can tell).
    const before = serialized;
    const full = await get(`${base}/big`);
    assert.equal(serialized - before, TOTAL);
    assert.equal(Object.keys(JSON.parse(full.body.toString('utf8'))).length, TOTAL);
  });
});
