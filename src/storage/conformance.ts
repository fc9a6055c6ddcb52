/**
 * The storage engine conformance suite: one set of node:test tests that every engine must pass,
 * run through the StorageEngine interface only. Each engine's test file calls
 * `storageConformance(name, makeStore)`; see test/storage-conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StorageError, type EngineChange, type FormatResolver, type StorageEngine } from './engine.js';
import { getSerializer, type Fields } from './serializers/index.js';

export interface ConformanceStore {
  /** An opened engine over an empty store. */
  engine: StorageEngine;
  /**
   * Another engine over the same store (a second node on the database, a second process on the
   * folder), opened; the suite closes it. Its changes are outside changes for `engine`.
   */
  another(): Promise<StorageEngine>;
  /** Closes what is left and removes the store. */
  cleanup(): Promise<void>;
}

/** The formats every engine under test must use: front matter by default, JSON under `data`, YAML under `yaml`. */
export const conformanceFormats: FormatResolver = (id) => {
  const top = id.split('/')[0];
  if (top === 'data') return { filename: 'entry', extension: 'json', serializer: getSerializer('json')! };
  if (top === 'yaml') return { filename: 'entry', extension: 'yaml', serializer: getSerializer('yaml')! };
  return { filename: 'entry', extension: 'md', serializer: getSerializer('frontmatter')! };
};

export type MakeStore = (resolveFormat: FormatResolver) => Promise<ConformanceStore>;

async function rejectsWith(op: Promise<unknown>, reason: StorageError['reason']): Promise<void> {
  await assert.rejects(op, (err: unknown) => {
    assert.ok(err instanceof StorageError, `a StorageError, not ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return true;
  });
}

async function allIds(engine: StorageEngine, under?: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of engine.list(under)) ids.push(...batch);
  return ids.sort();
}

const sorted = (ids: string[]) => [...ids].sort();

/** Does `change` tell that `id` may have changed? */
function covers(change: EngineChange, id: string): boolean {
  if (change.kind === 'resync') return true;
  if (change.kind === 'entry') return change.id === id;
  return change.id === '' || id === change.id || id.startsWith(`${change.id}/`);
}

/** Collects outside changes and waits (bounded) for one that covers an id. */
class ChangeLog {
  readonly seen: EngineChange[] = [];
  private waiters: { id: string; resolve: () => void }[] = [];
  readonly listener = (change: EngineChange) => {
    this.seen.push(change);
    this.waiters = this.waiters.filter((w) => (covers(change, w.id) ? (w.resolve(), false) : true));
  };
  waitFor(id: string, ms = 10_000): Promise<void> {
    if (this.seen.some((c) => covers(c, id))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no change reported for "${id}" within ${ms} ms`)), ms);
      this.waiters.push({ id, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

export function storageConformance(name: string, makeStore: MakeStore): void {
  describe(`storage engine conformance: ${name}`, () => {
    let store: ConformanceStore;
    let engine: StorageEngine;
    before(async () => {
      store = await makeStore(conformanceFormats);
      engine = store.engine;
    });
    after(async () => {
      await store?.cleanup();
    });

    describe('read and write', () => {
      it('answers a ping while it can serve', async () => {
        await engine.ping();
      });

      it('answers nothing for an entry that does not exist', async () => {
        assert.equal(await engine.read('nothing/here'), undefined);
        assert.equal(await engine.revision('nothing/here'), undefined);
        assert.equal(await engine.readSource('nothing/here'), undefined);
      });

      it('gives back the fields written: order, types, unicode, nested maps, front matter content', async () => {
        const fields: Fields = {
          title: 'Grüße, 世界 🎉',
          zeta: 1,
          alpha: 2.5,
          negative: -7,
          yes: true,
          no: false,
          nothing: null,
          list: [1, 'two', { three: 3 }, [4]],
          nested: { b: { d: 'deep', c: [] }, a: {} },
          date: '2024-01-31',
          numeric_string: '0012',
          content: '# Heading\n\nA body with --- and: colons\n',
        };
        await engine.write('rt/one', fields);
        const entry = await engine.read('rt/one');
        assert.ok(entry);
        assert.equal(entry.id, 'rt/one');
        assert.deepStrictEqual(entry.fields, fields);
        assert.equal(JSON.stringify(entry.fields), JSON.stringify(fields), 'same key order at every level');
        const source = await engine.readSource('rt/one');
        assert.equal(source?.extension, 'md');
        assert.ok(source.text.startsWith('---'), 'a front matter file');
        assert.ok(source.text.includes('A body with --- and: colons'));
      });

      it('round-trips JSON and YAML entries with their own serializers', async () => {
        const fields: Fields = { b: 1, a: { y: [true, null], x: 'ü' }, big: 1e21, small: 0.000001 };
        await engine.write('data/doc', fields);
        await engine.write('yaml/doc', fields);
        for (const id of ['data/doc', 'yaml/doc']) {
          const entry = await engine.read(id);
          assert.equal(JSON.stringify(entry?.fields), JSON.stringify(fields), id);
        }
        assert.equal((await engine.readSource('data/doc'))?.extension, 'json');
        assert.deepEqual(JSON.parse((await engine.readSource('data/doc'))!.text), fields);
        assert.equal((await engine.readSource('yaml/doc'))?.extension, 'yaml');
      });

      it('reports the stored size and the same revision from read, revision and write', async () => {
        const written = await engine.write('rt/size', { title: 'Größe' });
        const entry = await engine.read('rt/size');
        const revision = await engine.revision('rt/size');
        const source = await engine.readSource('rt/size');
        assert.equal(entry?.meta.revision, written.revision);
        assert.equal(revision?.revision, written.revision);
        assert.equal(revision?.size, Buffer.byteLength(source!.text));
        assert.ok(Number.isFinite(revision?.mtimeMs) && revision!.mtimeMs > 0);
      });

      it('changes the revision on every write and never repeats one, even after delete and re-create', async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 15; i++) {
          const { revision } = await engine.write('rev/a', { n: i % 2 });
          assert.ok(!seen.has(revision), `revision ${revision} repeated at write ${i}`);
          seen.add(revision);
          assert.equal((await engine.revision('rev/a'))?.revision, revision);
        }
        await engine.remove('rev/a');
        for (let i = 0; i < 3; i++) {
          const { revision } = await engine.write('rev/a', { n: 0 });
          assert.ok(!seen.has(revision), 'a re-created entry gets a revision never seen for that id');
          seen.add(revision);
          await engine.remove('rev/a');
        }
      });

      it('writes with `expected` only while the revision is still that one', async () => {
        const first = await engine.write('exp/a', { v: 1 });
        const second = await engine.write('exp/a', { v: 2 }, { expected: first.revision });
        await rejectsWith(engine.write('exp/a', { v: 3 }, { expected: first.revision }), 'conflict');
        assert.deepEqual((await engine.read('exp/a'))?.fields, { v: 2, content: '' });
        assert.equal((await engine.revision('exp/a'))?.revision, second.revision, 'a refused write changes nothing');
        await rejectsWith(engine.write('exp/none', { v: 1 }, { expected: first.revision }), 'conflict');
        assert.equal(await engine.read('exp/none'), undefined);
      });

      it('writes with `create` only while the entry does not exist, and of writers racing to create it exactly one wins', async () => {
        const created = await engine.write('only/a', { v: 1 }, { create: true });
        await rejectsWith(engine.write('only/a', { v: 2 }, { create: true }), 'exists');
        assert.deepEqual((await engine.read('only/a'))?.fields, { v: 1, content: '' });
        assert.equal((await engine.revision('only/a'))?.revision, created.revision, 'a refused create changes nothing');
        const racing = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => engine.write('only/b', { by: i }, { create: true })));
        assert.equal(racing.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of racing) if (r.status === 'rejected') assert.equal((r.reason as StorageError).reason, 'exists');
        const winner = racing.findIndex((r) => r.status === 'fulfilled');
        assert.deepEqual((await engine.read('only/b'))?.fields, { by: winner, content: '' });
      });

      it('creates missing parents implicitly', async () => {
        await engine.write('deep/x/y/z', { title: 'z' });
        assert.equal((await engine.read('deep/x/y/z'))?.fields['title'], 'z');
        assert.deepEqual(await engine.children('deep'), ['deep/x']);
        assert.equal(await engine.read('deep/x'), undefined, 'a parent folder is not an entry');
      });

      it('refuses a segment named like the entry file ("bad_name")', async () => {
        await rejectsWith(engine.write('names/entry.md', { title: 'x' }), 'bad_name');
        assert.deepEqual(await allIds(engine, 'names'), []);
      });
    });

    describe('stored text', () => {
      const text = '---\r\ntitle:   Spaced   # a comment\r\norder: [3, 1, 2]\r\nhex: 0x1F\r\n---\r\nBody\r\nwith CRLF\r\n';

      it('keeps writeSource text byte-for-byte and reads its fields', async () => {
        const revision = await engine.writeSource('src/a', text, 'md');
        const source = await engine.readSource('src/a');
        assert.equal(source?.text, text);
        assert.equal(source?.extension, 'md');
        assert.equal(revision.size, Buffer.byteLength(text));
        const entry = await engine.read('src/a');
        assert.equal(entry?.fields['title'], 'Spaced');
        assert.deepEqual(entry?.fields['order'], [3, 1, 2]);
        assert.equal(entry?.meta.revision, revision.revision);
      });

      it('keeps the formatting of untouched fields when an entry is edited', async () => {
        const entry = await engine.read('src/a');
        await engine.write('src/a', { ...entry!.fields, order: [1, 2, 3] });
        const edited = (await engine.readSource('src/a'))!.text;
        assert.ok(edited.includes('# a comment'), edited);
        assert.ok(edited.includes('0x1F'), edited);
        assert.deepEqual((await engine.read('src/a'))?.fields['order'], [1, 2, 3]);
      });

      it('keeps a text it cannot parse as it is, and reports it as unreadable', async () => {
        const broken = '---\ntitle: [unclosed\n---\nbody';
        await engine.writeSource('src/broken', broken, 'md');
        assert.equal((await engine.readSource('src/broken'))?.text, broken);
        await rejectsWith(engine.read('src/broken'), 'unreadable');
        assert.ok(await engine.revision('src/broken'));
      });
    });

    describe('subtrees', () => {
      const tree: Record<string, Fields> = {
        'mv/a': { title: 'a' },
        'mv/a/b': { title: 'b', list: [1, 2] },
        'mv/a/b/c': { title: 'c' },
        'mv/a/d': { title: 'd' },
        'mv/ab': { title: 'sibling with a common prefix' },
      };
      before(async () => {
        for (const [id, fields] of Object.entries(tree)) await engine.write(id, fields);
      });

      it('moves an entry with all its children, leaving nothing behind', async () => {
        const before = await engine.read('mv/a/b');
        await engine.move('mv/a', 'mv/moved/here');
        assert.deepEqual(await allIds(engine, 'mv/a'), []);
        assert.deepEqual(await allIds(engine, 'mv/moved'), ['mv/moved/here', 'mv/moved/here/b', 'mv/moved/here/b/c', 'mv/moved/here/d']);
        assert.equal(JSON.stringify((await engine.read('mv/moved/here/b'))?.fields), JSON.stringify(before?.fields));
        assert.equal((await engine.read('mv/ab'))?.fields['title'], 'sibling with a common prefix');
        assert.deepEqual(sorted(await engine.children('mv')), ['mv/ab', 'mv/moved']);
        await engine.move('mv/moved/here', 'mv/a');
        assert.deepEqual(await allIds(engine, 'mv/a'), ['mv/a', 'mv/a/b', 'mv/a/b/c', 'mv/a/d']);
      });

      it('keeps an entry readable and unchanged across a move away and back', async () => {
        // Files keep the same revision when the same file comes back to the same id (same text,
        // same answer, so an old ETag still names it truly); a database may give a new one.
        const before = (await engine.read('mv/a/d'))!;
        await engine.move('mv/a', 'mv/x');
        assert.equal(await engine.revision('mv/a/d'), undefined);
        assert.deepEqual((await engine.read('mv/x/d'))?.fields, before.fields);
        await engine.move('mv/x', 'mv/a');
        assert.deepEqual((await engine.read('mv/a/d'))?.fields, before.fields);
        assert.equal(await engine.revision('mv/x/d'), undefined);
      });

      it('refuses to move onto an existing target ("exists") or from a missing source ("missing"), changing nothing', async () => {
        await rejectsWith(engine.move('mv/a', 'mv/ab'), 'exists');
        await engine.write('mv/t/inner', { title: 'only a child' });
        await rejectsWith(engine.move('mv/a', 'mv/t'), 'exists');
        await rejectsWith(engine.move('mv/none', 'mv/other'), 'missing');
        assert.deepEqual(await allIds(engine, 'mv/a'), ['mv/a', 'mv/a/b', 'mv/a/b/c', 'mv/a/d']);
        assert.deepEqual(await allIds(engine, 'mv/other'), []);
      });

      it('copies a subtree, applying the transform to every entry, leaving the source as it was', async () => {
        const seen: string[] = [];
        await engine.copy('mv/a', 'cp/a', (id, fields) => {
          seen.push(id);
          return { ...fields, copied_to: id };
        });
        assert.deepEqual(sorted(seen), ['cp/a', 'cp/a/b', 'cp/a/b/c', 'cp/a/d']);
        assert.deepEqual(await allIds(engine, 'cp'), ['cp/a', 'cp/a/b', 'cp/a/b/c', 'cp/a/d']);
        const copy = await engine.read('cp/a/b');
        assert.equal(copy?.fields['copied_to'], 'cp/a/b');
        assert.deepEqual(copy?.fields['list'], [1, 2]);
        assert.equal((await engine.read('mv/a/b'))?.fields['copied_to'], undefined);
        assert.notEqual(copy?.meta.revision, (await engine.revision('mv/a/b'))?.revision);
      });

      it('copies all or nothing: a transform failing midway leaves no copy', async () => {
        let calls = 0;
        await assert.rejects(
          engine.copy('mv/a', 'cp/half', (id, fields) => {
            if (++calls === 3) throw new Error('transform failed');
            return fields;
          }),
          /transform failed/,
        );
        assert.deepEqual(await allIds(engine, 'cp/half'), []);
        assert.deepEqual(await engine.children('cp'), ['cp/a']);
      });

      it('refuses to copy onto an existing target ("exists") or from a missing source ("missing")', async () => {
        await rejectsWith(engine.copy('mv/a', 'cp/a', (_id, f) => f), 'exists');
        await rejectsWith(engine.copy('mv/none', 'cp/none', (_id, f) => f), 'missing');
        assert.deepEqual(await allIds(engine, 'cp/none'), []);
      });

      it('removes an entry with all its children, and refuses a missing one ("missing")', async () => {
        await engine.remove('cp/a');
        assert.deepEqual(await allIds(engine, 'cp'), []);
        assert.equal(await engine.read('cp/a/b/c'), undefined);
        await rejectsWith(engine.remove('cp/a'), 'missing');
        assert.equal((await engine.read('mv/a/b/c'))?.fields['title'], 'c');
      });
    });

    describe('children and list', () => {
      before(async () => {
        for (const id of ['ch/p/s', 'ch/p/s-x', 'ch/p/s/a/b', 'ch/p/s0', 'ch/p/ü', 'ch/p/Z', 'ch/f/g/h', 'ch/f/i']) await engine.write(id, { title: id });
      });

      it('lists direct children, folders without an entry file included', async () => {
        assert.deepEqual(sorted(await engine.children('ch')), ['ch/f', 'ch/p']);
        assert.deepEqual(sorted(await engine.children('ch/p')), sorted(['ch/p/s', 'ch/p/s-x', 'ch/p/s0', 'ch/p/ü', 'ch/p/Z']));
        assert.deepEqual(sorted(await engine.children('ch/f')), ['ch/f/g', 'ch/f/i']);
        assert.deepEqual(await engine.children('ch/p/s'), ['ch/p/s/a']);
        assert.deepEqual(await engine.children('ch/none'), []);
        assert.ok((await engine.children('')).includes('ch'));
      });

      it('lists every entry at or below an id, in batches, exactly once', async () => {
        const ids = Array.from({ length: 240 }, (_, i) => `many/${String(i).padStart(3, '0')}${i % 7 === 0 ? '/child' : ''}`);
        for (let i = 0; i < ids.length; i += 20) await Promise.all(ids.slice(i, i + 20).map((id) => engine.write(id, { i: id })));
        const listed: string[] = [];
        for await (const batch of engine.list('many')) {
          assert.ok(Array.isArray(batch) && batch.length > 0);
          listed.push(...batch);
        }
        assert.equal(new Set(listed).size, listed.length, 'no id twice');
        assert.deepEqual(listed.sort(), ids.sort());
        const everything = await allIds(engine);
        for (const id of [...ids, 'ch/p/s/a/b', 'mv/a']) assert.ok(everything.includes(id), id);
        assert.deepEqual(await allIds(engine, 'ch/p/s'), ['ch/p/s', 'ch/p/s/a/b'], 'at or below, not siblings sharing a prefix');
      });
    });

    describe('concurrency', () => {
      it('never loses an update when writers use `expected` and retry on conflict', async () => {
        await engine.write('race/counter', { n: 0 });
        const writer = async () => {
          for (let done = 0; done < 10; ) {
            const entry = (await engine.read('race/counter'))!;
            try {
              await engine.write('race/counter', { n: (entry.fields['n'] as number) + 1 }, { expected: entry.meta.revision });
              done++;
            } catch (err) {
              if (!(err instanceof StorageError && err.reason === 'conflict')) throw err;
            }
          }
        };
        await Promise.all(Array.from({ length: 8 }, writer));
        assert.equal((await engine.read('race/counter'))?.fields['n'], 80);
      });

      it('sees the writes of another engine on the same store at once', async () => {
        const other = await store.another();
        try {
          await other.write('two/a', { by: 'other' });
          assert.equal((await engine.read('two/a'))?.fields['by'], 'other');
          const mine = await engine.write('two/a', { by: 'mine' });
          await rejectsWith(other.write('two/a', { by: 'stale' }, { expected: 'no-such-revision' }), 'conflict');
          assert.equal((await other.read('two/a'))?.meta.revision, mine.revision);
        } finally {
          await other.close();
        }
      });
    });

    describe('change feed', () => {
      it('reports writes, moves and removals made through another engine on the same store', async (t) => {
        if (!engine.changes) return t.skip('this engine has no change feed');
        await engine.write('feed/moved', { v: 1 });
        await engine.write('feed/removed/child', { v: 1 });
        const log = new ChangeLog();
        const errors: Error[] = [];
        const feed = await engine.changes(log.listener, (err) => errors.push(err));
        const other = await store.another();
        try {
          await other.write('feed/new', { v: 1 });
          await log.waitFor('feed/new');
          await other.move('feed/moved', 'feed/elsewhere');
          await log.waitFor('feed/moved');
          await log.waitFor('feed/elsewhere');
          await other.remove('feed/removed');
          await log.waitFor('feed/removed/child');
          assert.deepEqual(errors, []);
        } finally {
          await other.close();
          await feed.close();
        }
      });
    });
  });
}
