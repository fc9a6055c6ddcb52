/**
 * `npm run bench:multinode`: several `flextype serve` processes on one PostgreSQL schema.
 * Measures cross-node visibility (a PATCH acknowledged by node A until node B answers the new
 * value, B polled every 2 ms; p50/p99) and cached GET throughput (wrk) of 1 node vs 3 nodes on the
 * same database. A fresh schema, dropped afterwards; bounded in time (about a minute).
 *
 *   node --import tsx bench/multinode.ts [--url postgres://postgres@127.0.0.1:5432/test] [--samples 200] [--seconds 5] [--connections 48]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    samples: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '48' },
  },
});
const SAMPLES = Number(flags.samples);
const SECONDS = Number(flags.seconds);
const CONNECTIONS = Number(flags.connections);
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const schema = `ft_bench_mn_${randomBytes(4).toString('hex')}`;
const run = promisify(execFile);
const dirs: string[] = [];
const children: ChildProcess[] = [];

function project(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-bench-mn-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
  writeFileSync(
    path.join(dir, 'config', 'flextype', 'settings.yaml'),
    `storage:\n  engine: postgres\n  url: ${JSON.stringify(flags.url)}\n  schema: ${schema}\n`,
  );
  return dir;
}

/** Starts one node; resolves with its API base URL. */
function serve(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--project', project(), '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
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

async function json(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(url, init);
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
}

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Requests per second of wrk runs started at once, one per URL, summed. */
async function wrk(urls: string[], connectionsEach: number): Promise<number> {
  const runs = await Promise.all(
    urls.map((url) => run('wrk', ['-t1', `-c${connectionsEach}`, `-d${SECONDS}s`, url], { timeout: (SECONDS + 20) * 1000 })),
  );
  const each = runs.map((r) => {
    const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout);
    if (errors) throw new Error(`wrk saw ${errors[1]} error answers`);
    const socketErrors = /Socket errors:.*/.exec(r.stdout);
    if (socketErrors) console.error(`wrk: ${socketErrors[0]}`);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  });
  console.error(`wrk on ${urls.length} node(s): ${each.map((n) => Math.round(n)).join(' + ')} req/s`);
  return each.reduce((sum, n) => sum + n, 0);
}

async function main(): Promise<void> {
  const a = await serve();
  const [b, c] = await Promise.all([serve(), serve()]);
  const { stdout } = await run(process.execPath, [CLI, 'tokens:create', '--project', project(), '--json']);
  const admin = JSON.parse(stdout) as { token: string; access_token: string };
  const write = (base: string, method: string, params: Record<string, unknown>) =>
    json(`${base}/entries`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...admin, ...params }) });
  await write(a, 'POST', { id: 'bench', data: { title: 'bench', n: -1 } });
  const get = (base: string) => json(`${base}/entries?id=bench&token=${admin.token}`);

  // Visibility: B has the entry cached; A changes it; how long until B answers the new value.
  await Promise.all([get(b), get(c)]);
  const delays: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    await write(a, 'PATCH', { id: 'bench', data: { n: i } });
    const acked = performance.now();
    for (;;) {
      if ((await get(b))['n'] === i) break;
      if (performance.now() - acked > 5000) throw new Error(`sample ${i} not visible on B after 5 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    delays.push(performance.now() - acked);
  }
  delays.sort((x, y) => x - y);

  // Throughput of the cached GET: one node, then all three (the same total connections).
  const url = (base: string) => `${base}/entries?id=bench&token=${admin.token}`;
  await wrk([url(a), url(b), url(c)], 4); // warm-up: every node has the entry and the token cached
  const one = await wrk([url(a)], CONNECTIONS);
  const three = await wrk([url(a), url(b), url(c)], Math.ceil(CONNECTIONS / 3));

  console.log(`\n## Many nodes, one database (${os.cpus().length} cores, ${SAMPLES} visibility samples, wrk ${SECONDS} s, ${CONNECTIONS} connections in total)\n`);
  console.log('| measurement | value |');
  console.log('|---|---|');
  console.log(`| cross-node visibility p50 (A's PATCH acknowledged → B answers it) | ${quantile(delays, 0.5).toFixed(1)} ms |`);
  console.log(`| cross-node visibility p99 | ${quantile(delays, 0.99).toFixed(1)} ms |`);
  console.log(`| cross-node visibility max | ${delays[delays.length - 1]!.toFixed(1)} ms |`);
  console.log(`| cached GET, 1 node | ${Math.round(one)} req/s |`);
  console.log(`| cached GET, 3 nodes | ${Math.round(three)} req/s |`);
  console.log(`| ratio 3 nodes / 1 node | ${(three / one).toFixed(2)} |`);
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: flags.url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}
