/**
 * Storage conformance: `storageConformance` runs against any StorageEngine (written only against
 * the interface, so another engine can be plugged in); the file-system driver then gets its own
 * checks (files on disk, temporary files, recovery, symlinks), over HTTP too for the symlink guard.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import JSON5 from 'json5';
import YAML from 'yaml';
import { createCollectionResolver } from '../src/core/collections.js';
import type { CollectionSettings } from '../src/core/settings.js';
import { StorageError, type FormatResolver, type StorageEngine } from '../src/storage/engine.js';
import { FsEngine, TEMP_PREFIX } from '../src/storage/fs/engine.js';
import { getSerializer, type Fields, type Serializer } from '../src/storage/serializers/index.js';
import { call, q, removeProject, startTestServer, tempProject } from './helpers.js';

/**
 * The formats the suite uses: `y/…` YAML, `j/…` JSON, `j5/…` JSON5, anything else front matter
 * (the same collection settings a project would declare).
 */
const COLLECTIONS: Record<string, CollectionSettings> = {
  default: { filename: 'entry', extension: 'md', serializer: 'frontmatter' },
  yaml_items: { pattern: 'y/.+', filename: 'entry', extension: 'yaml', serializer: 'yaml' },
  json_items: { pattern: 'j/.+', filename: 'entry', extension: 'json', serializer: 'json' },
  json5_items: { pattern: 'j5/.+', filename: 'entry', extension: 'json5', serializer: 'json5' },
};

export function testResolver(): FormatResolver {
  return createCollectionResolver(COLLECTIONS);
}

/** Every id the engine lists at or below `under`, in one array. */
async function readRaw(engine: StorageEngine, id: string): Promise<string | undefined> {
  return (await engine.readSource(id))?.text;
}

async function scan(engine: StorageEngine, under?: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of engine.list(under)) ids.push(...batch);
  return ids;
}

/** What an engine under test needs to provide. */
export interface DriverHarness {
  driver: StorageEngine;
  dispose(): Promise<void>;
}

/** Fields that exercise the serializers: types, nesting, look-alike strings, unicode. */
const RICH: Fields = {
  title: 'Ünïcödé — “quotes” & <tags> 🎬',
  views: 10,
  ratio: 0.25,
  negative: -3,
  published: true,
  hidden: false,
  nothing: null,
  numeric_string: '10',
  bool_string: 'true',
  date_string: '15-05-2020 06:57',
  iso_string: '2020-05-15',
  colon: 'a: b',
  hash: '# not a comment',
  dashes: '---',
  empty: '',
  tags: ['a', 'b', 'c'],
  nested: { deep: { list: [1, { x: 'y' }], flag: false } },
  multiline: 'line 1\nline 2\n\n  indented',
};

export function storageConformance(name: string, makeHarness: (resolve: FormatResolver) => Promise<DriverHarness>): void {
  describe(`StorageEngine conformance: ${name}`, () => {
    let h: DriverHarness;
    let driver: StorageEngine;
    beforeEach(async () => {
      h = await makeHarness(testResolver());
      driver = h.driver;
    });
    afterEach(async () => h.dispose());

    it('reports a missing entry as undefined', async () => {
      assert.equal(await driver.read('missing'), undefined);
      assert.equal(await readRaw(driver, 'missing'), undefined);
      assert.equal(await driver.revision('missing'), undefined);
      assert.equal(await driver.read('missing/deeper'), undefined);
    });

    for (const [label, id, withContent] of [
      ['front matter', 'fm-rich', true],
      ['YAML', 'y/rich', false],
      ['JSON', 'j/rich', false],
      ['JSON5', 'j5/rich', false],
    ] as const) {
      it(`round-trips fields through ${label}`, async () => {
        const fields: Fields = withContent ? { ...RICH, content: 'Body text\n\n---\nwith a rule\n' } : { ...RICH };
        const written = await driver.write(id, fields);
        assert.ok(written.size > 0);
        const stored = await driver.read(id);
        assert.ok(stored);
        assert.equal(stored.id, id);
        assert.deepEqual(stored.fields, fields);
        assert.equal(stored.meta.size, written.size);
        assert.equal(stored.meta.mtimeMs, written.mtimeMs);
        assert.equal(stored.meta.revision, written.revision);
        const stat = await driver.revision(id);
        assert.equal(stat?.size, written.size);
        assert.equal(stat?.revision, written.revision);
        const raw = await readRaw(driver, id);
        assert.ok(raw?.includes('Body text') || !withContent);
        assert.ok(raw?.includes('numeric_string'));
      });
    }

    it('replaces an entry on write (no merge)', async () => {
      await driver.write('y/replace', { a: 1, b: 2 });
      await driver.write('y/replace', { a: 3 });
      assert.deepEqual((await driver.read('y/replace'))?.fields, { a: 3 });
    });

    it('creates the folders of a nested entry; folders without a file are not entries', async () => {
      await driver.write('deep/er/est', { title: 'x', content: '' });
      assert.deepEqual((await driver.read('deep/er/est'))?.fields, { title: 'x', content: '' });
      assert.equal(await driver.read('deep/er'), undefined);
      assert.equal(await driver.revision('deep'), undefined);
      assert.deepEqual(await scan(driver), ['deep/er/est']);
    });

    it('scans every entry, or those below an id (the id included)', async () => {
      for (const id of ['a', 'a/b', 'a/b/c', 'a2', 'z/y', 'y/item']) await driver.write(id, { id, content: '' });
      assert.deepEqual((await scan(driver)).sort(), ['a', 'a/b', 'a/b/c', 'a2', 'y/item', 'z/y']);
      assert.deepEqual((await scan(driver, 'a')).sort(), ['a', 'a/b', 'a/b/c']);
      assert.deepEqual((await scan(driver, 'a/b')).sort(), ['a/b', 'a/b/c']);
      assert.deepEqual(await scan(driver, 'z'), ['z/y']);
      assert.deepEqual(await scan(driver, 'none'), []);
    });

    it('moves an entry with all its children', async () => {
      await driver.write('p', { t: 'p', content: '' });
      await driver.write('p/c', { t: 'c', content: 'child' });
      await driver.write('p/c/d', { t: 'd', content: '' });
      await driver.write('p2', { t: 'sibling', content: '' });
      await driver.move('p', 'q');
      assert.deepEqual((await driver.read('q'))?.fields, { t: 'p', content: '' });
      assert.deepEqual((await driver.read('q/c'))?.fields, { t: 'c', content: 'child' });
      assert.deepEqual((await driver.read('q/c/d'))?.fields, { t: 'd', content: '' });
      assert.equal(await driver.read('p'), undefined);
      assert.equal(await driver.read('p/c'), undefined);
      assert.deepEqual((await driver.read('p2'))?.fields, { t: 'sibling', content: '' });
      assert.deepEqual((await scan(driver)).sort(), ['p2', 'q', 'q/c', 'q/c/d']);
    });

    it('moves below another entry', async () => {
      await driver.write('m', { t: 'm', content: '' });
      await driver.write('parent', { t: 'parent', content: '' });
      await driver.move('m', 'parent/m');
      assert.deepEqual((await driver.read('parent/m'))?.fields, { t: 'm', content: '' });
      assert.equal(await driver.read('m'), undefined);
    });

    it('refuses to move or copy onto an existing entry, changing nothing', async () => {
      await driver.write('src', { t: 'src', content: '' });
      await driver.write('src/kid', { t: 'kid', content: '' });
      await driver.write('dst', { t: 'dst', content: '' });
      const isExists = (err: unknown) => err instanceof StorageError && err.reason === 'exists';
      await assert.rejects(driver.move('src', 'dst'), isExists);
      await assert.rejects(driver.copy('src', 'dst', (_id, f) => f), isExists);
      assert.deepEqual((await driver.read('dst'))?.fields, { t: 'dst', content: '' });
      assert.equal(await driver.read('dst/kid'), undefined);
      assert.deepEqual((await driver.read('src/kid'))?.fields, { t: 'kid', content: '' });
    });

    it('copies an entry with all its children through the transform, leaving the source as it was', async () => {
      await driver.write('orig', { t: 'orig', n: 1, content: 'o' });
      await driver.write('orig/kid', { t: 'kid', n: 2, content: '' });
      await driver.write('orig/kid/grand', { t: 'grand', n: 3, content: '' });
      const seen: string[] = [];
      await driver.copy('orig', 'dup', (id, fields) => {
        seen.push(id);
        return { ...fields, copied_as: id };
      });
      assert.deepEqual(seen.sort(), ['dup', 'dup/kid', 'dup/kid/grand']);
      assert.deepEqual((await driver.read('dup'))?.fields, { t: 'orig', n: 1, content: 'o', copied_as: 'dup' });
      assert.deepEqual((await driver.read('dup/kid'))?.fields, { t: 'kid', n: 2, content: '', copied_as: 'dup/kid' });
      assert.deepEqual((await driver.read('dup/kid/grand'))?.fields, { t: 'grand', n: 3, content: '', copied_as: 'dup/kid/grand' });
      assert.deepEqual((await driver.read('orig'))?.fields, { t: 'orig', n: 1, content: 'o' });
      assert.deepEqual((await driver.read('orig/kid/grand'))?.fields, { t: 'grand', n: 3, content: '' });
      assert.deepEqual((await scan(driver)).sort(), ['dup', 'dup/kid', 'dup/kid/grand', 'orig', 'orig/kid', 'orig/kid/grand']);
    });

    it('writes a copy in the format of the target collection', async () => {
      await driver.write('y/source', { title: 'yaml entry', n: 5 });
      await driver.copy('y/source', 'j/target', (_id, fields) => fields);
      assert.deepEqual((await driver.read('j/target'))?.fields, { title: 'yaml entry', n: 5 });
    });

    it('removes an entry with all its children, and nothing else', async () => {
      await driver.write('r', { t: 'r', content: '' });
      await driver.write('r/kid', { t: 'kid', content: '' });
      await driver.write('r-sibling', { t: 'sib', content: '' });
      await driver.write('rr', { t: 'rr', content: '' });
      await driver.remove('r');
      assert.equal(await driver.read('r'), undefined);
      assert.equal(await driver.read('r/kid'), undefined);
      assert.deepEqual((await scan(driver)).sort(), ['r-sibling', 'rr']);
    });

    it('has nothing to recover in a clean store', async () => {
      await driver.write('clean', { t: 'x', content: '' });
      assert.equal((await driver.open()).recovered, 0);
      assert.deepEqual((await driver.read('clean'))?.fields, { t: 'x', content: '' });
    });
    const isConflict = (err: unknown) => err instanceof StorageError && err.reason === 'conflict';

    it('writes with an expected revision only while it is still the current one', async () => {
      const first = await driver.write('rev', { n: 1, content: '' });
      const second = await driver.write('rev', { n: 2, content: '' }, { expected: first.revision });
      assert.notEqual(second.revision, first.revision);
      // A writer still holding the first revision must not overwrite the second version.
      await assert.rejects(driver.write('rev', { n: 3, content: '' }, { expected: first.revision }), isConflict);
      assert.deepEqual((await driver.read('rev'))?.fields, { n: 2, content: '' });
      assert.equal((await driver.revision('rev'))?.revision, second.revision);
      // Expecting a revision of an entry that is gone is a conflict too, and creates nothing.
      await driver.remove('rev');
      await assert.rejects(driver.write('rev', { n: 4, content: '' }, { expected: second.revision }), isConflict);
      assert.equal(await driver.read('rev'), undefined);
    });

    it('a new revision for every change, none for a read', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add((await driver.write('revs', { i, content: 'x'.repeat(i % 2) })).revision);
      assert.equal(seen.size, 5);
      const now = (await driver.revision('revs'))!.revision;
      await driver.read('revs');
      assert.equal((await driver.revision('revs'))!.revision, now);
    });

    it('writes and reads stored text as is', async () => {
      const text = '---\ntitle:   spaced   # a comment kept\nlist: [1,2]\n---\nBody\n';
      const meta = await driver.writeSource('src-text', text, 'md');
      assert.equal(meta.size, Buffer.byteLength(text));
      assert.deepEqual(await driver.readSource('src-text'), { text, extension: 'md' });
      assert.deepEqual((await driver.read('src-text'))?.fields, { title: 'spaced', list: [1, 2], content: 'Body\n' });
      await assert.rejects(driver.writeSource('src-bad', 'half \uD800 surrogate', 'md'), (err: unknown) => err instanceof StorageError && err.reason === 'not_utf8');
      assert.equal(await driver.read('src-bad'), undefined);
    });

    it('lists the children that are or lead to entries', async () => {
      for (const id of ['c', 'c/one', 'c/two/deep', 'c2']) await driver.write(id, { id, content: '' });
      assert.deepEqual((await driver.children('c')).sort(), ['c/one', 'c/two']);
      assert.deepEqual((await driver.children('')).sort(), ['c', 'c2']);
      assert.deepEqual(await driver.children('c/one'), []);
      assert.deepEqual(await driver.children('none'), []);
    });

    it('lists many entries in batches', async () => {
      for (let start = 0; start < 1500; start += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => driver.write(`many/e${start + i}`, { n: start + i, content: '' })));
      }
      const batches: number[] = [];
      const ids = new Set<string>();
      for await (const batch of driver.list('many')) {
        batches.push(batch.length);
        for (const id of batch) ids.add(id);
      }
      assert.equal(ids.size, 1500);
      assert.ok(batches.length >= 2, `batches: ${batches.join(',')}`);
      assert.ok(Math.max(...batches) <= 1100, `batches: ${batches.join(',')}`);
    });
  });
}

/** Every file and folder name below `dir`, as paths relative to it. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const dirent of readdirSync(dir, { withFileTypes: true })) {
    const rel = dirent.name;
    out.push(rel);
    if (dirent.isDirectory()) for (const sub of walk(path.join(dir, rel))) out.push(`${rel}/${sub}`);
  }
  return out;
}

const tempNames = (root: string) => walk(root).filter((p) => p.split('/').some((part) => part.startsWith(TEMP_PREFIX)));

function newTempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'flextype-storage-'));
}

storageConformance('FsEngine', async (resolveFormat) => {
  const dir = newTempDir();
  const driver = new FsEngine({ root: path.join(dir, 'entries'), resolveFormat, durable: false });
  return { driver, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
});

storageConformance('FsEngine (durable)', async (resolveFormat) => {
  const dir = newTempDir();
  const driver = new FsEngine({ root: path.join(dir, 'entries'), resolveFormat, durable: true });
  return { driver, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('serializers', () => {
  const serializer = (name: string): Serializer => {
    const s = getSerializer(name);
    assert.ok(s, `serializer ${name}`);
    return s;
  };

  it('round-trip every field type', () => {
    for (const name of ['frontmatter', 'yaml', 'json', 'json5']) {
      const s = serializer(name);
      const fields: Fields = name === 'frontmatter' ? { ...RICH, content: 'Hello\n' } : { ...RICH };
      assert.deepEqual(s.decode(s.encode(fields)), fields, name);
    }
  });

  it('front matter: YAML header by default, every field but content in the header', () => {
    const s = serializer('frontmatter');
    const text = s.encode({ title: 'T', tags: ['a'], content: 'Body\n' });
    assert.ok(text.startsWith('---\n'), text);
    const [, header, body] = text.split(/^---$/m);
    assert.deepEqual(YAML.parse(header!), { title: 'T', tags: ['a'] });
    assert.equal(body, '\nBody\n');
  });

  it('front matter: reads ---yaml, ---json and ---json5 headers', () => {
    const s = serializer('frontmatter');
    assert.deepEqual(s.decode('---yaml\ntitle: Y\n---\nbody'), { title: 'Y', content: 'body' });
    assert.deepEqual(s.decode('---json\n{"title": "J", "n": [1, 2]}\n---\nbody\n'), { title: 'J', n: [1, 2], content: 'body\n' });
    assert.deepEqual(s.decode("---json5\n{title: 'J5', trailing: [1, 2,],}\n---\n"), { title: 'J5', trailing: [1, 2], content: '' });
  });

  it('front matter: a header line ending in "---" does not close the header', () => {
    const s = serializer('frontmatter');
    const fields: Fields = { title: 'Part one ---', rule: '---', after: 'kept', content: 'Body' };
    assert.deepEqual(s.decode(s.encode(fields)), fields);
    assert.deepEqual(s.decode('---\ntitle: Part one ---\nafter: kept\n---\nBody'), { title: 'Part one ---', after: 'kept', content: 'Body' });
    assert.deepEqual(s.decode('---\n---\nbody\n---\nmore'), { content: 'body\n---\nmore' });
  });

  it('front matter: CRLF line endings, a byte order mark, an empty header, no header at all', () => {
    const s = serializer('frontmatter');
    assert.deepEqual(s.decode('---\r\ntitle: CRLF\r\n---\r\nbody\r\n'), { title: 'CRLF', content: 'body\r\n' });
    assert.deepEqual(s.decode('\uFEFF---\ntitle: BOM\n---\n'), { title: 'BOM', content: '' });
    assert.deepEqual(s.decode('---\n---\nonly body'), { content: 'only body' });
    assert.deepEqual(s.decode('no header here'), { content: 'no header here' });
  });

  it('refuse malformed documents with a DecodeError', () => {
    const isDecodeError = (err: unknown) => err instanceof Error && err.name === 'DecodeError';
    assert.throws(() => serializer('json').decode('{"a":'), isDecodeError);
    assert.throws(() => serializer('json').decode('[1, 2]'), isDecodeError);
    assert.throws(() => serializer('json5').decode('{a: }'), isDecodeError);
    assert.throws(() => serializer('yaml').decode('a: [1, 2'), isDecodeError);
    assert.throws(() => serializer('yaml').decode('- just\n- a list'), isDecodeError);
    assert.throws(() => serializer('frontmatter').decode('---json\n{"a":\n---\n'), isDecodeError);
    assert.throws(() => serializer('frontmatter').decode('---klingon\na: 1\n---\n'), isDecodeError);
  });

  it('whole-file formats write documents their own parsers read', () => {
    const fields: Fields = { title: 'x', list: [1, 2], nested: { a: true } };
    assert.deepEqual(JSON.parse(serializer('json').encode(fields)), fields);
    assert.deepEqual(JSON5.parse(serializer('json5').encode(fields)), fields);
    assert.deepEqual(YAML.parse(serializer('yaml').encode(fields)), fields);
  });
});

describe('FsEngine on disk', () => {
  let dir: string;
  let root: string;
  let driver: FsEngine;
  beforeEach(() => {
    dir = newTempDir();
    root = path.join(dir, 'entries');
    driver = new FsEngine({ root, resolveFormat: testResolver(), durable: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one file per entry folder, named by the collection', async () => {
    await driver.write('page', { title: 'p', content: 'Body' });
    await driver.write('y/item', { title: 'y' });
    await driver.write('j/item', { title: 'j' });
    await driver.write('j5/item', { title: 'j5' });
    assert.deepEqual(walk(root).filter((p) => p.includes('/entry.')).sort(), [
      'j/item/entry.json',
      'j5/item/entry.json5',
      'page/entry.md',
      'y/item/entry.yaml',
    ]);
    assert.match(readFileSync(path.join(root, 'page', 'entry.md'), 'utf8'), /^---\ntitle: p\n---\nBody$/);
    assert.deepEqual(JSON.parse(readFileSync(path.join(root, 'j', 'item', 'entry.json'), 'utf8')), { title: 'j' });
  });

  it('reads hand-written files in every header language', async () => {
    const put = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    put('hand-json/entry.md', '---json\n{"title": "json header"}\n---\ntext');
    put('hand-json5/entry.md', "---json5\n{title: 'json5 header', // comment\n}\n---\n");
    put('y/hand/entry.yaml', 'title: plain yaml\nlist: [1, 2]\n');
    assert.deepEqual((await driver.read('hand-json'))?.fields, { title: 'json header', content: 'text' });
    assert.deepEqual((await driver.read('hand-json5'))?.fields, { title: 'json5 header', content: '' });
    assert.deepEqual((await driver.read('y/hand'))?.fields, { title: 'plain yaml', list: [1, 2] });
  });

  it('reports an unparsable file as a StorageError "unreadable"', async () => {
    mkdirSync(path.join(root, 'j', 'broken'), { recursive: true });
    writeFileSync(path.join(root, 'j', 'broken', 'entry.json'), '{"title": ');
    await assert.rejects(driver.read('j/broken'), (err: unknown) => err instanceof StorageError && err.reason === 'unreadable');
  });

  it('leaves no temporary files behind after writes, moves, copies and removals', async () => {
    for (let i = 0; i < 20; i++) await driver.write(`w/e${i % 5}`, { i, content: 'x'.repeat(i * 100) });
    await driver.copy('w', 'w-copy', (_id, f) => f);
    await driver.move('w-copy', 'w-moved');
    await driver.remove('w-moved/e1');
    await driver.remove('w/e2');
    assert.deepEqual(tempNames(root), []);
    assert.deepEqual((await driver.read('w/e4'))?.fields, { i: 19, content: 'x'.repeat(1900) });
  });

  it('leaves no temporary file behind when a write fails, and keeps the old state', async () => {
    // A folder where the entry file should be makes the final rename fail.
    mkdirSync(path.join(root, 'blocked', 'entry.md'), { recursive: true });
    await assert.rejects(driver.write('blocked', { title: 'x' }));
    assert.deepEqual(tempNames(root), []);
    assert.deepEqual(readdirSync(path.join(root, 'blocked')), ['entry.md']);
  });

  it('recover() removes leftover temporary files and folders, and only those', async () => {
    await driver.write('keep', { title: 'keep', content: '' });
    await driver.write('keep/child', { title: 'child', content: '' });
    // What a crash mid-write, mid-copy and mid-delete leaves behind.
    writeFileSync(path.join(root, 'keep', `${TEMP_PREFIX}abc123-entry.md`), '---\ntitle: half\n');
    mkdirSync(path.join(root, `${TEMP_PREFIX}def456-copy`, 'sub'), { recursive: true });
    writeFileSync(path.join(root, `${TEMP_PREFIX}def456-copy`, 'entry.md'), '---\ntitle: staged\n---\n');
    writeFileSync(path.join(root, `${TEMP_PREFIX}def456-copy`, 'sub', 'entry.md'), '---\ntitle: staged\n---\n');
    mkdirSync(path.join(root, 'keep', 'child', `${TEMP_PREFIX}0a0b0c-deleted`));
    assert.equal(tempNames(root).length > 0, true);
    // Temporary names are never reported as entries.
    assert.deepEqual((await scan(driver)).sort(), ['keep', 'keep/child']);
    assert.equal((await driver.open()).recovered, 3);
    assert.deepEqual(tempNames(root), []);
    assert.deepEqual((await driver.read('keep'))?.fields, { title: 'keep', content: '' });
    assert.deepEqual((await driver.read('keep/child'))?.fields, { title: 'child', content: '' });
    assert.equal((await driver.open()).recovered, 0);
  });

  it('maps watcher paths to ids', () => {
    assert.deepEqual(driver.changeOfPath(path.join('blog', 'post', 'entry.md')), { kind: 'entry', id: 'blog/post' });
    assert.deepEqual(driver.changeOfPath(path.join('blog', 'post')), { kind: 'subtree', id: 'blog/post' });
    assert.deepEqual(driver.changeOfPath(path.join('y', 'item', 'entry.yaml')), { kind: 'entry', id: 'y/item' });
    assert.equal(driver.changeOfPath(path.join('blog', `${TEMP_PREFIX}x-entry.md`)), undefined);
    assert.deepEqual(driver.changeOfPath(''), { kind: 'resync' });
  });
});

describe('FsEngine never follows a symlink out of the entries folder', () => {
  let dir: string;
  let outside: string;
  let project: string;
  let root: string;
  let driver: FsEngine;
  const SECRET = 'OUTSIDE-SECRET-7f3a';

  before(() => {
    dir = newTempDir();
    outside = path.join(dir, 'outside');
    project = path.join(dir, 'project');
    root = path.join(project, 'entries');
    mkdirSync(path.join(outside, 'inner'), { recursive: true });
    writeFileSync(path.join(outside, 'entry.md'), `---\ntitle: ${SECRET}\n---\n${SECRET}\n`);
    writeFileSync(path.join(outside, 'inner', 'entry.md'), `---\ntitle: ${SECRET}\n---\n`);
    mkdirSync(path.join(root, 'tree', 'filelink'), { recursive: true });
    writeFileSync(path.join(root, 'tree', 'entry.md'), '---\ntitle: tree\n---\n');
    // A folder link and a file link, both pointing outside.
    symlinkSync(outside, path.join(root, 'dirlink'), 'dir');
    symlinkSync(outside, path.join(root, 'tree', 'nested-link'), 'dir');
    symlinkSync(path.join(outside, 'entry.md'), path.join(root, 'tree', 'filelink', 'entry.md'), 'file');
    mkdirSync(path.join(root, 'writelink'));
    symlinkSync(path.join(outside, 'entry.md'), path.join(root, 'writelink', 'entry.md'), 'file');
    driver = new FsEngine({ root, resolveFormat: testResolver(), durable: false });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const refused = async (promise: Promise<unknown>) => {
    try {
      const value = await promise;
      assert.equal(value, undefined, `expected nothing, got ${JSON.stringify(value)}`);
    } catch (err) {
      assert.ok(err instanceof StorageError && err.reason === 'unsafe', `unexpected ${String(err)}`);
    }
  };
  const outsideUntouched = () => {
    assert.deepEqual(readdirSync(outside).sort(), ['entry.md', 'inner']);
    assert.match(readFileSync(path.join(outside, 'entry.md'), 'utf8'), new RegExp(`title: ${SECRET}`));
    assert.deepEqual(readdirSync(path.join(outside, 'inner')), ['entry.md']);
  };

  it('does not read through a folder link or a file link', async () => {
    for (const id of ['dirlink', 'dirlink/inner', 'tree/nested-link', 'tree/filelink']) {
      await refused(driver.read(id));
      await refused(readRaw(driver, id));
      assert.equal(await driver.revision(id), undefined, `stat ${id}`);
    }
  });

  it('does not scan through links', async () => {
    const ids = await scan(driver);
    assert.deepEqual(ids.sort(), ['tree']);
  });

  it('does not write, remove, move or copy through a link', async () => {
    const unsafe = (err: unknown) => err instanceof StorageError && err.reason === 'unsafe';
    await assert.rejects(driver.write('dirlink/new', { title: 'x' }), unsafe);
    await assert.rejects(driver.write('dirlink', { title: 'x' }), unsafe);
    await assert.rejects(driver.remove('dirlink/inner'), unsafe);
    await assert.rejects(driver.move('dirlink/inner', 'stolen'), unsafe);
    await assert.rejects(driver.copy('dirlink', 'stolen', (_id, f) => f), unsafe);
    // The entry file is a link to an outside file: a write is refused, or replaces the link
    // itself (the rename is inside entries/); either way the outside file keeps its content.
    try {
      await driver.write('writelink', { title: 'overwrite' });
      assert.deepEqual((await driver.read('writelink'))?.fields, { title: 'overwrite', content: '' });
    } catch (err) {
      assert.ok(err instanceof StorageError && err.reason === 'unsafe', `unexpected ${String(err)}`);
    }
    outsideUntouched();
    assert.equal(existsSync(path.join(root, 'stolen')), false);
  });

  it('copies a tree without the links inside it', async () => {
    await driver.copy('tree', 'tree-copy', (_id, f) => f);
    assert.deepEqual((await driver.read('tree-copy'))?.fields, { title: 'tree', content: '' });
    assert.equal(await driver.read('tree-copy/nested-link'), undefined);
    assert.equal(await driver.read('tree-copy/filelink'), undefined);
    assert.doesNotMatch(walk(path.join(root, 'tree-copy')).map((p) => {
      const full = path.join(root, 'tree-copy', p);
      return p.endsWith('.md') ? readFileSync(full, 'utf8') : '';
    }).join('\n'), new RegExp(SECRET));
    outsideUntouched();
  });

  it('answers 4xx over HTTP, never the outside content', async () => {
    const projectDir = tempProject(false);
    const outsideDir = path.join(projectDir, '..', `${path.basename(projectDir)}-outside`);
    mkdirSync(path.join(outsideDir, 'inner'), { recursive: true });
    writeFileSync(path.join(outsideDir, 'entry.md'), `---\ntitle: ${SECRET}\n---\n${SECRET}\n`);
    writeFileSync(path.join(outsideDir, 'inner', 'entry.md'), `---\ntitle: ${SECRET}\n---\n`);
    mkdirSync(path.join(projectDir, 'entries', 'home'), { recursive: true });
    writeFileSync(path.join(projectDir, 'entries', 'home', 'entry.md'), '---\ntitle: Home\n---\n');
    mkdirSync(path.join(projectDir, 'entries', 'filelink'), { recursive: true });
    symlinkSync(outsideDir, path.join(projectDir, 'entries', 'dirlink'), 'dir');
    symlinkSync(path.join(outsideDir, 'entry.md'), path.join(projectDir, 'entries', 'filelink', 'entry.md'), 'file');
    const t = await startTestServer({ projectDir });
    try {
      const get = (query: string) => call(t.base, 'GET', '/entries', { query: `${query}&token=${q(t.token)}` });
      const writeCall = (method: string, endpoint: string, params: Record<string, unknown>) =>
        call(t.base, method, endpoint, { json: { token: t.token, access_token: t.accessToken, ...params } });
      const expect4xx = (res: { status: number; text: string }, what: string) => {
        assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${res.text}`);
        assert.equal(res.text.includes(SECRET), false, `${what} leaked: ${res.text}`);
      };
      expect4xx(await get('id=dirlink'), 'GET dirlink');
      expect4xx(await get('id=dirlink/inner'), 'GET dirlink/inner');
      expect4xx(await get('id=filelink'), 'GET filelink');
      expect4xx(await get('id=dirlink&options[collection]=true'), 'GET dirlink collection');
      const root = await get(`id=&options[collection]=true&options[find][depth]=${q('>= 1')}`);
      assert.equal(root.status, 200, root.text);
      assert.equal(root.text.includes(SECRET), false, root.text);
      expect4xx(await writeCall('POST', '/entries', { id: 'dirlink/new', data: { title: 'x' } }), 'POST dirlink/new');
      expect4xx(await writeCall('PATCH', '/entries', { id: 'dirlink/inner', data: { title: 'x' } }), 'PATCH dirlink/inner');
      expect4xx(await writeCall('PATCH', '/entries', { id: 'filelink', data: { title: 'x' } }), 'PATCH filelink');
      expect4xx(await writeCall('PUT', '/entries', { id: 'dirlink/inner', new_id: 'stolen' }), 'PUT move');
      expect4xx(await writeCall('PUT', '/entries/copy', { id: 'dirlink', new_id: 'stolen' }), 'PUT copy');
      expect4xx(await writeCall('DELETE', '/entries', { id: 'dirlink/inner' }), 'DELETE dirlink/inner');
      expect4xx(await writeCall('DELETE', '/entries', { id: 'dirlink' }), 'DELETE dirlink');
      assert.deepEqual(readdirSync(outsideDir).sort(), ['entry.md', 'inner']);
      assert.deepEqual(readdirSync(path.join(outsideDir, 'inner')), ['entry.md']);
      assert.match(readFileSync(path.join(outsideDir, 'entry.md'), 'utf8'), new RegExp(`title: ${SECRET}`));
      assert.equal(existsSync(path.join(projectDir, 'entries', 'stolen')), false);
      const home = await get('id=home');
      assert.equal(home.status, 200, home.text);
    } finally {
      await t.close();
      removeProject(projectDir);
      removeProject(outsideDir);
    }
  });
});
