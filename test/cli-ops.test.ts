/**
 * Operator-facing behaviour of the real executable (issue 9): settings checked against one schema,
 * one server per project and a cache:clear that signals no one, a package that imports, and a
 * start-up banner that is readable, honest and survives its reader leaving.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { childEnv, cli, ensureBuilt, fails, okJson, serve, stop, waitForLog, type Served } from './cli-helpers.js';
import { CLI, REPO_ROOT, removeProject, tempProject } from './helpers.js';

const execFileAsync = promisify(execFile);
const projects: string[] = [];
const children: ChildProcess[] = [];

function project(settingsYaml?: string): string {
  const dir = tempProject(false);
  projects.push(dir);
  if (settingsYaml !== undefined) {
    mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
    writeFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), settingsYaml);
  }
  return dir;
}

async function served(dir: string): Promise<Served> {
  const s = await serve(dir);
  children.push(s.child);
  return s;
}

/** Waits (bounded) until the server has printed `text` on stdout. */
async function waitForOutput(s: Served, text: string): Promise<void> {
  for (let i = 0; i < 1000 && !s.output().includes(text); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(s.output().includes(text), `serve never printed "${text}": ${s.output()}`);
}

/** A process that is not ours: it dies of SIGUSR2 (Node's default) and ends on SIGTERM. */
function bystander(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

before(ensureBuilt);
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of projects) removeProject(dir);
});

describe('settings: one schema for the whole tree (issue 9 #26)', () => {
  it('wrong types stop serve with exit 78 and every problem listed; unknown keys only warn', async () => {
    const bad = project('log:\n  level: verbose\ncors:\n  origin: 5\nserver:\n  port: eighty\n');
    const run = await cli(['serve', '--project', bad, '--host', '127.0.0.1', '--port', '0']);
    assert.equal(run.code, 78, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: invalid settings .*\(3 problems\)/);
    assert.match(run.stderr, /log\.level: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", found "verbose"/);
    assert.match(run.stderr, /cors\.origin: expected "\*", one origin, or a list of origins, found 5/);
    assert.match(run.stderr, /server\.port: expected a number, found "eighty"/);
    assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');

    // A project's own section that registry.public opens is intended: only the typos are warned about.
    const misspelled = project('srever:\n  port: 1\ncache:\n  wtach: false\nshop:\n  currency: EUR\nregistry:\n  public: [shop]\n');
    const s = await served(misspelled);
    await waitForLog(s, 'unknown settings', 1);
    const warning = JSON.parse(s.logs().split('\n').find((line) => line.includes('unknown settings'))!) as { level: number; keys: string[] };
    assert.equal(warning.level, 40, 'a warning');
    assert.deepEqual(warning.keys.sort(), ['cache.wtach', 'srever']);
    assert.equal(await stop(s.child), 0);
  });
});

describe('one server per project; cache:clear signals no one (issue 9 #14)', () => {
  it('cache:clear leaves alone a process that a stale var/server.json names', async () => {
    const dir = project();
    const other = bystander();
    mkdirSync(path.join(dir, 'var'));
    // What an older server left behind, and a file whose pid was reused (another start time).
    const files = [
      { pid: other.pid, url: 'http://127.0.0.1:9' },
      { pid: other.pid, started: '1', instance: 'x', control_secret: 'y', url: 'http://127.0.0.1:9', control_url: 'http://127.0.0.1:9/' },
    ];
    for (const file of files) {
      writeFileSync(path.join(dir, 'var', 'server.json'), JSON.stringify(file));
      assert.deepEqual(await okJson(['cache:clear', '--project', dir]), { cleared: false, pid: null });
    }
    other.kill('SIGTERM');
    assert.deepEqual(await exitOf(other), { code: null, signal: 'SIGTERM' }, 'the bystander was still alive, never signalled');
  });

  it('a second serve is refused (exit 75) and leaves the first alone; a stale lock does not block', async () => {
    const dir = project();
    const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await exitOf(dead);
    mkdirSync(path.join(dir, 'var'));
    const infoFile = path.join(dir, 'var', 'server.json');
    writeFileSync(infoFile, JSON.stringify({ pid: dead.pid, instance: 'old', control_secret: 'z'.repeat(64) }));

    const first = await served(dir);
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { pid: number; control_secret: string };
    assert.equal(info.pid, first.child.pid);
    assert.equal(statSync(infoFile).mode & 0o777, 0o600, 'the control secret is readable by the owner only');

    await fails(['serve', '--project', dir, '--host', '127.0.0.1', '--port', '0'], new RegExp(`another server \\(pid ${first.child.pid}\\).* is already serving`), 75);
    assert.deepEqual(JSON.parse(readFileSync(infoFile, 'utf8')), info, "the first server's file is untouched");

    assert.deepEqual(await okJson(['cache:clear', '--project', dir]), { cleared: true, pid: first.child.pid });
    await waitForLog(first, 'caches cleared', 1);
    // The control request needs the secret.
    const url = (JSON.parse(readFileSync(infoFile, 'utf8')) as { control_url: string }).control_url;
    assert.equal((await fetch(url, { method: 'POST', headers: { 'x-flextype-control': 'f'.repeat(64) } })).status, 401);

    assert.equal(await stop(first.child), 0);
    assert.ok(!existsSync(infoFile));
    const again = await served(dir);
    assert.equal(await stop(again.child), 0);
  });
});

describe('package and start-up banner (issue 9 #28)', () => {
  it("the package's entry point is built and exports the programmatic API", async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; main: string };
    assert.ok(existsSync(path.join(REPO_ROOT, pkg.main)), `${pkg.main} is built`);
    const script = `const m = await import(${JSON.stringify(pkg.name)}); console.log(typeof m.startServer, typeof m.loadSettings, typeof m.Cms);`;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, timeout: 30_000 });
    assert.equal(stdout.trim(), 'function function function');
  });

  it('an empty project: stdout is for people only, and every curl the banner shows answers 200', async () => {
    const s = await served(project());
    await waitForOutput(s, 'Press Ctrl+C');
    const lines = s.output().split('\n');
    assert.ok(!lines.some((line) => line.trimStart().startsWith('{')), `no JSON log line on stdout:\n${s.output()}`);
    const curls = [...s.output().matchAll(/curl -g '([^']+)'/g)].map((m) => m[1]!);
    assert.ok(curls.length > 0, s.output());
    for (const url of curls) assert.equal((await fetch(url)).status, 200, url);
    assert.equal(await stop(s.child), 0);
  });

  it('serve | head -1: the reader leaving early is no crash and no stack trace', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--project', project(), '--host', '127.0.0.1', '--port', '0'], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ended = exitOf(child);
    // Read the banner, then close the pipe as `head` does once it has its lines.
    let stdout = '';
    await new Promise<void>((resolve) =>
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('Press Ctrl+C')) resolve();
      }),
    );
    child.stdout!.destroy();
    // Whatever serve prints from now on (at the latest when it stops) goes to a closed pipe.
    child.kill('SIGTERM');
    const { code } = await ended;
    assert.equal(code, 0, stderr);
    assert.ok(!/EPIPE|\n\s+at /.test(stderr), stderr);
  });
});
