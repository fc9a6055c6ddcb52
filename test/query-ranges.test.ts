/**
 * Range conditions through HTTP (issue 12): lt/gte/between/nbetween/newer on a folder large enough
 * for the listing indexes, with odd values mixed in ('2015' as text, '1e999', .inf, null, text,
 * missing); each answer and X-Total-Count equals the plain executor's and, for the numeric cases,
 * an oracle computed here; an update through the API shows at once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryIndexesOf } from '../src/core/query/indexes.js';
import { listingIndexesOf } from '../src/core/query/listing.js';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const COUNT = 400;
const yearOf = (i: number) => 2000 + ((i * 7) % 25);
const viewsOf = (i: number) => (i * 7919) % 1000;
/** Entries whose year is no plain number: checked one by one, never from the sorted column. */
const ODD: Record<number, string> = { 3: '"2015"', 11: '"1e999"', 17: '.inf', 23: 'null', 29: '"unknown"', 31: '-.inf', 37: '" 2020 "' };

function buildProject(): string {
  const dir = tempProject(false);
  const root = path.join(dir, 'entries', 'posts');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'entry.md'), '---\ntitle: Posts\n---\n');
  for (let i = 0; i < COUNT; i++) {
    const id = `p${String(i).padStart(3, '0')}`;
    mkdirSync(path.join(root, id));
    const year = i === 41 ? undefined : ODD[i] ?? String(yearOf(i));
    const lines = ['---', `title: "Post ${i}"`, `views: ${viewsOf(i)}`, `visibility: ${i % 10 === 0 ? 'draft' : 'visible'}`, `published_at: "2020-05-${String((i % 28) + 1).padStart(2, '0')} 06:57"`];
    if (year !== undefined) lines.push(`year: ${year}`);
    lines.push('---', '');
    writeFileSync(path.join(root, id, 'entry.md'), lines.join('\n'));
  }
  return dir;
}

const F = 'options[filter]';
function w(index: number, key: string, operator: string, value: string | string[]): string {
  const prefix = `${F}[where][${index}]`;
  const parts = [`${prefix}[key]=${q(key)}`, `${prefix}[operator]=${q(operator)}`];
  if (Array.isArray(value)) value.forEach((v, i) => parts.push(`${prefix}[value][${i}]=${q(v)}`));
  else parts.push(`${prefix}[value]=${q(value)}`);
  return parts.join('&');
}

describe('range conditions on a large folder (HTTP)', () => {
  let t: TestServer;
  let projectDir: string;
  before(async () => {
    projectDir = buildProject();
    t = await startTestServer({ projectDir });
  });
  after(async () => {
    await t?.close();
    removeProject(projectDir);
  });

  const get = (options: string) =>
    call(t.base, 'GET', '/entries', { query: `id=posts&token=${q(t.token)}&options[collection]=true&${options}` });

  /** The answer, indexed and plain (the oracle); both must be the same bytes and total. */
  async function both(options: string): Promise<{ ids: string[]; total: number }> {
    const indexes = queryIndexesOf(t.server.cms.store);
    indexes.enabled = false;
    const plain = await get(options);
    indexes.enabled = true;
    const indexed = await get(options);
    assert.equal(indexed.status, 200, indexed.text.slice(0, 300));
    assert.equal(indexed.text, plain.text, options);
    assert.equal(indexed.headers.get('x-total-count'), plain.headers.get('x-total-count'), options);
    return { ids: Object.keys(indexed.body as object), total: Number(indexed.headers.get('x-total-count')) };
  }

  const plainYears = () => Array.from({ length: COUNT }, (_, i) => i).filter((i) => ODD[i] === undefined && i !== 41);
  const id = (i: number) => `posts/p${String(i).padStart(3, '0')}`;

  it('gte + eq + sort_by DESC + limit: the top 10 and the total, as the plain executor', async () => {
    const options = `${w(0, 'visibility', 'eq', 'visible')}&${w(1, 'year', 'gte', '2015')}&${F}[sort_by][key]=views&${F}[sort_by][direction]=DESC&${F}[limit]=10`;
    const before = listingIndexesOf(t.server.cms.store).stats.answered;
    const r = await both(options);
    assert.ok(listingIndexesOf(t.server.cms.store).stats.answered > before, 'answered from the listing');
    // Numeric years ≥ 2015, plus the odd ones that compare ≥ 2015: "2015", "1e999", " 2020 " (numeric
    // strings), .inf, and "unknown" (text: "unknown" > "2015"); not null, -.inf or the missing key.
    const oracle = plainYears().filter((i) => i % 10 !== 0 && yearOf(i) >= 2015);
    assert.equal(r.total, oracle.length + 5);
    assert.equal(r.ids.length, 10);
  });

  it('between and nbetween split the entries that have a comparable year', async () => {
    const between = await both(`${w(0, 'year', 'between', ['2005', '2010'])}&${F}[limit]=5`);
    const inside = plainYears().filter((i) => yearOf(i) >= 2005 && yearOf(i) <= 2010);
    assert.equal(between.total, inside.length);
    assert.deepEqual(between.ids, inside.slice(0, 5).map(id));
    const outside = await both(`${w(0, 'year', 'nbetween', ['2005', '2010'])}&${F}[sort_by][key]=year&${F}[limit]=7`);
    // Every odd year is outside (null and text compare as text): only the missing key never matches.
    assert.equal(outside.total, COUNT - inside.length - 1);
  });

  it('lt with a numeric string, gt with text, an empty between and a count-only range', async () => {
    const lt = await both(`${w(0, 'year', 'lt', '2003')}&${F}[sort_by][key]=year&${F}[sort_by][direction]=DESC`);
    assert.ok(lt.total >= plainYears().filter((i) => yearOf(i) < 2003).length);
    await both(`${w(0, 'year', 'gt', 'abc')}&${F}[limit]=3`);
    assert.equal((await both(`${w(0, 'year', 'between', ['2010', '2005'])}`)).total, 0);
    const count = await both(`${w(0, 'views', 'gte', '500')}&${F}[limit]=0`);
    assert.equal(count.total, Array.from({ length: COUNT }, (_, i) => viewsOf(i)).filter((v) => v >= 500).length);
    assert.deepEqual(count.ids, []);
  });

  it('newer / older on a date field', async () => {
    const newer = await both(`${w(0, 'published_at', 'newer', '2020-05-20')}&${F}[sort_by][key]=views&${F}[limit]=4`);
    assert.ok(newer.total > 0 && newer.total < COUNT);
    await both(`${w(0, 'published_at', 'older', '2020-05-03')}&${w(1, 'year', 'lte', '2010')}`);
  });

  it('an update through the API is in the next range answer', async () => {
    const options = `${w(0, 'year', 'gte', '2030')}&${F}[sort_by][key]=views`;
    // No plain year reaches 2030: only "1e999", .inf and "unknown" (as text) do.
    const odd = [id(11), id(17), id(29)];
    assert.deepEqual((await both(options)).ids.sort(), odd);
    const patched = await call(t.base, 'PATCH', '/entries', { json: { id: id(5), data: { year: 2031 }, token: t.token, access_token: t.accessToken } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual((await both(options)).ids.sort(), [id(5), ...odd].sort());
    await call(t.base, 'PATCH', '/entries', { json: { id: id(5), data: { year: 2029 }, token: t.token, access_token: t.accessToken } });
    assert.deepEqual((await both(options)).ids.sort(), odd);
  });
});
