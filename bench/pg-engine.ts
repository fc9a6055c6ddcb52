/**
 * `npm run bench:pg-engine`: the PostgreSQL engine on its own (no HTTP): create and update
 * throughput with 10 concurrent writers, read and revision latency at concurrency 1, children and
 * list over the written entries. A fresh schema, dropped afterwards; prints a Markdown table.
 *
 *   node --import tsx bench/pg-engine.ts [--url postgres://postgres@127.0.0.1:5432/test] [--entries 3000] [--writers 10] [--reads 1000]
 *
 * `--query N` measures query push-down instead (bench/pg-query.ts): N entries bulk-loaded with
 * multi-row INSERTs, the on-demand indexes built, then p50/p99 of where + sort + limit 10 shapes.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { conformanceFormats } from '../src/storage/conformance.js';
import { PgEngine } from '../src/storage/postgres/engine.js';

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    entries: { type: 'string', default: '3000' },
    writers: { type: 'string', default: '10' },
    reads: { type: 'string', default: '1000' },
    query: { type: 'string' },
    queries: { type: 'string', default: '50' },
  },
});
if (flags.query !== undefined) {
  const { benchQueries } = await import('./pg-query.js');
  await benchQueries({ url: flags.url, entries: Number(flags.query), queries: Number(flags.queries), ...(process.env['BENCH_SCHEMA'] ? { schema: process.env['BENCH_SCHEMA'] } : {}) });
  process.exit(0);
}
const ENTRIES = Number(flags.entries);
const WRITERS = Number(flags.writers);
const READS = Number(flags.reads);
const schema = `ft_bench_${randomBytes(4).toString('hex')}`;
const engine = new PgEngine({ url: flags.url, schema, resolveFormat: conformanceFormats, poolSize: WRITERS });

const idOf = (i: number) => `blog/post-${String(i).padStart(6, '0')}`;
const fieldsOf = (i: number, version: number) => ({ title: `Post ${i}`, version, tags: ['a', 'b'], published: i % 2 === 0, content: `Body of post ${i}\n` });

/** Runs `count` operations with `width` at a time; returns operations per second. */
async function throughput(count: number, width: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

async function latencies(count: number, op: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await op(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(count * 0.5)]!, p99: times[Math.floor(count * 0.99)]! };
}

const ms = (n: number) => `${n.toFixed(2)} ms`;
try {
  await engine.open();
  const creates = await throughput(ENTRIES, WRITERS, (i) => engine.write(idOf(i), fieldsOf(i, 0)));
  const updates = await throughput(ENTRIES, WRITERS, (i) => engine.write(idOf(i), fieldsOf(i, 1)));
  const read = await latencies(READS, (i) => engine.read(idOf((i * 7919) % ENTRIES)));
  const revision = await latencies(READS, (i) => engine.revision(idOf((i * 7919) % ENTRIES)));
  const children = await latencies(20, () => engine.children('blog'));
  const list = await latencies(5, async () => {
    for await (const batch of engine.list()) void batch;
  });
  console.log(`PostgreSQL engine, ${ENTRIES} entries, ${WRITERS} writers (pool ${WRITERS}), ${flags.url.replace(/:[^:@/]*@/, ':***@')}\n`);
  console.log('| operation | result |\n|---|---|');
  console.log(`| create (10 concurrent writers) | ${creates.toFixed(0)} writes/s |`);
  console.log(`| update (read, encode with previous text, optimistic UPDATE) | ${updates.toFixed(0)} writes/s |`);
  console.log(`| read one (concurrency 1) | p50 ${ms(read.p50)}, p99 ${ms(read.p99)} |`);
  console.log(`| revision one (concurrency 1) | p50 ${ms(revision.p50)}, p99 ${ms(revision.p99)} |`);
  console.log(`| children of a folder of ${ENTRIES} | p50 ${ms(children.p50)} |`);
  console.log(`| list all ${ENTRIES} ids | p50 ${ms(list.p50)} |`);
} finally {
  await engine.close();
  const client = new pg.Client(flags.url);
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}
