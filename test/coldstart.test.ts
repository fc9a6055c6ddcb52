/**
 * Start-up of large projects (issue 12, item 4): the server listens before the id tree is built,
 * and a persisted index under var/index lets a restart skip parsing unchanged files; a stale,
 * corrupt, truncated, old-version or deleted index never changes an answer.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCollectionResolver } from '../src/core/collections.js';
import { createEngine } from '../src/core/engine-choice.js';
import { loadSettings } from '../src/core/settings.js';
import { startServer } from '../src/http/start.js';
import { createLogger } from '../src/logging.js';
import type { StorageEngine } from '../src/storage/engine.js';
import { LogCapture, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const N = 300;
const q = encodeURIComponent;

function writeEntry(projectDir: string, i: number, title: string): void {
  const dir = path.join(projectDir, 'entries', 'items', `item-${String(i).padStart(4, '0')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'entry.md'), `---\ntitle: ${title}\nrating: ${i % 10}\n---\nbody ${i}\n`);
}

/** Waits (no time bound asserted) until the server's preload finished. */
async function preloaded(t: TestServer) {
  for (let i = 0; i < 3000 && !t.server.cms.store.lastPreload; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const result = t.server.cms.store.lastPreload;
  assert.ok(result, 'preload finished');
  return result;
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('cold start: persisted index', () => {
  const projectDir = tempProject(false);
  const indexFile = path.join(projectDir, 'var', 'index', 'entries.idx');
  let token = '';

  const start = async () => {
    const t = await startTestServer({ projectDir, keepProject: true, withToken: false });
    return t;
  };
  /** Starts, waits for the preload, checks one entry and the collection, stops; returns the preload counts and logs. */
  const cycle = async (expectTitle: (i: number) => string) => {
    const t = await start();
    try {
      const counts = await preloaded(t);
      if (token === '') token = (await t.server.cms.tokens.create({ title: 't' })).token;
      const one = await getJson(`${t.base}/entries?id=items/item-0007&token=${q(token)}`);
      assert.equal(one.status, 200);
      assert.equal(one.body['title'], expectTitle(7));
      const all = await getJson(`${t.base}/entries?id=items&options[collection]=true&token=${q(token)}`);
      assert.equal(all.status, 200);
      const titles = Object.values(all.body).map((e) => (e as { title: string }).title);
      assert.equal(titles.length, N);
      for (let i = 0; i < N; i++) assert.ok(titles.includes(expectTitle(i)), `collection holds ${expectTitle(i)}`);
      return { counts, logs: t.logs.text };
    } finally {
      await t.close();
    }
  };

  before(() => {
    for (let i = 0; i < N; i++) writeEntry(projectDir, i, `Item ${i}`);
  });
  after(() => removeProject(projectDir));

  it('is written after the first start and used on the next: unchanged files are not parsed again', async () => {
    const first = await cycle((i) => `Item ${i}`);
    assert.equal(first.counts.indexLoaded, false);
    assert.ok(first.counts.parsed >= N);
    assert.ok(existsSync(indexFile), 'var/index/entries.idx written');
    const second = await cycle((i) => `Item ${i}`);
    assert.equal(second.counts.indexLoaded, true);
    assert.ok(second.counts.reused >= N, `reused ${second.counts.reused}`);
    assert.equal(second.counts.parsed, 0);
    assert.match(second.logs, /persisted index loaded/);
  });

  it('is refused for files edited while the server was down: they are served with their new content', async () => {
    writeEntry(projectDir, 7, 'Edited 7 while down');
    const run = await cycle((i) => (i === 7 ? 'Edited 7 while down' : `Item ${i}`));
    assert.equal(run.counts.indexLoaded, true);
    assert.equal(run.counts.parsed, 1);
    assert.ok(run.counts.reused >= N - 1);
  });

  it('is written again at shutdown after API writes', async () => {
    const t = await startTestServer({ projectDir, keepProject: true });
    try {
      await preloaded(t);
      const res = await fetch(`${t.base}/entries`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'items/item-0008', data: { title: 'Patched 8' }, token: t.token, access_token: t.accessToken }),
      });
      assert.equal(res.status, 200);
    } finally {
      await t.close();
    }
    const run = await cycle((i) => (i === 7 ? 'Edited 7 while down' : i === 8 ? 'Patched 8' : `Item ${i}`));
    assert.equal(run.counts.parsed, 0, `the write reached the index at shutdown: ${run.logs.split('\n').filter((l) => /index|preload/.test(l)).join('\n')}`);
  });

  const expectAfterEdits = (i: number) => (i === 7 ? 'Edited 7 while down' : i === 8 ? 'Patched 8' : `Item ${i}`);

  for (const [name, damage, reason] of [
    ['corrupt (a flipped byte)', () => {
      const bytes = readFileSync(indexFile);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      writeFileSync(indexFile, bytes);
    }, /persisted index discarded/],
    ['truncated', () => truncateSync(indexFile, Math.floor(readFileSync(indexFile).length / 3)), /persisted index discarded.*truncated|truncated.*persisted index discarded/],
    ['of an old format version', () => {
      const text = readFileSync(indexFile);
      const at = text.indexOf('"format":1');
      assert.ok(at > 0);
      text.write('"format":0', at);
      writeFileSync(indexFile, text);
    }, /format 0, expected 1/],
    ['not an index at all', () => writeFileSync(indexFile, 'hello'), /persisted index discarded/],
  ] as const) {
    it(`is discarded with a log line when ${name}, and answers stay correct`, async () => {
      damage();
      const run = await cycle(expectAfterEdits);
      assert.equal(run.counts.indexLoaded, false);
      assert.ok(run.counts.parsed >= N);
      assert.match(run.logs, reason);
      // Rewritten whole after the preload.
      const again = await cycle(expectAfterEdits);
      assert.equal(again.counts.indexLoaded, true);
      assert.equal(again.counts.parsed, 0);
    });
  }

  it('is safe to delete', async () => {
    rmSync(path.join(projectDir, 'var', 'index'), { recursive: true, force: true });
    const run = await cycle(expectAfterEdits);
    assert.equal(run.counts.indexLoaded, false);
    assert.doesNotMatch(run.logs, /persisted index discarded/);
    assert.ok(existsSync(indexFile));
  });

  it('is not used when cache.persist_index is off', async () => {
    const t = await startTestServer({ projectDir, keepProject: true, withToken: false, settings: { cache: { persist_index: false } } });
    try {
      const counts = await preloaded(t);
      assert.equal(counts.indexLoaded, false);
      assert.equal(counts.reused, 0);
    } finally {
      await t.close();
    }
  });
});

/**
 * The project's own engine, with its full walk held until `release()` (observable, no timing);
 * `onWalk` is told each time a walk starts waiting.
 */
function gatedEngine(projectDir: string, onWalk: () => void = () => {}): { engine: StorageEngine; real: StorageEngine; release: () => void } {
  const settings = loadSettings(projectDir, {});
  const real = createEngine(projectDir, settings, createCollectionResolver(settings.entries.collections));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const engine = Object.create(real) as StorageEngine;
  engine.list = (under?: string) => ({
    async *[Symbol.asyncIterator]() {
      onWalk();
      await gate;
      yield* real.list.call(engine, under);
    },
  });
  return { engine, real, release };
}

describe('cold start: listening before the id tree is built', () => {
  it('answers a single GET while the walk is held back; a collection waits for the tree and is complete', async () => {
    const projectDir = tempProject(false);
    try {
      for (let i = 0; i < 20; i++) writeEntry(projectDir, i, `Item ${i}`);
      // A token made by an earlier start (its check reads one entry, no tree needed).
      const earlier = await startTestServer({ projectDir, keepProject: true });
      const token = earlier.token;
      await earlier.close();
      let held = 0;
      const { engine, release } = gatedEngine(projectDir, () => held++);
      const logs = new LogCapture();
      let listening!: (url: string) => void;
      const urlKnown = new Promise<string>((resolve) => (listening = resolve));
      let started = false;
      const starting = startServer({
        projectDir,
        host: '127.0.0.1',
        port: 0,
        engine,
        logger: createLogger('info', logs),
        onListening: (url) => listening(url),
        settings: { tokens: { hash_rounds: 4 } },
      }).then((server) => {
        started = true;
        return server;
      });
      const url = await urlKnown;
      const one = await fetch(`${url}/api/v1/entries?id=items/item-0003&token=${q(token)}`);
      assert.equal(one.status, 200);
      assert.equal(((await one.json()) as { title: string }).title, 'Item 3');
      assert.ok(held > 0 && !started, 'answered while the walk was held');
      let collectionDone = false;
      const collection = fetch(`${url}/api/v1/entries?id=items&options[collection]=true&token=${q(token)}`).then(async (res) => {
        collectionDone = true;
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      });
      // A second single GET is answered while the collection waits for the tree.
      const two = await fetch(`${url}/api/v1/entries?id=items/item-0004&token=${q(token)}`);
      assert.equal(two.status, 200);
      assert.equal(collectionDone, false, 'the collection waits for the tree');
      release();
      const server = await starting;
      try {
        const got = await collection;
        assert.equal(got.status, 200);
        assert.equal(Object.keys(got.body).length, 20);
      } finally {
        await server.close();
      }
    } finally {
      removeProject(projectDir);
    }
  });
});

describe('cold start: bulk reads', () => {
  it('decode in the reading thread exactly as a single read does (values, odd keys, broken files)', async () => {
    const projectDir = tempProject(false);
    try {
      const texts: Record<string, string> = {
        plain: '---\ntitle: Plain\nrating: 2.5\ntags: [a, b]\nnested: {deep: {x: 1}}\n---\nbody\n',
        odd: '---\n__proto__: {polluted: true}\nconstructor: c\n"1": one\nempty:\nuni: "ü\\u00e9 😀"\n---\n',
        json: '---json\n{"title": "J", "n": -0.0, "big": 12345678901234567890}\n---\ntext',
        long: `---\ntitle: ${'x'.repeat(200)}\n---\n${'y'.repeat(5000)}\n`,
        broken: '---\ntitle: [unclosed\n---\nbody\n',
        unknown: '---neon\ntitle: N\n---\n',
      };
      for (const [name, text] of Object.entries(texts)) {
        mkdirSync(path.join(projectDir, 'entries', name), { recursive: true });
        writeFileSync(path.join(projectDir, 'entries', name, 'entry.md'), text);
      }
      const settings = loadSettings(projectDir, {});
      const engine = createEngine(projectDir, settings, createCollectionResolver(settings.entries.collections));
      await engine.open();
      try {
        const ids = [...Object.keys(texts), 'missing'];
        const bulk = await engine.readMany!(ids);
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i]!;
          const result = bulk[i]!;
          let single: Awaited<ReturnType<StorageEngine['read']>> | Error;
          try {
            single = await engine.read(id);
          } catch (err) {
            single = err as Error;
          }
          if (single instanceof Error) {
            assert.equal(result.kind, 'error', id);
            assert.equal(result.kind === 'error' && result.error.message, single.message, id);
          } else if (single === undefined) {
            assert.equal(result.kind, 'missing', id);
          } else {
            assert.equal(result.kind, 'entry', id);
            if (result.kind !== 'entry') continue;
            assert.deepEqual(result.entry.fields, single.fields, id);
            // atime aside: the first read sets it.
            assert.deepEqual({ ...result.entry.meta, atimeMs: 0 }, { ...single.meta, atimeMs: 0 }, id);
            assert.deepEqual(Object.keys(result.entry.fields), Object.keys(single.fields), id);
            assert.equal(Object.getPrototypeOf(result.entry.fields) === null, Object.getPrototypeOf(single.fields) === null, id);
          }
        }
      } finally {
        await engine.close();
      }
    } finally {
      removeProject(projectDir);
    }
  });

  it('a large collection asked during start-up is answered from the preload, not by reading each file itself', async () => {
    const projectDir = tempProject(false);
    try {
      const count = 1200;
      for (let i = 0; i < count; i++) writeEntry(projectDir, i, `Item ${i}`);
      const earlier = await startTestServer({ projectDir, keepProject: true, settings: { cache: { persist_index: false } } });
      const token = earlier.token;
      await earlier.close();
      let singleReads = 0;
      const { engine, real, release } = gatedEngine(projectDir);
      engine.read = (id: string) => {
        singleReads++;
        return real.read.call(engine, id);
      };
      let listening!: (url: string) => void;
      const urlKnown = new Promise<string>((resolve) => (listening = resolve));
      const starting = startServer({
        projectDir,
        host: '127.0.0.1',
        port: 0,
        engine,
        logger: createLogger('info', new LogCapture()),
        onListening: (url) => listening(url),
        settings: { tokens: { hash_rounds: 4 }, cache: { persist_index: false } },
      });
      const url = await urlKnown;
      const collection = fetch(`${url}/api/v1/entries?id=items&options[collection]=true&token=${q(token)}`).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as Record<string, unknown>,
      }));
      release();
      const server = await starting;
      try {
        const got = await collection;
        assert.equal(got.status, 200);
        assert.equal(Object.keys(got.body).length, count);
        assert.ok(singleReads < count / 10, `the collection waited for the preload (${singleReads} single reads)`);
      } finally {
        await server.close();
      }
    } finally {
      removeProject(projectDir);
    }
  });
});
