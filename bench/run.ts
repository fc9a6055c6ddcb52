/**
 * `npm run bench`: generates projects of 1,000 / 10,000 / 100,000 entries in temp folders, starts
 * the real server on each (a child process), drives it with autocannon from another child process,
 * measures a bare node:http baseline in the same run, and writes a Markdown table to
 * bench/results/latest.md (also printed).
 *
 * Flags (or environment variables):
 *   --quick                 short run: sizes 1000,10000, 2 s per scenario   (BENCH_QUICK=1)
 *   --sizes 1000,10000      project sizes                                  (BENCH_SIZES)
 *   --duration 5            seconds per measured scenario                  (BENCH_DURATION)
 *   --warmup 1              seconds of unreported warm-up per scenario     (BENCH_WARMUP)
 *   --connections 10        concurrency of the load runs                   (BENCH_CONNECTIONS)
 *   --out FILE              where the table goes (default bench/results/latest.md)
 *   --keep                  keep the generated projects (prints where)     (BENCH_KEEP=1)
 *   --dir DIR               put every generated project in DIR             (BENCH_DIR)
 *   --wrk                   instead: the wrk comparison of bench/wrk.ts (cached GET vs bare node:http)
 *   --scale 100k,1m         run the large-project benchmark instead (bench/scale.ts, its own flags)
 * The whole run is bounded: past --timeout seconds (default 360) it stops, cleans up and fails.
 * A full run takes about 2 minutes on a quiet 2-core machine; --quick about 40 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LoadResult, LoadSpec } from './load-worker.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
const WORKER = path.join(REPO_ROOT, 'bench', 'load-worker.ts');
const BASELINE = path.join(REPO_ROOT, 'bench', 'baseline-server.ts');
const BASELINE_ROW = 'baseline: bare node:http, same bytes (body and headers)';
const TAGS = ['sci-fi', 'drama', 'comedy', 'documentary', 'thriller'];
/** The collection scenario: where + sort + limit 10, as in the issue. */
const COLLECTION_QUERY = [
  'options[collection]=true',
  'options[filter][where][0][key]=year',
  'options[filter][where][0][operator]=gte',
  'options[filter][where][0][value]=2005',
  'options[filter][where][1][key]=tag',
  'options[filter][where][1][operator]=eq',
  'options[filter][where][1][value]=sci-fi',
  'options[filter][sort_by][key]=rating',
  'options[filter][sort_by][direction]=DESC',
  'options[filter][limit]=10',
]
  .map((pair) => {
    const [key, value] = pair.split('=') as [string, string];
    return `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  })
  .join('&');

// `--wrk`: the alternated wrk rounds of bench/wrk.ts instead (its own flags).
if (process.argv.includes('--wrk')) {
  const { main: wrkMain } = await import('./wrk.js');
  await wrkMain().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`[wrk] failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

// ---- configuration ---------------------------------------------------------------------------

function numberOf(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number, got "${text}"`);
  return n;
}

function readConfig() {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      dir: { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  const env = process.env;
  const quick = flags.quick || env['BENCH_QUICK'] === '1';
  const sizes = (flags.sizes ?? env['BENCH_SIZES'] ?? (quick ? '1000,10000' : '1000,10000,100000'))
    .split(',')
    .map((s) => Math.floor(numberOf(s.trim(), NaN, '--sizes')));
  if (sizes.some((n) => !(n >= 1))) throw new Error('--sizes must be a comma-separated list of entry counts');
  return {
    sizes,
    durationSec: numberOf(flags.duration ?? env['BENCH_DURATION'], quick ? 2 : 5, '--duration'),
    warmupSec: numberOf(flags.warmup ?? env['BENCH_WARMUP'], quick ? 0.5 : 1, '--warmup'),
    connections: Math.floor(numberOf(flags.connections ?? env['BENCH_CONNECTIONS'], 10, '--connections')),
    out: path.resolve(flags.out ?? path.join(REPO_ROOT, 'bench', 'results', 'latest.md')),
    keep: flags.keep || env['BENCH_KEEP'] === '1',
    dir: flags.dir ?? env['BENCH_DIR'],
    timeoutSec: numberOf(flags.timeout ?? env['BENCH_TIMEOUT'], 360, '--timeout'),
  };
}

/** `--scale 100k,1m`: the large-project benchmark (bench/scale.ts) instead of this one. */
const SCALE = process.argv.slice(2).some((arg) => arg === '--scale' || arg.startsWith('--scale='));
let config: ReturnType<typeof readConfig>;
if (SCALE) {
  const { runScale } = await import('./scale.js');
  process.exit(await runScale(process.argv.slice(2)));
}
try {
  config = readConfig();
} catch (err) {
  process.stderr.write(`[bench] ${(err as Error).message}\n`);
  process.exit(2);
}
/** Writes and the concurrency-1 query run on this size (10,000 if present). */
const WORK_SIZE = config.sizes.includes(10_000) ? 10_000 : config.sizes[0]!;

// ---- child processes and temp folders, always cleaned up --------------------------------------

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function cleanup(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  if (!config.keep) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping the benchmark\n`);
    cleanup();
    process.exit(130);
  });
}

const benchStarted = Date.now();
function log(text: string): void {
  process.stderr.write(`[bench ${((Date.now() - benchStarted) / 1000).toFixed(0).padStart(3)} s] ${text}\n`);
}

interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnChild(args: string[], options: { nodeArgs?: string[] } = {}): Spawned {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => out, exited };
}

/** Stops a child gracefully (SIGTERM), then forcibly after `graceMs`. */
async function stopChild(spawned: Spawned, graceMs = 10_000): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.kill('SIGTERM');
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), graceMs);
  await spawned.exited;
  clearTimeout(timer);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One GET without keep-alive; resolves to status and body, or undefined when nothing answers. */
interface Probed {
  status: number;
  body: Buffer;
  /** The answer's header lines as sent, [name, value] in order. */
  headers: [string, string][];
}

function probe(url: string): Promise<Probed | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers }));
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

/** Polls `url` until it answers 200; returns the answer's body. */
async function until200(url: string, spawned: Spawned, limitMs: number): Promise<Buffer> {
  return (await until200Answer(url, spawned, limitMs)).body;
}

/** Polls `url` until it answers 200; returns the answer. */
async function until200Answer(url: string, spawned: Spawned, limitMs: number): Promise<Probed> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (spawned.child.exitCode !== null) throw new Error(`the server exited early:\n${spawned.output()}`);
    const res = await probe(url);
    if (res?.status === 200) return res;
    if (res && res.status !== 503) throw new Error(`GET ${url.replace(/token=[^&]+/, 'token=…')} answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no answer from ${url} within ${limitMs} ms:\n${spawned.output()}`);
}

/** CPU seconds (user + system) a process has used, from /proc; undefined elsewhere. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return undefined;
  }
}

/**
 * Waits (at most `limitMs`) until the server is idle, i.e. its background work after start-up
 * (preloading entries into the cache) is done, so that load runs measure the steady state.
 */
async function settle(pid: number, limitMs: number): Promise<number> {
  const started = performance.now();
  let last = cpuSeconds(pid);
  if (last === undefined) return 0;
  while (performance.now() - started < limitMs) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = cpuSeconds(pid);
    if (now === undefined) break;
    if (now - last <= 0.03) break; // under 6% of a core over half a second
    last = now;
  }
  return performance.now() - started;
}

/** Resident set size of a process in MiB: `VmHWM` is the peak so far, `VmRSS` the current. */
function rssMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

// ---- projects ---------------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(6, '0');

/**
 * Where a project of `size` entries goes. Projects that take writes stay on the temp folder's
 * disk, so fsync costs what it costs. The largest one is only read (where the page cache makes
 * the disk irrelevant), and creating and deleting 100,000 folders on a busy disk can take minutes:
 * it goes to tmpfs (/dev/shm) when there is room. --dir puts every project in one place.
 */
function baseDirFor(size: number): string {
  if (config.dir) return config.dir;
  if (size === WORK_SIZE || size < 100_000) return os.tmpdir();
  try {
    const fsStat = statfsSync('/dev/shm');
    if (fsStat.bavail * fsStat.bsize > size * 16 * 1024 && fsStat.ffree > size * 3) return '/dev/shm';
  } catch {
    // no /dev/shm here
  }
  return os.tmpdir();
}

/** Writes a project of `size` entries below `items/`, in the demo's front matter format. */
function generateProject(size: number): string {
  const dir = mkdtempSync(path.join(baseDirFor(size), `flextype-bench-${size}-`));
  tempDirs.add(dir);
  const items = path.join(dir, 'entries', 'items');
  mkdirSync(items, { recursive: true });
  writeFileSync(path.join(items, 'entry.md'), `---\ntitle: Items\ndescription: ${size} generated entries\n---\n`);
  for (let i = 1; i <= size; i++) {
    const folder = path.join(items, `item-${pad(i)}`);
    mkdirSync(folder);
    const day = String((i % 28) + 1).padStart(2, '0');
    writeFileSync(
      path.join(folder, 'entry.md'),
      [
        '---',
        `title: Item ${i}`,
        `year: ${1980 + ((i * 7) % 45)}`,
        `rating: ${((i * 37) % 100) / 10}`,
        `tag: ${TAGS[i % TAGS.length]}`,
        `visibility: ${i % 10 === 0 ? 'draft' : 'visible'}`,
        `author: author-${i % 50}`,
        `created_at: ${day}-05-2020 09:30`,
        `published_at: ${day}-05-2020 09:30`,
        '---',
        `Generated entry number ${i}. A few words of body text, so that files look like real posts.`,
        '',
      ].join('\n'),
    );
  }
  if (size === WORK_SIZE) addRenderedEntries(dir);
  return dir;
}

/** Entries that need rendering (issue "Render content"): macros, shortcodes and expressions. */
const RENDERED_ITEMS = 1000;
function addRenderedEntries(dir: string): void {
  const root = path.join(dir, 'entries', 'rendered');
  const write = (id: string, text: string) => {
    mkdirSync(path.join(root, id), { recursive: true });
    writeFileSync(path.join(root, id, 'entry.md'), text);
  };
  write('', '---\ntitle: Rendered\n---\n');
  // Embeds a 10-item collection through a macro: cacheable while nothing it read changes.
  const macro = [
    'macros:',
    '  entries:',
    '    fetch:',
    '      top:',
    '        id: items',
    '        options: { collection: true, filter: { sort_by: { key: rating, direction: DESC }, limit: 10 } }',
  ].join('\n');
  write('catalog', `---\ntitle: "(strings upper)catalog(/strings)"\n${macro}\n---\nTen best: [[ 5 * 2 ]]\n`);
  // The same work, but the answer depends on the clock: rendered afresh on every request.
  write('catalog-live', `---\ntitle: "(strings upper)catalog(/strings)"\nnow: "(date:'U')"\n${macro}\n---\nTen best: [[ 5 * 2 ]]\n`);
  write('list', '---\ntitle: List\n---\n');
  for (let i = 1; i <= RENDERED_ITEMS; i++) {
    write(`list/item-${pad(i)}`, `---\ntitle: "(strings upper)item ${i}(/strings)"\nscore: "@type[int] [[ ${i} * 3 ]]"\nsummary: "@markdown **Item** number ${i}"\n---\n`);
  }
}

async function createToken(projectDir: string): Promise<{ token: string; access_token: string }> {
  const spawned = spawnChild([CLI, 'tokens:create', '{"title":"bench"}', '--json', '--project', projectDir]);
  const code = await spawned.exited;
  if (code !== 0) throw new Error(`tokens:create failed:\n${spawned.output()}`);
  return JSON.parse(spawned.output()) as { token: string; access_token: string };
}

// ---- load runs --------------------------------------------------------------------------------

async function load(spec: Omit<LoadSpec, 'connections' | 'durationSec' | 'warmupSec'> & { connections?: number }): Promise<LoadResult> {
  const full: LoadSpec = { connections: config.connections, durationSec: config.durationSec, warmupSec: config.warmupSec, ...spec };
  const spawned = spawnChild([WORKER, JSON.stringify(full)], { nodeArgs: ['--import', 'tsx'] });
  const limit = setTimeout(() => spawned.child.kill('SIGKILL'), (full.durationSec + full.warmupSec + 30) * 1000);
  const code = await spawned.exited;
  clearTimeout(limit);
  const lines = spawned.output().trim().split('\n');
  if (code !== 0) throw new Error(`load worker failed (${code}):\n${spawned.output()}`);
  return JSON.parse(lines[lines.length - 1]!) as LoadResult;
}

interface Row {
  scenario: string;
  entries: string;
  connections: number;
  result: LoadResult;
}

interface SizeReport {
  size: number;
  generateMs: number;
  firstEntryMs: number;
  firstCollectionMs: number;
  /** After start-up, the first collection query and the background preload: every entry cached. */
  idleRssMiB: number | undefined;
  peakRssMiB: number | undefined;
  /** The folder holding the project (tmpfs for /dev/shm). */
  location: string;
}

// ---- the run ----------------------------------------------------------------------------------

async function startServer(projectDir: string): Promise<{ spawned: Spawned; base: string; startedAt: number }> {
  const port = await freePort();
  const startedAt = performance.now();
  const spawned = spawnChild([CLI, 'serve', '--project', projectDir, '--host', '127.0.0.1', '--port', String(port)]);
  return { spawned, base: `http://127.0.0.1:${port}/api/v1`, startedAt };
}

/** Headers Node's http server adds to every answer by itself, the baseline's and ours. */
const ADDED_BY_NODE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** The bare node:http baseline sending `answer`'s bytes: its body and its headers (request id and ETag frozen). */
async function measureBaseline(answer: Probed): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-bench-baseline-'));
  tempDirs.add(dir);
  const bodyFile = path.join(dir, 'body.json');
  writeFileSync(bodyFile, answer.body);
  const headersFile = path.join(dir, 'headers.json');
  writeFileSync(headersFile, JSON.stringify(answer.headers.filter(([name]) => !ADDED_BY_NODE.has(name.toLowerCase()))));
  const port = await freePort();
  const spawned = spawnChild([BASELINE, bodyFile, String(port), headersFile], { nodeArgs: ['--import', 'tsx'] });
  try {
    await until200(`http://127.0.0.1:${port}/`, spawned, 15_000);
    return await load({ url: `http://127.0.0.1:${port}/api/v1/entries`, kind: 'get', serverPid: spawned.child.pid });
  } finally {
    await stopChild(spawned);
  }
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm run bench does)`);
  const deadline = setTimeout(() => {
    process.stderr.write(`[bench] over the ${config.timeoutSec} s limit: stopping\n`);
    cleanup();
    process.exit(1);
  }, config.timeoutSec * 1000);
  deadline.unref();
  const runStarted = Date.now();
  log(`sizes ${config.sizes.join(', ')}; ${config.durationSec} s per scenario (+${config.warmupSec} s warm-up); ${config.connections} connections`);

  const rows: Row[] = [];
  const sizes: SizeReport[] = [];
  const loadBefore = os.loadavg()[0]!;
  let baselineAnswer: Probed | undefined;

  for (const size of config.sizes) {
    const t = performance.now();
    const projectDir = generateProject(size);
    const generateMs = performance.now() - t;
    log(`${size} entries generated in ${(generateMs / 1000).toFixed(1)} s in ${path.dirname(projectDir)}`);
    const { token, access_token: accessToken } = await createToken(projectDir);

    // Cold start: from spawning the process to the first entry, then to the first collection query.
    const server = await startServer(projectDir);
    try {
      const entryId = `items/item-${pad(Math.ceil(size / 2))}`;
      const entryUrl = `${server.base}/entries?id=${encodeURIComponent(entryId)}&token=${token}`;
      const collectionUrl = `${server.base}/entries?id=items&${COLLECTION_QUERY}&token=${token}`;
      const entryAnswer = await until200Answer(entryUrl, server.spawned, 120_000);
      const firstEntryMs = performance.now() - server.startedAt;
      const collectionBody = await until200(collectionUrl, server.spawned, 120_000);
      const firstCollectionMs = performance.now() - server.startedAt;
      const matches = Object.keys(JSON.parse(collectionBody.toString('utf8')) as object).length;
      if (matches !== 10) throw new Error(`the collection query returned ${matches} entries, expected 10`);
      log(`${size}: first entry after ${firstEntryMs.toFixed(0)} ms, first collection after ${firstCollectionMs.toFixed(0)} ms`);
      const settledMs = await settle(server.spawned.child.pid!, 90_000);
      const idleRssMiB = rssMiB(server.spawned.child.pid!, 'VmRSS');
      log(`${size}: server idle after another ${(settledMs / 1000).toFixed(1)} s (background preload), RSS ${idleRssMiB?.toFixed(0)} MiB`);

      // The baseline answers with exactly the bytes the real server sent for one entry.
      if (!baselineAnswer) {
        baselineAnswer = entryAnswer;
        log('baseline: bare node:http with the same bytes');
        rows.push({ scenario: BASELINE_ROW, entries: '—', connections: config.connections, result: await measureBaseline(baselineAnswer) });
      }
      const pid = server.spawned.child.pid;

      log(`${size}: GET one entry`);
      rows.push({ scenario: 'GET one entry (cached)', entries: String(size), connections: config.connections, result: await load({ url: entryUrl, kind: 'get', serverPid: pid }) });

      if (size === WORK_SIZE) {
        log(`${size}: collection query, ${config.connections} connections`);
        rows.push({ scenario: 'GET collection: where + sort + limit 10', entries: String(size), connections: config.connections, result: await load({ url: collectionUrl, kind: 'get', serverPid: pid }) });
      }
      log(`${size}: collection query, 1 connection`);
      rows.push({ scenario: 'GET collection: where + sort + limit 10', entries: String(size), connections: 1, result: await load({ url: collectionUrl, kind: 'get', connections: 1, serverPid: pid }) });

      if (size === WORK_SIZE) {
        const renderedUrl = (id: string, extra = '') => `${server.base}/entries?id=${encodeURIComponent(id)}${extra}&token=${token}`;
        for (const url of [renderedUrl('rendered/catalog'), renderedUrl('rendered/catalog-live'), renderedUrl('rendered/list', '&options[collection]=true')]) await until200(url, server.spawned, 120_000);
        log(`${size}: GET an entry with a macro embedding 10 entries (cached render)`);
        rows.push({ scenario: 'GET entry with macros, 10 embedded (render cached)', entries: String(size), connections: config.connections, result: await load({ url: renderedUrl('rendered/catalog'), kind: 'get', serverPid: pid }) });
        log(`${size}: GET the same entry rendered afresh each time (it reads the clock)`);
        rows.push({ scenario: 'GET entry with macros, 10 embedded (rendered every time)', entries: String(size), connections: config.connections, result: await load({ url: renderedUrl('rendered/catalog-live'), kind: 'get', serverPid: pid }) });
        log(`${size}: GET a collection of ${RENDERED_ITEMS} rendered entries`);
        rows.push({ scenario: `GET collection of ${RENDERED_ITEMS} rendered entries`, entries: String(size), connections: 1, result: await load({ url: renderedUrl('rendered/list', '&options[collection]=true'), kind: 'get', connections: 1, serverPid: pid }) });
      }

      if (size === WORK_SIZE) {
        const writeUrl = `${server.base}/entries`;
        log(`${size}: POST create`);
        rows.push({
          scenario: 'POST create (authenticated, durable)',
          entries: String(size),
          connections: config.connections,
          result: await load({ url: writeUrl, kind: 'create', token, accessToken, idPrefix: 'items/bench-new', serverPid: pid }),
        });
        log(`${size}: PATCH update`);
        rows.push({
          scenario: 'PATCH update (authenticated, durable)',
          entries: String(size),
          connections: config.connections,
          result: await load({ url: writeUrl, kind: 'update', token, accessToken, idPrefix: 'items/item', idCount: size, serverPid: pid }),
        });
      }
      sizes.push({ size, generateMs, firstEntryMs, firstCollectionMs, idleRssMiB, peakRssMiB: rssMiB(server.spawned.child.pid!, 'VmHWM'), location: path.dirname(projectDir) });
    } finally {
      await stopChild(server.spawned);
    }
    if (!config.keep) {
      log(`${size}: removing the project`);
      rmSync(projectDir, { recursive: true, force: true });
      tempDirs.delete(projectDir);
    } else {
      log(`kept ${projectDir}`);
    }
  }

  // The baseline again at the end: on a shared machine, the two runs show how much the load drifted.
  log('baseline again');
  rows.push({ scenario: BASELINE_ROW, entries: '—', connections: config.connections, result: await measureBaseline(baselineAnswer!) });
  const report = render(rows, sizes, { seconds: (Date.now() - runStarted) / 1000, loadBefore, loadAfter: os.loadavg()[0]! });
  mkdirSync(path.dirname(config.out), { recursive: true });
  writeFileSync(config.out, report);
  process.stdout.write(report);
  log(`written to ${path.relative(process.cwd(), config.out)}`);
  clearTimeout(deadline);
}

// ---- the report -------------------------------------------------------------------------------

const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function render(rows: Row[], sizes: SizeReport[], run: { seconds: number; loadBefore: number; loadAfter: number }): string {
  const out: string[] = [];
  // Ratios are taken against the mean of the baseline runs (start and end of the run).
  const baselines = rows.filter((r) => r.scenario === BASELINE_ROW).map((r) => r.result);
  const mean = (pick: (r: LoadResult) => number) => baselines.reduce((sum, r) => sum + pick(r), 0) / baselines.length;
  const baseline = { requestsPerSec: mean((r) => r.requestsPerSec), cpuMicrosPerRequest: mean((r) => r.cpuMicrosPerRequest) };
  out.push('# Benchmark', '');
  out.push(
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'} · ` +
      `${config.durationSec} s per scenario after ${config.warmupSec} s warm-up · autocannon in a separate process · loopback · ` +
      `default settings (storage.durable: true, file watching on) · run took ${run.seconds.toFixed(0)} s · ` +
      `load average ${run.loadBefore.toFixed(1)} before, ${run.loadAfter.toFixed(1)} after`,
    '',
  );
  out.push('| scenario | entries | conns | req/s | × baseline | p50 ms | p99 ms | server CPU µs/req | × baseline CPU | non-2xx / errors |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const r = row.result;
    out.push(
      `| ${row.scenario} | ${row.entries} | ${row.connections} | ${fmt(r.requestsPerSec)} | ${fmt(r.requestsPerSec / baseline.requestsPerSec, 2)} | ` +
        `${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuMicrosPerRequest)} | ${fmt(r.cpuMicrosPerRequest / baseline.cpuMicrosPerRequest, 1)} | ${r.non2xx + r.errors + r.timeouts === 0 ? '0' : `${r.non2xx} / ${r.errors + r.timeouts} ${JSON.stringify(r.statusCodes)}`} |`,
    );
  }
  out.push('', '| entries | project on | generate s | cold start → first entry ms | → first collection query ms | server RSS, all cached, idle MiB | server peak RSS MiB |');
  out.push('|---:|---|---:|---:|---:|---:|---:|');
  for (const s of sizes) {
    out.push(
      `| ${s.size} | ${s.location} | ${fmt(s.generateMs / 1000, 1)} | ${fmt(s.firstEntryMs)} | ${fmt(s.firstCollectionMs)} | ${fmt(s.idleRssMiB)} | ${fmt(s.peakRssMiB)} |`,
    );
  }
  out.push(
    '',
    '"× baseline" is requests/s relative to the mean of the two baseline runs; "server CPU µs/req" is the CPU time (user + system) ' +
      'the server process spent per answered request during the measured run, which depends less on other load on the machine. ' +
      'Peak RSS is VmHWM after all of that size\'s scenarios, load included. ' +
      'Cold start runs with the files in the OS page cache (they were just written).',
  );

  // The issue's targets, checked against what was measured.
  const find = (scenario: string, size: number, conns: number) =>
    rows.find((r) => r.scenario.startsWith(scenario) && r.entries === String(size) && r.connections === conns)?.result;
  const targets: [string, string, boolean | undefined][] = [];
  const getOne = find('GET one entry', WORK_SIZE, config.connections);
  targets.push(['GET one cached entry ≥ 0.6× baseline req/s', getOne ? `${fmt(getOne.requestsPerSec / baseline.requestsPerSec, 2)}×` : 'n/a', getOne ? getOne.requestsPerSec >= 0.6 * baseline.requestsPerSec : undefined]);
  const query = find('GET collection', 10_000, 1);
  targets.push(['Collection query, 10,000 entries, concurrency 1: p50 < 10 ms', query ? `${fmt(query.p50, 1)} ms` : 'n/a (10,000 not in sizes)', query ? query.p50 < 10 : undefined]);
  const create = find('POST create', WORK_SIZE, config.connections);
  const update = find('PATCH update', WORK_SIZE, config.connections);
  const writes = create && update ? Math.min(create.requestsPerSec, update.requestsPerSec) : undefined;
  targets.push(['Authenticated writes ≥ 500/s', writes !== undefined ? `create ${fmt(create!.requestsPerSec)}/s, update ${fmt(update!.requestsPerSec)}/s` : 'n/a', writes !== undefined ? writes >= 500 : undefined]);
  const cold = sizes.find((s) => s.size === 10_000);
  targets.push(['Cold start, 10,000 entries, to first answer < 3 s', cold ? `${fmt(cold.firstEntryMs / 1000, 2)} s` : 'n/a', cold ? cold.firstEntryMs < 3000 : undefined]);
  const big = sizes.find((s) => s.size === 100_000);
  targets.push(['100,000 entries: peak RSS < 1 GiB', big ? `${fmt(big.peakRssMiB)} MiB` : 'n/a (100,000 not in sizes)', big?.peakRssMiB !== undefined ? big.peakRssMiB < 1024 : undefined]);
  out.push('', '| target (issue 5) | measured | met |', '|---|---|---|');
  for (const [name, measured, met] of targets) out.push(`| ${name} | ${measured} | ${met === undefined ? '—' : met ? 'yes' : '**no**'} |`);
  out.push('');
  return out.join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.message : String(err)}\n`);
  cleanup();
  process.exit(1);
});
