/**
 * Collections and the query engine over HTTP (SPEC §3 "Fetch options"): options[collection],
 * options[find], options[filter] (every where operator, groups, sort, slice, return), the order of
 * application, X-Total-Count, exact key order and the 400 answers for bad options.
 */
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import qs from 'qs';
import { filesOnly } from './engine-helpers.js';
import { call, q, removeProject, startTestServer, storedStat, tempProject, type ApiResponse, type TestServer } from './helpers.js';

// ---- the fixture project ---------------------------------------------------------------------

type Fields = Record<string, unknown>;
interface Fixture {
  slug: string;
  fields: Fields;
  body?: string;
}

const LONG = 'a'.repeat(6000) + 'b';

/** The children of `items` (ids items/i01 … items/i24): one place for every value the tests reason about. */
const ITEMS: Fixture[] = [
  { slug: 'i01', fields: { title: 'Apple', year: 2010, rating: 4.5, published: true, category: 'fruit', rank: 2, tags: ['red', 'sweet'], author: { name: 'Ann', country: 'fr' }, released: '2019-03-01', meta: { stats: { views: 150 } } } },
  { slug: 'i02', fields: { title: 'banana', year: 2012, rating: 3, published: false, category: 'fruit', rank: 1, tags: ['yellow'], author: { name: 'Bob', country: 'de' }, released: '15-05-2020 06:57', meta: { stats: { views: 99 } } } },
  { slug: 'i03', fields: { title: 'Cherry', year: '2015', rating: '4', published: true, category: 'fruit', rank: 2, tags: ['red'], author: { name: 'Ann' } } },
  { slug: 'i04', fields: { title: 'date', year: 2020, rating: 2.5, published: true, category: 'fruit', rank: 1, tags: [] }, body: 'a needle-xyz in the body' },
  { slug: 'i05', fields: { title: 'Elderberry', year: 2020, published: false, category: 'fruit', rank: 3, author: { name: 'Cy', country: 'fr' }, meta: { stats: { views: 1000 } } } },
  { slug: 'i06', fields: { title: 'Paris', rating: 5, published: true, category: 'city', rank: 1, tags: ['capital'], author: { name: 'Ann', country: 'fr' }, released: '2021-12-31T23:00:00Z' } },
  { slug: 'i07', fields: { title: 'Berlin', year: 1999, rating: 4, published: true, category: 'city', rank: 2, tags: ['capital'], author: { name: 'Dora', country: 'de' } } },
  { slug: 'i08', fields: { title: 'Zürich', year: 2005, published: false, category: 'city', rank: 3, tags: ['lake'], author: { name: 'Émile', country: 'ch' } } },
  { slug: 'i09', fields: { title: 'Éclair', year: 2018, published: true, category: 'misc', rank: 1, tags: ['sweet'] }, body: 'needle-xyz' },
  { slug: 'i10', fields: { title: 'élan vital', year: 2001, category: 'misc', rank: 2 } },
  { slug: 'i11', fields: { title: '日本語のタイトル', year: 2019, published: true, category: 'misc', rank: 3, tags: ['日本'] } },
  { slug: 'i12', fields: { title: 'straße', year: 2003, published: false, category: 'misc', rank: 2 } },
  { slug: 'i13', fields: { title: 'Ωmega', year: 2011, published: true, category: 'misc', rank: 1 } },
  { slug: 'i14', fields: { title: 'apple pie', year: '1998', published: true, category: 'misc', rank: 3 } },
  { slug: 'i15', fields: { title: 'Quince', year: 2016, published: false, rank: 2 } },
  { slug: 'i16', fields: { title: 'Rhubarb', year: 2017, published: true, rank: 1 } },
  { slug: 'i17', fields: { title: 'n17', year: 2000, published: true, category: 'num', rank: 2, code: 9 } },
  { slug: 'i18', fields: { title: 'n18', year: 2001, published: true, category: 'num', rank: 2, code: '10' } },
  { slug: 'i19', fields: { title: 'n19', year: 2002, published: false, category: 'num', rank: 1, code: 100 } },
  { slug: 'i20', fields: { title: 'n20', year: 2003, published: true, category: 'num', rank: 3, code: '2' } },
  { slug: 'i21', fields: { title: 'n21', year: 2004, published: true, category: 'num', rank: 1, code: 1.5 } },
  { slug: 'i22', fields: { title: 'Mixed Case TITLE', year: 2008, published: true, category: 'misc', rank: 2 } },
  { slug: 'i23', fields: { title: 'Big file', year: 2009, published: true, category: 'big', rank: 1 } },
  { slug: 'i24', fields: { title: 'Long', year: 2014, published: true, category: 'big', rank: 1, long: LONG } },
];

/** Size in bytes of items/i23's file: between 5k (5000) and 5ki (5120), so the suffixes differ. */
const BIG_SIZE = 5060;
const DAY = 86_400;
const MTIMES_SET = filesOnly('entry times set on the files with utimes; a database keeps its own write times');

const T0 = Date.UTC(2017, 0, 1) / 1000;
/** Each item's file mtime is T0 + mtimeDay(i) days: a fixed permutation, so file-time order is known. */
const mtimeDay = (index: number): number => (index * 7) % ITEMS.length;

/** Top-level entries named like integers, with the order a sort on `order` must produce. */
const NUMERIC_ROOTS: [string, number][] = [['10', 1], ['9', 2], ['100', 3], ['2', 4]];

function writeEntry(entries: string, id: string, fields: Fields, body = ''): string {
  const dir = path.join(entries, ...id.split('/'));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'entry.md');
  // JSON front matter keeps every value's type exactly as written here.
  writeFileSync(file, `---json\n${JSON.stringify(fields, null, 2)}\n---\n${body}`);
  return file;
}

function buildProject(): string {
  const dir = tempProject(false);
  const entries = path.join(dir, 'entries');
  writeEntry(entries, 'home', { title: 'Home' });
  writeEntry(entries, 'empty', { title: 'Nothing below' });
  writeEntry(entries, 'items', { title: 'Items' });
  ITEMS.forEach((item, index) => {
    const id = `items/${item.slug}`;
    let file: string;
    if (item.slug === 'i23') {
      const head = `---json\n${JSON.stringify(item.fields, null, 2)}\n---\n`;
      file = writeEntry(entries, id, item.fields, 'x'.repeat(BIG_SIZE - Buffer.byteLength(head)));
    } else {
      file = writeEntry(entries, id, item.fields, item.body);
    }
    const when = T0 + mtimeDay(index) * DAY;
    utimesSync(file, when, when);
  });
  writeEntry(entries, 'items/i01/sub', { title: 'Sub of one' });
  writeEntry(entries, 'items/i02/sub', { title: 'Sub of two' });
  writeEntry(entries, 'items/i02/sub/deep', { title: 'Deep' });
  for (const [name, order] of NUMERIC_ROOTS) writeEntry(entries, name, { title: `number ${name}`, order });
  return dir;
}

// ---- oracles over the fixture table (independent of the engine) --------------------------------

const ITEM_IDS = ITEMS.map((item) => `items/${item.slug}`);

/** A number for numbers and numeric strings, else undefined. */
function num(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

/** Item ids (in id order) whose fixture fields satisfy `test`. */
function where(test: (f: Fields) => boolean): string[] {
  return ITEMS.filter((item) => test(item.fields)).map((item) => `items/${item.slug}`);
}

// ---- reading answers -----------------------------------------------------------------------

/** The keys of the top-level JSON object in the order they appear in the raw text. */
function topKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (text[k] === ' ') k++;
      if (depth === 1 && text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return keys;
}

function assertIds(res: ApiResponse, expected: string[], total = expected.length): void {
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.deepEqual(topKeys(res.text), expected);
  assert.equal(res.headers.get('x-total-count'), String(total));
}

function assertBadRequest(res: ApiResponse, detail?: RegExp): void {
  assert.equal(res.status, 400, res.text.slice(0, 300));
  assert.equal(res.body.http_status_code, 400);
  assert.equal(res.body.title, 'Bad Request');
  assert.equal(typeof res.body.detail, 'string');
  assert.ok(res.body.detail.length > 0);
  if (detail) assert.match(res.body.detail, detail);
}

// ---- building bracket query strings (raw brackets, as `curl -g` sends them) ----------------------

const F = 'options[filter]';

/** One where condition at a bracket prefix; list values become `value[0]`, `value[1]`, … */
function cond(prefix: string, key: string, operator: string, value: string | string[]): string {
  const parts = [`${prefix}[key]=${q(key)}`, `${prefix}[operator]=${q(operator)}`];
  if (Array.isArray(value)) value.forEach((v, i) => parts.push(`${prefix}[value][${i}]=${q(v)}`));
  else parts.push(`${prefix}[value]=${q(value)}`);
  return parts.join('&');
}

function w(index: number, key: string, operator: string, value: string | string[]): string {
  return cond(`${F}[where][${index}]`, key, operator, value);
}

describe('collections and the query engine', () => {
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

  const get = (id: string, options: string, flag = 'true') =>
    call(t.base, 'GET', '/entries', {
      query: `id=${q(id)}&token=${q(t.token)}&options[collection]=${flag}${options ? `&${options}` : ''}`,
    });
  const items = (options = '') => get('items', options);
  const rawQuery = (query: string) => call(t.base, 'GET', '/entries', { query: `${query}&token=${q(t.token)}` });

  // ---- options[collection] --------------------------------------------------------------------

  describe('options[collection]', () => {
    it('lists the direct children in id order, keyed by id, with X-Total-Count', async () => {
      const res = await items();
      assertIds(res, ITEM_IDS);
      assert.equal(res.body['items/i01'].title, 'Apple');
      assert.equal(res.body['items/i01'].id, 'items/i01');
      assert.equal(res.body['items/i01'].slug, 'i01');
    });

    it('accepts 1 as the flag, and false/absent fetches the entry itself', async () => {
      assertIds(await get('items', '', '1'), ITEM_IDS);
      const single = await get('items', '', 'false');
      assert.equal(single.status, 200);
      assert.equal(single.body.id, 'items');
      assert.equal(single.body.title, 'Items');
    });

    it('lists the root with id= empty, never the tokens', async () => {
      const res = await get('', '');
      assertIds(res, ['2', '9', '10', '100', 'empty', 'home', 'items']);
      const deep = await get('', 'options[find][depth]=>=1');
      assert.equal(deep.status, 200);
      const keys = topKeys(deep.text);
      assert.equal(keys.length, 3 + ITEMS.length + 3 + NUMERIC_ROOTS.length);
      assert.ok(keys.includes('items/i02/sub/deep'));
      assert.ok(!keys.some((k) => k === 'tokens' || k.startsWith('tokens/')), 'no token in the root collection');
      assert.ok(!deep.text.includes(t.token), 'the token string never appears');
    });

    it('refuses the tokens subtree through the Entries API', async () => {
      assert.equal((await get('tokens', '')).status, 404);
      assert.equal((await get(`tokens/${t.token}`, '')).status, 404);
    });

    it('answers {} when the parent exists and nothing is below it or nothing matches', async () => {
      assertIds(await get('empty', ''), []);
      assertIds(await get('home', ''), []);
      assertIds(await items(w(0, 'title', 'eq', 'no such title')), []);
    });

    it('answers 404 when the parent does not exist', async () => {
      const res = await get('nope', '');
      assert.equal(res.status, 404);
      assert.equal(res.body.http_status_code, 404);
      assert.equal((await get('items/i99', '')).status, 404);
    });

    it('keeps the result order in the JSON text even for ids that look like integers', async () => {
      const res = await get('', `${w(0, 'order', 'gte', '1')}&${F}[sort_by][key]=order`);
      assertIds(res, NUMERIC_ROOTS.map(([name]) => name));
      // JSON.parse would reorder integer-like keys: the raw text is what a client streams.
      assert.deepEqual(Object.keys(res.body), ['2', '9', '10', '100']);
      const desc = await get('', `${w(0, 'order', 'gte', '1')}&${F}[sort_by][key]=order&${F}[sort_by][direction]=DESC`);
      assertIds(desc, NUMERIC_ROOTS.map(([name]) => name).reverse());
    });
  });

  // ---- where: every operator --------------------------------------------------------------------

  describe('where operators', () => {
    const yearOf = (f: Fields) => num(f['year']);
    const cases: { name: string; key: string; ops: string[]; value: string | string[]; expected: string[] }[] = [
      { name: 'equals (numeric string from the URL matches numbers and numeric strings)', key: 'year', ops: ['=', '==', 'eq', 'EQ', 'Eq'], value: '2020', expected: where((f) => yearOf(f) === 2020) },
      { name: 'equals a numeric-string field', key: 'year', ops: ['eq'], value: '2015', expected: ['items/i03'] },
      { name: 'differs (missing keys never match)', key: 'year', ops: ['!=', '<>', 'neq', 'NEQ'], value: '2020', expected: where((f) => yearOf(f) !== undefined && yearOf(f) !== 2020) },
      { name: 'less than', key: 'year', ops: ['<', 'lt', 'LT'], value: '2003', expected: where((f) => (yearOf(f) ?? Infinity) < 2003) },
      { name: 'at most', key: 'year', ops: ['<=', 'lte', 'Lte'], value: '2003', expected: where((f) => (yearOf(f) ?? Infinity) <= 2003) },
      { name: 'greater than', key: 'year', ops: ['>', 'gt', 'GT'], value: '2015', expected: where((f) => (yearOf(f) ?? -Infinity) > 2015) },
      { name: 'at least', key: 'year', ops: ['>=', 'gte', 'GTE'], value: '2015', expected: where((f) => (yearOf(f) ?? -Infinity) >= 2015) },
      { name: 'decimal numbers', key: 'rating', ops: ['gte'], value: '4', expected: where((f) => (num(f['rating']) ?? -1) >= 4) },
      { name: 'in a list (numbers and numeric strings)', key: 'year', ops: ['in', 'IN'], value: ['2010', '2015'], expected: ['items/i01', 'items/i03'] },
      { name: 'in a list of strings', key: 'category', ops: ['in'], value: ['city', 'big'], expected: where((f) => f['category'] === 'city' || f['category'] === 'big') },
      { name: 'not in a list (missing keys never match)', key: 'category', ops: ['nin', 'NIN'], value: ['fruit', 'num', 'big'], expected: where((f) => typeof f['category'] === 'string' && !['fruit', 'num', 'big'].includes(f['category'] as string)) },
      { name: 'contains (a substring)', key: 'title', ops: ['contains', 'like', 'LIKE', 'Contains'], value: 'err', expected: where((f) => String(f['title']).includes('err')) },
      { name: 'contains (a list member)', key: 'tags', ops: ['contains'], value: 'red', expected: where((f) => Array.isArray(f['tags']) && f['tags'].includes('red')) },
      { name: 'does not contain (missing keys never match)', key: 'tags', ops: ['ncontains', 'nlike', 'NLIKE'], value: 'red', expected: where((f) => Array.isArray(f['tags']) && !f['tags'].includes('red')) },
      { name: 'starts with (case-sensitive)', key: 'title', ops: ['starts_with', 'STARTS_WITH'], value: 'Ap', expected: ['items/i01'] },
      { name: 'ends with', key: 'title', ops: ['ends_with'], value: 'rry', expected: ['items/i03', 'items/i05'] },
      { name: 'between, inclusive', key: 'year', ops: ['between', 'BETWEEN'], value: ['2010', '2015'], expected: where((f) => (yearOf(f) ?? 0) >= 2010 && (yearOf(f) ?? 0) <= 2015) },
      { name: 'not between (missing keys never match)', key: 'year', ops: ['nbetween'], value: ['2010', '2015'], expected: where((f) => yearOf(f) !== undefined && (yearOf(f)! < 2010 || yearOf(f)! > 2015)) },
      { name: 'matches a regexp, case-insensitively', key: 'title', ops: ['regexp', 'REGEXP'], value: '^AP', expected: ['items/i01', 'items/i14'] },
      { name: 'does not match a regexp (missing keys never match)', key: 'code', ops: ['nregexp'], value: '^1', expected: ['items/i17', 'items/i20'] },
      { name: 'newer than a date (date strings of several forms)', key: 'released', ops: ['newer', 'NEWER'], value: '2020-01-01', expected: ['items/i02', 'items/i06'] },
      { name: 'older than a date', key: 'released', ops: ['older'], value: '2020-01-01', expected: ['items/i01'] },
      { name: 'newer on a system date (Unix seconds)', key: 'created_at', ops: ['newer'], value: '2017-01-20', expected: ITEM_IDS.filter((_, i) => mtimeDay(i) > 19) },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.ops.join(', ')}`, c.key === 'created_at' ? MTIMES_SET : {}, async () => {
        assert.ok(c.expected.length > 0 && c.expected.length < ITEMS.length, 'a case that selects something and not everything');
        for (const op of c.ops) assertIds(await items(w(0, c.key, op, c.value)), c.expected);
      });
    }

    it('converts boolean strings when the field is a boolean; missing keys never match', async () => {
      const yes = where((f) => f['published'] === true);
      const no = where((f) => f['published'] === false);
      assertIds(await items(w(0, 'published', 'eq', 'true')), yes);
      assertIds(await items(w(0, 'published', 'eq', 'TRUE')), yes);
      assertIds(await items(w(0, 'published', 'eq', '1')), yes);
      assertIds(await items(w(0, 'published', 'eq', 'false')), no);
      // i10 has no `published`: neither equal nor different.
      assertIds(await items(w(0, 'published', 'neq', 'true')), no);
      assert.ok(!no.includes('items/i10') && !yes.includes('items/i10'));
    });

    it('compares numbers and numeric strings numerically (9 < 10 < 100), other text as text', async () => {
      assertIds(await items(w(0, 'code', 'gt', '9')), ['items/i18', 'items/i19']);
      assertIds(await items(w(0, 'code', 'lt', '10')), ['items/i17', 'items/i20', 'items/i21']);
      // Text comparison for text fields: "Paris" > "m" (case-insensitive).
      assertIds(await items(`${w(0, 'category', 'eq', 'city')}&${w(1, 'title', 'gt', 'm')}`), ['items/i06', 'items/i08']);
    });

    it('reads dot-path keys into nested objects', async () => {
      assertIds(await items(w(0, 'author.country', 'eq', 'fr')), ['items/i01', 'items/i05', 'items/i06']);
      // i03 has an author without country: never matches, not even "differs".
      assertIds(await items(w(0, 'author.country', 'neq', 'fr')), ['items/i02', 'items/i07', 'items/i08']);
      assertIds(await items(w(0, 'meta.stats.views', 'gt', '100')), ['items/i01', 'items/i05']);
      assertIds(await items(w(0, 'meta.stats.nothing', 'neq', 'x')), []);
    });

    it('matches unicode values, including through regexp case folding', async () => {
      assertIds(await items(w(0, 'title', 'eq', '日本語のタイトル')), ['items/i11']);
      assertIds(await items(w(0, 'tags', 'contains', '日本')), ['items/i11']);
      assertIds(await items(w(0, 'title', 'contains', 'ü')), ['items/i08']);
      assertIds(await items(w(0, 'author.name', 'eq', 'Émile')), ['items/i08']);
      assertIds(await items(w(0, 'title', 'regexp', '^é')), ['items/i09', 'items/i10']);
      assertIds(await items(w(0, 'title', 'regexp', '^ωMEGA$')), ['items/i13']);
      // `.` is one code point, and Unicode classes work.
      assertIds(await items(w(0, 'title', 'regexp', '^\\p{Han}+\\p{Hiragana}\\p{Katakana}+$')), ['items/i11']);
      assertIds(await items(w(0, 'title', 'regexp', '^.{8}$')), ['items/i11', 'items/i23']);
    });

    it('ANDs the items of a plain where list', async () => {
      assertIds(
        await items(`${w(0, 'category', 'eq', 'fruit')}&${w(1, 'published', 'eq', 'true')}&${w(2, 'year', 'gte', '2015')}`),
        where((f) => f['category'] === 'fruit' && f['published'] === true && (yearOf(f) ?? 0) >= 2015),
      );
    });

    it('runs a hostile regexp in linear time and answers by the result', async () => {
      assertIds(await items(w(0, 'long', 'regexp', '(a+)+$')), []);
      assertIds(await items(w(0, 'long', 'nregexp', '(a+)+$')), ['items/i24']);
      assertIds(await items(w(0, 'long', 'regexp', '^(a|aa)+b$')), ['items/i24']);
    });
  });

  // ---- or / and groups -------------------------------------------------------------------------

  describe('boolean groups', () => {
    const yearOf = (f: Fields) => num(f['year']);

    it('an or group matches when any member does', async () => {
      const res = await items(`${cond(`${F}[where][0][or][0]`, 'category', 'eq', 'city')}&${cond(`${F}[where][0][or][1]`, 'year', 'gte', '2019')}`);
      assertIds(res, where((f) => f['category'] === 'city' || (yearOf(f) ?? 0) >= 2019));
    });

    it('a condition and an or group combine as AND (visible AND (tag=x OR tag=y))', async () => {
      const res = await items(
        `${w(0, 'published', 'eq', 'true')}&${cond(`${F}[where][1][or][0]`, 'tags', 'contains', 'red')}&${cond(`${F}[where][1][or][1]`, 'tags', 'contains', 'capital')}`,
      );
      assertIds(res, ['items/i01', 'items/i03', 'items/i06', 'items/i07']);
    });

    it('groups nest: or of (and of two) and one condition', async () => {
      const res = await items(
        [
          cond(`${F}[where][0][or][0][and][0]`, 'category', 'eq', 'fruit'),
          cond(`${F}[where][0][or][0][and][1]`, 'year', 'gte', '2015'),
          cond(`${F}[where][0][or][1]`, 'category', 'eq', 'city'),
        ].join('&'),
      );
      assertIds(res, where((f) => (f['category'] === 'fruit' && (yearOf(f) ?? 0) >= 2015) || f['category'] === 'city'));
      assert.deepEqual(topKeys(res.text), ['items/i03', 'items/i04', 'items/i05', 'items/i06', 'items/i07', 'items/i08']);
    });

    it('an and group means the same as a plain list', async () => {
      const plain = await items(`${w(0, 'category', 'eq', 'fruit')}&${w(1, 'rank', 'eq', '1')}`);
      const group = await items(`${cond(`${F}[where][0][and][0]`, 'category', 'eq', 'fruit')}&${cond(`${F}[where][0][and][1]`, 'rank', 'eq', '1')}`);
      assertIds(plain, ['items/i02', 'items/i04']);
      assert.deepEqual(topKeys(group.text), topKeys(plain.text));
    });

    it('refuses malformed groups with 400', async () => {
      assertBadRequest(await items(`${F}[where][0][or]=x`));
      assertBadRequest(
        await items(`${cond(`${F}[where][0][or][0]`, 'year', 'eq', '1')}&${cond(`${F}[where][0][and][0]`, 'year', 'eq', '1')}`),
      );
    });
  });

  // ---- bracket syntax equivalence ----------------------------------------------------------------

  describe('bracket query strings', () => {
    const condition = { key: 'year', operator: 'gte', value: 2010 };

    it('curl-style raw brackets, percent-encoded brackets, qs.stringify and the JSON structure agree', async () => {
      const curl =
        'id=items&options[collection]=true&options[filter][where][0][key]=year&options[filter][where][0][operator]=gte&options[filter][where][0][value]=2010';
      const expected = where((f) => (num(f['year']) ?? 0) >= 2010);
      assertIds(await rawQuery(curl), expected);
      assertIds(await rawQuery(curl.replace(/\[/g, '%5B').replace(/\]/g, '%5D')), expected);
      const viaQs = qs.stringify({ id: 'items', options: { collection: true, filter: { where: [condition] } } });
      assertIds(await rawQuery(viaQs), expected);
      // The same structure with JSON types (number value, boolean flag) through the core operation.
      const result = await t.server.cms.entries.fetch('items', { collection: true, filter: { where: [condition] } });
      assert.equal(result.kind, 'collection');
      if (result.kind === 'collection' && result.result.kind === 'items') {
        assert.deepEqual(result.result.items.map((item) => item.id), expected);
      } else {
        assert.fail('expected a list of items');
      }
    });

    it('list values via value[]= or value[0]= or JSON agree', async () => {
      const expected = ['items/i01', 'items/i03'];
      const base = `${F}[where][0][key]=year&${F}[where][0][operator]=in`;
      assertIds(await items(`${base}&${F}[where][0][value][]=2010&${F}[where][0][value][]=2015`), expected);
      assertIds(await items(`${base}&${F}[where][0][value][0]=2010&${F}[where][0][value][1]=2015`), expected);
      const result = await t.server.cms.entries.fetch('items', { collection: true, filter: { where: [{ key: 'year', operator: 'in', value: [2010, 2015] }] } });
      assert.ok(result.kind === 'collection' && result.result.kind === 'items');
      assert.deepEqual(result.result.items.map((item) => item.id), expected);
    });

    it('a space may come as + or %20, as browsers and curl send it', async () => {
      const subs = ['items/i01/sub', 'items/i02/sub'];
      // A repeated key becomes a list, as PHP's `name[]` would.
      assertIds(await items('options[find][depth]=>+1&options[find][depth]=<+3'), subs);
      assertIds(await items('options[find][depth][]=>+1&options[find][depth][]=<%203'), subs);
      assertIds(await items(`${F}[where][0][key]=title&${F}[where][0][value]=apple+pie`), ['items/i14']);
    });

    it('a single where condition without a list index works too', async () => {
      assertIds(await items(`${F}[where][key]=category&${F}[where][value]=city`), ['items/i06', 'items/i07', 'items/i08']);
    });
  });

  // ---- options[find] -----------------------------------------------------------------------------

  describe('options[find]', () => {
    const FD = 'options[find]';
    const subs = ['items/i01/sub', 'items/i02/sub'];
    const all = [...ITEM_IDS, ...subs, 'items/i02/sub/deep'].sort(new Intl.Collator('en', { numeric: true }).compare);

    it('depth: default direct children, an exact depth, one comparison, a list of comparisons', async () => {
      assertIds(await items(`${FD}[depth]=1`), ITEM_IDS);
      assertIds(await items(`${FD}[depth]=2`), subs);
      assertIds(await items(`${FD}[depth]=3`), ['items/i02/sub/deep']);
      assertIds(await items(`${FD}[depth]=${q('> 1')}`), [...subs.slice(0, 1), 'items/i02/sub', 'items/i02/sub/deep']);
      assertIds(await items(`${FD}[depth]=${q('>= 1')}`), all);
      assertIds(await items(`${FD}[depth][0]=${q('> 1')}&${FD}[depth][1]=${q('< 3')}`), subs);
      assertIds(await get('items/i02', `${FD}[depth]=${q('>= 1')}`), ['items/i02/sub', 'items/i02/sub/deep']);
    });

    it('date: comparisons on the file modification date', MTIMES_SET, async () => {
      assertIds(await items(`${FD}[date]=${q('< 2017-01-10')}`), ITEM_IDS.filter((_, i) => mtimeDay(i) < 9));
      assertIds(await items(`${FD}[date]=${q('>= 2017-01-10')}`), ITEM_IDS.filter((_, i) => mtimeDay(i) >= 9));
      assertIds(await items(`${FD}[date][0]=${q('>= 2017-01-05')}&${FD}[date][1]=${q('<= 2017-01-07')}`), ITEM_IDS.filter((_, i) => mtimeDay(i) >= 4 && mtimeDay(i) <= 6));
      assertIds(await items(`${FD}[date]=${q('< 2000-01-01')}`), []);
    });

    it('size: comparisons with k (1000) and ki (1024) suffixes, case-insensitive', async () => {
      const sizeOf = async (id: string) => (await storedStat(t, id)).size;
      assert.ok((await sizeOf('items/i23')) === BIG_SIZE && (await sizeOf('items/i24')) > 6000);
      assertIds(await items(`${FD}[size]=${q('>= 5k')}`), ['items/i23', 'items/i24']);
      assertIds(await items(`${FD}[size]=${q('>= 5ki')}`), ['items/i24']);
      assertIds(await items(`${FD}[size]=${q('>= 5KI')}`), ['items/i24']);
      assertIds(await items(`${FD}[size]=${q('>= 5K')}`), ['items/i23', 'items/i24']);
      assertIds(await items(`${FD}[size][0]=${q('> 1k')}&${FD}[size][1]=${q('< 5ki')}`), ['items/i23']);
      const sizes = new Map(await Promise.all(ITEM_IDS.map(async (id) => [id, await sizeOf(id)] as const)));
      assertIds(await items(`${FD}[size]=${q('< 1k')}`), ITEM_IDS.filter((id) => sizes.get(id)! < 1000));
      assertIds(await items(`${FD}[size]=${BIG_SIZE}`), ['items/i23']);
    });

    it('exclude: a folder name (and what lies below it), one or several', async () => {
      assertIds(await items(`${FD}[exclude]=i03`), ITEM_IDS.filter((id) => id !== 'items/i03'));
      assertIds(
        await items(`${FD}[depth]=${q('>= 1')}&${FD}[exclude][0]=i02&${FD}[exclude][1]=i05`),
        all.filter((id) => !id.startsWith('items/i02') && id !== 'items/i05'),
      );
      assertIds(await items(`${FD}[depth]=${q('>= 1')}&${FD}[exclude]=sub`), ITEM_IDS);
    });

    it('path: a fragment or a /regex/ on the id below the collection', async () => {
      assertIds(await items(`${FD}[depth]=${q('>= 1')}&${FD}[path]=sub`), ['items/i01/sub', 'items/i02/sub', 'items/i02/sub/deep']);
      assertIds(await items(`${FD}[path]=${q('/^i0[12]$/')}`), ['items/i01', 'items/i02']);
      assertIds(await items(`${FD}[depth]=${q('>= 1')}&${FD}[path]=${q('/^i0[12]/')}`), ['items/i01', 'items/i01/sub', 'items/i02', 'items/i02/sub', 'items/i02/sub/deep']);
      assertIds(await items(`${FD}[path]=${q('/deep$/')}`), []);
    });

    it('contains / not_contains: the raw file content', async () => {
      assertIds(await items(`${FD}[contains]=needle-xyz`), ['items/i04', 'items/i09']);
      assertIds(await items(`${FD}[not_contains]=needle-xyz`), ITEM_IDS.filter((id) => id !== 'items/i04' && id !== 'items/i09'));
      // The raw text, not the parsed fields: a JSON key in the header is found too.
      assertIds(await items(`${FD}[contains]=${q('"long"')}`), ['items/i24']);
    });

    it('sort_by mtime, oldest first, with a direction in either form', MTIMES_SET, async () => {
      const byMtime = [...ITEM_IDS].sort((a, b) => mtimeDay(ITEM_IDS.indexOf(a)) - mtimeDay(ITEM_IDS.indexOf(b)));
      assertIds(await items(`${FD}[sort_by]=mtime`), byMtime);
      assertIds(await items(`${FD}[sort_by]=mtime&${FD}[direction]=DESC`), [...byMtime].reverse());
      assertIds(await items(`${FD}[sort_by][key]=mtime&${FD}[sort_by][direction]=desc`), [...byMtime].reverse());
      assertIds(await items(`${FD}[sort_by][key]=mtime&${FD}[sort_by][direction]=asc`), byMtime);
    });

    it('find and filter combine: find narrows the files, where the fields', MTIMES_SET, async () => {
      assertIds(await items(`${FD}[date]=${q('< 2017-01-10')}&${w(0, 'published', 'eq', 'true')}`),
        ITEM_IDS.filter((id, i) => mtimeDay(i) < 9 && ITEMS[i]!.fields['published'] === true));
    });
  });

  // ---- filter: sort, group, slice, return ------------------------------------------------------------

  describe('sort_by', () => {
    it('sorts text case-insensitively, ASC by default and DESC on request', async () => {
      const fruit = w(0, 'category', 'eq', 'fruit');
      const asc = ['items/i01', 'items/i02', 'items/i03', 'items/i04', 'items/i05']; // Apple, banana, Cherry, date, Elderberry
      assertIds(await items(`${fruit}&${F}[sort_by][key]=title`), asc);
      assertIds(await items(`${fruit}&${F}[sort_by][key]=title&${F}[sort_by][direction]=ASC`), asc);
      assertIds(await items(`${fruit}&${F}[sort_by][key]=title&${F}[sort_by][direction]=desc`), [...asc].reverse());
    });

    it('sorts numbers and numeric strings numerically (1.5 < 2 < 9 < 10 < 100)', async () => {
      const nums = w(0, 'category', 'eq', 'num');
      const asc = ['items/i21', 'items/i20', 'items/i17', 'items/i18', 'items/i19'];
      assertIds(await items(`${nums}&${F}[sort_by][key]=code`), asc);
      assertIds(await items(`${nums}&${F}[sort_by][key]=code&${F}[sort_by][direction]=DESC`), [...asc].reverse());
    });

    it('is stable: equal keys keep id order, in both directions', async () => {
      const byRank = (rank: number) => where((f) => f['rank'] === rank);
      assertIds(await items(`${F}[sort_by][key]=rank`), [...byRank(1), ...byRank(2), ...byRank(3)]);
      assertIds(await items(`${F}[sort_by][key]=rank&${F}[sort_by][direction]=DESC`), [...byRank(3), ...byRank(2), ...byRank(1)]);
    });

    it('sorts entries lacking the key as empty (first ascending, last descending)', async () => {
      const missing = where((f) => f['code'] === undefined);
      const coded = ['items/i21', 'items/i20', 'items/i17', 'items/i18', 'items/i19'];
      assertIds(await items(`${F}[sort_by][key]=code`), [...missing, ...coded]);
      assertIds(await items(`${F}[sort_by][key]=code&${F}[sort_by][direction]=DESC`), [...[...coded].reverse(), ...missing]);
    });

    it('takes the key alone as a plain string', async () => {
      assertIds(await items(`${w(0, 'category', 'eq', 'num')}&${F}[sort_by]=code`), ['items/i21', 'items/i20', 'items/i17', 'items/i18', 'items/i19']);
    });

    it('sorts on a dot path', async () => {
      assertIds(await items(`${w(0, 'meta.stats.views', 'gte', '0')}&${F}[sort_by][key]=meta.stats.views&${F}[sort_by][direction]=DESC`), ['items/i05', 'items/i01', 'items/i02']);
    });
  });

  describe('group_by', () => {
    it('groups by a field into lists of items (the shape of the reference), in sorted order; X-Total-Count counts groups', async () => {
      const res = await items(`${w(0, 'category', 'in', ['city', 'fruit'])}&${F}[sort_by][key]=title&${F}[group_by]=category`);
      assert.equal(res.status, 200);
      // Sorted by title: Apple (fruit) comes first, then banana, Berlin (city), …
      assert.deepEqual(topKeys(res.text), ['fruit', 'city']);
      assert.ok(Array.isArray(res.body.fruit) && Array.isArray(res.body.city));
      assert.deepEqual(res.body.fruit.map((item: { id: string }) => item.id), ['items/i01', 'items/i02', 'items/i03', 'items/i04', 'items/i05']);
      assert.deepEqual(res.body.city.map((item: { id: string }) => item.id), ['items/i07', 'items/i06', 'items/i08']);
      assert.equal(res.body.city[1].title, 'Paris');
      assert.equal(res.headers.get('x-total-count'), '2');
    });

    it('keeps integer-like group keys in result order in the raw text', async () => {
      const res = await items(`${w(0, 'category', 'eq', 'fruit')}&${F}[sort_by][key]=year&${F}[sort_by][direction]=DESC&${F}[group_by]=year`);
      assert.equal(res.status, 200);
      assert.deepEqual(topKeys(res.text), ['2020', '2015', '2012', '2010']);
      assert.deepEqual(res.body['2020'].map((item: { id: string }) => item.id), ['items/i04', 'items/i05']);
    });
  });

  describe('offset and limit', () => {
    const sorted = `${F}[sort_by][key]=year`;
    const byYear = [...ITEM_IDS].sort((a, b) => {
      const ya = num(ITEMS[ITEM_IDS.indexOf(a)]!.fields['year']);
      const yb = num(ITEMS[ITEM_IDS.indexOf(b)]!.fields['year']);
      // Missing sorts as empty (first); otherwise by number; ties by id order.
      if (ya === undefined || yb === undefined) return (ya === undefined ? 0 : 1) - (yb === undefined ? 0 : 1) || ITEM_IDS.indexOf(a) - ITEM_IDS.indexOf(b);
      return ya - yb || ITEM_IDS.indexOf(a) - ITEM_IDS.indexOf(b);
    });

    it('slices after sorting; X-Total-Count is the number of matches before the slice', async () => {
      assertIds(await items(`${sorted}&${F}[limit]=3`), byYear.slice(0, 3), ITEMS.length);
      assertIds(await items(`${sorted}&${F}[offset]=2&${F}[limit]=3`), byYear.slice(2, 5), ITEMS.length);
      assertIds(await items(`${sorted}&${F}[offset]=0`), byYear, ITEMS.length);
      assertIds(await items(`${sorted}&${F}[offset]=20`), byYear.slice(20), ITEMS.length);
    });

    it('handles the edges: limit 0, offset at and beyond the end, limit beyond the end', async () => {
      assertIds(await items(`${F}[limit]=0`), [], ITEMS.length);
      assertIds(await items(`${F}[offset]=${ITEMS.length}`), [], ITEMS.length);
      assertIds(await items(`${F}[offset]=1000`), [], ITEMS.length);
      assertIds(await items(`${F}[offset]=${ITEMS.length - 1}&${F}[limit]=10`), ITEM_IDS.slice(-1), ITEMS.length);
      assertIds(await items(`${F}[limit]=1000`), ITEM_IDS, ITEMS.length);
    });
  });

  describe('return', () => {
    const fruit = w(0, 'category', 'eq', 'fruit');
    const fruitIds = ['items/i01', 'items/i02', 'items/i03', 'items/i04', 'items/i05'];

    it('all is the default and the explicit value', async () => {
      assertIds(await items(`${fruit}&${F}[return]=all`), fruitIds);
    });

    it('first and last answer the single entry unwrapped', async () => {
      const first = await items(`${fruit}&${F}[return]=first`);
      assert.equal(first.status, 200);
      assert.equal(first.body.id, 'items/i01');
      assert.equal(first.body.title, 'Apple');
      const last = await items(`${fruit}&${F}[sort_by][key]=year&${F}[return]=last`);
      assert.equal(last.status, 200);
      assert.equal(last.body.id, 'items/i05');
    });

    it('random answers one unwrapped entry among the matches', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await items(`${fruit}&${F}[return]=random`);
        assert.equal(res.status, 200);
        assert.ok(fruitIds.includes(res.body.id), res.text.slice(0, 100));
      }
    });

    it('random=N answers N distinct entries keyed by id (both spellings)', async () => {
      for (const query of [`${F}[return]=random&${F}[random]=3`, `${F}[return]=${q('random=3')}`]) {
        const res = await items(`${fruit}&${query}`);
        assert.equal(res.status, 200);
        const keys = topKeys(res.text);
        assert.equal(keys.length, 3);
        assert.equal(new Set(keys).size, 3);
        assert.ok(keys.every((k) => fruitIds.includes(k) && res.body[k].id === k));
      }
      const more = await items(`${fruit}&${F}[return]=random&${F}[random]=50`);
      assert.deepEqual(topKeys(more.text).sort(), fruitIds);
    });

    it('shuffle answers every match keyed by id', async () => {
      const res = await items(`${fruit}&${F}[return]=shuffle`);
      assert.equal(res.status, 200);
      assert.deepEqual(topKeys(res.text).sort(), fruitIds);
      assert.equal(res.headers.get('x-total-count'), '5');
    });

    it('first, last and random with nothing to return answer 404', async () => {
      const none = w(0, 'title', 'eq', 'no such title');
      for (const mode of ['first', 'last', 'random']) {
        const res = await items(`${none}&${F}[return]=${mode}`);
        assert.equal(res.status, 404, mode);
        assert.equal(res.body.http_status_code, 404);
      }
      assert.equal((await items(`${fruit}&${F}[offset]=10&${F}[return]=first`)).status, 404);
      assertIds(await items(`${none}&${F}[return]=shuffle`), []);
    });
  });

  describe('order of application', () => {
    it('only and except come before where', async () => {
      assertIds(await items(`${F}[only][0]=title&${w(0, 'year', 'gte', '2000')}`), []);
      assertIds(await items(`${F}[except][0]=year&${w(0, 'year', 'gte', '2000')}`), []);
      const kept = await items(`${F}[only][0]=title&${F}[only][1]=year&${w(0, 'year', 'eq', '2020')}`);
      assertIds(kept, ['items/i04', 'items/i05']);
      assert.deepEqual(kept.body['items/i04'], { title: 'date', year: 2020 });
    });

    it('only keeps dot paths, except removes them', async () => {
      const res = await items(`${F}[only][0]=author.name&${w(0, 'author.country', 'eq', 'de')}`);
      assertIds(res, []);
      const only = await items(`${w(0, 'category', 'eq', 'city')}&${F}[only][0]=author.name&${F}[only][1]=category`);
      assertIds(only, ['items/i06', 'items/i07', 'items/i08']);
      assert.deepEqual(only.body['items/i06'], { author: { name: 'Ann' }, category: 'city' });
      const except = await items(`${w(0, 'category', 'eq', 'city')}&${F}[except][0]=author.country`);
      assert.deepEqual(except.body['items/i06'].author, { name: 'Ann' });
      assert.equal(except.body['items/i06'].title, 'Paris');
      // Projections work on copies: the cached entry still has every field afterwards.
      const whole = await items(w(0, 'category', 'eq', 'city'));
      assert.deepEqual(whole.body['items/i06'].author, { name: 'Ann', country: 'fr' });
      const single = await call(t.base, 'GET', '/entries', { query: `id=items/i06&token=${q(t.token)}` });
      assert.deepEqual(single.body.author, { name: 'Ann', country: 'fr' });
    });

    it('where → sort_by → offset → limit → return, in that order', async () => {
      // fruit by year DESC: i04 (2020), i05 (2020), i03 (2015), i02 (2012), i01 (2010).
      const base = `${w(0, 'category', 'eq', 'fruit')}&${F}[sort_by][key]=year&${F}[sort_by][direction]=DESC`;
      assertIds(await items(base), ['items/i04', 'items/i05', 'items/i03', 'items/i02', 'items/i01']);
      assertIds(await items(`${base}&${F}[offset]=1&${F}[limit]=3`), ['items/i05', 'items/i03', 'items/i02'], 5);
      const last = await items(`${base}&${F}[offset]=1&${F}[limit]=3&${F}[return]=last`);
      assert.equal(last.body.id, 'items/i02');
      const first = await items(`${base}&${F}[offset]=1&${F}[limit]=3&${F}[return]=first`);
      assert.equal(first.body.id, 'items/i05');
    });

    it('the single-entry fetch applies only/except too', async () => {
      const res = await call(t.base, 'GET', '/entries', { query: `id=items/i01&token=${q(t.token)}&${F}[only][0]=title&${F}[only][1]=author.country` });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { title: 'Apple', author: { country: 'fr' } });
    });
  });

  // ---- bad options ------------------------------------------------------------------------------

  describe('bad options answer 400 with a detail', () => {
    const FD = 'options[find]';
    const bad: [string, string, RegExp?][] = [
      ['unknown operator', w(0, 'year', 'resembles', '1'), /operator/],
      ['malformed regexp', w(0, 'title', 'regexp', '(unclosed'), /regular expression/],
      ['malformed regexp in find.path', `${FD}[path]=${q('/(/')}`, /regular expression/],
      ['overlong regexp', w(0, 'title', 'regexp', 'a'.repeat(300)), /longer/],
      ['in without a list', w(0, 'year', 'in', '2010'), /list/],
      ['nin without a list', w(0, 'year', 'nin', '2010'), /list/],
      ['between without a list', w(0, 'year', 'between', '2010'), /list/],
      ['between with three values', w(0, 'year', 'between', ['1', '2', '3']), /two/],
      ['newer without a date', w(0, 'released', 'newer', 'whenever'), /date/],
      ['a condition without key', `${F}[where][0][operator]=eq&${F}[where][0][value]=1`, /key/],
      ['a condition without value', `${F}[where][0][key]=year&${F}[where][0][operator]=eq`, /value/],
      ['absurd depth', `${FD}[depth]=1000`, /depth/],
      ['unreadable depth', `${FD}[depth]=deep`, /depth/],
      ['negative depth', `${FD}[depth]=-1`, /depth/],
      ['unreadable size', `${FD}[size]=${q('>= 5X')}`, /size/],
      ['unreadable date', `${FD}[date]=${q('> not a date')}`, /date/],
      ['unknown find sort', `${FD}[sort_by]=name`, /sort_by/],
      ['bad find direction', `${FD}[sort_by]=mtime&${FD}[direction]=sideways`, /direction/],
      ['bad sort direction', `${F}[sort_by][key]=title&${F}[sort_by][direction]=sideways`, /direction/],
      ['sort without key', `${F}[sort_by][direction]=ASC`, /key/],
      ['negative offset', `${F}[offset]=-1`, /offset/],
      ['non-numeric limit', `${F}[limit]=ten`, /limit/],
      ['unknown return mode', `${F}[return]=everything`, /return/],
      ['filter not a map', `${F}=yes`, /filter/],
    ];
    for (const [name, query, detail] of bad) {
      it(name, async () => assertBadRequest(await items(query), detail));
    }

    it('options that are not a map', async () => {
      assertBadRequest(await rawQuery('id=items&options=everything'), /options/);
    });
  });
});
