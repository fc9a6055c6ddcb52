/**
 * Range conditions pushed down to PostgreSQL (lt/lte/gt/gte/between/nbetween) against the
 * in-memory executor, on the index paths as well: one engine plans freely, one on a connection
 * that forbids sequential scans once the on-demand indexes exist, so every per-class arm, every
 * sorted part and every count runs on the key indexes. Also: the PL/pgSQL key functions
 * (migration 6) give exactly what migration 4's SQL functions gave, and reused counts follow every
 * change, this node's at once and another node's once its notice arrives.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { filterSteps, runNow } from '../src/core/query/execute.js';
import { planQuery, toPushdown } from '../src/core/query/plan.js';
import type { PushdownQuery } from '../src/storage/engine.js';
import { conformanceFormats } from '../src/storage/conformance.js';
import { PgEngine } from '../src/storage/postgres/engine.js';
import { MIGRATIONS } from '../src/storage/postgres/migrations.js';
import { describePg, withSchema, type TestSchema } from './pg-helpers.js';

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
const idOrder = (a: string, b: string) => collator.compare(a, b);
const LIMITS = { maxDepth: 16, maxPatternLength: 256, timeZone: 'UTC', maxItems: 10_000 };

const half = fc.integer({ min: -12, max: 12 }).map((n) => n / 2);
const numericText = fc.oneof(half.map(String), fc.constantFrom(' 3', '4.0', '1e1', '+2', '-0', '.5', '2.', '0.50'));
const text = fc.constantFrom('abc', 'Abc', 'b', '', ' ', 'zeta', '9a', '-x', '.5x', 'true', 'FALSE', '1 2');
const odd = fc.constantFrom<unknown>('é', '1e400', [1], { x: 1 });
const mixed = fc.oneof(
  { weight: 6, arbitrary: half },
  { weight: 3, arbitrary: numericText },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: odd },
);
// Per run, a field holds numbers, or texts, or anything: sorts over one kind are answered (and
// so checked), sorts over numbers and texts together are declined.
const numbersOnly = fc.oneof({ weight: 4, arbitrary: half }, { weight: 2, arbitrary: numericText }, { weight: 1, arbitrary: fc.constantFrom<unknown>(null, '') });
const textsOnly = fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constant(null) });
const domain = fc.oneof({ weight: 3, arbitrary: fc.constant(numbersOnly) }, { weight: 2, arbitrary: fc.constant(textsOnly) }, { weight: 1, arbitrary: fc.constant(mixed) });
const entries = fc
  .tuple(domain, domain, domain)
  .chain(([rating, tag, title]) => fc.array(fc.record({ rating, tag, title }, { requiredKeys: [] }), { minLength: 0, maxLength: 24 }));
const bound = fc.oneof(half, numericText, text, fc.constantFrom('1', '0', 'true', 'false', ' 2 '));
const key = fc.constantFrom('rating', 'tag', 'title', 'nope');
const condition = fc.oneof(
  { weight: 3, arbitrary: fc.record({ key, operator: fc.constantFrom('lt', 'lte', 'gt', 'gte', '<', '>='), value: bound }) },
  { weight: 2, arbitrary: fc.record({ key, operator: fc.constantFrom('between', 'nbetween'), value: fc.tuple(bound, bound) }) },
  { weight: 1, arbitrary: fc.record({ key, operator: fc.constantFrom('eq', 'neq'), value: bound }) },
);
const where = fc.oneof(fc.array(condition, { minLength: 1, maxLength: 2 }), fc.record({ or: fc.array(condition, { minLength: 1, maxLength: 2 }) }).map((g) => [g]));
const filter = fc.record(
  {
    where,
    sort_by: fc.record({ key, direction: fc.constantFrom('ASC', 'DESC') }),
    offset: fc.nat(4),
    limit: fc.oneof(fc.constant(0), fc.nat(6)),
  },
  { requiredKeys: ['where'] },
);

describePg('PostgreSQL push-down of ranges equals the in-memory rules', () => {
  let schema: TestSchema;
  let free: PgEngine;
  let indexed: PgEngine;
  before(async () => {
    schema = withSchema('ft_pushr');
    free = new PgEngine({ url: schema.url, schema: schema.schema, resolveFormat: conformanceFormats, poolSize: 2 });
    await free.open();
    // Sequential scans priced out: the planner takes an index wherever one can answer.
    const url = new URL(schema.url);
    url.searchParams.set('options', '-c enable_seqscan=off');
    indexed = new PgEngine({ url: url.toString(), schema: schema.schema, resolveFormat: conformanceFormats, poolSize: 2, queryIndexes: false });
    await indexed.open();
  });
  after(async () => {
    await indexed.close();
    await free.close();
    await schema.cleanup();
  });

  it('the key functions of migration 6 give what those of migration 4 gave, for every kind of value', async () => {
    const admin = await schema.admin();
    try {
      const S = `"${schema.schema}"`;
      const v4 = MIGRATIONS.find((m) => m.version === 4)!.sql.replaceAll('flextype_key_', 'flextype_key4_').replaceAll('$S', S);
      await admin.query(v4);
      const scalar = fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.constantFrom(0, -0.5, 1e300, 1e-300, 1.5e300, 1e21, 1e-7),
        numericText,
        text,
        fc.string(),
        fc.constantFrom('1e300', '1e-301', '1'.repeat(201), ' 1e5 ', '١', 'İ', 'ß', '1e0001', '\t7\n'),
        fc.boolean(),
        fc.constant(null),
      );
      const value = fc.oneof({ weight: 8, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) }, { weight: 1, arbitrary: fc.dictionary(fc.string(), scalar, { maxKeys: 2 }) });
      await fc.assert(
        fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 50 }), async (values) => {
          // Strings with NUL or lone surrogates never reach jsonb (rows.ts exactJson).
          const json = values.map((v) => JSON.stringify(v)).filter((t) => !t.includes('\\u0000') && !/\\ud[89a-f]/i.test(t));
          const { rows } = await admin.query<{ j: string; same: boolean }>(
            `SELECT j::text AS j, (${S}.flextype_key_c(j) IS NOT DISTINCT FROM ${S}.flextype_key4_c(j)
               AND ${S}.flextype_key_n(j) IS NOT DISTINCT FROM ${S}.flextype_key4_n(j)
               AND ${S}.flextype_key_s(j) IS NOT DISTINCT FROM ${S}.flextype_key4_s(j)) AS same
             FROM unnest($1::jsonb[]) AS j`,
            [json],
          );
          for (const row of rows) assert.ok(row.same, `key of ${row.j}`);
        }),
        { numRuns: 60 },
      );
      // Missing fields (NULL) too.
      const { rows } = await admin.query(`SELECT ${S}.flextype_key_c(NULL) AS c, ${S}.flextype_key4_c(NULL) AS c4`);
      assert.equal(rows[0].c, rows[0].c4);
    } finally {
      await admin.end();
    }
  });

  it('random entries and range plans: every answer either engine gives is the in-memory answer, on indexes too', async () => {
    let answered = 0;
    let sortedAnswered = 0;
    let asked = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(entries, fc.array(filter, { minLength: 2, maxLength: 10 }), async (entries, filters) => {
        run++;
        const base = `data/r${run}`;
        const ids = entries.map((_, i) => `${base}/e${i}`);
        await Promise.all(entries.map((fields, i) => free.write(ids[i]!, fields)));
        const stored = await Promise.all(ids.map(async (id) => ({ id, data: (await free.read(id))!.fields as Record<string, unknown> })));
        const items = stored.sort((a, b) => idOrder(a.id, b.id));
        const queries: [Record<string, unknown>, PushdownQuery, ReturnType<typeof planQuery>][] = filters.map((raw) => {
          const plan = planQuery({}, raw, LIMITS);
          const query = toPushdown(plan, { base, excluded: ['tokens'], storedFieldsAreViews: true, presented: () => false });
          assert.ok(query, `plan ${JSON.stringify(raw)} is pushable`);
          return [raw, query, plan];
        });
        // Twice through: the first pass has the fields' indexes built, the second runs on them.
        for (const pass of [0, 1]) {
          for (const [raw, query, plan] of queries) {
            const memory = runNow(filterSteps(items, plan.filter));
            assert.equal(memory.kind, 'items');
            if (memory.kind !== 'items') return;
            const expected = { ids: memory.items.map((item) => item.id), total: memory.total };
            for (const engine of pass === 0 ? [free] : [free, indexed]) {
              asked++;
              const pushed = await engine.pushdown(query, idOrder);
              if (!pushed) continue;
              answered++;
              if (query.sort && query.limit !== 0) sortedAnswered++;
              assert.deepEqual({ ids: pushed.ids, total: pushed.total }, expected, `filter ${JSON.stringify(raw)} on ${JSON.stringify(items)}`);
            }
          }
          if (pass === 0) await free.queryIndexes?.idle();
        }
        await free.remove(base).catch(() => undefined);
      }),
      { numRuns: Number(process.env['PUSHDOWN_RUNS'] ?? 40) },
    );
    if (process.env['PUSHDOWN_STATS']) console.log(`answered ${answered} of ${asked}, ${sortedAnswered} sorted`);
    assert.ok(answered > asked * 0.3, `answered ${answered} of ${asked}`);
    assert.ok(sortedAnswered > asked * 0.1, `answered ${sortedAnswered} sorted pages of ${asked} queries`);
    assert.ok(((await free.queryIndexes?.validIndexes()) ?? []).length > 0, 'the property ran on indexes');
  });

  it('reused counts follow every change: this node at once, another node once its notice arrives', async () => {
    const base = 'data/counts';
    const countOf = async (engine: PgEngine) => {
      const query = toPushdown(planQuery({}, { where: [{ key: 'rating', operator: 'gte', value: '5' }], limit: 0 }, LIMITS), {
        base,
        excluded: [],
        storedFieldsAreViews: true,
        presented: () => false,
      })!;
      return (await engine.pushdown(query, idOrder))?.total;
    };
    const other = new PgEngine({ url: schema.url, schema: schema.schema, resolveFormat: conformanceFormats, poolSize: 1, queryIndexes: false });
    await other.open();
    // Counts are reused only while a feed listens: `free` listens, `indexed` does not.
    const feed = await free.changes(() => undefined, () => undefined);
    try {
      await free.write(`${base}/a`, { rating: 7 });
      await free.write(`${base}/b`, { rating: 1 });
      assert.equal(await countOf(free), 1);
      assert.equal(await countOf(free), 1);
      await free.write(`${base}/c`, { rating: '9' });
      assert.equal(await countOf(free), 2, 'a write of this node is counted at once');
      await other.write(`${base}/d`, { rating: 5 });
      assert.equal(await countOf(indexed), 3, 'without a feed every count is fresh');
      let seen = await countOf(free);
      for (let i = 0; i < 100 && seen !== 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await countOf(free);
      }
      assert.equal(seen, 3, "another node's write is counted once its notice arrived");
      await other.remove(`${base}/a`);
      for (let i = 0; i < 100 && seen !== 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await countOf(free);
      }
      assert.equal(seen, 2, "another node's delete too");
    } finally {
      await feed.close();
      await other.close();
    }
  });
});
