/**
 * Query push-down at scale (`node --import tsx bench/pg-engine.ts --query 1000000`): a fresh
 * schema of N entries shaped like bench/scale.ts's (title, tag of 5, rating 0-10 with ties,
 * published_at, body), bulk-loaded with multi-row INSERTs (fields are what the front matter
 * serializer decodes). Each query shape runs twice (its indexes are then built in the background,
 * waited for), then `queries` times; p50/p99 per shape. The schema is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PushdownQuery } from '../src/storage/engine.js';
import { conformanceFormats } from '../src/storage/conformance.js';
import { PgEngine } from '../src/storage/postgres/engine.js';
import { exactJson } from '../src/storage/postgres/rows.js';
import { getSerializer } from '../src/storage/serializers/index.js';
import { naturalIdOrder } from '../src/core/store/tree.js';

const TAGS = ['news', 'sport', 'culture', 'tech', 'travel'];
const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');

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

function entryText(i: number, random: () => number): string {
  const tag = TAGS[Math.floor(random() * TAGS.length)]!;
  const rating = Math.round(random() * 1000) / 100;
  const day = new Date(Date.UTC(2015, 0, 1) + Math.floor(random() * 3650 * 86400) * 1000).toISOString();
  const words: string[] = [];
  for (let length = 0; length < 480; ) {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    words.push(word);
    length += word.length + 1;
  }
  return `---\ntitle: Item ${i} ${words[0]} ${words[1]}\ntag: ${tag}\nrating: ${rating}\npublished_at: '${day.slice(0, 10)} ${day.slice(11, 19)}'\n---\n${words.join(' ')}.\n`;
}

const idOf = (i: number) => `items/item-${String(i).padStart(7, '0')}`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function fill(pool: pg.Pool, S: string, n: number): Promise<number> {
  const frontmatter = getSerializer('frontmatter')!;
  const random = rng(1);
  const started = performance.now();
  await pool.query(`INSERT INTO ${S}.flextype_entries (id, parent, depth, extension, source, fields, size) VALUES ('items', '', 1, 'md', $1, $2::jsonb, 20)`, ['---\ntitle: Items\n---\n', '{"title":"Items"}']);
  const batch = 1000;
  let inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < n; start += batch) {
    const values: unknown[] = [];
    const rows: string[] = [];
    for (let i = start; i < Math.min(n, start + batch); i++) {
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
  }
  await Promise.all(inFlight);
  // What autovacuum does soon after a bulk load: statistics and the visibility map.
  await pool.query(`VACUUM ANALYZE ${S}.flextype_entries`);
  return (performance.now() - started) / 1000;
}

/** p50/p99 of `count` runs of `op` (each checked against `expected`), with `before` untimed ahead of each. */
async function timed(count: number, op: () => Promise<{ ids: string[] } | undefined>, expected: string[], before?: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    await before?.();
    const t = performance.now();
    const answer = await op();
    times.push(performance.now() - t);
    if (!answer) throw new Error('declined');
    if (JSON.stringify(answer.ids) !== JSON.stringify(expected)) throw new Error('answers differ');
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

export async function benchQueries(options: { url: string; entries: number; queries: number; schema?: string }): Promise<void> {
  // BENCH_SCHEMA: measure an already filled schema again (kept afterwards).
  const reuse = options.schema !== undefined;
  const schema = options.schema ?? `ft_benchq_${randomBytes(4).toString('hex')}`;
  const S = `"${schema}"`;
  const engine = new PgEngine({ url: options.url, schema, resolveFormat: conformanceFormats, poolSize: 4, maxPushdownRows: 2_000_000 });
  const pool = new pg.Pool({ connectionString: options.url, max: 3 });
  const base = { base: 'items', minDepth: 1, maxDepth: 1, excluded: ['tokens'], offset: 0 };
  const shapes: [string, PushdownQuery][] = [
    ['where tag = news + sort rating DESC + limit 10', { ...base, where: { and: [{ path: ['tag'], operator: 'eq', value: 'news' }] }, sort: { path: ['rating'], descending: true }, limit: 10 }],
    ['where rating >= 9.5 + sort rating ASC + limit 10', { ...base, where: { and: [{ path: ['rating'], operator: 'gte', value: '9.5' }] }, sort: { path: ['rating'], descending: false }, limit: 10 }],
    ['where rating between 2 and 3 + sort title ASC + limit 10', { ...base, where: { and: [{ path: ['rating'], operator: 'between', value: ['2', '3'] }] }, sort: { path: ['title'], descending: false }, limit: 10 }],
    ['where rating < 1 + sort rating DESC + offset 20 + limit 10', { ...base, where: { and: [{ path: ['rating'], operator: 'lt', value: 1 }] }, sort: { path: ['rating'], descending: true }, offset: 20, limit: 10 }],
    ['sort title ASC + limit 10 (no where)', { ...base, where: undefined, sort: { path: ['title'], descending: false }, limit: 10 }],
    ['where tag = news + limit 0 (count only)', { ...base, where: { and: [{ path: ['tag'], operator: 'eq', value: 'news' }] }, sort: undefined, limit: 0 }],
    ['where rating >= 9.5 + limit 0 (count only)', { ...base, where: { and: [{ path: ['rating'], operator: 'gte', value: '9.5' }] }, sort: undefined, limit: 0 }],
  ];
  let feed: { close(): Promise<void> | void } | undefined;
  try {
    await engine.open();
    let entries = options.entries;
    let seconds = 0;
    if (reuse) entries = Number((await pool.query(`SELECT count(*) AS n FROM ${S}.flextype_entries WHERE parent = 'items'`)).rows[0].n);
    else {
      console.error(`filling ${options.entries} entries into ${schema} ...`);
      seconds = await fill(pool, S, options.entries);
    }
    // As on a server: the change feed listens (counts are reused only while it does).
    feed = await engine.changes(() => undefined, () => undefined);
    const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
    console.log(`\nPush-down, ${entries.toLocaleString('en')} entries${reuse ? '' : ` (filled in ${seconds.toFixed(0)} s)`}, load ${load} at the start\n`);
    console.log('"repeated": the same query again (its count reused: nothing changed); "after a write": a write to another entry before each query (the count is computed again).\n');
    console.log('| query | first (no index) | index build | repeated p50 / p99 | after a write p50 / p99 | total |\n|---|---:|---:|---:|---:|---:|');
    let marker = 0;
    const write = () => engine.write('bench-marker', { n: marker++ });
    for (const [name, query] of shapes) {
      let t = performance.now();
      const first = await engine.pushdown(query, naturalIdOrder);
      const firstMs = performance.now() - t;
      if (!first) throw new Error(`declined: ${name}`);
      await engine.pushdown(query, naturalIdOrder);
      t = performance.now();
      await engine.queryIndexes?.idle();
      const buildMs = performance.now() - t;
      const ask = () => engine.pushdown(query, naturalIdOrder);
      const repeated = await timed(options.queries, ask, first.ids);
      const fresh = await timed(options.queries, ask, first.ids, write);
      const total = (await ask())!.total;
      if (total !== first.total) throw new Error(`totals differ: ${name}`);
      console.log(`| ${name} | ${firstMs.toFixed(0)} ms | ${(buildMs / 1000).toFixed(1)} s | ${repeated.p50.toFixed(1)} / ${repeated.p99.toFixed(1)} ms | ${fresh.p50.toFixed(1)} / ${fresh.p99.toFixed(1)} ms | ${total} |`);
    }
    console.log(`\nload ${(await import('node:os')).loadavg()[0]!.toFixed(1)} at the end; indexes: ${(await engine.queryIndexes?.validIndexes())?.join(', ')}`);
  } finally {
    await feed?.close();
    await engine.remove('bench-marker').catch(() => undefined);
    await engine.close().catch(() => undefined);
    if (!reuse && !process.env['BENCH_KEEP_SCHEMA']) await pool.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`).catch(() => undefined);
    else console.error(`kept schema ${schema}`);
    await pool.end();
  }
}
