/**
 * `npm run bench -- --scale 100k,1m`: the large-project benchmark (issue 12, item 6).
 *
 * For each size it writes N front-matter entries into ONE folder (`entries/items/item-NNNNNNN/`)
 * of a temp project, starts the real server (`dist/cli/main.js serve`) and measures, with the
 * same numbers taken at a small baseline size (1,000 entries) in the same run for ratios:
 *   - cold start: time to the first answered GET, to the first collection answer, and to "fully
 *     indexed" (a log line saying so, if the server prints one; else the server going idle);
 *   - warm restart: the same, for a second start on the same files;
 *   - RSS: VmRSS sampled every 250 ms (peak) and after indexing (settled);
 *   - GET one cached entry (autocannon, separate process), req/s, also as × the 1k figure;
 *   - where(tag = news) + sort_by(rating DESC) + limit 10, sequential: p50 / p99;
 *   - X-Total-Count of a where over all entries (rating >= 0): latency;
 *   - POST create / PATCH update at 10 connections: req/s.
 * Every phase has a request count and a time cap inside one overall deadline; a server that dies
 * (e.g. of heap exhaustion) is a result in the table, not a crash of the benchmark. Temp folders
 * are removed at the end (unless --keep).
 *
 * Flags: --scale 100k,1m   sizes (k, m suffixes)          --baseline 1000   the ratio size (0: none)
 *        --seed 1          content seed                    --dir DIR         where projects go
 *        --duration 5      s per autocannon run           --query-requests 200 --query-cap 60 (s)
 *        --connections 10  load concurrency              --index-cap S      cap per start (s) to "indexed"
 *        --timeout S       the whole run                  --out FILE         (bench/results/scale-latest.md)
 *        --server-node-args "..."  extra node flags for the server (e.g. --cpu-prof)   --keep
 *        --generate DIR    only write the project (one size) into the new folder DIR, and stop
 *        --reuse DIR       keep projects in DIR/<size>: generated on the first run, reused after
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
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
const TAGS = ['news', 'sport', 'culture', 'tech', 'travel'];
const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');
/** A log line announcing that preloading / indexing finished (no such line on main today). */
const INDEXED_LINE = /\b(preload(ed)?|index(es|ed|ing)?)\b[^\n]*\b(done|complete|completed|finished|ready|built)\b|fully indexed/i;

const encode = (pairs: string[]) =>
  pairs
    .map((pair) => {
      const at = pair.indexOf('=');
      return `${encodeURIComponent(pair.slice(0, at))}=${encodeURIComponent(pair.slice(at + 1))}`;
    })
    .join('&');
const TOP10_QUERY = encode([
  'options[collection]=true',
  'options[filter][where][0][key]=tag',
  'options[filter][where][0][operator]=eq',
  'options[filter][where][0][value]=news',
  'options[filter][sort_by][key]=rating',
  'options[filter][sort_by][direction]=DESC',
  'options[filter][limit]=10',
]);
/** Matches every entry (ratings are 0..10): the count comes in X-Total-Count, the body is one entry. */
const TOTAL_QUERY = encode([
  'options[collection]=true',
  'options[filter][where][0][key]=rating',
  'options[filter][where][0][operator]=gte',
  'options[filter][where][0][value]=0',
  'options[filter][limit]=1',
]);

// ---- configuration ---------------------------------------------------------------------------

function sizeOf(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`--scale: "${text}" is not a size (e.g. 100k, 1m, 5000)`);
  const n = Math.round(Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1e3 : m[2]!.toLowerCase() === 'm' ? 1e6 : 1));
  if (!(n >= 1 && n <= 9_999_999)) throw new Error(`--scale: ${text} is out of range (1 … 9,999,999)`);
  return n;
}

function positive(text: string | undefined, fallback: number, what: string, zeroOk = false): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (!zeroOk && n === 0)) throw new Error(`${what} must be a positive number, got "${text}"`);
  return n;
}

function readConfig(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string' },
      baseline: { type: 'string' },
      seed: { type: 'string' },
      dir: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'query-requests': { type: 'string' },
      'query-cap': { type: 'string' },
      'index-cap': { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'server-node-args': { type: 'string' },
      generate: { type: 'string' },
      reuse: { type: 'string' },
    },
  });
  const sizes = (values.scale === undefined || values.scale === '' ? '100k,1m' : values.scale).split(',').map(sizeOf);
  const baseline = Math.floor(positive(values.baseline, 1000, '--baseline', true));
  const largest = Math.max(...sizes);
  const indexCap = { indexCapSec: values['index-cap'] ? positive(values['index-cap'], 0, '--index-cap') : undefined };
  return {
    sizes,
    baseline,
    seed: Math.floor(positive(values.seed, 1, '--seed', true)),
    dir: values.dir,
    durationSec: positive(values.duration, 5, '--duration'),
    warmupSec: positive(values.warmup, 1, '--warmup', true),
    connections: Math.floor(positive(values.connections, 10, '--connections')),
    queryRequests: Math.floor(positive(values['query-requests'], 200, '--query-requests')),
    queryCapSec: positive(values['query-cap'], 60, '--query-cap'),
    /** Per server start, to "fully indexed": long enough for today's 1M preload to show its fate. */
    indexCapSec: indexCap.indexCapSec,
    // Both starts' caps, generating and removing, the load phases: 1M alone is at most 20 minutes.
    timeoutSec: positive(
      values.timeout,
      120 + (baseline > 0 ? 60 : 0) + sizes.reduce((sum, n) => sum + (indexCapFor(indexCap, n, false) + indexCapFor(indexCap, n, true)) / 1000 + n * 0.0003 + 120, 0),
      '--timeout',
    ),
    out: path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'scale-latest.md')),
    keep: values.keep,
    serverNodeArgs: (values['server-node-args'] ?? '').split(/\s+/).filter(Boolean),
    /** Only write the project of the (one) size into this new folder, keep it, and stop. */
    generateInto: values.generate,
    /** Projects live in REUSE/<size> and are kept: generated there once, then reused by later runs. */
    reuse: values.reuse ? path.resolve(values.reuse) : undefined,
    largest,
  };
}
type Config = ReturnType<typeof readConfig>;

// ---- processes, temp folders, the deadline -----------------------------------------------------

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let keep = false;
let deadline = Infinity;
const benchStarted = Date.now();

function log(text: string): void {
  process.stderr.write(`[scale ${((Date.now() - benchStarted) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
}

/** What is left of the overall budget, minus `reserveMs` kept for stopping and cleaning up. */
function capMs(wantedMs: number, reserveMs = 0): number {
  return Math.max(0, Math.min(wantedMs, deadline - Date.now() - reserveMs));
}

function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  onLine?: (line: string) => void;
}

function spawnChild(args: string[], nodeArgs: string[] = []): Spawned {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  children.add(child);
  // Keeps the last 64 KiB only: a 1M-entry server may log a lot.
  let out = '';
  let partial = '';
  const spawned: Spawned = {
    child,
    output: () => out,
    exited: new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    ),
  };
  const take = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    out = (out + text).slice(-65536);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) spawned.onLine?.(line);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  return spawned;
}

async function stopChild(spawned: Spawned, graceMs = 15_000): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.kill('SIGTERM');
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), graceMs);
  await spawned.exited;
  clearTimeout(timer);
}

const alive = (s: Spawned) => s.child.exitCode === null && s.child.signalCode === null;

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function procField(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

// ---- HTTP -------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Answer {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
  ms: number;
}

/** One GET; undefined when nothing answers (refused, reset, or over `timeoutMs`). */
function request(url: string, timeoutMs: number, keepAlive = true): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const t = performance.now();
    const req = http.get(url, { agent: keepAlive ? agent : false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers, ms: performance.now() - t }));
      res.on('error', () => resolve(undefined));
    });
    req.setTimeout(Math.max(1, timeoutMs), () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Polls until `url` answers 200 (or the server dies, or `limitMs` passes): ms since `since`, or a reason. */
async function until200(url: string, server: Spawned, since: number, limitMs: number): Promise<number | string> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (!alive(server)) return 'server died';
    const res = await request(url, Math.max(1, end - Date.now()), false);
    if (res?.status === 200) return performance.now() - since;
    if (res && res.status !== 503) return `answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`;
    await sleep(20);
  }
  return `no answer within ${(limitMs / 1000).toFixed(0)} s`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// ---- generating projects -------------------------------------------------------------------------

/** mulberry32: a small, seeded, deterministic generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const idOf = (i: number) => `item-${String(i).padStart(7, '0')}`;

function entryText(i: number, random: () => number): string {
  const tag = TAGS[Math.floor(random() * TAGS.length)]!;
  const rating = Math.round(random() * 1000) / 100;
  const day = new Date(Date.UTC(2015, 0, 1) + Math.floor(random() * 3650 * 86400) * 1000).toISOString();
  const words: string[] = [];
  let length = 0;
  while (length < 480) {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    words.push(word);
    length += word.length + 1;
  }
  return `---\ntitle: Item ${i} ${words[0]} ${words[1]}\ntag: ${tag}\nrating: ${rating}\npublished_at: '${day.slice(0, 10)} ${day.slice(11, 19)}'\n---\n${words.join(' ')}.\n`;
}

/** Where a project goes: /dev/shm (tmpfs) for sizes it holds with room to spare, else the temp folder. */
function baseDir(config: Config, size: number): string {
  if (config.dir) return config.dir;
  try {
    const fsStat = statfsSync('/dev/shm');
    // tmpfs: a 4 KiB page per file; keep half of it free for others.
    if (fsStat.bavail * fsStat.bsize > size * 8 * 4096 && fsStat.ffree > size * 4 && size <= 200_000) return '/dev/shm';
  } catch {
    // no /dev/shm here
  }
  return os.tmpdir();
}

/** Writes the project, 128 files at a time; returns its folder. */
async function generate(config: Config, size: number, into?: string): Promise<string> {
  let dir: string;
  if (into) {
    mkdirSync(into, { recursive: false });
    dir = into;
  } else {
    dir = mkdtempSync(path.join(baseDir(config, size), `flextype-scale-${size}-`));
    tempDirs.add(dir);
  }
  const items = path.join(dir, 'entries', 'items');
  mkdirSync(items, { recursive: true });
  writeFileSync(path.join(items, 'entry.md'), `---\ntitle: Items\ndescription: ${size} generated entries\n---\n`);
  const random = rng(config.seed * 1_000_003 + size);
  // Synchronous calls: on a busy 2-core machine a promise per file costs several times the CPU of
  // the system call itself (see bench/analysis/read-cost.mjs). Yields now and then for the sampler.
  for (let i = 1; i <= size; i++) {
    const folder = path.join(items, idOf(i));
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'entry.md'), entryText(i, random));
    if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return dir;
}

/** `rm -rf` where there is one (several times faster than fs.rm on a million folders), else fs.rm. */
async function removeTree(dir: string): Promise<void> {
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('rm', ['-rf', '--', dir], { stdio: 'ignore' });
    child.on('error', () => resolve(null));
    child.on('exit', (c) => resolve(c));
  });
  if (code !== 0) await rm(dir, { recursive: true, force: true });
}

async function createToken(projectDir: string): Promise<{ token: string; access_token: string }> {
  const spawned = spawnChild([CLI, 'tokens:create', '{"title":"bench"}', '--json', '--project', projectDir]);
  const { code } = await spawned.exited;
  if (code !== 0) throw new Error(`tokens:create failed:\n${spawned.output()}`);
  return JSON.parse(spawned.output()) as { token: string; access_token: string };
}

// ---- one server start ------------------------------------------------------------------------------

interface StartReport {
  firstAnswerMs?: number;
  firstCollectionMs?: number;
  indexedMs?: number;
  /** How "indexed" was decided: the server's log line, or it going idle. */
  indexedBy?: string;
  peakRssMiB?: number;
  settledRssMiB?: number;
  /** Why the start did not get that far (server died, time cap). */
  problem?: string;
}

interface Started {
  server: Spawned;
  base: string;
  report: StartReport;
  stopSampling: () => void;
}

/**
 * Starts the server and follows it to "fully indexed": the first GET answered, one collection
 * query answered, then the log line or (without one) CPU idle: at most 3% of a core for 2 s.
 */
async function startAndIndex(config: Config, projectDir: string, token: string, size: number, capMsWanted: number): Promise<Started> {
  const port = await freePort();
  const startedAt = performance.now();
  const server = spawnChild([CLI, 'serve', '--project', projectDir, '--host', '127.0.0.1', '--port', String(port)], config.serverNodeArgs);
  let indexedLineAt: number | undefined;
  server.onLine = (line) => {
    if (indexedLineAt === undefined && INDEXED_LINE.test(line)) indexedLineAt = performance.now();
  };
  const report: StartReport = {};
  const pid = server.child.pid!;
  let peak = 0;
  const sampler = setInterval(() => {
    const rss = procField(pid, 'VmRSS');
    if (rss !== undefined) peak = Math.max(peak, rss);
    report.peakRssMiB = Math.max(peak, procField(pid, 'VmHWM') ?? 0) || report.peakRssMiB;
  }, 250);
  const stopSampling = () => clearInterval(sampler);
  const base = `http://127.0.0.1:${port}/api/v1`;
  const end = Date.now() + capMs(capMsWanted, 20_000);
  const left = () => Math.max(0, end - Date.now());
  const started: Started = { server, base, report, stopSampling };

  const first = await until200(`${base}/entries?id=${encodeURIComponent(`items/${idOf(Math.ceil(size / 2))}`)}&token=${token}`, server, startedAt, left());
  if (typeof first === 'string') {
    report.problem = `first answer: ${first}${deathOf(server)}`;
    return started;
  }
  report.firstAnswerMs = first;
  const firstCollection = await request(`${base}/entries?id=items&${TOP10_QUERY}&token=${token}`, left(), false);
  if (firstCollection?.status === 200) report.firstCollectionMs = performance.now() - startedAt;
  else {
    report.problem = `first collection query: ${firstCollection ? `status ${firstCollection.status}` : alive(server) ? 'no answer in time' : 'server died'}${deathOf(server)}`;
    return started;
  }
  let last = cpuSeconds(pid);
  let quietSince: number | undefined;
  while (left() > 0 && alive(server)) {
    if (indexedLineAt !== undefined) {
      report.indexedMs = indexedLineAt - startedAt;
      report.indexedBy = 'log line';
      break;
    }
    await sleep(250);
    const now = cpuSeconds(pid);
    if (now === undefined || last === undefined) break;
    const busy = now - last > 0.0075; // 3% of a core over 250 ms
    last = now;
    if (busy) quietSince = undefined;
    else if (quietSince === undefined) quietSince = performance.now();
    else if (performance.now() - quietSince >= 2000) {
      report.indexedMs = quietSince - startedAt;
      report.indexedBy = 'idle';
      break;
    }
  }
  if (report.indexedMs === undefined) {
    report.problem = alive(server) ? `not indexed within the cap (${(capMsWanted / 1000).toFixed(0)} s)` : `server died while indexing${deathOf(server)}`;
    return started;
  }
  report.settledRssMiB = procField(pid, 'VmRSS');
  return started;
}

/** A short reason from the server's last output, for a server that has exited. */
function deathOf(server: Spawned): string {
  if (alive(server)) return '';
  const out = server.output();
  const heap = /heap out of memory|Reached heap limit|Allocation failed/i.test(out);
  const how = server.child.signalCode ? `signal ${server.child.signalCode}` : `exit code ${server.child.exitCode}`;
  return ` (${heap ? 'JavaScript heap out of memory, ' : ''}${how})`;
}

// ---- measured phases ----------------------------------------------------------------------------

interface SizeResult {
  size: number;
  location: string;
  generateMs: number;
  cold: StartReport;
  warm?: StartReport;
  getOne?: LoadResult;
  top10?: { p50: number; p99: number; count: number; problem?: string };
  total?: { ms: number; count: string; p50?: number; problem?: string };
  /** The server's longest event-loop delay (ms, 10 ms resolution) in the top-10 and in the X-Total-Count phase. */
  queryHoldMs?: { top10: number; total: number };
  create?: LoadResult;
  update?: LoadResult;
  /** The baseline's GET one, measured again right after this size's (same machine load). */
  baselineGetOne?: LoadResult;
  problems: string[];
}

/** The baseline project's server, kept running (idle) so its GET can be measured next to each size's. */
let baselineGet: (() => Promise<LoadResult | string>) | undefined;

async function load(config: Config, spec: Omit<LoadSpec, 'connections' | 'durationSec' | 'warmupSec'>): Promise<LoadResult | string> {
  const full: LoadSpec = { connections: config.connections, durationSec: config.durationSec, warmupSec: config.warmupSec, ...spec };
  const budget = capMs((full.durationSec + full.warmupSec + 20) * 1000, 20_000);
  if (budget < (full.durationSec + full.warmupSec + 5) * 1000) return 'skipped: out of time';
  const spawned = spawnChild([WORKER, JSON.stringify(full)], ['--import', 'tsx']);
  const limit = setTimeout(() => spawned.child.kill('SIGKILL'), budget);
  const { code } = await spawned.exited;
  clearTimeout(limit);
  const lines = spawned.output().trim().split('\n');
  if (code !== 0) return `load worker failed (${code}): ${lines.slice(-3).join(' ').slice(0, 300)}`;
  return JSON.parse(lines[lines.length - 1]!) as LoadResult;
}

/** Sequential GETs (one connection, keep-alive): at most `count`, within `capSec`. */
async function sequential(url: string, count: number, capSec: number, server: Spawned): Promise<{ latencies: number[]; last?: Answer; problem?: string }> {
  const end = Date.now() + capMs(capSec * 1000, 20_000);
  const latencies: number[] = [];
  let last: Answer | undefined;
  while (latencies.length < count && Date.now() < end) {
    const res = await request(url, Math.max(1, end - Date.now()));
    if (!res && alive(server) && Date.now() >= end - 5) {
      // The time cap, not a failure: the requests that finished are the result.
      latencies.sort((a, b) => a - b);
      return { latencies, last, problem: latencies.length === 0 ? `no answer within the ${capSec} s cap` : undefined };
    }
    if (!res) return { latencies, last, problem: alive(server) ? 'a request failed' : `server died${deathOf(server)}` };
    if (res.status !== 200) return { latencies, last, problem: `status ${res.status}: ${res.body.toString('utf8').slice(0, 200)}` };
    latencies.push(res.ms);
    last = res;
  }
  latencies.sort((a, b) => a - b);
  return { latencies, last };
}

/** Default cap per server start, to "fully indexed" (main takes 50 s to its first answer at 100k on a busy machine). */
function indexCapFor(config: { indexCapSec?: number }, size: number, warm: boolean): number {
  if (config.indexCapSec !== undefined) return config.indexCapSec * 1000;
  // 1M: 6 min cold, 4 min warm (main dies after 7.4 min; the target is 120 s / 30 s).
  return Math.max(180, size * (warm ? 0.00024 : 0.00036)) * 1000;
}

async function measureSize(config: Config, size: number, isBaseline: boolean, sink: SizeResult[], keepServer?: (stop: () => Promise<void>) => void): Promise<SizeResult> {
  const t = performance.now();
  log(`${size}: generating`);
  const reused = config.reuse ? path.join(config.reuse, String(size)) : undefined;
  const stamp = reused ? path.join(reused, 'bench-generated.json') : undefined;
  let projectDir: string;
  if (reused && existsSync(stamp!) && readFileSync(stamp!, 'utf8') === JSON.stringify({ size, seed: config.seed })) projectDir = reused;
  else {
    if (reused) {
      // Missing, or left half-written by an interrupted run.
      rmSync(reused, { recursive: true, force: true });
      mkdirSync(config.reuse!, { recursive: true });
    }
    projectDir = await generate(config, size, reused);
    if (stamp) writeFileSync(stamp, JSON.stringify({ size, seed: config.seed }));
  }
  const result: SizeResult = { size, location: path.dirname(projectDir), generateMs: performance.now() - t, cold: {}, problems: [] };
  sink.push(result); // filled in as it goes: a run stopped by its time limit still reports it
  log(`${size}: generated in ${(result.generateMs / 1000).toFixed(1)} s in ${result.location}`);
  let kept = false;
  let run: Started | undefined;
  try {
    const { token, access_token: accessToken } = await createToken(projectDir);
    const entryUrl = (base: string) => `${base}/entries?id=${encodeURIComponent(`items/${idOf(Math.ceil(size / 3))}`)}&token=${token}`;

    // Cold start (files in the page cache: just written), then a warm restart on the same files.
    // A reused project keeps the persisted index of its last run: removed, or "cold" would be warm.
    rmSync(path.join(projectDir, 'var', 'index'), { recursive: true, force: true });
    run = await startAndIndex(config, projectDir, token, size, indexCapFor(config, size, false));
    result.cold = run.report;
    log(`${size}: cold ${describeStart(run.report)}`);
    if (run.report.problem === undefined && !isBaseline) {
      run.stopSampling();
      await stopChild(run.server);
      run = await startAndIndex(config, projectDir, token, size, indexCapFor(config, size, true));
      result.warm = run.report;
      log(`${size}: warm ${describeStart(run.report)}`);
    }
    const server = run.server;
    if (!alive(server) || run.report.firstAnswerMs === undefined) {
      result.problems.push('no load phases: the server is not serving');
      return result;
    }
    if (run.report.problem) result.problems.push(`load phases ran before the server was fully indexed (${run.report.problem})`);

    log(`${size}: GET one entry (cached), ${config.connections} connections`);
    const getOne = await load(config, { url: entryUrl(run.base), kind: 'get', serverPid: server.child.pid });
    if (typeof getOne === 'string') result.problems.push(`GET one: ${getOne}`);
    else result.getOne = getOne;
    if (baselineGet && !isBaseline) {
      log(`${size}: GET one entry on the baseline project again, for the ratio`);
      const again = await baselineGet();
      if (typeof again !== 'string') result.baselineGetOne = again;
    }

    // The server's own longest event-loop delay over the two query phases (prom-client's max, reset by each scrape).
    const metricsUrl = `${run.base.replace(/\/api\/v1$/, '')}/metrics`;
    const lagMax = async (): Promise<number | undefined> => {
      const res = await request(metricsUrl, 10_000, false);
      const m = res?.status === 200 ? /^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(res.body.toString('utf8')) : null;
      return m ? Number(m[1]) * 1000 : undefined;
    };
    await lagMax();
    log(`${size}: where + sort + limit 10, up to ${config.queryRequests} sequential requests`);
    const top = await sequential(`${run.base}/entries?id=items&${TOP10_QUERY}&token=${token}`, config.queryRequests, config.queryCapSec, server);
    result.top10 = { p50: percentile(top.latencies, 50), p99: percentile(top.latencies, 99), count: top.latencies.length, problem: top.problem };

    const top10Hold = await lagMax();
    log(`${size}: X-Total-Count of a where over all entries`);
    const totals = await sequential(`${run.base}/entries?id=items&${TOTAL_QUERY}&token=${token}`, 20, Math.min(60, config.queryCapSec), server);
    result.total = {
      ms: totals.latencies.length ? totals.latencies[0]! : NaN,
      p50: percentile([...totals.latencies].sort((a, b) => a - b), 50),
      count: String(totals.last?.headers['x-total-count'] ?? 'n/a'),
      problem: totals.problem,
    };
    const totalHold = await lagMax();
    if (top10Hold !== undefined && totalHold !== undefined) result.queryHoldMs = { top10: top10Hold, total: totalHold };

    if (!isBaseline && alive(server)) {
      log(`${size}: POST create, ${config.connections} connections`);
      const create = await load(config, { url: `${run.base}/entries`, kind: 'create', token, accessToken, idPrefix: 'items/bench-new', serverPid: server.child.pid });
      if (typeof create === 'string') result.problems.push(`POST create: ${create}`);
      else result.create = create;
      log(`${size}: PATCH update, ${config.connections} connections`);
      // load-worker pads update ids to 6 digits: "items/item-0" + 000001 … is idOf(1) ….
      const update = await load(config, { url: `${run.base}/entries`, kind: 'update', token, accessToken, idPrefix: 'items/item-0', idCount: Math.min(size, 999_999), serverPid: server.child.pid });
      if (typeof update === 'string') result.problems.push(`PATCH update: ${update}`);
      else result.update = update;
    }
    if (!alive(server)) result.problems.push(`the server died during the load phases${deathOf(server)}`);
    const rss = procField(server.child.pid!, 'VmRSS');
    if (rss !== undefined) (result.warm ?? result.cold).settledRssMiB ??= rss;
    if (isBaseline && keepServer && alive(server)) {
      const running = run;
      baselineGet = () => load(config, { url: entryUrl(running.base), kind: 'get', serverPid: server.child.pid });
      keepServer(async () => {
        running.stopSampling();
        await stopChild(server);
        await removeProject(config, size, projectDir);
      });
      kept = true;
    }
    return result;
  } finally {
    if (!kept) {
      if (run) {
        run.stopSampling();
        await stopChild(run.server);
      }
      await removeProject(config, size, projectDir);
    }
  }
}

async function removeProject(config: Config, size: number, projectDir: string): Promise<void> {
  if (config.reuse) {
    // Kept for the next run; only what the write phases added goes (updates stay: same cost).
    const items = path.join(projectDir, 'entries', 'items');
    for (const name of await readdir(items)) if (name.startsWith('bench-new-')) await rm(path.join(items, name), { recursive: true, force: true });
    log(`${size}: kept ${projectDir} (--reuse)`);
    return;
  }
  {
    if (!config.keep) {
      const c = performance.now();
      await removeTree(projectDir);
      tempDirs.delete(projectDir);
      log(`${size}: removed the project in ${((performance.now() - c) / 1000).toFixed(1)} s`);
    } else log(`${size}: kept ${projectDir}`);
  }
}

function describeStart(r: StartReport): string {
  const s = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
  return `first answer ${s(r.firstAnswerMs)}, first collection ${s(r.firstCollectionMs)}, indexed ${s(r.indexedMs)} (${r.indexedBy ?? '—'}), peak RSS ${r.peakRssMiB?.toFixed(0) ?? 'n/a'} MiB${r.problem ? `; ${r.problem}` : ''}`;
}

// ---- the report -----------------------------------------------------------------------------------

const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const secs = (ms: number | undefined) => fmt(ms === undefined ? undefined : ms / 1000, 1);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '' : ` (${fmt(a / b, 2)}×)`);

function render(config: Config, results: SizeResult[], run: { seconds: number; loadBefore: number; loadAfter: number }): string {
  const base = results.find((r) => r.size === config.baseline);
  const cols = results;
  const out: string[] = ['# Scale benchmark', ''];
  out.push(
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'} · ` +
      `entries in one folder, seed ${config.seed} · files in the page cache · autocannon ${config.durationSec} s (+${config.warmupSec} s warm-up), ${config.connections} connections · ` +
      `run took ${run.seconds.toFixed(0)} s · load average ${run.loadBefore.toFixed(1)} before, ${run.loadAfter.toFixed(1)} after`,
    '',
  );
  out.push(`| measure | ${cols.map((r) => `${fmt(r.size)} entries`).join(' | ')} |`);
  out.push(`|---|${cols.map(() => '---:').join('|')}|`);
  const row = (name: string, cell: (r: SizeResult) => string) => out.push(`| ${name} | ${cols.map(cell).join(' | ')} |`);
  row('project on / generated in s', (r) => `${r.location} / ${secs(r.generateMs)}`);
  row('cold start → first answer s', (r) => secs(r.cold.firstAnswerMs));
  row('cold start → first collection answer s', (r) => secs(r.cold.firstCollectionMs));
  row('cold start → fully indexed s', (r) => (r.cold.indexedMs === undefined ? `**${r.cold.problem ?? 'n/a'}**` : `${secs(r.cold.indexedMs)} (${r.cold.indexedBy})`));
  row('warm restart → first answer s', (r) => (r.warm ? secs(r.warm.firstAnswerMs) : '—'));
  row('warm restart → fully indexed s', (r) => (!r.warm ? '—' : r.warm.indexedMs === undefined ? `**${r.warm.problem ?? 'n/a'}**` : `${secs(r.warm.indexedMs)} (${r.warm.indexedBy})`));
  row('RSS peak MiB', (r) => fmt(Math.max(r.cold.peakRssMiB ?? 0, r.warm?.peakRssMiB ?? 0) || undefined));
  row('RSS settled (indexed, idle) MiB', (r) => fmt((r.warm ?? r.cold).settledRssMiB));
  row('GET one entry (cached) req/s (× the baseline measured right after)', (r) =>
    r === base ? fmt(r.getOne?.requestsPerSec) : `${fmt(r.getOne?.requestsPerSec)}${ratio(r.getOne?.requestsPerSec, (r.baselineGetOne ?? base?.getOne)?.requestsPerSec)}`,
  );
  if (cols.some((r) => r.baselineGetOne)) row(`… the ${fmt(config.baseline)}-entry GET, measured right after`, (r) => (r.baselineGetOne ? fmt(r.baselineGetOne.requestsPerSec) : '—'));
  row('GET one entry p50 / p99 ms', (r) => (r.getOne ? `${fmt(r.getOne.p50, 2)} / ${fmt(r.getOne.p99, 2)}` : 'n/a'));
  row('where tag=news + sort rating DESC + limit 10: p50 ms', (r) => `${fmt(r.top10?.p50, 1)}${r === base ? '' : ratio(r.top10?.p50, base?.top10?.p50)}`);
  row(`… p99 ms (requests answered, of at most ${config.queryRequests} in ${config.queryCapSec} s)`, (r) => (r.top10 ? `${fmt(r.top10.p99, 1)} (${r.top10.count})${r.top10.problem ? ` **${r.top10.problem}**` : ''}` : 'n/a'));
  row('X-Total-Count of a where over all: first / p50 ms', (r) => (r.total ? `${fmt(r.total.ms, 1)} / ${fmt(r.total.p50, 1)} (count ${r.total.count})${r.total.problem ? ` **${r.total.problem}**` : ''}` : 'n/a'));
  row('longest event-loop hold (server /metrics, 10 ms resolution): top-10 phase / X-Total-Count phase ms', (r) => (r.queryHoldMs ? `${fmt(r.queryHoldMs.top10)} / ${fmt(r.queryHoldMs.total)}` : 'n/a'));
  row(`POST create req/s (${config.connections} conns, durable)`, (r) => (r.size === config.baseline ? '—' : fmt(r.create?.requestsPerSec)));
  row(`PATCH update req/s (${config.connections} conns, durable)`, (r) => (r.size === config.baseline ? '—' : fmt(r.update?.requestsPerSec)));
  out.push('');
  const problems = results.flatMap((r) => r.problems.map((p) => `- ${fmt(r.size)}: ${p}`));
  if (problems.length) out.push('Problems:', '', ...problems, '');
  out.push(
    '"Fully indexed" is the server\'s log line saying so when it prints one, else the moment its CPU went quiet (≤ 3 % of a core for 2 s) ' +
      'after answering the first collection query. "Warm restart" is a second start on the same files. ' +
      (config.baseline > 0 ? `Ratios (×) are against the ${fmt(config.baseline)}-entry project measured in the same run. ` : '') +
      `Latencies of the sequential queries are measured by the benchmark process (one keep-alive connection).`,
    '',
  );
  // The issue's targets.
  const m = results.find((r) => r.size === 1_000_000);
  const k = results.find((r) => r.size === 100_000);
  const targets: [string, string, boolean | undefined][] = [];
  if (m) {
    targets.push(['1M: first answer < 5 s', `${secs(m.cold.firstAnswerMs)} s`, m.cold.firstAnswerMs !== undefined ? m.cold.firstAnswerMs < 5000 : false]);
    targets.push(['1M: fully indexed < 120 s cold', m.cold.indexedMs !== undefined ? `${secs(m.cold.indexedMs)} s` : (m.cold.problem ?? 'n/a'), m.cold.indexedMs !== undefined ? m.cold.indexedMs < 120_000 : false]);
    targets.push(['1M: fully indexed < 30 s warm', m.warm?.indexedMs !== undefined ? `${secs(m.warm.indexedMs)} s` : (m.warm?.problem ?? 'not reached'), m.warm?.indexedMs !== undefined ? m.warm.indexedMs < 30_000 : false]);
    const peak = Math.max(m.cold.peakRssMiB ?? 0, m.warm?.peakRssMiB ?? 0);
    targets.push(['1M: RSS < 2.5 GB', `${fmt(peak)} MiB peak`, peak > 0 ? peak < 2500 * 0.9537 : undefined]);
    targets.push(['1M: where+sort+limit 10 p50 < 20 ms, p99 < 100 ms', m.top10 ? `${fmt(m.top10.p50, 1)} / ${fmt(m.top10.p99, 1)} ms` : 'n/a', m.top10 && m.top10.count > 0 ? m.top10.p50 < 20 && m.top10.p99 < 100 : false]);
    const b = m.baselineGetOne ?? base?.getOne;
    const r = m.getOne && b ? m.getOne.requestsPerSec / b.requestsPerSec : undefined;
    targets.push(['1M: cached GET ≥ 0.9× its req/s at 1,000', r !== undefined ? `${fmt(r, 2)}×` : 'n/a', r !== undefined ? r >= 0.9 : false]);
  }
  if (k) targets.push(['100k: where+sort+limit 10 p50 < 5 ms', k.top10 ? `${fmt(k.top10.p50, 1)} ms` : 'n/a', k.top10 && k.top10.count > 0 ? k.top10.p50 < 5 : false]);
  for (const r of [k, m]) {
    if (r?.queryHoldMs !== undefined) {
      const worst = Math.max(r.queryHoldMs.top10, r.queryHoldMs.total);
      targets.push([`${fmt(r.size)}: no query holds the event loop > 50 ms (top-10 and X-Total-Count phases; GC and background work included)`, `${fmt(worst)} ms`, worst <= 50]);
    }
  }
  if (targets.length) {
    out.push('| target (issue 12) | measured | met |', '|---|---|---|');
    for (const [name, measured, met] of targets) out.push(`| ${name} | ${measured} | ${met === undefined ? '—' : met ? 'yes' : '**no**'} |`);
    out.push('');
  }
  return out.join('\n');
}

// ---- the run ----------------------------------------------------------------------------------------

export async function runScale(argv: string[]): Promise<number> {
  let config: Config;
  try {
    config = readConfig(argv);
  } catch (err) {
    process.stderr.write(`[scale] ${(err as Error).message}\n`);
    return 2;
  }
  keep = config.keep;
  if (!existsSync(CLI)) {
    process.stderr.write(`[scale] ${CLI} is missing: run "npm run build" first (npm run bench does)\n`);
    return 2;
  }
  const cleanup = () => {
    killAll();
    if (!keep) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping the benchmark\n`);
      cleanup();
      process.exit(130);
    });
  }
  if (config.generateInto) {
    if (config.sizes.length !== 1) {
      process.stderr.write('[scale] --generate takes one size (--scale N)\n');
      return 2;
    }
    const t = performance.now();
    await generate(config, config.sizes[0]!, path.resolve(config.generateInto));
    log(`${config.sizes[0]} entries written to ${config.generateInto} in ${((performance.now() - t) / 1000).toFixed(1)} s (kept)`);
    return 0;
  }
  deadline = Date.now() + config.timeoutSec * 1000;
  // Past the deadline plus a grace for the clean-up, stop hard.
  const results: SizeResult[] = [];
  const loadBefore = os.loadavg()[0]!;
  const writeReport = () => {
    const report = render(config, results, { seconds: (Date.now() - benchStarted) / 1000, loadBefore, loadAfter: os.loadavg()[0]! });
    mkdirSync(path.dirname(config.out), { recursive: true });
    writeFileSync(config.out, report);
    process.stdout.write(report);
    log(`written to ${path.relative(process.cwd(), config.out)}`);
  };
  const hard = setTimeout(() => {
    process.stderr.write(`[scale] over the ${config.timeoutSec.toFixed(0)} s limit: stopping\n`);
    // What was measured so far is still the result (a size cut short says so).
    writeReport();
    cleanup();
    process.exit(1);
  }, config.timeoutSec * 1000 + 120_000);
  hard.unref();
  const sizes = [...new Set(config.baseline > 0 ? [config.baseline, ...config.sizes] : config.sizes)];
  log(`sizes ${sizes.join(', ')} (baseline ${config.baseline || 'none'}); limit ${config.timeoutSec.toFixed(0)} s`);
  let stopBaseline: (() => Promise<void>) | undefined;
  for (const size of sizes) {
    if (capMs(Infinity) < 60_000) {
      log(`${size}: skipped, out of time`);
      break;
    }
    const isBaseline = size === config.baseline && !config.sizes.includes(size);
    try {
      await measureSize(config, size, isBaseline, results, isBaseline ? (stop) => (stopBaseline = stop) : undefined);
    } catch (err) {
      if (results.some((r) => r.size === size)) {
        results.find((r) => r.size === size)!.problems.push((err as Error).message.slice(0, 300));
        continue;
      }
      log(`${size}: failed: ${(err as Error).message}`);
      results.push({ size, location: '', generateMs: NaN, cold: { problem: (err as Error).message.slice(0, 200) }, problems: [(err as Error).message.slice(0, 300)] });
    }
  }
  if (stopBaseline) await stopBaseline();
  clearTimeout(hard);
  writeReport();
  cleanup();
  return 0;
}
