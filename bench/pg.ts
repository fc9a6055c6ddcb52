/**
 * `npm run bench:pg`: the PostgreSQL engine at scale, through HTTP (issue 11, item 6).
 * Fills a fresh schema with N entries (default 1,000,000; multi-row INSERTs of 1,000, three in
 * flight) shaped like bench/scale.ts's (title, tag, rating, published_at, body), and a file project
 * of --file-entries (default 10,000) of the same entries, then starts `flextype serve` on each and
 * measures with autocannon (in this process, on loopback): GET one cached, GET one uncached (a
 * random id per request), where(tag = news) + sort_by(rating DESC) + limit 10 (sequential, p50/p99),
 * create (POST) and update (PATCH) at 10 connections, and cached GET on 3 PostgreSQL nodes vs 1.
 * Bounded by --timeout; the schema and the projects are removed; writes bench/results/pg.md.
 *
 * With --writes-only, only POST and PATCH on PostgreSQL (--rounds times, alternating); with
 * --baseline <checkout>, the same against that checkout's built CLI (its own schema) in the same
 * run, so a change to the write path is measured against what it replaces under the same load.
 * Writes bench/results/pg-writes.md then.
 *
 *   node --import tsx bench/pg.ts [--entries 1000000] [--file-entries 10000] [--seconds 5] [--queries 30] [--timeout 1500]
 *   node --import tsx bench/pg.ts --writes-only [--baseline ../other-checkout] [--rounds 3] [--entries 10000]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { applyMigrations } from '../src/storage/postgres/migrations.js';
import { exactJson } from '../src/storage/postgres/rows.js';
import { getSerializer } from '../src/storage/serializers/index.js';

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    entries: { type: 'string', default: '1000000' },
    'file-entries': { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '5' },
    queries: { type: 'string', default: '30' },
    timeout: { type: 'string', default: '1500' },
    'writes-only': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '5' },
  },
});
const N = Number(flags.entries);
const QUERIES = Number(flags.queries);
const FILE_ENTRIES = Number(flags['file-entries']);
const SECONDS = Number(flags.seconds);
const deadline = Date.now() + Number(flags.timeout) * 1000;
const schema = `ft_benchpg_${randomBytes(4).toString('hex')}`;
const S = `"${schema}"`;
const TAGS = ['news', 'sport', 'culture', 'tech', 'travel'];
const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');
const frontmatter = getSerializer('frontmatter')!;

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

/** The same shape as bench/scale.ts's entries (its generator is not exported). */
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

const idOf = (i: number) => `items/item-${String(i).padStart(7, '0')}`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function fill(pool: pg.Pool, S: string): Promise<number> {
  const random = rng(1);
  const started = performance.now();
  const batch = 1000;
  await pool.query(`INSERT INTO ${S}.flextype_entries (id, parent, depth, extension, source, fields, size) VALUES ('items', '', 1, 'md', $1, $2::jsonb, $3)`, ['---\ntitle: Items\n---\n', JSON.stringify({ title: 'Items' }), 20]);
  let inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < N; start += batch) {
    if (Date.now() > deadline) throw new Error(`filling did not finish within --timeout (${start} of ${N})`);
    const values: unknown[] = [];
    const rows: string[] = [];
    for (let i = start; i < Math.min(N, start + batch); i++) {
      const text = entryText(i, random);
      const k = values.length;
      values.push(idOf(i), text, exactJson(frontmatter.decode(text)), Buffer.byteLength(text));
      rows.push(`($${k + 1}, 'items', 2, 'md', $${k + 2}, $${k + 3}::jsonb, $${k + 4})`);
    }
    inFlight.push(pool.query(`INSERT INTO ${S}.flextype_entries (id, parent, depth, extension, source, fields, size) VALUES ${rows.join(',')}`, values));
    if (inFlight.length >= 3) {
      await Promise.all(inFlight);
      inFlight = [];
    }
    if (start % 100_000 === 0 && start > 0) console.error(`  ${start} rows, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  await Promise.all(inFlight);
  await pool.query(`ANALYZE ${S}.flextype_entries`);
  return (performance.now() - started) / 1000;
}

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const BASELINE_CLI = flags.baseline ? path.resolve(flags.baseline, 'dist', 'cli', 'main.js') : undefined;
const run = promisify(execFile);
const dirs: string[] = [];
const children: ChildProcess[] = [];

function projectDir(settings: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-bench-pg-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
  writeFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), settings);
  return dir;
}

const pgSettingsOf = (name: string) => `storage:\n  engine: postgres\n  url: ${JSON.stringify(flags.url)}\n  schema: ${name}\n`;
const pgSettings = pgSettingsOf(schema);

/** A file project with the same entries (the first FILE_ENTRIES of the PostgreSQL ones). */
function fileProject(): string {
  const dir = projectDir('cache:\n  persist_index: false\n');
  const random = rng(1);
  mkdirSync(path.join(dir, 'entries', 'items'), { recursive: true });
  writeFileSync(path.join(dir, 'entries', 'items', 'entry.md'), '---\ntitle: Items\n---\n');
  for (let i = 0; i < FILE_ENTRIES; i++) {
    const folder = path.join(dir, 'entries', ...idOf(i).split('/'));
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'entry.md'), entryText(i, random));
  }
  return dir;
}

/** Starts one node; resolves with its API base URL. */
function serve(dir: string, cli = CLI): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'serve', '--project', dir, '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 120_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /API:\s+(http:\/\/127\.0\.0\.1:\d+\/api\/v1)\s/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

async function token(dir: string, cli = CLI): Promise<{ token: string; access_token: string }> {
  const { stdout } = await run(process.execPath, [cli, 'tokens:create', '--project', dir, '--json']);
  return JSON.parse(stdout) as { token: string; access_token: string };
}

const encode = (pairs: string[]) => pairs.map((pair) => {
  const at = pair.indexOf('=');
  return `${encodeURIComponent(pair.slice(0, at))}=${encodeURIComponent(pair.slice(at + 1))}`;
}).join('&');
const TOP10 = encode([
  'options[collection]=true', 'options[filter][where][0][key]=tag', 'options[filter][where][0][operator]=eq', 'options[filter][where][0][value]=news',
  'options[filter][sort_by][key]=rating', 'options[filter][sort_by][direction]=DESC', 'options[filter][limit]=10',
]);

/** One autocannon run of SECONDS; requests per second of 2xx answers (errors are reported). */
async function load(url: string, connections: number, setup?: (req: autocannon.Request) => autocannon.Request, method: 'GET' | 'POST' | 'PATCH' = 'GET'): Promise<{ rps: number; p50: number; p99: number }> {
  const result = await autocannon({
    url, connections, duration: SECONDS, method,
    ...(setup ? { requests: [{ method, setupRequest: setup }] } : {}),
    ...(method !== 'GET' ? { headers: { 'content-type': 'application/json' } } : {}),
  });
  const bad = result.non2xx + result.errors;
  if (bad > 0) console.error(`  ${url.slice(0, 60)}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result['2xx'] / SECONDS, p50: result.latency.p50, p99: result.latency.p99 };
}

async function sequential(url: string, count: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${res.status} from ${url}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

interface EngineResult {
  cached: number;
  uncached: number;
  query: { p50: number; p99: number };
  creates: number;
  updates: number;
}

/** Everything but the node comparison, against one node of one engine holding `size` entries. */
async function measure(base: string, auth: { token: string; access_token: string }, size: number, tag: string): Promise<EngineResult> {
  const one = `${base}/entries?id=${idOf(7)}&token=${auth.token}`;
  await load(one, 4); // warm-up: token and entry cached
  const cached = (await load(one, 10)).rps;
  const random = rng(11);
  const uncached = (await load(one, 10, (req) => ({ ...req, path: `/api/v1/entries?id=${idOf(Math.floor(random() * size))}&token=${auth.token}` }))).rps;
  await sequential(`${base}/entries?id=items&token=${auth.token}&${TOP10}`, 3);
  const query = await sequential(`${base}/entries?id=items&token=${auth.token}&${TOP10}`, QUERIES);
  const { creates, updates } = await writes(base, auth, tag);
  return { cached, uncached, query, creates, updates };
}

/** POST of new entries, then PATCH of those, each SECONDS at 10 connections (writes/s). */
async function writes(base: string, auth: { token: string; access_token: string }, tag: string): Promise<{ creates: number; updates: number }> {
  let created = 0;
  const body = (id: string, data: object) => JSON.stringify({ ...auth, id, data });
  const creates = (await load(`${base}/entries`, 10, (req) => ({ ...req, method: 'POST', body: body(`items/new-${tag}-${created++}`, { title: `New ${created}`, tag: 'news', rating: 1 }) }), 'POST')).rps;
  let updated = 0;
  const updates = (await load(`${base}/entries`, 10, (req) => ({ ...req, method: 'PATCH', body: body(`items/new-${tag}-${updated++ % Math.max(1, created - 20)}`, { rating: updated % 10 }) }), 'PATCH')).rps;
  return { creates, updates };
}

/** --writes-only: POST/PATCH on PostgreSQL, this checkout against --baseline (if given), alternating rounds. */
async function writesOnly(pool: pg.Pool): Promise<void> {
  const contenders: { label: string; cli: string; schema: string }[] = [{ label: 'this checkout', cli: CLI, schema }];
  if (BASELINE_CLI) contenders.unshift({ label: `baseline (${flags.baseline})`, cli: BASELINE_CLI, schema: `${schema}_base` });
  const started: { label: string; base: string; auth: { token: string; access_token: string }; schema: string }[] = [];
  for (const c of contenders) {
    // Each server migrates its own schema with its own migrations; the rows are filled afterwards.
    const dir = projectDir(pgSettingsOf(c.schema));
    const base = await serve(dir, c.cli);
    console.error(`filling ${N} entries into ${c.schema} (${c.label}) ...`);
    await fill(pool, `"${c.schema}"`);
    started.push({ label: c.label, base, auth: await token(dir, c.cli), schema: c.schema });
  }
  await new Promise((r) => setTimeout(r, 3000));
  const rounds = Number(flags.rounds);
  const results = new Map<string, { creates: number[]; updates: number[] }>(started.map((s) => [s.label, { creates: [], updates: [] }]));
  for (let round = 0; round < rounds && Date.now() < deadline; round++) {
    for (const s of round % 2 === 0 ? started : [...started].reverse()) {
      console.error(`round ${round + 1}: ${s.label} ...`);
      const r = await writes(s.base, s.auth, `r${round}`);
      results.get(s.label)!.creates.push(r.creates);
      results.get(s.label)!.updates.push(r.updates);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cell = (xs: number[]) => `${Math.round(median(xs)).toLocaleString('en')} (${xs.map((x) => Math.round(x)).join(', ')})`;
  const [load1] = os.loadavg();
  const first = started[0]!.label;
  const last = started[started.length - 1]!.label;
  // Per round (the two measured back to back, under the same load), then the median of those.
  const ratio = (key: 'creates' | 'updates') => {
    const a = results.get(first)![key];
    const b = results.get(last)![key];
    const perRound = b.map((x, i) => x / Math.max(1, a[i]!));
    return `${median(perRound).toFixed(2)} (${perRound.map((x) => x.toFixed(2)).join(', ')})`;
  };
  const report = `# bench:pg --writes-only (${new Date().toISOString()})

PostgreSQL, ${N.toLocaleString('en')} entries per schema, one node each; POST and PATCH (token) through HTTP at 10 connections,
${SECONDS} s per measurement, ${rounds} rounds alternating the order. ${os.cpus().length} cores, load average ${load1!.toFixed(1)} at the end.
Median writes/s (each round's figure in brackets).

| node | create (POST) | update (PATCH) |
|---|---|---|
${started.map((s) => `| ${s.label} | ${cell(results.get(s.label)!.creates)} | ${cell(results.get(s.label)!.updates)} |`).join('\n')}
${started.length > 1 ? `| ratio this / baseline, median of the rounds' ratios | ${ratio('creates')} | ${ratio('updates')} |\n` : ''}`;
  console.log(report);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/pg-writes.md', import.meta.url), report);
  for (const s of started) if (s.schema !== schema) await pool.query(`DROP SCHEMA IF EXISTS "${s.schema}" CASCADE`).catch(() => undefined);
}

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: flags.url, max: 3 });
  try {
    if (flags['writes-only']) {
      await writesOnly(pool);
      return;
    }
    const client = await pool.connect();
    try {
      await applyMigrations(client, schema);
    } finally {
      client.release();
    }
    console.error(`filling ${N} entries into schema ${schema} ...`);
    const fillSeconds = await fill(pool, S);
    console.error(`  filled in ${fillSeconds.toFixed(0)} s; writing ${FILE_ENTRIES} entry files ...`);
    const files = fileProject();
    const pgDir = projectDir(pgSettings);
    const [pgBase, fileBase] = await Promise.all([serve(pgDir), serve(files)]);
    const [pgAuth, fileAuth] = await Promise.all([token(pgDir), token(files)]);
    // Start-up work (preloading entries in the background) is not what is measured.
    await new Promise((r) => setTimeout(r, 5000));
    console.error('measuring the file engine ...');
    const fileResult = await measure(fileBase, fileAuth, FILE_ENTRIES, 'f');
    console.error('measuring PostgreSQL ...');
    const pgResult = await measure(pgBase, pgAuth, N, 'p');

    console.error('3 nodes vs 1 ...');
    const others = await Promise.all([serve(projectDir(pgSettings)), serve(projectDir(pgSettings))]);
    const bases = [pgBase, ...others];
    await new Promise((r) => setTimeout(r, 5000));
    const url = (base: string) => `${base}/entries?id=${idOf(7)}&token=${pgAuth.token}`;
    await Promise.all(bases.map((base) => load(url(base), 4)));
    const oneNode = (await load(url(pgBase), 30)).rps;
    const threeNodes = (await Promise.all(bases.map((base) => load(url(base), 10)))).reduce((sum, r) => sum + r.rps, 0);

    const [load1] = os.loadavg();
    const rows = [
      ['GET one, cached, 10 connections (req/s)', fileResult.cached, pgResult.cached],
      ['GET one, a random id per request (uncached on first sight; files preload all), 10 connections (req/s)', fileResult.uncached, pgResult.uncached],
      ['where(tag = news) + sort_by(rating DESC) + limit 10, 1 connection: p50 / p99 (ms)', `${fileResult.query.p50.toFixed(1)} / ${fileResult.query.p99.toFixed(1)}`, `${pgResult.query.p50.toFixed(1)} / ${pgResult.query.p99.toFixed(1)}`],
      ['create (POST, token), 10 connections (writes/s)', fileResult.creates, pgResult.creates],
      ['update (PATCH, token), 10 connections (writes/s)', fileResult.updates, pgResult.updates],
    ];
    const cell = (v: string | number) => (typeof v === 'number' ? Math.round(v).toLocaleString('en') : v);
    const report = `# bench:pg (${new Date().toISOString()})

${N.toLocaleString('en')} entries in PostgreSQL (filled in ${fillSeconds.toFixed(0)} s, ${Math.round(N / fillSeconds).toLocaleString('en')} rows/s);
the file engine with ${FILE_ENTRIES.toLocaleString('en')} entries. ${os.cpus().length} cores, load average ${load1!.toFixed(1)} at the end;
autocannon runs ${SECONDS} s in this process on loopback (it shares the cores with the servers and PostgreSQL).

| measurement | files (${FILE_ENTRIES.toLocaleString('en')}) | PostgreSQL (${N.toLocaleString('en')}) | PostgreSQL / files |
|---|---|---|---|
${rows.map(([what, f, p]) => `| ${what} | ${cell(f!)} | ${cell(p!)} | ${typeof f === 'number' && typeof p === 'number' ? (p / f).toFixed(2) : ''} |`).join('\n')}

| PostgreSQL nodes, cached GET | req/s |
|---|---|
| 1 node, 30 connections | ${cell(oneNode)} |
| 3 nodes, 10 connections each | ${cell(threeNodes)} |
| ratio 3 / 1 | ${(threeNodes / oneNode).toFixed(2)} |

On ${os.cpus().length} cores the three nodes, PostgreSQL and the load generator share the same CPUs: a ratio
above 1 shows nodes add capacity without coordination cost on cached reads; it cannot approach 3 here
(one node already uses most of a core, the load generator another). On separate machines each node
adds its own cores.
`;
    console.log(report);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/pg.md', import.meta.url), report);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await pool.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
