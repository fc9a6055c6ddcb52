/**
 * Outside edits the watcher used to miss (issue 9, items 20 and 21): in-place rewrites that keep
 * the mtime, outside moves right after an API write, and a replaced entries folder. Every change is
 * made with real file-system calls; the API is then polled (bounded) until it shows the change.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { filesOnly } from './engine-helpers.js';
import { call, q, startTestServer, type ApiResponse, type TestServer } from './helpers.js';

const BOUND_MS = 10_000;

/** Polls `probe` until `done` holds or the bound passes; returns the last value seen. */
async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + BOUND_MS;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await probe();
  }
  return value;
}

const entryFile = (t: TestServer, id: string): string => path.join(t.projectDir, 'entries', ...id.split('/'), 'entry.md');

const getEntry = (t: TestServer, id: string): Promise<ApiResponse> =>
  call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}` });

const collectionIds = async (t: TestServer, id: string): Promise<string[]> => {
  const r = await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&options[collection]=true&token=${q(t.token)}` });
  return r.status === 200 ? Object.keys(r.body) : [];
};

const write = (t: TestServer, method: string, body: Record<string, unknown>): Promise<ApiResponse> =>
  call(t.base, method, '/entries', { json: { ...body, token: t.token, access_token: t.accessToken } });

/** Replaces a file's content in place (same inode) and gives it back its old mtime, as `cp -p` does. */
function rewriteKeepingMtime(file: string, text: string): void {
  assert.equal(Buffer.byteLength(text), statSync(file).size, 'same size, so only ctime tells');
  const source = `${path.dirname(file)}.source`;
  writeFileSync(source, text);
  execFileSync('touch', ['-r', file, source]);
  execFileSync('cp', ['-p', source, file]);
}

for (const watch of [true, false]) {
  describe(`outside edits that keep the mtime (watch: ${watch})`, filesOnly('cp -p over an entry file'), () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ settings: { cache: { watch } } });
    });
    after(async () => t.close());

    it('sees a cp -p over an entry, and a PATCH right after it keeps the outside edit', async () => {
      const id = 'blog/hello-world';
      const file = entryFile(t, id);
      const original = readFileSync(file, 'utf8');
      assert.equal((await getEntry(t, id)).body.title, 'Hello world');
      const mtimeBefore = statSync(file).mtimeMs;

      rewriteKeepingMtime(file, original.replace('Hello world', 'Jello world'));
      assert.equal(statSync(file).mtimeMs, mtimeBefore);
      // At once, before any watcher event could be handled: the write must re-read the file.
      const patched = await write(t, 'PATCH', { id, data: { views: 7 } });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.title, 'Jello world');
      assert.match(readFileSync(file, 'utf8'), /title: Jello world/);

      const second = readFileSync(file, 'utf8').replace('Jello world', 'Mello world');
      rewriteKeepingMtime(file, second);
      const seen = await waitFor(() => getEntry(t, id), (r) => r.body?.title === 'Mello world');
      assert.equal(seen.body.title, 'Mello world');
    });
  });
}

describe('outside changes right after API writes, and a replaced entries folder', filesOnly('mv and cp -a of entry files and folders'), () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  it('sees an outside mv of an entry made right after a PATCH of it', async () => {
    const dir = path.join(t.projectDir, 'entries', 'blog');
    assert.equal((await write(t, 'PATCH', { id: 'blog/flat-files', data: { views: 3 } })).status, 200);
    renameSync(path.join(dir, 'flat-files'), path.join(dir, 'flat-files-moved'));
    const gone = await waitFor(() => getEntry(t, 'blog/flat-files'), (r) => r.status === 404);
    assert.equal(gone.status, 404);
    const moved = await waitFor(() => getEntry(t, 'blog/flat-files-moved'), (r) => r.status === 200);
    assert.equal(moved.body.title, 'Why flat files');
    const ids = await waitFor(() => collectionIds(t, 'blog'), (list) => !list.includes('blog/flat-files'));
    assert.ok(!ids.includes('blog/flat-files'));
    assert.ok(ids.includes('blog/flat-files-moved'));
  });

  it('sees an outside mv of an entry the API has just moved', async () => {
    const dir = path.join(t.projectDir, 'entries', 'movies');
    assert.equal((await write(t, 'PUT', { id: 'movies/arrival', new_id: 'movies/arrival-2' })).status, 200);
    renameSync(path.join(dir, 'arrival-2'), path.join(dir, 'arrival-3'));
    const gone = await waitFor(() => getEntry(t, 'movies/arrival-2'), (r) => r.status === 404);
    assert.equal(gone.status, 404);
    const ids = await waitFor(() => collectionIds(t, 'movies'), (list) => list.includes('movies/arrival-3') && !list.includes('movies/arrival-2'));
    assert.ok(ids.includes('movies/arrival-3'));
    assert.ok(!ids.includes('movies/arrival-2'));
  });

  it('follows a watched folder replaced by a copy (mv movies movies.old && cp -a movies.old movies)', async () => {
    const movies = path.join(t.projectDir, 'entries', 'movies');
    assert.equal((await getEntry(t, 'movies/inception')).status, 200);
    renameSync(movies, path.join(t.projectDir, 'entries', '.movies.old'));
    execFileSync('cp', ['-a', path.join(t.projectDir, 'entries', '.movies.old'), movies]);
    await waitFor(() => collectionIds(t, 'movies'), (list) => list.includes('movies/inception'));
    // The first edit may still be caught by the rescan the replacement caused; the second is seen
    // only if the new folders are watched.
    for (const title of ['Inception, first edit after the copy', 'Inception, second edit after the copy']) {
      writeFileSync(path.join(movies, 'inception', 'entry.yaml'), `title: ${title}\n`);
      const seen = await waitFor(() => getEntry(t, 'movies/inception'), (r) => r.body?.title === title);
      assert.equal(seen.body.title, title);
    }
  });

  it('follows an entries folder replaced by a copy (mv entries entries.old && cp -a entries.old entries)', async () => {
    const entries = path.join(t.projectDir, 'entries');
    assert.equal((await getEntry(t, 'home')).status, 200);
    renameSync(entries, `${entries}.old`);
    execFileSync('cp', ['-a', `${entries}.old`, entries]);
    // Edits in the new folder must reach the API: an existing entry changed, a new one added.
    writeFileSync(path.join(entries, 'home', 'entry.md'), '---\ntitle: New home\n---\nReplaced.\n');
    mkdirSync(path.join(entries, 'blog', 'after-replace'));
    writeFileSync(path.join(entries, 'blog', 'after-replace', 'entry.md'), '---\ntitle: After replace\n---\n');
    const home = await waitFor(() => getEntry(t, 'home'), (r) => r.body?.title === 'New home');
    assert.equal(home.body.title, 'New home');
    const ids = await waitFor(() => collectionIds(t, 'blog'), (list) => list.includes('blog/after-replace'));
    assert.ok(ids.includes('blog/after-replace'));
    // And an edit in the old folder is no longer taken for one in the served folder.
    writeFileSync(path.join(`${entries}.old`, 'blog', 'hello-world', 'entry.md'), '---\ntitle: Old folder edit\n---\n');
    writeFileSync(path.join(entries, 'blog', 'hello-world', 'entry.md'), '---\ntitle: Served folder edit\n---\n');
    const hello = await waitFor(() => getEntry(t, 'blog/hello-world'), (r) => r.body?.title === 'Served folder edit');
    assert.equal(hello.body.title, 'Served folder edit');
  });
});
