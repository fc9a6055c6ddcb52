/**
 * Long collection queries give the event loop back (issue 12: no query holds it more than 50 ms at
 * a time). With `query.slice_ms: 0` every pause point pauses, so a light request sent while a heavy
 * query runs is answered before it ends (ordering, never timing): the light request is GET /metrics,
 * whose `flextype_query_pauses_total` also shows the heavy query had begun. Sliced answers are
 * byte-identical to unsliced ones, and stay consistent while entries change between the slices.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const ENTRIES = 4000;
const TAGS = ['news', 'sport', 'culture', 'tech', 'travel'];
const WORDS = ['lorem', 'ipsum', 'dolor', 'amet', 'tempor', 'magna', 'elit', 'labore'];

function project(): string {
  const dir = tempProject(false);
  const root = path.join(dir, 'entries', 'items');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'entry.md'), '---\ntitle: Items\n---\n');
  for (let i = 0; i < ENTRIES; i++) {
    const folder = path.join(root, `i${String(i).padStart(5, '0')}`);
    mkdirSync(folder);
    const words = [WORDS[i % 8], WORDS[(i * 3) % 8], WORDS[(i * 5 + 1) % 8]].join(' ');
    writeFileSync(
      path.join(folder, 'entry.md'),
      `---\ntitle: Item ${i} ${words}\ntag: ${TAGS[i % 5]}\nrating: ${(i * 37) % 100}\n---\n${words} ${i % 7 === 0 ? 'needle' : 'hay'}\n`,
    );
  }
  mkdirSync(path.join(dir, 'entries', 'small', 'ok'), { recursive: true });
  writeFileSync(path.join(dir, 'entries', 'small', 'entry.md'), '---\ntitle: Small\n---\n');
  writeFileSync(path.join(dir, 'entries', 'small', 'ok', 'entry.md'), '---\ntitle: Fine\n---\n');
  return dir;
}

const F = 'options[filter]';
/** Heavy shapes: each has a step over every entry of `items`. */
const HEAVY: { name: string; query: string }[] = [
  { name: 'find contains (search of every public text)', query: `options[find][contains]=needle&${F}[limit]=5` },
  { name: 'group_by', query: `${F}[group_by]=tag` },
  { name: 'only + where + sort', query: `${F}[only][0]=title&${F}[only][1]=rating&${F}[where][0][key]=rating&${F}[where][0][operator]=gte&${F}[where][0][value]=50&${F}[sort_by][key]=rating&${F}[limit]=10` },
  { name: 'unindexed where (contains) over every entry', query: `${F}[where][0][key]=title&${F}[where][0][operator]=contains&${F}[where][0][value]=tempor` },
  { name: 'sort over every entry, far offset', query: `${F}[sort_by][key]=title&${F}[sort_by][direction]=DESC&${F}[offset]=3000&${F}[limit]=5` },
  { name: 'find depth (field indexes of loaded entries), where + sort', query: `options[find][depth][0]=1&${F}[where][0][key]=tag&${F}[where][0][value]=news&${F}[sort_by][key]=rating&${F}[sort_by][direction]=DESC&${F}[limit]=7` },
  { name: 'every entry, no filter', query: '' },
];

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function rawGet(url: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function pausesOf(t: TestServer): Promise<number> {
  const metrics = await rawGet(`${t.server.url}/metrics`);
  assert.equal(metrics.status, 200);
  const line = /^flextype_query_pauses_total (\d+)/m.exec(metrics.body);
  assert.ok(line, 'flextype_query_pauses_total is in /metrics');
  return Number(line[1]);
}

const urlOf = (t: TestServer, query: string) => `${t.base}/entries?id=items&options[collection]=true${query ? `&${query}` : ''}&token=${q(t.token)}`;

/** Every heavy answer (status, X-Total-Count, body) of a server, one at a time. */
async function answersOf(t: TestServer): Promise<string[]> {
  const out: string[] = [];
  for (const { query } of HEAVY) {
    const answer = await rawGet(urlOf(t, query));
    out.push(`${answer.status} ${answer.headers['x-total-count']} ${answer.body}`);
  }
  return out;
}

describe('collection queries give the event loop back (query.slice_ms)', () => {
  let projectDir: string;
  let t: TestServer;
  let sliced: string[];
  before(async () => {
    projectDir = project();
    t = await startTestServer({
      projectDir,
      // Heavy queries are not queued here: the test is about one running while a light one waits.
      settings: { storage: { durable: false }, query: { slice_ms: 0, heavy: { threshold: 1_000_000 } } },
    });
    // Twice: the second run uses the field indexes the first one counted (built on a second use).
    await answersOf(t);
    sliced = await answersOf(t);
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  for (const [index, shape] of HEAVY.entries()) {
    it(`${shape.name}: a light request is answered while it runs`, async () => {
      const before = await pausesOf(t);
      let heavyDone = false;
      const heavy = rawGet(urlOf(t, shape.query)).then((answer) => {
        heavyDone = true;
        return answer;
      });
      // Light requests one after another until the heavy answer is in; at least one must have
      // been answered after the heavy query began pausing and before it ended.
      let answeredMeanwhile = 0;
      while (!heavyDone) {
        const pauses = await pausesOf(t);
        if (!heavyDone && pauses > before) answeredMeanwhile++;
      }
      const answer = await heavy;
      assert.equal(answer.status, 200);
      assert.ok(answeredMeanwhile >= 1, 'a light request was answered between two slices of the heavy query');
      assert.equal(`${answer.status} ${answer.headers['x-total-count']} ${answer.body}`, sliced[index], 'the same answer each time');
    });
  }

  it('sliced answers stay consistent while entries change between slices', async () => {
    const ratingQuery = (find: string) =>
      `${find}${F}[where][0][key]=rating&${F}[where][0][operator]=gte&${F}[where][0][value]=50&${F}[sort_by][key]=rating&${F}[sort_by][direction]=DESC`;
    let writing = true;
    const writes = (async () => {
      let n = 0;
      while (writing) {
        const id = `items/i${String((n * 131) % ENTRIES).padStart(5, '0')}`;
        const updated = await call(t.base, 'PATCH', '/entries', { json: { id, data: { rating: n % 2 === 0 ? 99 : 1 }, token: t.token, access_token: t.accessToken } });
        assert.equal(updated.status, 200, updated.text);
        n++;
      }
      return n;
    })();
    for (let round = 0; round < 4; round++) {
      for (const find of ['', `options[find][depth][0]=1&`]) {
        const answer = await rawGet(urlOf(t, ratingQuery(find)));
        assert.equal(answer.status, 200);
        const items = Object.entries(JSON.parse(answer.body) as Record<string, { rating: number }>);
        assert.equal(Number(answer.headers['x-total-count']), items.length, 'the count is of the items answered');
        for (let i = 0; i < items.length; i++) {
          const [id, item] = items[i]!;
          assert.ok(item.rating >= 50, `${id}: rating ${item.rating} meets the where`);
          if (i > 0) {
            const [prevId, prev] = items[i - 1]!;
            assert.ok(prev.rating > item.rating || (prev.rating === item.rating && prevId < id), `sorted: ${prevId} (${prev.rating}) before ${id} (${item.rating})`);
          }
        }
      }
    }
    writing = false;
    assert.ok((await writes) > 0);
    // Once the writes are done, the sliced answer is the one every entry's current rating gives.
    const stored = await rawGet(urlOf(t, ''));
    const all = Object.entries(JSON.parse(stored.body) as Record<string, { rating: number }>);
    const expected = all.filter(([, e]) => e.rating >= 50).sort(([a, x], [b, y]) => y.rating - x.rating || (a < b ? -1 : 1)).map(([id]) => id);
    for (const find of ['', `options[find][depth][0]=1&`]) {
      const answer = await rawGet(urlOf(t, ratingQuery(find)));
      assert.deepEqual(Object.keys(JSON.parse(answer.body) as object), expected);
    }
  });
});

describe('sliced answers equal unsliced ones, byte for byte', () => {
  it('the same project, query.slice_ms 0 and query.slice_ms 100000', async () => {
    const projectDir = project();
    try {
      const answers: string[][] = [];
      for (const sliceMs of [0, 100_000]) {
        // One server at a time: slice_ms is one value per process.
        const t = await startTestServer({ projectDir, settings: { storage: { durable: false }, query: { slice_ms: sliceMs } } });
        try {
          await answersOf(t);
          answers.push(await answersOf(t));
        } finally {
          await t.close();
        }
      }
      assert.deepEqual(answers[0], answers[1]);
    } finally {
      removeProject(projectDir);
    }
  });
});
