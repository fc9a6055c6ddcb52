/**
 * `npm run bench:wrk` (or `npm run bench -- --wrk`): the cached GET of one entry against a bare
 * node:http server answering the same bytes, driven by `wrk`, in alternated rounds of one run (the
 * order flips every round, so drift on a shared machine hits both alike). Two servers of ours run
 * side by side, access log on (the `serve` default, written to a file) and off, on two copies of a
 * generated project. Prints a Markdown table and writes bench/results/wrk.md.
 *
 * Flags: --rounds 5  --duration 5 (s per measurement)  --connections 10  --threads 1  --entries 1000
 *        --nice N (priority of servers and wrk, e.g. -10 as root on a shared machine)
 *        --out FILE  --cpu-prof DIR (profile the servers: .cpuprofile files in DIR/<server>/)
 * Needs `wrk` on the PATH (Debian: apt-get install -y wrk).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
const BASELINE = path.join(REPO_ROOT, 'bench', 'baseline-server.ts');

const { values: flags } = parseArgs({
  options: {
    wrk: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    entries: { type: 'string', default: '1000' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
    nice: { type: 'string', default: '0' },
  },
  strict: false,
});
const positive = (text: unknown, what: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive whole number, got "${String(text)}"`);
  return n;
};
const config = {
  rounds: positive(flags.rounds, '--rounds'),
  duration: positive(flags.duration, '--duration'),
  connections: positive(flags.connections, '--connections'),
  threads: positive(flags.threads, '--threads'),
  entries: positive(flags.entries, '--entries'),
  out: path.resolve(typeof flags.out === 'string' ? flags.out : path.join(REPO_ROOT, 'bench', 'results', 'wrk.md')),
  // Scheduling priority of the servers and wrk (negative needs root): on a machine shared with
  // other work, a higher priority for all of them alike takes most of the others' noise out.
  nice: Number(flags.nice),
  cpuProf: typeof flags['cpu-prof'] === 'string' ? path.resolve(flags['cpu-prof']) : undefined,
};

if (!Number.isInteger(config.nice) || config.nice < -20 || config.nice > 19) throw new Error('--nice must be a whole number from -20 to 19');

/** A command line run at the configured priority. */
function niced(command: string, args: string[]): [string, string[]] {
  return config.nice === 0 ? [command, args] : ['nice', ['-n', String(config.nice), command, ...args]];
}

const children = new Set<ChildProcess>();
const temp = mkdtempSync(path.join(os.tmpdir(), 'flextype-wrk-'));
function cleanup(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
const log = (text: string) => process.stderr.write(`[wrk] ${text}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Answer {
  status: number;
  body: Buffer;
  /** The answer's headers as sent, in order, as [name, value] pairs. */
  headers: [string, string][];
}

function get(url: string): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers }));
    });
    req.on('error', () => resolve(undefined));
  });
}

async function until200(url: string, limitMs = 60_000): Promise<Answer> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const res = await get(url);
    if (res?.status === 200) return res;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no 200 from ${url.replace(/token=[^&]+/, 'token=…')} within ${limitMs} ms`);
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Waits (at most 60 s) until the server is idle: its background preload done, so rounds measure the steady state. */
async function settle(pid: number): Promise<void> {
  let last = cpuSeconds(pid);
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpuSeconds(pid);
    if (now - last <= 0.02) return;
    last = now;
  }
}

function generate(name: string, accessLog: boolean): string {
  const dir = path.join(temp, name);
  const items = path.join(dir, 'entries', 'items');
  mkdirSync(items, { recursive: true });
  mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
  writeFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), `log:\n  access: ${accessLog}\n`);
  writeFileSync(path.join(items, 'entry.md'), '---\ntitle: Items\n---\n');
  for (let i = 1; i <= config.entries; i++) {
    mkdirSync(path.join(items, `item-${i}`));
    writeFileSync(path.join(items, `item-${i}`, 'entry.md'), `---\ntitle: Item ${i}\nyear: ${1980 + (i % 45)}\nrating: ${(i % 100) / 10}\ntag: t${i % 5}\n---\nGenerated entry number ${i}.\n`);
  }
  return dir;
}

interface Target {
  name: string;
  url: string;
  pid: number;
}

async function startOurs(name: string, accessLog: boolean): Promise<{ target: Target; answer: Answer }> {
  const project = generate(name, accessLog);
  const created = JSON.parse(execFileSync(process.execPath, [CLI, 'tokens:create', '{"title":"wrk"}', '--json', '--project', project], { encoding: 'utf8' })) as { token: string };
  const port = await freePort();
  const logFile = openSync(path.join(temp, `${name}.log`), 'w');
  // One folder per server: the main thread's profile is the largest file in it.
  const nodeArgs = config.cpuProf ? [`--cpu-prof`, `--cpu-prof-dir=${path.join(config.cpuProf, name)}`] : [];
  const child = spawn(...niced(process.execPath, [...nodeArgs, CLI, 'serve', '--project', project, '--host', '127.0.0.1', '--port', String(port)]), {
    stdio: ['ignore', 'ignore', logFile],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(logFile);
  children.add(child);
  const url = `http://127.0.0.1:${port}/api/v1/entries?id=items/item-${Math.ceil(config.entries / 2)}&token=${created.token}`;
  const answer = await until200(url);
  await settle(child.pid!);
  return { target: { name, url, pid: child.pid! }, answer };
}

/** Headers Node's http server adds to every answer by itself, bare or ours. */
const ADDED_BY_NODE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/**
 * The bare node:http baseline answering `answer`'s body. `sameHeaders`: with every header ours
 * sent too (request id and ETag frozen at the captured values), so both send the same bytes;
 * otherwise only Content-Type and Content-Length.
 */
async function startBare(answer: Answer, sameHeaders: boolean): Promise<Target> {
  const name = sameHeaders ? 'bare' : 'bare-minimal';
  const bodyFile = path.join(temp, 'body.json');
  writeFileSync(bodyFile, answer.body);
  const args = [bodyFile];
  if (sameHeaders) {
    const headersFile = path.join(temp, 'headers.json');
    writeFileSync(headersFile, JSON.stringify(answer.headers.filter(([header]) => !ADDED_BY_NODE.has(header.toLowerCase()))));
    args.push(headersFile);
  }
  const port = await freePort();
  const nodeArgs = config.cpuProf ? [`--cpu-prof`, `--cpu-prof-dir=${path.join(config.cpuProf, name)}`] : [];
  const [first, ...rest] = args;
  const child = spawn(...niced(process.execPath, [...nodeArgs, '--import', 'tsx', BASELINE, first!, String(port), ...rest]), { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  const url = `http://127.0.0.1:${port}/api/v1/entries`;
  await until200(url);
  return { name: sameHeaders ? 'bare node:http, same bytes (our headers)' : 'bare node:http, body + 2 headers', url, pid: child.pid! };
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  cpuMicros: number;
  errors: number;
}

/** wrk's latency figures ("412.00us", "1.20ms", "2.01s") in milliseconds. */
function millis(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!match) return NaN;
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 'ms' ? n : n * 1000;
}

function runWrk(target: Target, seconds: number): Measured {
  const cpuBefore = cpuSeconds(target.pid);
  const out = execFileSync(...niced('wrk', [`-t${config.threads}`, `-c${config.connections}`, `-d${seconds}s`, '--latency', target.url]), { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const cpu = cpuSeconds(target.pid) - cpuBefore;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: millis(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    p99: millis(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    cpuMicros: (cpu * 1e6) / requests,
    errors: Number(errors ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk --version exits 1 after printing; only a missing binary is fatal.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('wrk is not installed (Debian: apt-get install -y wrk)');
  }
  const started = Date.now();
  log(`${config.entries} entries; ${config.rounds} rounds × ${config.duration} s; wrk -t${config.threads} -c${config.connections}`);
  const on = await startOurs('ours-access-log-on', true);
  const off = await startOurs('ours-access-log-off', false);
  // (The two bodies differ only in file times: same length.)
  if (on.answer.body.length !== off.answer.body.length) throw new Error('the two servers answered bodies of different lengths');
  const bare = await startBare(on.answer, true);
  const minimal = await startBare(on.answer, false);
  const targets = [bare, on.target, off.target, minimal];
  // Warm-up (JIT, caches), unreported.
  for (const target of targets) runWrk(target, 2);
  const results = new Map<Target, Measured[]>(targets.map((t) => [t, []]));
  const loadBefore = os.loadavg()[0]!;
  for (let round = 0; round < config.rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) results.get(target)!.push(runWrk(target, config.duration));
    const line = targets.map((t) => `${t.name}: ${fmt(results.get(t)![round]!.rps)}`).join(' · ');
    log(`round ${round + 1}/${config.rounds}: ${line}`);
  }
  const bareRps = results.get(bare)!.map((m) => m.rps);
  const out: string[] = ['# wrk: cached GET of one entry vs a bare node:http server', ''];
  out.push(
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'} · ` +
      `\`wrk -t${config.threads} -c${config.connections} -d${config.duration}s --latency\` · ${config.rounds} alternated rounds · ` +
      `${config.nice === 0 ? '' : `servers and wrk at nice ${config.nice} · `}` +
      `${config.entries} entries · load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after · ${((Date.now() - started) / 1000).toFixed(0)} s`,
    '',
    '| server | median req/s | × bare (median of per-round ratios) | per-round req/s | p50 ms | p99 ms | server CPU µs/req | errors |',
    '|---|---:|---:|---|---:|---:|---:|---:|',
  );
  for (const target of targets) {
    const runs = results.get(target)!;
    const ratios = runs.map((m, i) => m.rps / bareRps[i]!);
    out.push(
      `| ${target.name} | ${fmt(median(runs.map((m) => m.rps)))} | ${fmt(median(ratios), 2)} | ${runs.map((m) => fmt(m.rps)).join(', ')} | ` +
        `${fmt(median(runs.map((m) => m.p50)), 2)} | ${fmt(median(runs.map((m) => m.p99)), 2)} | ${fmt(median(runs.map((m) => m.cpuMicros)), 1)} | ${runs.reduce((s, m) => s + m.errors, 0)} |`,
    );
  }
  out.push(
    '',
    'Both of ours run `flextype serve` with default settings (metrics on); "access log on" writes one JSON line per request ' +
      'to a file (stderr redirected), as `serve` does by default. The baseline (×1.00) is a bare node:http server sending ' +
      'the same bytes: our body and our headers (X-Request-Id, CORS, ETag, Cache-Control, Content-Type, Content-Length; ' +
      'Node adds Date, Connection and Keep-Alive to both). The last row is the same body with only Content-Type and ' +
      'Content-Length, what headers cost. Ratios are taken round by round (each against the baseline run next to it), then the median.',
    '',
  );
  const report = out.join('\n');
  mkdirSync(path.dirname(config.out), { recursive: true });
  writeFileSync(config.out, report);
  process.stdout.write(report);
  for (const child of children) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500)); // lets --cpu-prof write its profiles
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`[wrk] failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
