/** Running the real `flextype` executable (dist/cli/main.js) from tests: one-off commands and `serve`. */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createCollectionResolver } from '../src/core/collections.js';
import { loadSettings } from '../src/core/settings.js';
import type { PlainObject } from '../src/core/util.js';
import type { StorageEngine } from '../src/storage/engine.js';
import { FsEngine } from '../src/storage/fs/engine.js';
import { PgEngine } from '../src/storage/postgres/engine.js';
import { ON_POSTGRES, prepareEngine, type EngineSetup } from './engine-helpers.js';
import { CLI, REPO_ROOT } from './helpers.js';

const execFileAsync = promisify(execFile);
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The child's environment: colour decided only by what each test sets. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  // Every FLEXTYPE_ variable sets something (a setting, the project…): only those a test gives.
  for (const name of Object.keys(env)) {
    if ((name === 'FORCE_COLOR' || name === 'NO_COLOR' || name.startsWith('FLEXTYPE_')) && !(name in extra)) delete env[name];
  }
  return env;
}

/** Runs node once with `args` (no shell), bounded in time; resolves with its exit code and output. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = childEnv(), cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A process that does not end by itself (e.g. held open by workers) is killed, and fails.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---- the engine of a project run by the CLI -------------------------------------------------

const projectStores = new Map<string, Promise<EngineSetup>>();
let dropsRegistered = false;

/**
 * The FLEXTYPE_STORAGE_* variables that put a project's entries on the tested engine (files:
 * none). On PostgreSQL its entries go into a fresh schema the first time the project is run (the
 * folder is removed, as for test servers); the schemas are dropped when the test process ends.
 */
export async function engineEnv(project: string | undefined): Promise<Record<string, string>> {
  if (!ON_POSTGRES || project === undefined || !existsSync(project)) return {};
  const key = path.resolve(project);
  let setup = projectStores.get(key);
  if (!setup) {
    setup = prepareEngine(key);
    projectStores.set(key, setup);
    if (!dropsRegistered) {
      dropsRegistered = true;
      process.once('beforeExit', () => {
        void Promise.all([...projectStores.values()].map(async (store) => (await store).drop().catch(() => undefined)));
      });
    }
  }
  const storage = (await setup).settings['storage'] as { url: string; schema: string };
  return { FLEXTYPE_STORAGE_ENGINE: 'postgres', FLEXTYPE_STORAGE_URL: storage.url, FLEXTYPE_STORAGE_SCHEMA: storage.schema };
}

/** The storage settings engineEnv gives a project (files: none). */
async function engineStorage(project: string): Promise<PlainObject> {
  const env = await engineEnv(project);
  return env['FLEXTYPE_STORAGE_URL'] ? { engine: 'postgres', url: env['FLEXTYPE_STORAGE_URL'], schema: env['FLEXTYPE_STORAGE_SCHEMA'] } : {};
}

/**
 * Runs `read` on an engine of its own on a project's entries (files: its folder; PostgreSQL: its
 * schema), e.g. to check what a CLI command stored, without peeking at files the database has not.
 */
export async function withProjectStore<T>(project: string, read: (engine: StorageEngine) => Promise<T>): Promise<T> {
  const settings = loadSettings(project, { storage: await engineStorage(project) });
  const resolveFormat = createCollectionResolver(settings.entries.collections);
  const engine: StorageEngine = ON_POSTGRES
    ? new PgEngine({ url: settings.storage.url!, schema: settings.storage.schema, resolveFormat, poolSize: 2 })
    : new FsEngine({ root: path.resolve(project, settings.entries.directory), resolveFormat, durable: false, maxParallelIo: 4 });
  try {
    if (ON_POSTGRES) await engine.open();
    return await read(engine);
  } finally {
    await engine.close();
  }
}

/** A project's stored entry text as the CLI left it (undefined: not stored). */
export async function projectStoredText(project: string, id: string): Promise<string | undefined> {
  return withProjectStore(project, async (engine) => (await engine.readSource(id))?.text);
}

function projectOf(args: string[]): string | undefined {
  const at = args.indexOf('--project');
  return at >= 0 ? args[at + 1] : args.find((arg) => arg.startsWith('--project='))?.slice('--project='.length);
}

/** Runs the CLI once (no shell), bounded in time; resolves with its exit code and output. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runNode([CLI, ...args], childEnv({ ...(await engineEnv(projectOf(args))), ...env }));
}

export async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const run = await cli(args, env);
  assert.equal(run.code, 0, `flextype ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  assert.equal(run.stderr, '', `flextype ${args.join(' ')} wrote to stderr`);
  return run.stdout;
}

export async function okJson(args: string[]): Promise<Record<string, unknown>> {
  const stdout = await ok([...args, '--json']);
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** A failure: non-zero exit, nothing on stdout, one line of reason on stderr (no stack trace). */
export async function fails(args: string[], reason: RegExp, code?: number): Promise<Run> {
  const run = await cli(args);
  assert.notEqual(run.code, 0, `flextype ${args.join(' ')} should fail`);
  assert.notEqual(run.code, null, 'the process ended by itself');
  if (code !== undefined) assert.equal(run.code, code, `exit code of flextype ${args.join(' ')}`);
  assert.equal(run.stdout, '', `flextype ${args.join(' ')} printed on stdout: ${run.stdout}`);
  const lines = run.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, reason);
  assert.match(lines[0]!, /^error: /);
  // At most a usage hint after the reason; never a stack trace.
  assert.ok(lines.length <= 2, `stderr has ${lines.length} lines: ${run.stderr}`);
  assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
  return run;
}

/** Runs independent tasks a few at a time (each is a whole node process). */
export async function all<T>(tasks: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Builds dist/ unless it is newer than every source file (`npm test` builds it in pretest). */
export async function ensureBuilt(): Promise<void> {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs,
      ),
    );
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newest(path.join(REPO_ROOT, 'src'))) return;
  await execFileAsync('npm', ['run', 'build'], { cwd: REPO_ROOT, timeout: 120_000 });
}

// ---- a served project ------------------------------------------------------------------------

export interface Served {
  child: ChildProcess;
  base: string;
  /** What it printed for people (stdout). */
  output: () => string;
  /** Its log lines (JSON, on stderr). */
  logs: () => string;
}

/** Starts `flextype serve` on an ephemeral port; the banner gives the real URL. */
export async function serve(project: string, env: Record<string, string> = {}): Promise<Served> {
  const storageEnv = await engineEnv(project);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--project', project, '--host', '127.0.0.1', '--port', '0'], {
      env: childEnv({ ...storageEnv, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // A bound against a hang, not a timing check: generous, for a loaded machine.
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stdout}${stderr}`)), 60_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /API:\s+(http:\/\/127\.0\.0\.1:\d+\/api\/v1)\s/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, base: match[1]!, output: () => stdout, logs: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stdout}${stderr}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not stopped within a few seconds. Resolves with the exit code. */
export async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Waits (bounded) until the server has logged `text` at least `count` times. */
export async function waitForLog(served: Served, text: string, count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (served.logs().split(text).length - 1 >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`the server never logged "${text}" ${count} time(s)`);
}
