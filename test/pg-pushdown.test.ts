/**
 * PostgreSQL query push-down against the in-memory executor: random entries (numbers, numeric
 * strings, booleans, null, arrays, objects, mixed case, non-ASCII, missing keys, ties) and random
 * where/sort/offset/limit plans; whenever the engine answers, its page and total must equal the
 * in-memory answer exactly, and it must answer often enough to matter.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { filterSteps, runNow } from '../src/core/query/execute.js';
import { planQuery, toPushdown } from '../src/core/query/plan.js';
import { conformanceFormats } from '../src/storage/conformance.js';
import { PgEngine } from '../src/storage/postgres/engine.js';
import { describePg, withSchema, type TestSchema } from './pg-helpers.js';

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
const idOrder = (a: string, b: string) => collator.compare(a, b);
const LIMITS = { maxDepth: 16, maxPatternLength: 256, timeZone: 'UTC', maxItems: 10_000 };

const scalar = fc.oneof(
  fc.constantFrom('1', '1.0', ' 2', '10', '-3', '1e3', '.5', '1.', 'abc', 'ABC', 'Abd', 'b', '', ' ', 'true', 'false', '0', 'é', 'Zeta', 'zeta', '1e400'),
  fc.constantFrom(0, 1, 2, 10, -3, 1.5, 1000, 0.5, 1e21, 1e-7),
  fc.boolean(),
  fc.constant(null),
);
const fieldValue = fc.oneof({ weight: 6, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) }, { weight: 1, arbitrary: fc.record({ x: scalar }) });
const entry = fc.record({ tag: fieldValue, rating: fieldValue, title: fieldValue }, { requiredKeys: [] });
const queryValue = fc.constantFrom<unknown>('1', '1.0', '2', '10', 'abc', 'ABC', 'b', '', 'true', 'false', '0', 'zeta', 'é', 1, 2, 10, 0.5, true, false, '1e400');
const key = fc.constantFrom('tag', 'rating', 'title', 'title.x', 'nope');
const condition = fc.oneof(
  fc.record({ key, operator: fc.constantFrom('eq', 'neq', '<', '<=', '>', '>='), value: queryValue }),
  fc.record({ key, operator: fc.constantFrom('in', 'nin'), value: fc.array(queryValue, { maxLength: 3 }) }),
  fc.record({ key, operator: fc.constantFrom('between', 'nbetween'), value: fc.tuple(queryValue, queryValue) }),
);
const where = fc.oneof(fc.array(condition, { minLength: 1, maxLength: 2 }), fc.record({ or: fc.array(condition, { minLength: 1, maxLength: 2 }) }).map((g) => [g]));
const filter = fc.record(
  {
    where,
    sort_by: fc.record({ key, direction: fc.constantFrom('ASC', 'DESC') }),
    offset: fc.nat(6),
    limit: fc.nat(8),
  },
  { requiredKeys: [] },
);

describePg('PostgreSQL push-down equals the in-memory rules', () => {
  let schema: TestSchema;
  let engine: PgEngine;
  before(async () => {
    schema = withSchema('ft_push');
    engine = new PgEngine({ url: schema.url, schema: schema.schema, resolveFormat: conformanceFormats, poolSize: 4 });
    await engine.open();
  });
  after(async () => {
    await engine.close();
    await schema.cleanup();
  });

  it('random entries and plans: every answer the engine gives is the in-memory answer', async () => {
    let answered = 0;
    let asked = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 0, maxLength: 14 }), fc.array(filter, { minLength: 1, maxLength: 12 }), async (entries, filters) => {
        run++;
        const base = `data/r${run}`;
        const ids = entries.map((_, i) => `${base}/e${i}`);
        await Promise.all(entries.map((fields, i) => engine.write(ids[i]!, fields)));
        // A child below an entry: depth 2, never in a depth-1 collection.
        if (entries.length > 0) await engine.write(`${ids[0]}/child`, { tag: 'abc', rating: 1 });
        const stored = await Promise.all(ids.map(async (id) => ({ id, data: (await engine.read(id))!.fields as Record<string, unknown> })));
        const items = stored.sort((a, b) => idOrder(a.id, b.id));
        for (const raw of filters) {
          const plan = planQuery({}, raw, LIMITS);
          const query = toPushdown(plan, { base, excluded: [], storedFieldsAreViews: true, presented: () => false });
          assert.ok(query, `plan ${JSON.stringify(raw)} is pushable`);
          asked++;
          const pushed = await engine.pushdown(query, idOrder);
          if (!pushed) continue;
          answered++;
          const memory = runNow(filterSteps(items, plan.filter));
          assert.equal(memory.kind, 'items');
          if (memory.kind !== 'items') return;
          assert.deepEqual(
            { ids: pushed.ids, total: pushed.total },
            { ids: memory.items.map((item) => item.id), total: memory.total },
            `filter ${JSON.stringify(raw)} on ${JSON.stringify(items)}`,
          );
        }
        await engine.remove(base).catch(() => undefined);
      }),
      { numRuns: Number(process.env["PUSHDOWN_RUNS"] ?? 60) },
    );
    // The property means little if the engine declined nearly everything.
    if (process.env["PUSHDOWN_STATS"]) console.log(`answered ${answered} of ${asked}`);
    assert.ok(answered > asked * 0.3, `answered ${answered} of ${asked}`);
  });

  it('declines what it cannot answer exactly, and answers plain queries', async () => {
    const base = 'data/fixed';
    await engine.write(`${base}/a`, { tag: 'News', rating: 3 });
    await engine.write(`${base}/b`, { tag: 'news', rating: '10' });
    await engine.write(`${base}/c`, { tag: 'Ünïcode', rating: 2 });
    const ask = (raw: Record<string, unknown>) =>
      engine.pushdown(toPushdown(planQuery({}, raw, LIMITS), { base, excluded: [], storedFieldsAreViews: true, presented: () => false })!, idOrder);
    // Numeric sort over numbers and a numeric string: numeric order, not text order.
    assert.deepEqual(await ask({ sort_by: { key: 'rating', direction: 'DESC' } }), { ids: [`${base}/b`, `${base}/a`, `${base}/c`], total: 3 });
    // Case-insensitive text sort meets a non-ASCII text: declined, not approximated.
    assert.equal(await ask({ sort_by: { key: 'tag' } }), undefined);
    // Equality on a string needs no lowercasing: answered.
    assert.deepEqual(await ask({ where: [{ key: 'tag', operator: 'eq', value: 'news' }] }), { ids: [`${base}/b`], total: 1 });
    // contains is not pushed (arrays, JSON text of objects).
    assert.equal(await ask({ where: [{ key: 'tag', operator: 'contains', value: 'ew' }] }), undefined);
  });
});
