/**
 * `npm run bench:pg`: the PostgreSQL engine at scale (issue 11, item 6), engine level (no HTTP).
 * Fills a fresh schema with N entries (default 1,000,000) shaped like bench/scale.ts's (title,
 * tag, rating, published_at, body): the stored text is the front matter the file would hold and
 * the jsonb fields are what the real serializer decodes from it; multi-row INSERTs in batches.
 * Then measures: where(tag = news) + sort_by(rating DESC) + limit 10 through the engine's
 * push-down (p50/p99, with EXPLAIN), read one entry (the uncached GET's engine part), and
 * create/update throughput at 10 connections. Bounded by --timeout; the schema is dropped.
 *
 *   node --import tsx bench/pg.ts [--entries 1000000] [--url postgres://postgres@127.0.0.1:5432/test] [--queries 30] [--writes 3000] [--timeout 1100]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { conformanceFormats } from '../src/storage/conformance.js';
import { PgEngine } from '../src/storage/postgres/engine.js';
import { exactJson } from '../src/storage/postgres/rows.js';
import { getSerializer } from '../src/storage/serializers/index.js';
import { naturalIdOrder } from '../src/core/store/tree.js';

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    entries: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '30' },
    writes: { type: 'string', default: '3000' },
    timeout: { type: 'string', default: '1100' },
  },
});
const N = Number(flags.entries);
const QUERIES = Number(flags.queries);
const WRITES = Number(flags.writes);
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

async function fill(pool: pg.Pool): Promise<number> {
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

async function throughput(count: number, width: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count && Date.now() < deadline) await op(next++);
  }));
  return next / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const engine = new PgEngine({ url: flags.url, schema, resolveFormat: conformanceFormats, poolSize: 10, maxPushdownRows: 2_000_000 });
  const pool = new pg.Pool({ connectionString: flags.url, max: 3 });
  const lines: string[] = [];
  try {
    await engine.open();
    console.error(`filling ${N} entries into schema ${schema} ...`);
    const fillSeconds = await fill(pool);
    lines.push(`| entries | ${N.toLocaleString('en')} (filled in ${fillSeconds.toFixed(0)} s, ${Math.round(N / fillSeconds)} rows/s) |`);

    const query = {
      base: 'items', minDepth: 1, maxDepth: 1, excluded: ['tokens'],
      where: { and: [{ path: ['tag'], operator: 'eq', value: 'news' }] },
      sort: { path: ['rating'], descending: true }, offset: 0, limit: 10,
    };
    const latencies: number[] = [];
    let answer;
    for (let i = 0; i < QUERIES && Date.now() < deadline; i++) {
      const t = performance.now();
      answer = await engine.pushdown(query, naturalIdOrder);
      latencies.push(performance.now() - t);
      if (!answer) throw new Error('push-down declined the benchmark query');
    }
    latencies.sort((a, b) => a - b);
    lines.push(`| where(tag = news) + sort_by(rating DESC) + limit 10, push-down | p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))} (${latencies.length} queries, total ${answer?.total}) |`);

    const reads: number[] = [];
    const random = rng(7);
    for (let i = 0; i < 500 && Date.now() < deadline; i++) {
      const t = performance.now();
      await engine.read(idOf(Math.floor(random() * N)));
      reads.push(performance.now() - t);
    }
    reads.sort((a, b) => a - b);
    lines.push(`| read one entry (engine part of an uncached GET), concurrency 1 | p50 ${ms(percentile(reads, 50))}, p99 ${ms(percentile(reads, 99))} |`);

    const fields = (i: number, v: number) => ({ title: `New ${i}`, tag: TAGS[i % 5], rating: (i % 1000) / 100, version: v, content: 'Body\n' });
    const creates = await throughput(WRITES, 10, (i) => engine.write(`items/new-${i}`, fields(i, 1)));
    const updates = await throughput(WRITES, 10, (i) => engine.write(`items/new-${i}`, fields(i, 2)));
    lines.push(`| create, 10 connections | ${Math.round(creates)} writes/s |`);
    lines.push(`| update, 10 connections | ${Math.round(updates)} writes/s |`);

    const plan = await pool.query(`EXPLAIN SELECT id FROM ${S}.flextype_entries WHERE fields @> '{"tag":"news"}'::jsonb AND depth BETWEEN 2 AND 2`);
    console.log(`\n## bench:pg (${new Date().toISOString()})\n\n| what | result |\n|---|---|\n${lines.join('\n')}\n\nPlan of the candidate scan:\n\n    ${plan.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n    ')}\n`);
  } finally {
    await engine.close().catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
