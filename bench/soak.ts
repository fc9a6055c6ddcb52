/**
 * `npm run soak`: a bounded soak run against the real server (a child process on loopback).
 * Mixed reads and writes at a fixed concurrency for a fixed time, then checks the promises:
 * zero 5xx answers, no error line in the server log, every acknowledged write present at the
 * end (over HTTP and in the files), every entry file parseable, no temporary file left; reports
 * the server's RSS at the start and the end. Exits non-zero on any violation.
 *
 * Flags: --seconds N (default 60), --concurrency N (default 8), --seed N (default 1), --keep
 * (keep the project folder and print where it is).
 *
 * The helpers below (spawning the server, checking an entries folder) are exported for the crash
 * and soak tests, which drive the same server binary.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createCollectionResolver } from '../src/core/collections.js';
import { loadSettings } from '../src/core/settings.js';
import { TEMP_PREFIX } from '../src/storage/fs/engine.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
const DEMO_PROJECT = path.join(REPO_ROOT, 'project');

// ---- the server as a child process -------------------------------------------------------------

/** Builds dist/ when the CLI binary is missing (a fresh checkout). */
export function ensureBuilt(): void {
  if (existsSync(CLI)) return;
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
}

/** A temp copy of the demo project (without its tokens and var/). */
export function demoProjectCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-soak-'));
  cpSync(DEMO_PROJECT, dir, {
    recursive: true,
    // Judged inside the project: the checkout's own path may contain "tokens".
    filter: (src) => {
      const inside = `${path.sep}${path.relative(DEMO_PROJECT, src)}`;
      return !inside.includes(`${path.sep}tokens`) && !inside.includes(`${path.sep}var`);
    },
  });
  return dir;
}

export interface Credentials {
  token: string;
  access_token: string;
}

/** Creates a token with the CLI, as a person setting up a project would. */
export function createToken(projectDir: string): Credentials {
  const out = execFileSync(process.execPath, [CLI, 'tokens:create', '{"title":"soak"}', '--json', '--project', projectDir], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out) as Credentials;
}

export interface SpawnedServer {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:PORT/api/v1 */
  base: string;
  stdout(): string;
  stderr(): string;
  /** Resident set size of the server process in bytes (undefined once it is gone). */
  rss(): number | undefined;
  /** SIGKILL: no chance to finish anything. */
  kill(): Promise<void>;
  /** SIGTERM and wait (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Starts `flextype serve` on an ephemeral loopback port and waits until it prints its URL. */
export async function spawnServer(projectDir: string, limitMs = 20_000): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [CLI, 'serve', '--project', projectDir, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;

  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${limitMs} ms:\n${out}\n${err}`));
    }, limitMs);
    const look = () => {
      const match = /API:\s+(http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited during start-up (${code ?? signal}):\n${out}\n${err}`));
    });
  });

  const waitExit = async (signal: NodeJS.Signals, graceMs: number) => {
    if (gone()) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    pid: child.pid!,
    base,
    stdout: () => out,
    stderr: () => err,
    rss: () => (gone() ? undefined : rssOf(child.pid!)),
    kill: () => waitExit('SIGKILL', 5_000),
    stop: () => waitExit('SIGTERM', 10_000),
  };
}

/** RSS in bytes from /proc (Linux), else from `ps`. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // Not Linux: fall through to ps.
  }
  try {
    const kb = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    return Number.isFinite(kb) && kb > 0 ? kb * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Log lines at level error or fatal (pino JSON: level >= 50) from the server's output. */
export function errorLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => {
    if (!line.startsWith('{')) return false;
    try {
      const record = JSON.parse(line) as { level?: unknown };
      return typeof record.level === 'number' && record.level >= 50;
    } catch {
      return false;
    }
  });
}

// ---- checking the files ------------------------------------------------------------------------

export interface FolderCheck {
  /** Entry id → decoded fields, for every entry file found. */
  entries: Map<string, Record<string, unknown>>;
  problems: string[];
}

/**
 * Walks `<project>/entries`: every entry file must decode with its collection's serializer (a
 * front matter file must keep its closing fence: a torn write would lose it), and no temporary
 * file or folder of ours may be present.
 */
export function checkEntriesFolder(projectDir: string): FolderCheck {
  const settings = loadSettings(projectDir);
  const resolve = createCollectionResolver(settings.entries.collections);
  const root = path.join(projectDir, settings.entries.directory);
  const entries = new Map<string, Record<string, unknown>>();
  const problems: string[] = [];
  const walk = (dir: string, id: string) => {
    for (const dirent of readdirSync(dir, { withFileTypes: true })) {
      const rel = id === '' ? dirent.name : `${id}/${dirent.name}`;
      if (dirent.name.startsWith(TEMP_PREFIX)) {
        problems.push(`temporary file left: ${rel}`);
        continue;
      }
      if (dirent.isDirectory() && !dirent.name.startsWith('.')) walk(path.join(dir, dirent.name), rel);
    }
    if (id === '') return;
    const format = resolve(id);
    const file = path.join(dir, format.extension ? `${format.filename}.${format.extension}` : format.filename);
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    try {
      const fields = format.serializer.decode(text);
      if (format.serializer.name === 'frontmatter' && text.startsWith('---') && Object.keys(fields).length === 1) {
        problems.push(`entry ${id}: front matter without its closing fence (torn write?)`);
      }
      entries.set(id, fields);
    } catch (err) {
      problems.push(`entry ${id} does not parse: ${(err as Error).message}`);
    }
  };
  walk(root, '');
  return { entries, problems };
}

// ---- the soak run ------------------------------------------------------------------------------

export interface SoakOptions {
  seconds: number;
  concurrency: number;
  seed?: number;
  keep?: boolean;
  /** Progress lines (none by default). */
  log?: (line: string) => void;
}

export interface SoakReport {
  seconds: number;
  concurrency: number;
  requests: number;
  /** Requests by operation: read, collection, patch, hot, create, delete. */
  byOperation: Record<string, number>;
  statuses: Record<string, number>;
  serverErrors: number;
  acknowledgedWrites: number;
  rssStart: number | undefined;
  /** RSS a quarter into the run, once warmed up: compare the end with this for steadiness. */
  rssWarm: number | undefined;
  rssEnd: number | undefined;
  rssMax: number | undefined;
  errorLogLines: string[];
  violations: string[];
  projectDir?: string;
}

/** A small seeded generator so a run can be repeated (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Answer {
  status: number;
  body: unknown;
}

async function request(base: string, method: string, query: string, json?: unknown): Promise<Answer> {
  const response = await fetch(`${base}/entries${query === '' ? '' : `?${query}`}`, {
    method,
    headers: json === undefined ? {} : { 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

/** True when every field of `expected` is in `actual` with the same value. */
function contains(actual: unknown, expected: Record<string, unknown>): boolean {
  if (actual === null || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([key, value]) => (actual as Record<string, unknown>)[key] === value);
}

/** Entries each worker keeps alive (besides those it deleted). */
const OWN_ENTRIES = 40;

const MOVIES_QUERY = [
  ['id', 'movies'],
  ['options[collection]', 'true'],
  ['options[filter][where][0][key]', 'year'],
  ['options[filter][where][0][operator]', '>='],
  ['options[filter][where][0][value]', '2000'],
  ['options[filter][sort_by][key]', 'year'],
  ['options[filter][sort_by][direction]', 'DESC'],
  ['options[filter][limit]', '3'],
]
  .map(([k, v]) => `${encodeURIComponent(k!)}=${encodeURIComponent(v!)}`)
  .join('&');

const mb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => {});
  ensureBuilt();
  const projectDir = demoProjectCopy();
  const report: SoakReport = {
    seconds: options.seconds,
    concurrency: options.concurrency,
    requests: 0,
    byOperation: {},
    statuses: {},
    serverErrors: 0,
    acknowledgedWrites: 0,
    rssStart: undefined,
    rssWarm: undefined,
    rssEnd: undefined,
    rssMax: undefined,
    errorLogLines: [],
    violations: [],
  };
  const violation = (text: string) => {
    // Keep the report readable when something goes wrong at every request.
    if (report.violations.length < 50) report.violations.push(text);
  };
  let server: SpawnedServer | undefined;
  try {
    const creds = createToken(projectDir);
    const auth = `token=${creds.token}`;
    const writeAuth = { token: creds.token, access_token: creds.access_token };
    server = await spawnServer(projectDir);
    const base = server.base;

    // Setup: a parent for everything, one folder per worker, one entry all workers patch.
    const setup = [
      await request(base, 'POST', '', { ...writeAuth, id: 'soak', data: { title: 'soak' } }),
      await request(base, 'POST', '', { ...writeAuth, id: 'soak/hot', data: { title: 'hot' } }),
    ];
    for (let w = 0; w < options.concurrency; w++) {
      setup.push(await request(base, 'POST', '', { ...writeAuth, id: `soak/w${w}`, data: { title: `worker ${w}` } }));
    }
    if (setup.some((a) => a.status !== 200)) throw new Error(`setup failed: ${JSON.stringify(setup.map((a) => a.status))}`);
    report.rssStart = server.rss();
    report.rssMax = report.rssStart;
    const warmAt = Date.now() + options.seconds * 250;
    const sampler = setInterval(() => {
      const rss = server?.rss();
      if (rss !== undefined && (report.rssMax === undefined || rss > report.rssMax)) report.rssMax = rss;
      if (report.rssWarm === undefined && Date.now() >= warmAt) report.rssWarm = rss;
    }, 250);

    // What each worker expects: its own entries (id → fields it set) and its field on soak/hot.
    const models = Array.from({ length: options.concurrency }, () => ({
      entries: new Map<string, Record<string, unknown>>(),
      deleted: new Set<string>(),
      hot: undefined as number | undefined,
      next: 0,
    }));
    const deadline = Date.now() + options.seconds * 1000;
    const count = (operation: string, answer: Answer) => {
      report.requests++;
      report.byOperation[operation] = (report.byOperation[operation] ?? 0) + 1;
      report.statuses[answer.status] = (report.statuses[answer.status] ?? 0) + 1;
      if (answer.status >= 500) {
        report.serverErrors++;
        violation(`${operation}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    };

    const worker = async (w: number) => {
      const rnd = random((options.seed ?? 1) * 1000 + w);
      const model = models[w]!;
      const own = () => [...model.entries.keys()];
      const pick = <T>(list: T[]) => list[Math.floor(rnd() * list.length)]!;
      while (Date.now() < deadline) {
        const roll = rnd();
        const ids = own();
        try {
          // Creates and deletes balance out around OWN_ENTRIES: a steady data set, so memory growth
          // over a long run means a leak rather than more content.
          const op =
            roll < 0.1 || ids.length < 3
              ? ids.length < OWN_ENTRIES ? 'create' : 'delete'
              : roll < 0.45 ? 'read' : roll < 0.6 ? 'collection' : roll < 0.85 ? 'patch' : roll < 0.95 ? 'hot' : 'delete';
          if (op === 'create') {
            const id = `soak/w${w}/e${model.next++}`;
            const data = { title: `entry ${id}`, n: 0 };
            const answer = await request(base, 'POST', '', { ...writeAuth, id, data });
            count(op, answer);
            if (answer.status === 200) {
              model.entries.set(id, { ...data });
              report.acknowledgedWrites++;
            } else violation(`create ${id}: ${answer.status}`);
          } else if (op === 'read') {
            // Read your own writes: the answer must show every acknowledged value.
            const id = pick(ids);
            const answer = await request(base, 'GET', `id=${encodeURIComponent(id)}&${auth}`);
            count(op, answer);
            if (answer.status !== 200) violation(`read ${id}: ${answer.status}`);
            else if (!contains(answer.body, model.entries.get(id)!)) violation(`read ${id}: stale answer ${JSON.stringify(answer.body)}`);
          } else if (op === 'collection') {
            const query = rnd() < 0.5
              ? MOVIES_QUERY + `&${auth}`
              : `id=${encodeURIComponent(`soak/w${w}`)}&options%5Bcollection%5D=true&options%5Bfilter%5D%5Bsort_by%5D%5Bkey%5D=n&${auth}`;
            const answer = await request(base, 'GET', query);
            count(op, answer);
            if (answer.status !== 200) violation(`collection: ${answer.status}`);
          } else if (op === 'patch') {
            const id = pick(ids);
            const data = { n: Math.floor(rnd() * 1e9), [`f${Math.floor(rnd() * 8)}`]: `v${report.requests}` };
            const answer = await request(base, 'PATCH', '', { ...writeAuth, id, data });
            count(op, answer);
            if (answer.status === 200) {
              Object.assign(model.entries.get(id)!, data);
              report.acknowledgedWrites++;
            } else violation(`patch ${id}: ${answer.status}`);
          } else if (op === 'hot') {
            const value = Math.floor(rnd() * 1e9);
            const answer = await request(base, 'PATCH', '', { ...writeAuth, id: 'soak/hot', data: { [`w${w}`]: value } });
            count(op, answer);
            if (answer.status === 200) {
              model.hot = value;
              report.acknowledgedWrites++;
            } else violation(`patch soak/hot: ${answer.status}`);
          } else {
            const id = pick(ids);
            const answer = await request(base, 'DELETE', '', { ...writeAuth, id });
            count(op, answer);
            if (answer.status === 204) {
              model.entries.delete(id);
              model.deleted.add(id);
              report.acknowledgedWrites++;
            } else violation(`delete ${id}: ${answer.status}`);
          }
        } catch (err) {
          violation(`request failed: ${(err as Error).message}`);
        }
      }
    };

    let progress: NodeJS.Timeout | undefined;
    if (options.log) {
      progress = setInterval(() => log(`  … ${report.requests} requests, ${report.serverErrors} 5xx, server RSS ${mb(server?.rss())}`), 10_000);
    }
    await Promise.all(models.map((_, w) => worker(w)));
    clearInterval(sampler);
    if (progress) clearInterval(progress);
    report.rssEnd = server.rss();

    // Every acknowledged write, over HTTP.
    for (const [w, model] of models.entries()) {
      for (const [id, fields] of model.entries) {
        const answer = await request(base, 'GET', `id=${encodeURIComponent(id)}&${auth}`);
        if (answer.status !== 200 || !contains(answer.body, fields)) violation(`at the end, ${id} is ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      for (const id of model.deleted) {
        const answer = await request(base, 'GET', `id=${encodeURIComponent(id)}&${auth}`);
        if (answer.status !== 404) violation(`at the end, deleted ${id} answers ${answer.status}`);
      }
      if (model.hot !== undefined) {
        const answer = await request(base, 'GET', `id=soak/hot&${auth}`);
        if (!contains(answer.body, { [`w${w}`]: model.hot })) violation(`at the end, soak/hot lacks w${w}=${model.hot}`);
      }
    }

    // And in the files, once the server has stopped (it writes call counters while running).
    await server.stop();
    // The log (pino JSON) is on stderr; anything else there (a crash trace) counts as an error too.
    const stderrLines = server.stderr().split('\n').filter((line) => line.trim() !== '');
    report.errorLogLines = [...errorLines(server.stdout()), ...errorLines(server.stderr()), ...stderrLines.filter((line) => !line.startsWith('{'))];
    for (const line of report.errorLogLines.slice(0, 10)) violation(`server log: ${line}`);
    const folder = checkEntriesFolder(projectDir);
    for (const problem of folder.problems) violation(problem);
    for (const model of models) {
      for (const [id, fields] of model.entries) {
        if (!contains(folder.entries.get(id), fields)) violation(`on disk, ${id} lacks an acknowledged value`);
      }
      for (const id of model.deleted) if (folder.entries.has(id)) violation(`on disk, deleted ${id} is still there`);
    }
  } finally {
    if (server) await server.kill();
    if (options.keep) report.projectDir = projectDir;
    else rmSync(projectDir, { recursive: true, force: true });
  }
  return report;
}

export function formatReport(report: SoakReport): string {
  const lines = [
    `soak: ${report.seconds} s at concurrency ${report.concurrency}`,
    `  requests:            ${report.requests} (${Math.round(report.requests / report.seconds)}/s)`,
    `  by operation:        ${Object.entries(report.byOperation).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  statuses:            ${Object.entries(report.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    `  5xx answers:         ${report.serverErrors}`,
    `  error log lines:     ${report.errorLogLines.length}`,
    `  acknowledged writes: ${report.acknowledgedWrites}, all present at the end: ${report.violations.length === 0 ? 'yes' : 'see violations'}`,
    `  server RSS:          start ${mb(report.rssStart)}, after a quarter ${mb(report.rssWarm)}, end ${mb(report.rssEnd)}, max ${mb(report.rssMax)}`,
  ];
  if (report.projectDir) lines.push(`  project kept at:     ${report.projectDir}`);
  if (report.violations.length > 0) lines.push('VIOLATIONS:', ...report.violations.map((v) => `  - ${v}`));
  else lines.push('OK: no violation');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      concurrency: { type: 'string', default: '8' },
      seed: { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const seed = Number(values.seed);
  if (!(seconds > 0 && seconds <= 24 * 3600) || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    console.error('usage: soak [--seconds N (1..86400)] [--concurrency N (1..256)] [--seed N] [--keep]');
    process.exit(2);
  }
  console.log(`soak: ${seconds} s, concurrency ${concurrency}, seed ${seed}…`);
  const report = await runSoak({ seconds, concurrency, seed, keep: values.keep, log: (line) => console.log(line) });
  console.log(formatReport(report));
  process.exit(report.violations.length === 0 ? 0 : 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
