/**
 * Projects above `cache.watch_max_entries` (issue 12): no watches, outside changes are found by
 * stat passes in a worker thread, and the cache stays trusted (collections are answered from it,
 * not re-checked entry by entry). Settings are lowered so a small project takes that path; each
 * change is made with real file-system calls, then the test waits for stat passes (not for time)
 * and polls the API, bounded, until it shows the change.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, q, removeProject, startTestServer, tempProject, type ApiResponse, type TestServer } from './helpers.js';

const N = 40;
const BOUND_MS = 15_000;

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + BOUND_MS;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await probe();
  }
  return value;
}

/** Waits until two more passes have ended: the second began after the change was made. */
async function twoPasses(t: TestServer): Promise<void> {
  const store = t.server.cms.store;
  const target = store.scanPasses + 2;
  await waitFor(async () => store.scanPasses, (n) => n >= target);
  assert.ok(store.scanPasses >= target, 'stat passes go on');
}

const itemDir = (t: TestServer, i: number | string) => path.join(t.projectDir, 'entries', 'items', typeof i === 'number' ? `item-${String(i).padStart(3, '0')}` : i);

function writeItem(dir: string, title: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'entry.md'), `---\ntitle: ${title}\n---\nbody\n`);
}

const getEntry = (t: TestServer, id: string): Promise<ApiResponse> => call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}` });

async function titles(t: TestServer): Promise<Record<string, string>> {
  const r = await call(t.base, 'GET', '/entries', { query: `id=items&options[collection]=true&token=${q(t.token)}` });
  assert.equal(r.status, 200);
  return Object.fromEntries(Object.entries(r.body as Record<string, { title: string }>).map(([id, e]) => [id, e.title]));
}

describe('above the watch limit: stat passes', () => {
  let t: TestServer;
  const projectDir = tempProject(true);
  before(async () => {
    for (let i = 0; i < N; i++) writeItem(path.join(projectDir, 'entries', 'items', `item-${String(i).padStart(3, '0')}`), `Item ${i}`);
    t = await startTestServer({ projectDir, keepProject: true, settings: { cache: { watch_max_entries: 5, poll_interval: 20 } } });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('starts stat passes instead of watches, and trusts its cache meanwhile', async () => {
    assert.equal(t.server.cms.store.changeFeedMode, 'scan');
    assert.equal(t.server.cms.store.isWatching, true);
    assert.match(t.logs.text, /large project: stat passes instead of watching/);
    assert.match(t.logs.text, /stat passes started/);
    assert.equal(Object.keys(await titles(t)).length, N);
  });

  it('sees an entry rewritten in place (same inode)', async () => {
    assert.equal((await getEntry(t, 'items/item-003')).body.title, 'Item 3');
    writeFileSync(path.join(itemDir(t, 3), 'entry.md'), '---\ntitle: Edited 3\n---\nbody\n');
    await twoPasses(t);
    assert.equal((await waitFor(() => getEntry(t, 'items/item-003'), (r) => r.body?.title === 'Edited 3')).body.title, 'Edited 3');
    assert.equal((await waitFor(() => titles(t), (all) => all['items/item-003'] === 'Edited 3'))['items/item-003'], 'Edited 3');
  });

  it('sees a rewrite that keeps size and mtime (cp -p: only the ctime tells)', async () => {
    const file = path.join(itemDir(t, 4), 'entry.md');
    const mtime = statSync(file).mtimeMs;
    const source = path.join(t.projectDir, 'source.md');
    writeFileSync(source, '---\ntitle: Jtem 4\n---\nbody\n');
    execFileSync('touch', ['-r', file, source]);
    execFileSync('cp', ['-p', source, file]);
    assert.equal(statSync(file).mtimeMs, mtime);
    await twoPasses(t);
    assert.equal((await waitFor(() => getEntry(t, 'items/item-004'), (r) => r.body?.title === 'Jtem 4')).body.title, 'Jtem 4');
  });

  it('sees an entry replaced by rename (an editor saving atomically)', async () => {
    const file = path.join(itemDir(t, 5), 'entry.md');
    writeFileSync(`${file}.new`, '---\ntitle: Renamed over 5\n---\n');
    renameSync(`${file}.new`, file);
    await twoPasses(t);
    assert.equal((await waitFor(() => titles(t), (all) => all['items/item-005'] === 'Renamed over 5'))['items/item-005'], 'Renamed over 5');
  });

  it('sees new entries, removed ones and moved ones in the collection', async () => {
    writeItem(itemDir(t, 'added'), 'Added');
    rmSync(itemDir(t, 6), { recursive: true });
    renameSync(itemDir(t, 7), itemDir(t, 'moved-7'));
    await twoPasses(t);
    const all = await waitFor(() => titles(t), (x) => x['items/added'] === 'Added' && !('items/item-006' in x) && x['items/moved-7'] === 'Item 7' && !('items/item-007' in x));
    assert.equal(all['items/added'], 'Added');
    assert.equal(all['items/moved-7'], 'Item 7');
    assert.ok(!('items/item-006' in all));
    assert.ok(!('items/item-007' in all));
    assert.equal(Object.keys(all).length, N);
    assert.equal((await getEntry(t, 'items/item-006')).status, 404);
  });

  it('sees an entry file added to a folder that had none, and one removed from its folder', async () => {
    const dir = itemDir(t, 'late');
    mkdirSync(dir);
    await twoPasses(t);
    writeFileSync(path.join(dir, 'entry.md'), '---\ntitle: Late\n---\n');
    rmSync(path.join(itemDir(t, 8), 'entry.md'));
    await twoPasses(t);
    const all = await waitFor(() => titles(t), (x) => x['items/late'] === 'Late' && !('items/item-008' in x));
    assert.equal(all['items/late'], 'Late');
    assert.ok(!('items/item-008' in all));
  });

  it('follows the entries folder replaced by a copy', async () => {
    const entries = path.join(t.projectDir, 'entries');
    renameSync(entries, `${entries}.old`);
    execFileSync('cp', ['-a', `${entries}.old`, entries]);
    writeFileSync(path.join(itemDir(t, 9), 'entry.md'), '---\ntitle: In the copy\n---\n');
    await twoPasses(t);
    assert.equal((await waitFor(() => titles(t), (x) => x['items/item-009'] === 'In the copy'))['items/item-009'], 'In the copy');
    // Edits in the new folder after the replacement are seen too.
    writeFileSync(path.join(itemDir(t, 10), 'entry.md'), '---\ntitle: After the copy\n---\n');
    await twoPasses(t);
    assert.equal((await waitFor(() => getEntry(t, 'items/item-010'), (r) => r.body?.title === 'After the copy')).body.title, 'After the copy');
  });
});
