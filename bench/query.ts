/**
 * `npm run bench:query`: latency of a collection query (where + sort_by + limit=10) over a
 * 10,000-entry project, next to baselines measured in the same run and process:
 *   - a bare node:http server answering the same precomputed JSON bytes (the floor of any server),
 *   - the real server answering one cached entry (the cost of routing, auth and the reply path).
 * Concurrency 1, a bounded number of requests, keep-alive; prints a Markdown table.
 *
 *   node --import tsx bench/query.ts [--entries 10000] [--requests 300] [--warmup 50]
 *
 * With `--store`, the same kind of query through the content core in-process (no HTTP), at each
 * of `--scales` entries, with the field indexes off (the plain executor) and on, in the same run;
 * also the longest the event loop was held while the queries ran:
 *   node --import tsx bench/query.ts --store [--scales 10000,100000] [--requests 100] [--only 1,4] [--max-seconds 900]
 *
 * With `--compare DIR` (store mode), also the indexed queries of another checkout's `src/` in DIR
 * (e.g. main: `git archive main src config package.json | tar -x -C DIR && ln -s $PWD/node_modules DIR/`), over the same
 * generated project, in the same process, rounds alternated between the two so load hits both alike.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Cms } from '../src/core/cms.js';
import { queryIndexesOf } from '../src/core/query/indexes.js';
import { createLogger } from '../src/logging.js';
import { startServer, type RunningServer } from '../src/http/start.js';

const { values: flags } = parseArgs({
  options: {
    entries: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '50' },
    store: { type: 'boolean', default: false },
    scales: { type: 'string', default: '10000,100000' },
    compare: { type: 'string' },
    only: { type: 'string' },
    'max-seconds': { type: 'string', default: '900' },
  },
});
const ENTRIES = Number(flags.entries);
const REQUESTS = Number(flags.requests);
const WARMUP = Number(flags.warmup);
/** The whole run must stay short; past this it cleans up and fails. */
const DEADLINE_MS = 150_000;

const TAGS = ['sci-fi', 'drama', 'comedy', 'documentary', 'thriller'];
const WORDS = ['river', 'Stone', 'light', 'Échelle', 'north', 'garden', 'Winter', 'signal', 'Orbit', 'harbour'];

/** Writes the project straight to disk (as a git checkout would), YAML front matter like real content. */
function generateProject(dir: string, count: number): void {
  const root = path.join(dir, 'entries', 'posts');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'entry.md'), '---\ntitle: Posts\n---\n');
  for (let i = 0; i < count; i++) {
    const id = `p${String(i).padStart(5, '0')}`;
    mkdirSync(path.join(root, id));
    const day = String((i % 28) + 1).padStart(2, '0');
    const text = [
      '---',
      `title: "${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} ${i}"`,
      `year: ${2000 + ((i * 7) % 25)}`,
      `views: ${(i * 7919) % 100_000}`,
      `rating: ${((i * 37) % 50) / 10}`,
      `visibility: ${i % 10 === 0 ? 'draft' : 'visible'}`,
      `tag: ${TAGS[i % TAGS.length]}`,
      `tags: [${TAGS[i % TAGS.length]}, ${TAGS[(i + 2) % TAGS.length]}]`,
      `author:\n  name: Author ${i % 50}\n  country: ${i % 3 === 0 ? 'fr' : 'de'}`,
      `published_at: ${day}-05-2020 06:57`,
      '---',
      `Body of post ${i}. ${'Lorem ipsum dolor sit amet. '.repeat(8)}`,
      '',
    ].join('\n');
    writeFileSync(path.join(root, id, 'entry.md'), text);
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Answer {
  status: number;
  body: string;
  total: string | undefined;
}

function request(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          total: res.headers['x-total-count'] as string | undefined,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

interface Figures {
  name: string;
  requests: number;
  median: number;
  p99: number;
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

async function measure(name: string, url: string): Promise<Figures> {
  for (let i = 0; i < WARMUP; i++) await request(url);
  const samples: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const start = process.hrtime.bigint();
    const answer = await request(url);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (answer.status !== 200) throw new Error(`${name}: status ${answer.status}: ${answer.body.slice(0, 200)}`);
  }
  samples.sort((a, b) => a - b);
  return { name, requests: REQUESTS, median: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

function collectionQuery(token: string, sortKey: string): string {
  const F = 'options[filter]';
  return [
    'id=posts',
    `token=${token}`,
    'options[collection]=true',
    `${F}[where][0][key]=visibility`,
    `${F}[where][0][operator]=eq`,
    `${F}[where][0][value]=visible`,
    `${F}[where][1][key]=year`,
    `${F}[where][1][operator]=gte`,
    `${F}[where][1][value]=2015`,
    `${F}[sort_by][key]=${sortKey}`,
    `${F}[sort_by][direction]=DESC`,
    `${F}[limit]=10`,
  ].join('&');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-bench-query-'));
  let server: RunningServer | undefined;
  let bare: http.Server | undefined;
  const deadline = setTimeout(() => {
    process.stderr.write(`bench:query: over ${DEADLINE_MS / 1000} s, giving up\n`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  try {
    let t = Date.now();
    generateProject(dir, ENTRIES);
    const generateMs = Date.now() - t;

    server = await startServer({
      projectDir: dir,
      host: '127.0.0.1',
      port: 0,
      settings: { tokens: { hash_rounds: 4 }, storage: { durable: false } },
      logger: createLogger('silent'),
    });
    const { token } = await server.cms.tokens.create({ title: 'bench' });
    const api = `${server.url}/api/v1/entries`;
    const numeric = `${api}?${collectionQuery(token, 'views')}`;
    const text = `${api}?${collectionQuery(token, 'title')}`;

    // The first query reads and parses every file; later ones answer from memory.
    t = Date.now();
    const cold = await request(numeric);
    const coldMs = Date.now() - t;
    if (cold.status !== 200) throw new Error(`collection query failed: ${cold.status} ${cold.body.slice(0, 200)}`);
    const keys = Object.keys(JSON.parse(cold.body) as object);
    if (keys.length !== 10 || Number(cold.total) <= 10) throw new Error(`unexpected answer: ${keys.length} items, total ${cold.total}`);

    const body = Buffer.from(cold.body);
    bare = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((resolve) => bare!.listen(0, '127.0.0.1', resolve));
    const bareAddress = bare.address();
    const bareUrl = `http://127.0.0.1:${typeof bareAddress === 'object' && bareAddress ? bareAddress.port : 0}/`;

    const rows: Figures[] = [];
    rows.push(await measure('bare node:http, same JSON bytes', bareUrl));
    rows.push(await measure('server: one cached entry', `${api}?id=posts/p04242&token=${token}`));
    rows.push(await measure('server: where + sort_by views (numeric) DESC + limit=10', numeric));
    rows.push(await measure('server: where + sort_by title (text) DESC + limit=10', text));

    const [bareRow, entryRow] = rows as [Figures, Figures];
    const lines = [
      `### Collection query over ${ENTRIES.toLocaleString('en')} entries`,
      '',
      `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}; concurrency 1, keep-alive, ` +
        `${WARMUP} warm-up + ${REQUESTS} measured requests per row; matches before limit: ${cold.total}.`,
      `Project generated in ${generateMs} ms; first (cold) query, reading every file: ${coldMs} ms.`,
      '',
      '| scenario | median ms | p99 ms | median ÷ bare | median ÷ one entry |',
      '|---|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.median.toFixed(3)} | ${r.p99.toFixed(3)} | ${(r.median / bareRow.median).toFixed(1)}× | ${(r.median / entryRow.median).toFixed(1)}× |`,
      ),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    agent.destroy();
    await new Promise<void>((resolve) => (bare ? bare.close(() => resolve()) : resolve()));
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(deadline);
  }
}

// ---- --store: the content core in-process, indexes off and on -----------------------------------

const STORE_QUERIES: { name: string; filter: Record<string, unknown> }[] = [
  { name: 'where tag = drama, sort_by rating DESC, limit 10', filter: { where: [{ key: 'tag', value: 'drama' }], sort_by: { key: 'rating', direction: 'DESC' }, limit: 10 } },
  {
    name: 'where visibility = visible and year >= 2015, sort_by views DESC, limit 10',
    filter: { where: [{ key: 'visibility', value: 'visible' }, { key: 'year', operator: 'gte', value: 2015 }], sort_by: { key: 'views', direction: 'DESC' }, limit: 10 },
  },
  {
    name: 'where views between 1000 and 1999 and visibility = visible, sort_by views, limit 10',
    filter: { where: [{ key: 'views', operator: 'between', value: [1000, 1999] }, { key: 'visibility', value: 'visible' }], sort_by: { key: 'views', direction: 'ASC' }, limit: 10 },
  },
  { name: 'where tag = drama, limit 10 (the total of every match)', filter: { where: [{ key: 'tag', value: 'drama' }], limit: 10 } },
  { name: 'where year >= 2015, limit 10 (the total of every match)', filter: { where: [{ key: 'year', operator: 'gte', value: 2015 }], limit: 10 } },
];

type CmsModule = typeof import('../src/core/cms.js');
type IndexesModule = typeof import('../src/core/query/indexes.js');
/** One code base under test: this checkout's, or the `--compare` one. */
interface Engine {
  label: string;
  cms: InstanceType<CmsModule['Cms']>;
  indexes: IndexesModule['queryIndexesOf'];
}

interface Cell {
  samples: number[];
  total: number;
  answer: string;
  /** The longest event-loop hold while this cell's queries ran (ms). */
  hold: { max: number; reset(): void };
}

/**
 * The longest gap between ticks of a 1 ms timer while a query runs. (A monitorEventLoopDelay
 * histogram enabled right before an in-process query misses the hold its synchronous start makes:
 * it counts from its timer's first tick.)
 */
const ticks = { last: performance.now(), longest: 0 };
const ticker = setInterval(() => {
  const now = performance.now();
  ticks.longest = Math.max(ticks.longest, now - ticks.last);
  ticks.last = now;
}, 1);
ticker.unref();

const newCell = (): Cell => ({
  samples: [],
  total: 0,
  answer: '',
  hold: {
    max: 0,
    reset() {
      this.max = 0;
    },
  },
});
const holdOf = (cell: Cell) => Math.max(0, cell.hold.max - 1).toFixed(0);

async function storeOnce(engine: Engine, filter: Record<string, unknown>, indexed: boolean, cell: Cell): Promise<void> {
  engine.indexes(engine.cms.store).enabled = indexed;
  ticks.longest = 0;
  const start = process.hrtime.bigint();
  const result = await engine.cms.entries.fetch('posts', { collection: true, filter });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // One more tick, so a hold that ended the query is counted.
  await new Promise((resolve) => setTimeout(resolve, 2));
  cell.hold.max = Math.max(cell.hold.max, ticks.longest, performance.now() - ticks.last);
  if (result.kind !== 'collection' || result.result.kind !== 'items') throw new Error('unexpected answer');
  cell.samples.push(ms);
  cell.total = result.result.total;
  cell.answer = JSON.stringify(result.result.items.map((i) => i.id));
}

const figures = (cell: Cell) => {
  const sorted = [...cell.samples].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
};
const ms = (cell: Cell) => {
  const f = figures(cell);
  return `${f.median.toFixed(2)} / ${f.p99.toFixed(2)}`;
};

async function startEngine(label: string, dir: string, modules: { cms: CmsModule; indexes: IndexesModule }): Promise<Engine> {
  // No persisted index: two engines may share the project folder.
  const cms = new modules.cms.Cms({ projectDir: dir, settings: { storage: { durable: false }, cache: { preload: false, persist_index: false } } });
  const t = Date.now();
  await cms.start();
  await cms.store.preload();
  process.stderr.write(`${label}: preloaded in ${Date.now() - t} ms\n`);
  return { label, cms, indexes: modules.indexes.queryIndexesOf };
}

async function storeBench(): Promise<void> {
  const giveUp = setTimeout(() => {
    process.stderr.write(`bench:query --store: over ${flags['max-seconds']} s, giving up\n`);
    process.exit(1);
  }, Number(flags['max-seconds']) * 1000);
  giveUp.unref();
  const scales = flags.scales.split(',').map(Number);
  const queries = flags.only ? STORE_QUERIES.filter((_, i) => flags.only!.split(',').map(Number).includes(i)) : STORE_QUERIES;
  const compareDir = flags.compare ? path.resolve(flags.compare) : undefined;
  const baseline = compareDir
    ? {
        cms: (await import(path.join(compareDir, 'src/core/cms.ts'))) as CmsModule,
        indexes: (await import(path.join(compareDir, 'src/core/query/indexes.ts'))) as IndexesModule,
      }
    : undefined;
  const lines = [
    '### Collection queries through the content core (in-process), field indexes off and on',
    '',
    `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the start; ` +
      `${REQUESTS} measured queries per cell after 3 warm-up ones (these build the indexes), rounds alternated between the cells.`,
    ...(compareDir ? [`Baseline: the indexed executor of the code in \`${compareDir}\`, same project, same process.`] : []),
    '',
    `| entries | query | matches | plain p50 / p99 ms |${baseline ? ' baseline indexed p50 / p99 ms |' : ''} indexed p50 / p99 ms | p50 speed-up vs plain |${baseline ? ' p50 speed-up vs baseline |' : ''} longest event-loop hold plain /${baseline ? ' baseline /' : ''} indexed ms |`,
    `|---:|---|---:|---:|${baseline ? '---:|' : ''}---:|---:|${baseline ? '---:|' : ''}---:|`,
  ];
  for (const scale of scales) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-bench-store-'));
    const engines: Engine[] = [];
    try {
      const t = Date.now();
      generateProject(dir, scale);
      process.stderr.write(`${scale} entries: generated in ${Date.now() - t} ms\n`);
      const own = await startEngine('this checkout', dir, { cms: await import('../src/core/cms.js'), indexes: await import('../src/core/query/indexes.js') });
      engines.push(own);
      const base = baseline ? await startEngine('baseline', dir, baseline) : undefined;
      if (base) engines.push(base);
      for (const q of queries) {
        const plain = newCell();
        const indexed = newCell();
        const based = newCell();
        for (let i = 0; i < 3; i++) {
          await storeOnce(own, q.filter, true, indexed);
          if (base) await storeOnce(base, q.filter, true, based);
        }
        // The warm-up builds the indexes: not counted.
        for (const cell of [indexed, based]) {
          cell.samples = [];
          cell.hold.reset();
        }
        // Plain queries are slow: fewer of them, in their own pass.
        for (let i = 0; i < Math.min(REQUESTS, 30); i++) await storeOnce(own, q.filter, false, plain);
        for (let i = 0; i < REQUESTS; i++) {
          await storeOnce(own, q.filter, true, indexed);
          if (base) await storeOnce(base, q.filter, true, based);
        }
        if (plain.answer !== indexed.answer || plain.total !== indexed.total) throw new Error(`${q.name}: indexed answer differs`);
        if (base && (based.answer !== indexed.answer || based.total !== indexed.total)) throw new Error(`${q.name}: baseline answer differs`);
        const speedUp = (a: Cell, b: Cell) => `${(figures(a).median / figures(b).median).toFixed(1)}×`;
        lines.push(
          `| ${scale.toLocaleString('en')} | ${q.name} | ${plain.total} | ${ms(plain)} |${base ? ` ${ms(based)} |` : ''} ${ms(indexed)} | ${speedUp(plain, indexed)} |` +
            `${base ? ` ${speedUp(based, indexed)} |` : ''} ${holdOf(plain)} /${base ? ` ${holdOf(based)} /` : ''} ${holdOf(indexed)} |`,
        );
        process.stderr.write(lines[lines.length - 1] + '\n');
      }
    } finally {
      for (const e of engines) await e.cms.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  clearTimeout(giveUp);
}

if (flags.store) {
  storeBench().catch((err: unknown) => {
    process.stderr.write(`bench:query --store failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
} else main().catch((err: unknown) => {
  process.stderr.write(`bench:query failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
