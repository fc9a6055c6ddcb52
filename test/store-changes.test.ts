/**
 * The store's change listener (issue 11): events for API writes, moves, copies and deletes, and for
 * edits made on disk (through the watcher, and by revision checks without one); writes that merge
 * into an entry never overwrite a change another writer made between the read and the write; an
 * engine that cannot be reached answers 503 with Retry-After. Real servers on loopback, real files.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cms } from '../src/core/cms.js';
import { createCollectionResolver } from '../src/core/collections.js';
import { loadSettings } from '../src/core/settings.js';
import type { StoreChange } from '../src/core/store/changes.js';
import { buildServer } from '../src/http/server.js';
import { StorageError, type ChangeFeed, type EngineChange, type Revision } from '../src/storage/engine.js';
import { FsEngine } from '../src/storage/fs/engine.js';
import type { Fields } from '../src/storage/serializers/index.js';
import { call, editOutside, q, removeProject, startTestServer, storedText, tempProject, type TestServer } from './helpers.js';

const BOUND_MS = 10_000;

async function waitFor(done: () => boolean): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

const entryFile = (projectDir: string, id: string): string => path.join(projectDir, 'entries', ...id.split('/'), 'entry.md');

function api(t: { base: string; token: string; accessToken: string }) {
  return {
    get: (id: string) => call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}` }),
    write: (method: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      call(t.base, method, '/entries', { json: { ...body, token: t.token, access_token: t.accessToken }, headers }),
  };
}

for (const watch of [true, false]) {
  describe(`store.onChange (watch: ${watch})`, () => {
    let t: TestServer;
    let events: StoreChange[];
    let unsubscribe: () => void;
    before(async () => {
      t = await startTestServer({ settings: { cache: { watch, poll_interval: watch ? 2000 : 0 } } });
      events = [];
      unsubscribe = t.server.cms.store.onChange((change) => events.push(change));
    });
    after(async () => {
      unsubscribe();
      await t.close();
    });

    it('reports API writes, moves, copies and deletes as they happen', async () => {
      const a = api(t);
      // The watcher's echoes of our own writes may add outside events, and the token's call
      // counter is written too; the events of these entry operations are exact.
      const ours = () => events.filter((e) => e.kind === 'clear' || (e.origin === 'api' && !e.id.startsWith('tokens')));
      events.length = 0;
      assert.equal((await a.write('POST', { id: 'blog/evented', data: { title: 'E' } })).status, 200);
      assert.deepEqual(ours(), [{ kind: 'entry', id: 'blog/evented', origin: 'api' }]);
      events.length = 0;
      assert.equal((await a.write('PATCH', { id: 'blog/evented', data: { title: 'E2' } })).status, 200);
      assert.deepEqual(ours(), [{ kind: 'entry', id: 'blog/evented', origin: 'api' }]);
      events.length = 0;
      const copied = await call(t.base, 'PUT', '/entries/copy', { json: { id: 'blog/evented', new_id: 'blog/evented-copy', token: t.token, access_token: t.accessToken } });
      assert.equal(copied.status, 200, copied.text);
      assert.deepEqual(ours(), [{ kind: 'subtree', id: 'blog/evented-copy', origin: 'api' }]);
      events.length = 0;
      assert.equal((await a.write('PUT', { id: 'blog/evented-copy', new_id: 'blog/evented-moved' })).status, 200);
      assert.deepEqual(
        ours(),
        [
          { kind: 'subtree', id: 'blog/evented-copy', origin: 'api' },
          { kind: 'subtree', id: 'blog/evented-moved', origin: 'api' },
        ],
      );
      events.length = 0;
      assert.equal((await a.write('DELETE', { id: 'blog/evented-moved' })).status, 204);
      assert.deepEqual(ours(), [{ kind: 'subtree', id: 'blog/evented-moved', origin: 'api' }]);
      events.length = 0;
      t.server.cms.clearCaches();
      assert.deepEqual(ours(), [{ kind: 'clear' }]);
    });

    it('reports an edit made on disk as an outside change of that entry', async () => {
      const a = api(t);
      const id = 'blog/hello-world';
      assert.equal((await a.get(id)).status, 200);
      events.length = 0;
      // On PostgreSQL: another node's write, heard through LISTEN/NOTIFY.
      await editOutside(t, id, (await storedText(t, id)).replace('Hello world', 'Edited on disk'));
      const seen = () => events.some((e) => e.kind === 'entry' && e.id === id && e.origin === 'outside');
      // Without a watcher the store learns of the edit when it re-checks the revision (on a read).
      await waitFor(() => {
        if (!watch) void a.get(id);
        return seen();
      });
      assert.ok(seen(), JSON.stringify(events));
      assert.equal((await a.get(id)).body.title, 'Edited on disk');
    });
  });
}

/** A file engine where a test can act between the core's read and its write (another process writing meanwhile). */
class InterleavingEngine extends FsEngine {
  beforeWrite: ((id: string) => void) | undefined;
  down = false;
  override async write(id: string, fields: Fields, options?: { expected?: string }): Promise<Revision> {
    const hook = this.beforeWrite;
    this.beforeWrite = undefined;
    hook?.(id);
    return super.write(id, fields, options);
  }
  override async read(id: string) {
    if (this.down) throw new StorageError('the database cannot be reached', 'unavailable');
    return super.read(id);
  }
}

describe('read-modify-write against another writer, and an unreachable engine', () => {
  let projectDir: string;
  let cms: Cms;
  let engine: InterleavingEngine;
  let t: { base: string; token: string; accessToken: string; close(): Promise<void> };
  before(async () => {
    projectDir = tempProject(true);
    const settings = loadSettings(projectDir);
    engine = new InterleavingEngine({ root: path.join(projectDir, 'entries'), resolveFormat: createCollectionResolver(settings.entries.collections), durable: false });
    cms = new Cms({ projectDir, engine, settings: { tokens: { hash_rounds: 4 }, cache: { watch: false, poll_interval: 60_000 } } });
    const app = await buildServer(cms);
    await cms.start();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const created = await cms.tokens.create({ title: 'test token' });
    t = {
      base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1`,
      token: created.token,
      accessToken: created.access_token,
      close: async () => {
        await app.close();
        await cms.close();
      },
    };
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  const editOnDisk = (id: string, from: string, to: string) => () => {
    const file = entryFile(projectDir, id);
    writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
  };

  it('a PATCH keeps a change written by someone else between its read and its write', async () => {
    const a = api(t);
    const id = 'blog/hello-world';
    engine.beforeWrite = editOnDisk(id, 'Hello world', 'Retitled elsewhere');
    const patched = await a.write('PATCH', { id, data: { extra: 'from the API' } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.title, 'Retitled elsewhere');
    assert.equal(patched.body.extra, 'from the API');
    const text = readFileSync(entryFile(projectDir, id), 'utf8');
    assert.match(text, /Retitled elsewhere/);
    assert.match(text, /from the API/);
  });

  it('with If-Match, the other writer\'s change makes it a 412 and nothing is overwritten', async () => {
    const a = api(t);
    const id = 'blog/hello-world';
    const etag = (await a.get(id)).headers.get('etag')!;
    engine.beforeWrite = editOnDisk(id, 'Retitled elsewhere', 'Retitled again');
    const patched = await a.write('PATCH', { id, data: { extra: 'lost?' } }, { 'if-match': etag });
    assert.equal(patched.status, 412, patched.text);
    const text = readFileSync(entryFile(projectDir, id), 'utf8');
    assert.match(text, /Retitled again/);
    assert.match(text, /from the API/);
    assert.doesNotMatch(text, /lost\?/);
  });

  it('answers 503 with Retry-After while the engine cannot be reached, and serves again after', async () => {
    const a = api(t);
    cms.clearCaches();
    engine.down = true;
    try {
      const r = await a.get('blog/hello-world');
      assert.equal(r.status, 503, r.text);
      assert.ok(Number(r.headers.get('retry-after')) > 0, `retry-after: ${r.headers.get('retry-after')}`);
      assert.equal(r.body.title, 'Service Unavailable');
      assert.equal(r.body.http_status_code, 503);
    } finally {
      engine.down = false;
    }
    assert.equal((await a.get('blog/hello-world')).status, 200);
  });
});

/** A file engine whose change feed the test drives: it reports what another node would announce. */
class AnnouncingEngine extends FsEngine {
  announce: ((change: EngineChange) => void) | undefined;
  override async changes(listener: (change: EngineChange) => void): Promise<ChangeFeed> {
    this.announce = listener;
    return { close: () => undefined };
  }
}

describe('outside changes that carry their revision (PostgreSQL notices)', () => {
  let projectDir: string;
  let cms: Cms;
  let engine: AnnouncingEngine;
  let t: { base: string; token: string; accessToken: string; close(): Promise<void> };
  before(async () => {
    projectDir = tempProject(true);
    const settings = loadSettings(projectDir);
    engine = new AnnouncingEngine({ root: path.join(projectDir, 'entries'), resolveFormat: createCollectionResolver(settings.entries.collections), durable: false });
    cms = new Cms({ projectDir, engine, settings: { tokens: { hash_rounds: 4 }, cache: { watch: true, poll_interval: 60_000 } } });
    const app = await buildServer(cms);
    await cms.start();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const created = await cms.tokens.create({ title: 'test token' });
    t = {
      base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1`,
      token: created.token,
      accessToken: created.access_token,
      close: async () => {
        await app.close();
        await cms.close();
      },
    };
    await waitFor(() => engine.announce !== undefined);
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('drops the cached copy as the notice arrives (no settle delay, no re-read), and keeps it for its own revision', async () => {
    const a = api(t);
    const id = 'blog/hello-world';
    assert.ok(engine.announce, 'the store listens to the feed');
    assert.match((await a.get(id)).text, /Hello world/);
    const file = entryFile(projectDir, id);
    // The same revision as cached: nothing to do, the copy stays.
    const cachedRevision = (await engine.revision(id))!.revision;
    engine.announce({ kind: 'entry', id, revision: cachedRevision });
    writeFileSync(file, readFileSync(file, 'utf8').replace('Hello world', 'Written on another node'));
    engine.announce({ kind: 'entry', id, revision: (await engine.revision(id))!.revision });
    // Asked right away: the store no longer holds the old copy.
    const now = await cms.store.get(id);
    assert.equal(now?.fields['title'], 'Written on another node');
    assert.match((await a.get(id)).text, /Written on another node/);
  });
});
