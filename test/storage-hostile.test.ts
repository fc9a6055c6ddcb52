/**
 * The storage under attack and accident (issue 9): links swapped in during writes, many files at
 * once under a low handle limit, unreadable folders, failed deletes, non-UTF-8 and broken files,
 * names the file system cannot hold, a full or read-only disk, an atomic deploy of entries/.
 * Real files in temp folders, real servers (in-process or the CLI in a child process).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Cms } from '../src/core/cms.js';
import { call, q, REPO_ROOT, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const IS_ROOT = process.getuid?.() === 0;

function put(file: string, text: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** Every file below `dir` (relative paths), links not followed. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}

const writeBody = (t: { token: string; accessToken: string }, params: Record<string, unknown>) => ({
  json: { token: t.token, access_token: t.accessToken, ...params },
});

interface Child {
  base: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Runs `flextype serve` (the CLI, from source) in a child process; `prefix` wraps the command
 * (a shell with `ulimit`, `setpriv` to drop root's permission override).
 */
async function serveChild(projectDir: string, prefix: string[] = []): Promise<Child> {
  const args = [process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'serve', '--project', projectDir, '--host', '127.0.0.1', '--port', '0'];
  const all = [...prefix, ...args];
  const child: ChildProcess = spawn(all[0]!, all.slice(1), { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30 s:\n${out}`)), 30_000);
    const look = () => {
      const m = /API:\s+(http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited during start-up (${code}):\n${out}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  return {
    base,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** A token made directly in the project (before a child server starts). */
async function makeToken(projectDir: string): Promise<{ token: string; accessToken: string }> {
  const cms = new Cms({ projectDir, settings: { tokens: { hash_rounds: 4 } } });
  await cms.start();
  const created = await cms.tokens.create({ title: 'test' });
  await cms.close();
  return { token: created.token, accessToken: created.access_token };
}

/** As root, permission bits only bind once root's override capabilities are dropped. */
const WITHOUT_OVERRIDE = IS_ROOT ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--'] : [];
const canDropOverride = !IS_ROOT || spawnSync('setpriv', ['--bounding-set=-dac_override,-dac_read_search', '--', 'true']).status === 0;

describe('storage under attack (issue 9)', () => {
  it('item 1: a folder swapped with a link to outside during parallel creates never lets a file escape', async (t) => {
    const swapper = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, seconds = sys.argv[1].encode(), sys.argv[2].encode(), float(sys.argv[3])
end = time.time() + seconds
n = 0
print("ready", flush=True)
while time.time() < end and n < 2_000_000:
    libc.renameat2(-100, a, -100, b, 2)  # RENAME_EXCHANGE
    n += 1
print(n, flush=True)
`;
    const probe = spawnSync('python3', ['-c', 'import ctypes; ctypes.CDLL(None).renameat2']);
    if (probe.status !== 0) return t.skip('python3 with renameat2 is not available');
    const projectDir = tempProject(false);
    const outside = `${projectDir}-outside`;
    // The outside folder looks like an entry, so a path check that follows the link finds a parent.
    put(path.join(outside, 'entry.md'), '---\ntitle: outside\n---\n');
    put(path.join(projectDir, 'entries', 'a', 'entry.md'), '---\ntitle: a\n---\n');
    symlinkSync(outside, path.join(projectDir, 'entries', 'alink'), 'dir');
    const server = await startTestServer({ projectDir, settings: { storage: { durable: false }, cache: { watch: false } } });
    const race = spawn('python3', ['-c', swapper, path.join(projectDir, 'entries', 'a'), path.join(projectDir, 'entries', 'alink'), '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => race.stdout!.once('data', () => resolve()));
      const finished = new Promise<void>((resolve) => race.once('exit', () => resolve()));
      let running = true;
      void finished.then(() => (running = false));
      let created = 0;
      const failures: string[] = [];
      let round = 0;
      while (running && round < 200) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => call(server.base, 'POST', '/entries', writeBody(server, { id: `a/r${round}-${i}`, data: { title: 'x' } }))),
        );
        for (const answer of answers) {
          if (answer.status >= 500) failures.push(answer.text);
          if (answer.status === 200) created++;
        }
        round++;
      }
      await finished;
      assert.deepEqual(filesBelow(outside), ['entry.md'], 'files appeared outside the project');
      // Whatever name the real folder has now, every acknowledged create is inside the project.
      const inside = filesBelow(path.join(projectDir, 'entries')).filter((f) => /r\d+-\d+\/entry\.md$/.test(f));
      assert.equal(inside.length, created);
      assert.deepEqual(failures, [], 'creates answered 5xx');
    } finally {
      race.kill('SIGKILL');
      await server.close();
      removeProject(projectDir);
      removeProject(outside);
    }
  });

  it('item 10: a content search over many entries stays within a low file-handle limit', async (t) => {
    if (spawnSync('sh', ['-c', 'ulimit -n 100']).status !== 0) return t.skip('ulimit is not available');
    const projectDir = tempProject(false);
    for (let i = 0; i < 400; i++) put(path.join(projectDir, 'entries', 'many', `e${i}`, 'entry.md'), `---\ntitle: e${i}\n---\nneedle ${i}\n`);
    put(path.join(projectDir, 'entries', 'many', 'entry.md'), '---\ntitle: many\n---\n');
    put(path.join(projectDir, 'config', 'flextype', 'settings.yaml'), 'storage:\n  max_parallel_io: 8\ncache:\n  preload: false\n  enabled: false\n');
    const creds = await makeToken(projectDir);
    const child = await serveChild(projectDir, ['sh', '-c', 'ulimit -n 100 && exec "$@"', 'sh']);
    try {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          call(child.base, 'GET', '/entries', { query: `id=many&options[collection]=true&options[find][contains]=needle&token=${q(creds.token)}` }),
        ),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 200, answer.text.slice(0, 300));
        assert.equal(Object.keys(answer.body).length, 400);
      }
    } finally {
      await child.stop();
      removeProject(projectDir);
    }
  });

  it('item 12: an unreadable folder is skipped and logged; start-up, collections and the token list work', async (t) => {
    if (!canDropOverride) return t.skip('cannot drop the permission override of root here');
    const projectDir = tempProject(true);
    const creds = await makeToken(projectDir);
    const locked = path.join(projectDir, 'entries', 'lost+found');
    mkdirSync(locked);
    const lockedTokens = path.join(projectDir, 'entries', 'tokens', 'zz-locked');
    mkdirSync(lockedTokens);
    chmodSync(locked, 0o000);
    chmodSync(lockedTokens, 0o000);
    let child: Child | undefined;
    try {
      child = await serveChild(projectDir, WITHOUT_OVERRIDE);
      const root = await call(child.base, 'GET', '/entries', { query: `id=&options[collection]=true&token=${q(creds.token)}` });
      assert.equal(root.status, 200, root.text);
      assert.ok('blog' in root.body, root.text);
      const tokens = await call(child.base, 'GET', '/tokens', { query: `id=&options[collection]=true&token=${q(creds.token)}&access_token=${q(creds.accessToken)}` });
      assert.equal(tokens.status, 200, tokens.text);
      assert.match(child.output(), /lost\+found[^\n]*cannot be read; skipped|cannot be read; skipped[^\n]*lost\+found/);
    } finally {
      await child?.stop();
      chmodSync(locked, 0o755);
      chmodSync(lockedTokens, 0o755);
      removeProject(projectDir);
    }
  });

  it('item 13: an atomic deploy that swaps the entries link is followed, with a watcher too', async () => {
    const projectDir = tempProject(false);
    put(path.join(projectDir, 'rel1', 'page', 'entry.md'), '---\ntitle: release one\n---\n');
    put(path.join(projectDir, 'rel2', 'page', 'entry.md'), '---\ntitle: release two\n---\n');
    put(path.join(projectDir, 'rel2', 'added', 'entry.md'), '---\ntitle: added\n---\n');
    symlinkSync('rel1', path.join(projectDir, 'entries'));
    const server = await startTestServer({ projectDir, settings: { cache: { watch: true } } });
    try {
      const get = (id: string) => call(server.base, 'GET', '/entries', { query: `id=${id}&token=${q(server.token)}` });
      assert.equal((await get('page')).body?.title, 'release one');
      // Tokens live in entries/tokens: a release carries them along.
      cpSync(path.join(projectDir, 'rel1', 'tokens'), path.join(projectDir, 'rel2', 'tokens'), { recursive: true });
      symlinkSync('rel2', path.join(projectDir, 'entries.tmp'));
      renameSync(path.join(projectDir, 'entries.tmp'), path.join(projectDir, 'entries'));
      let page = await get('page');
      for (let i = 0; i < 100 && page.body?.title !== 'release two'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        page = await get('page');
      }
      assert.equal(page.status, 200, page.text);
      assert.equal(page.body.title, 'release two');
      const added = await get('added');
      assert.equal(added.status, 200, added.text);
      const all = await call(server.base, 'GET', '/entries', { query: `id=&options[collection]=true&token=${q(server.token)}` });
      assert.deepEqual(Object.keys(all.body).sort(), ['added', 'page']);
      // A write after the swap lands in the new release.
      const created = await call(server.base, 'POST', '/entries', writeBody(server, { id: 'fresh', data: { title: 'f' } }));
      assert.equal(created.status, 200, created.text);
      assert.ok(existsSync(path.join(projectDir, 'rel2', 'fresh', 'entry.md')));
      // The watcher follows the new release: an edit there is seen.
      writeFileSync(path.join(projectDir, 'rel2', 'added', 'entry.md'), '---\ntitle: edited\n---\n');
      let edited = await get('added');
      for (let i = 0; i < 100 && edited.body?.title !== 'edited'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        edited = await get('added');
      }
      assert.equal(edited.body.title, 'edited');
    } finally {
      await server.close();
      removeProject(projectDir);
    }
  });

  it('item 15: a delete that cannot erase every file still deletes; one that cannot start changes nothing; start-up survives leftovers', async (t) => {
    const projectDir = tempProject(false);
    const entries = path.join(projectDir, 'entries');
    put(path.join(entries, 'blog', 'entry.md'), '---\ntitle: blog\n---\n');
    put(path.join(entries, 'blog', 'doomed', 'entry.md'), '---\ntitle: doomed\n---\n');
    put(path.join(entries, 'blog', 'doomed', 'files', 'pinned.png'), 'png');
    put(path.join(entries, 'blog', 'kept', 'entry.md'), '---\ntitle: kept\n---\n');
    const pinned = path.join(entries, 'blog', 'doomed', 'files', 'pinned.png');
    const chattr = (flag: string, file: string) => spawnSync('chattr', [flag, file]).status === 0;
    if (!IS_ROOT || !chattr('+i', pinned)) {
      removeProject(projectDir);
      return t.skip('needs root and a file system with immutable files (chattr +i)');
    }
    let server: TestServer | undefined;
    const trash = () => filesBelow(entries).filter((f) => f.includes('.ft-tmp-'));
    try {
      server = await startTestServer({ projectDir });
      const s = server;
      const get = (id: string) => call(s.base, 'GET', '/entries', { query: `id=${id}&token=${q(s.token)}` });
      assert.equal((await get('blog/doomed')).status, 200);
      const deleted = await call(s.base, 'DELETE', '/entries', writeBody(s, { id: 'blog/doomed' }));
      assert.equal(deleted.status, 204, deleted.text);
      assert.equal((await get('blog/doomed')).status, 404);
      const list = await call(s.base, 'GET', '/entries', { query: `id=blog&options[collection]=true&token=${q(s.token)}` });
      assert.deepEqual(Object.keys(list.body), ['blog/kept']);
      assert.match(s.logs.text, /could not be erased/);
      // A delete that fails before its commit point (the parent folder is immutable): all stays.
      assert.ok(chattr('+i', path.join(entries, 'blog')));
      const refused = await call(s.base, 'DELETE', '/entries', writeBody(s, { id: 'blog/kept' }));
      assert.ok(chattr('-i', path.join(entries, 'blog')));
      assert.equal(refused.status, 500, refused.text);
      assert.equal(refused.body.title, 'Storage Error');
      assert.match(refused.body.detail, /deleting entry "blog\/kept"/);
      assert.equal((await get('blog/kept')).status, 200);
      assert.ok(existsSync(path.join(entries, 'blog', 'kept', 'entry.md')));
      await s.close();
      server = undefined;
      // The next start logs the leftover it cannot remove and serves.
      assert.equal(trash().length, 1);
      server = await startTestServer({ projectDir });
      assert.match(server.logs.text, /leftover/);
      assert.equal((await call(server.base, 'GET', '/entries', { query: `id=blog/kept&token=${q(server.token)}` })).status, 200);
      await server.close();
      server = undefined;
      // Once the file can go, a start removes the leftover.
      chattr('-i', path.join(entries, trash()[0]!));
      server = await startTestServer({ projectDir });
      assert.deepEqual(trash(), []);
    } finally {
      for (const f of trash()) chattr('-i', path.join(entries, f));
      chattr('-i', pinned);
      chattr('-i', path.join(entries, 'blog'));
      await server?.close();
      removeProject(projectDir);
    }
  });

  it('item 17: a file that is not UTF-8 is served read-only; a PATCH is refused and changes no byte', async () => {
    const projectDir = tempProject(false);
    const file = path.join(projectDir, 'entries', 'latin', 'entry.md');
    const bytes = Buffer.concat([Buffer.from('---\ntitle: Caf'), Buffer.from([0xe9]), Buffer.from('\n---\nbody\n')]);
    put(file, bytes);
    const server = await startTestServer({ projectDir });
    try {
      const got = await call(server.base, 'GET', '/entries', { query: `id=latin&token=${q(server.token)}` });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.body.title, 'Caf\uFFFD');
      const patched = await call(server.base, 'PATCH', '/entries', writeBody(server, { id: 'latin', data: { views: 1 } }));
      assert.equal(patched.status, 409, patched.text);
      assert.match(patched.body.detail, /entry "latin" is not valid UTF-8/);
      assert.deepEqual(readFileSync(file), bytes);
      const copied = await call(server.base, 'PUT', '/entries/copy', writeBody(server, { id: 'latin', new_id: 'latin2' }));
      assert.equal(copied.status, 409, copied.text);
      assert.equal(existsSync(path.join(projectDir, 'entries', 'latin2')), false);
    } finally {
      await server.close();
      removeProject(projectDir);
    }
  });

  it('item 22: a broken entry answers its parse error; PATCH is refused; DELETE and move work', async () => {
    const projectDir = tempProject(false);
    put(path.join(projectDir, 'entries', 'broken', 'entry.md'), '---\ntitle: [unclosed\n---\n');
    put(path.join(projectDir, 'entries', 'broken2', 'entry.md'), '---\ntitle: [unclosed\n---\n');
    const server = await startTestServer({ projectDir });
    try {
      const got = await call(server.base, 'GET', '/entries', { query: `id=broken&token=${q(server.token)}` });
      assert.equal(got.status, 500, got.text);
      assert.equal(got.body.title, 'Entry Unreadable');
      assert.match(got.body.detail, /entry "broken" cannot be parsed: YAML error at line \d+/);
      const patched = await call(server.base, 'PATCH', '/entries', writeBody(server, { id: 'broken', data: { a: 1 } }));
      assert.equal(patched.status, 409, patched.text);
      assert.match(patched.body.detail, /cannot be parsed/);
      const moved = await call(server.base, 'PUT', '/entries', writeBody(server, { id: 'broken', new_id: 'moved' }));
      assert.equal(moved.status, 204, moved.text);
      assert.ok(existsSync(path.join(projectDir, 'entries', 'moved', 'entry.md')));
      const deleted = await call(server.base, 'DELETE', '/entries', writeBody(server, { id: 'moved' }));
      assert.equal(deleted.status, 204, deleted.text);
      assert.equal(existsSync(path.join(projectDir, 'entries', 'moved')), false);
      const stale = await call(server.base, 'DELETE', '/entries', { ...writeBody(server, { id: 'broken2' }), headers: { 'if-match': '"nope"' } });
      assert.equal(stale.status, 412, stale.text);
    } finally {
      await server.close();
      removeProject(projectDir);
    }
  });

  it('item 22: names the file system cannot hold answer 400 and leave no folder behind', async () => {
    const projectDir = tempProject(false);
    put(path.join(projectDir, 'entries', 'a', 'entry.md'), '---\ntitle: a\n---\n');
    const server = await startTestServer({ projectDir, settings: { entries: { max_segment_length: 1000, max_id_length: 4000 } } });
    try {
      const post = (id: string) => call(server.base, 'POST', '/entries', writeBody(server, { id, data: { title: 't' } }));
      const clash = await post('a/entry.md');
      assert.equal(clash.status, 400, clash.text);
      assert.match(clash.body.detail, /entry\.md/);
      // 250 bytes fit NAME_MAX, also for the copy's temporary folder next to it.
      const long = 'l'.repeat(250);
      assert.equal((await post(`a/${long}`)).status, 200);
      const copied = await call(server.base, 'PUT', '/entries/copy', writeBody(server, { id: `a/${long}`, new_id: `a/${'m'.repeat(250)}` }));
      assert.equal(copied.status, 200, copied.text);
      const tooLong = await post(`a/${'x'.repeat(300)}/child`);
      assert.equal(tooLong.status, 400, tooLong.text);
      assert.match(tooLong.body.detail, /too long/);
      assert.deepEqual(readdirSync(path.join(projectDir, 'entries', 'a')).sort(), ['entry.md', long, 'm'.repeat(250)].sort());
    } finally {
      await server.close();
      removeProject(projectDir);
    }
  });

  it('item 22: a full disk answers 507, a read-only one and a denied folder a clear error, no folder left behind', async (t) => {
    if (!IS_ROOT) return t.skip('mounting a small file system needs root');
    const projectDir = tempProject(false);
    const entries = path.join(projectDir, 'entries');
    mkdirSync(entries);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', entries]);
    } catch {
      removeProject(projectDir);
      return t.skip('cannot mount a tmpfs here');
    }
    let server: TestServer | undefined;
    try {
      put(path.join(entries, 'home', 'entry.md'), '---\ntitle: home\n---\n');
      server = await startTestServer({ projectDir, settings: { cache: { watch: false } } });
      const s = server;
      // Fill the disk, then create an entry whose folder and file need room.
      const filler = path.join(entries, 'filler.bin');
      try {
        writeFileSync(filler, Buffer.alloc(1024 * 1024));
      } catch {
        // ENOSPC: the disk is full, as intended.
      }
      const post = (id: string) => call(s.base, 'POST', '/entries', writeBody(s, { id, data: { title: 't', content: 'x'.repeat(8192) } }));
      const full = await post('fresh');
      assert.equal(full.status, 507, full.text);
      assert.match(full.body.detail, /creating entry "fresh": no space left/);
      assert.equal(existsSync(path.join(entries, 'fresh')), false, 'an empty folder was left behind');
      rmSync(filler, { force: true });
      execFileSync('mount', ['-o', 'remount,ro', entries]);
      const readOnly = await post('fresh2');
      assert.equal(readOnly.status, 500, readOnly.text);
      assert.equal(readOnly.body.title, 'Storage Error');
      assert.match(readOnly.body.detail, /read-only/);
      assert.equal((await call(s.base, 'GET', '/entries', { query: `id=home&token=${q(s.token)}` })).status, 200);
    } finally {
      // Writable again, so closing can flush the token's call counter.
      spawnSync('mount', ['-o', 'remount,rw', entries]);
      await server?.close();
      spawnSync('umount', [entries]);
      removeProject(projectDir);
    }
  });

  it('item 22: a folder the server may not write answers a clear error and leaves nothing behind', async (t) => {
    if (!canDropOverride) return t.skip('cannot drop the permission override of root here');
    const projectDir = tempProject(false);
    put(path.join(projectDir, 'entries', 'shut', 'entry.md'), '---\ntitle: shut\n---\n');
    put(path.join(projectDir, 'entries', 'shut', 'secret', 'entry.md'), '---\ntitle: s\n---\n');
    const creds = await makeToken(projectDir);
    chmodSync(path.join(projectDir, 'entries', 'shut'), 0o555);
    chmodSync(path.join(projectDir, 'entries', 'shut', 'secret', 'entry.md'), 0o000);
    const child = await serveChild(projectDir, WITHOUT_OVERRIDE);
    try {
      const created = await call(child.base, 'POST', '/entries', { json: { token: creds.token, access_token: creds.accessToken, id: 'shut/new/deeper', data: {} } });
      assert.equal(created.status, 404, created.text);
      const direct = await call(child.base, 'POST', '/entries', { json: { token: creds.token, access_token: creds.accessToken, id: 'shut/new', data: {} } });
      assert.equal(direct.status, 500, direct.text);
      assert.match(direct.body.detail, /creating entry "shut\/new": the server may not access the file \(EACCES\)/);
      const unreadable = await call(child.base, 'GET', '/entries', { query: `id=shut/secret&token=${q(creds.token)}` });
      assert.equal(unreadable.status, 500, unreadable.text);
      assert.match(unreadable.body.detail, /reading entry "shut\/secret".*EACCES/);
      assert.deepEqual(readdirSync(path.join(projectDir, 'entries', 'shut')).sort(), ['entry.md', 'secret']);
    } finally {
      await child.stop();
      chmodSync(path.join(projectDir, 'entries', 'shut'), 0o755);
      removeProject(projectDir);
    }
  });
});

