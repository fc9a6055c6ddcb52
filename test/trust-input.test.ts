/**
 * Issue 9, items 2, 6, 8, 23, 24 and 25: what a request may search (public fields only), which
 * ids reach which folders, linear-time checks on long input, and one decoder for every path.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CmsError } from '../src/core/errors.js';
import { parseDate } from '../src/core/dates.js';
import { isUnderRoot, normalizeId } from '../src/core/ids.js';
import { asNumber, compareValues, looseEquals } from '../src/core/query/compare.js';
import { dateReader, parseComparisons, readInteger, readSize } from '../src/core/query/comparisons.js';
import { filterCollection } from '../src/core/query/filter.js';
import { planFind } from '../src/core/query/find.js';
import { decodeQuery } from '../src/http/body.js';
import { routePathOf } from '../src/http/params.js';
import { call, editOutside, isStored, q, removeProject, startTestServer, storedChildren, tempProject, type ApiResponse, type TestServer } from './helpers.js';

const NO_BRAKE = { security: { auth_failures_per_minute: 0 }, storage: { durable: false } };

/** Writes an entry file into a project folder before its server starts. */
function writeEntryFile(projectDir: string, id: string | Buffer, text: string): void {
  const root = path.join(projectDir, 'entries');
  const dir = typeof id === 'string' ? path.join(root, ...id.split('/')) : Buffer.concat([Buffer.from(root + '/'), id]);
  mkdirSync(dir, { recursive: true });
  writeFileSync(typeof dir === 'string' ? path.join(dir, 'entry.md') : Buffer.concat([dir, Buffer.from('/entry.md')]), text);
}

const collectionQuery = (t: TestServer, id: string, extra: string) => `id=${q(id)}&options[collection]=true&${extra}&token=${q(t.token)}`;

describe('item 2: find.contains searches only what the caller may see', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: false, settings: NO_BRAKE });
    await editOutside(t, 'notes', '---\ntitle: Notes\n---\n');
    // Private fields at the top and nested, and a comment: none of them is ever answered.
    await editOutside(
      t,
      'notes/one',
      '---\ntitle: "Visible \\"title\\""\n_secret: hunter2\nmeta:\n  _pin: "9876"\n  shown: yes-shown\n# comment-only-secret\n---\nA body with "quotes" and a\\backslash.\n',
    );
    await editOutside(t, 'notes/two', '---\ntitle: Another\n---\nplain\n');
    // Written behind the server's back: wait until it has seen both (bounded).
    for (let tries = 0; tries < 200; tries++) {
      const res = await call(t.base, 'GET', '/entries', { query: collectionQuery(t, 'notes', '') });
      if (res.status === 200 && Object.keys(res.body).length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(async () => t.close());

  const count = async (find: string): Promise<{ total: string | null; ids: string[] }> => {
    const res = await call(t.base, 'GET', '/entries', { query: collectionQuery(t, 'notes', find) });
    assert.equal(res.status, 200, res.text);
    return { total: res.headers.get('x-total-count'), ids: Object.keys(res.body) };
  };

  it('never matches a private value, a nested private value or a comment', async () => {
    for (const secret of ['hunter2', 'hunter', '_secret', '9876', '_pin', 'comment-only-secret']) {
      assert.deepEqual(await count(`options[find][contains]=${q(secret)}`), { total: '0', ids: [] }, `contains ${secret}`);
      assert.deepEqual(await count(`options[find][not_contains]=${q(secret)}`), { total: '2', ids: ['notes/one', 'notes/two'] }, `not_contains ${secret}`);
    }
  });

  it('matches plain substrings of public values and of the content, and field names', async () => {
    for (const needle of ['Visible "title"', 'with "quotes"', 'a\\backslash', 'yes-shown', 'meta', 'notes/one']) {
      assert.deepEqual((await count(`options[find][contains]=${q(needle)}`)).ids, ['notes/one'], `contains ${needle}`);
      assert.deepEqual((await count(`options[find][not_contains]=${q(needle)}`)).ids, ['notes/two'], `not_contains ${needle}`);
    }
  });
});

describe('item 6: the tokens folder is never reachable through the Entries API, whatever the case', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: false, settings: NO_BRAKE });
  });
  after(async () => t.close());

  // Spellings that name `tokens` on a case-insensitive (or Windows) file system.
  const variants = ['Tokens', 'TOKENS', 'tOkEnS', 'to\u212Aens', 'token\u017F', 'tokens.', 'tokens ', 'tokens::$INDEX_ALLOCATION'];

  it('answers 404 to every operation and creates nothing', async () => {
    const auth = { token: t.token, access_token: t.accessToken };
    assert.equal((await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'src' } })).status, 200);
    for (const root of variants) {
      for (const id of [root, `${root}/${t.token}`]) {
        const got = await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}` });
        assert.equal(got.status, 404, `GET ${id}: ${got.text}`);
        const created = await call(t.base, 'POST', '/entries', { json: { ...auth, id, data: { title: 'x' } } });
        assert.equal(created.status, 404, `POST ${id}: ${created.text}`);
        for (const [method, body] of [['PATCH', { data: { title: 'y' } }], ['DELETE', {}], ['PUT', { new_id: 'elsewhere' }]] as const) {
          const res = await call(t.base, method, '/entries', { json: { ...auth, id, ...body } });
          assert.equal(res.status, 404, `${method} ${id}: ${res.text}`);
        }
        const moved = await call(t.base, 'PUT', '/entries', { json: { ...auth, id: 'src', new_id: id } });
        assert.ok(moved.status === 404, `PUT new_id=${id}: ${moved.status}`);
      }
    }
    assert.deepEqual(await storedChildren(t), ['src', 'tokens']);
  });

  it('never lists such folders in a collection', async () => {
    const dir = tempProject(false);
    for (const root of ['Tokens', 'TOKENS', 'token\u017F']) writeEntryFile(dir, `${root}/leak`, '---\ntitle: leak\n---\n');
    writeEntryFile(dir, 'fine', '---\ntitle: fine\n---\n');
    const other = await startTestServer({ projectDir: dir, settings: NO_BRAKE });
    try {
      const res = await call(other.base, 'GET', '/entries', { query: collectionQuery(other, '', 'options[find][depth]=>= 1') });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body), ['fine']);
    } finally {
      await other.close();
      removeProject(dir);
    }
  });
});

describe('item 8: checks on long input take linear time', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: false, settings: NO_BRAKE });
    const auth = { token: t.token, access_token: t.accessToken };
    assert.equal((await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'adv' } })).status, 200);
    for (const id of ['adv/a', 'adv/b', 'adv/c']) {
      assert.equal((await call(t.base, 'POST', '/entries', { json: { ...auth, id, data: { v: 1 } } })).status, 200);
    }
  });
  after(async () => t.close());

  // Families that made a backtracking check quadratic: a long run of one kind, then a breaker.
  const run = fc.constantFrom('1', ' ', '/', '\t', '0.', 'a', '=', ' 1');
  const breaker = fc.constantFrom('x', '\n', '!', '/', '', 'e', '.');
  const adversarial = (min: number, max: number) =>
    fc.tuple(fc.constantFrom('', '1', 'all', '>=', '/', '+'), run, fc.integer({ min, max }), breaker).map(([lead, unit, n, tail]) => lead + unit.repeat(Math.ceil(n / unit.length)) + tail);
  const answered = (res: ApiResponse, what: string) => assert.ok(res.status === 200 || res.status === 400 || res.status === 404, `${what}: ${res.status} ${res.text.slice(0, 200)}`);

  it('answers long adversarial values in queries, stored fields and ids promptly', { timeout: 60_000 }, async () => {
    const auth = { token: t.token, access_token: t.accessToken };
    await fc.assert(
      fc.asyncProperty(adversarial(40_000, 60_000), adversarial(2_500, 3_500), async (stored, inQuery) => {
        // Stored once, the value meets every later query's comparisons and sorting.
        const patched = await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'adv/b', data: { v: stored } } });
        assert.equal(patched.status, 200, patched.text.slice(0, 200));
        const v = q(inQuery);
        for (const extra of [
          `options[filter][where][0][key]=v&options[filter][where][0][value]=${v}`,
          `options[filter][where][0][key]=v&options[filter][where][0][operator]=between&options[filter][where][0][value][0]=${v}&options[filter][where][0][value][1]=1`,
          `options[filter][sort_by][key]=v&options[filter][limit]=${v}`,
          `options[filter][return]=${v}`,
          `options[find][depth]=${v}`,
          `options[find][size]=${v}`,
          `options[find][exclude]=${v}`,
          `options[find][path]=${v}`,
        ]) {
          answered(await call(t.base, 'GET', '/entries', { query: collectionQuery(t, 'adv', extra) }), extra.slice(0, 60));
        }
        // Ids arrive in bodies too (up to the body limit).
        answered(await call(t.base, 'POST', '/entries', { json: { ...auth, id: stored.replace(/[^/]/g, '/') + 'a' } }), 'POST id');
        answered(await call(t.base, 'POST', '/entries', { json: { ...auth, id: stored } }), 'POST id');
      }),
      {
        numRuns: 12,
        seed: 9,
        // The shapes that stalled the old checks, always tried first.
        examples: [
          ['1'.repeat(50_000) + 'x', '1'.repeat(3_000) + 'x'],
          ['0.' + '1'.repeat(50_000) + 'x', 'all' + ' '.repeat(3_000) + 'x'],
          ['a' + ' '.repeat(50_000) + 'a\n', '>=' + ' '.repeat(3_000) + '1\n'],
          ['/'.repeat(50_000) + 'a', 'a' + '/'.repeat(3_000) + 'a'],
        ],
      },
    );
  });
});

describe('item 8 (unit): every check that meets request or stored text is linear', () => {
  // Long runs of one kind of character then a breaker: what drives a backtracking pattern
  // quadratic. At 40k characters the old checks took seconds per call.
  const unit = fc.constantFrom('1', ' ', '/', '\t', '0.', 'a', '=', ' 1', '1 ', '/a', 'a/', '+', '\n', '-');
  const adversarial = fc
    .tuple(fc.constantFrom('', '1', 'all', 'random', '>=', '/', '+', '01-01-2020', 'tokens'), unit, fc.integer({ min: 40_000, max: 60_000 }), fc.constantFrom('x', '\n', '!', '/', '', 'e', '.', '\u0000'))
    .map(([lead, u, n, tail]) => lead + u.repeat(Math.ceil(n / u.length)) + tail);
  const LIMITS = { max_id_length: 1024, max_segment_length: 255 };
  const FILTER_LIMITS = { maxItems: 10, maxPatternLength: 256, timeZone: 'UTC' };
  // Each check, then a turn of the event loop: a stalled check lets the test's timeout fire.
  const quietly = async (check: () => unknown) => {
    try {
      check();
    } catch (err) {
      assert.ok(err instanceof CmsError, `only 400s, not ${String(err)}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  };
  const checks = async (text: string) => {
    await quietly(() => asNumber(text));
    await quietly(() => compareValues(text, '1'));
    await quietly(() => looseEquals(text, 1));
    await quietly(() => parseComparisons(text, 'test', readInteger));
    await quietly(() => parseComparisons(text, 'test', readSize));
    await quietly(() => parseComparisons(text, 'test', dateReader('UTC')));
    await quietly(() => parseDate(text));
    await quietly(() => planFind({ exclude: text, path: text }, { maxDepth: 64, maxPatternLength: 256, timeZone: 'UTC' }));
    await quietly(() => filterCollection([{ id: 'a', data: { v: text } }], { return: text }, FILTER_LIMITS));
    await quietly(() => filterCollection([{ id: 'a', data: { v: text } }, { id: 'b', data: { v: 2 } }], { sort_by: 'v', where: [{ key: 'v', operator: 'gte', value: text }] }, FILTER_LIMITS));
    await quietly(() => normalizeId(text, LIMITS, true));
    await quietly(() => isUnderRoot(text, 'tokens'));
    await quietly(() => routePathOf(`/api/v1/${text}`));
    await quietly(() => decodeQuery(`id=${text}&token=${text}`, { depth: 12, parameterLimit: 1000, arrayLimit: 1000 }));
  };

  it('answers 60k-character adversarial strings at once', { timeout: 15_000 }, async () => {
    // The shapes that stalled the old checks (seconds per call each), always tried first.
    const stalled = (n: number) => [
      '1'.repeat(n) + 'x',
      'all' + ' '.repeat(n) + 'x',
      'a' + ' '.repeat(n) + 'a\n',
      'a' + '/'.repeat(n) + 'a',
      '/'.repeat(n) + 'a',
    ];
    await fc.assert(fc.asyncProperty(adversarial, checks), {
      numRuns: 20,
      seed: 8,
      examples: [60_000, 61_000, 62_000, 63_000].flatMap(stalled).map((text) => [text]),
    });
  });
});

describe('item 23: a collection lists only ids the single-entry API serves', () => {
  let t: TestServer;
  before(async () => {
    // Written before start-up: the listing then comes from the start-up scan.
    const dir = tempProject(false);
    writeEntryFile(dir, 'lib', '---\ntitle: lib\n---\n');
    for (const name of ['c:notes', 'back\\slash', 'ctl\u0001x', 'zero\u200Bwidth', 'bidi\u202Ex', 'rep\uFFFDx', 'x'.repeat(41), 'fine', 'caf\u00e9']) {
      writeEntryFile(dir, name, `---\ntitle: t\n---\n`);
      writeEntryFile(dir, `lib/${name}`, `---\ntitle: t\n---\n`);
    }
    writeEntryFile(dir, Buffer.from('latin1-caf\xe9', 'latin1'), '---\ntitle: latin1\n---\n');
    writeEntryFile(dir, `lib/${'d/'.repeat(30)}deep`, '---\ntitle: deep\n---\n');
    t = await startTestServer({ projectDir: dir, settings: { ...NO_BRAKE, entries: { max_id_length: 60, max_segment_length: 40 } } });
  });
  after(async () => {
    await t.close();
    removeProject(t.projectDir);
  });

  it('every listed id answers 200 on its own; the refused ones are not listed', async () => {
    const res = await call(t.base, 'GET', '/entries', { query: collectionQuery(t, '', 'options[find][depth]=>= 1') });
    assert.equal(res.status, 200, res.text);
    const listed = Object.keys(res.body);
    assert.ok(!listed.includes('c:notes'), listed.join(', '));
    for (const id of listed) {
      const one = await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}` });
      assert.equal(one.status, 200, `listed ${JSON.stringify(id)} but GET answers ${one.status} ${one.text}`);
    }
    for (const id of ['lib', 'fine', 'caf\u00e9', 'lib/fine', 'lib/caf\u00e9', 'lib/c:notes']) assert.ok(listed.includes(id), `${id} in ${listed.join(', ')}`);
  });
});

describe('item 24: the fast path decodes parameters exactly as the full path', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true, settings: NO_BRAKE });
    // An entry named like a bare parameter: the old fast path read `?idz` as id=idz.
    assert.equal((await call(t.base, 'POST', '/entries', { json: { token: t.token, access_token: t.accessToken, id: 'idz' } })).status, 200);
    await call(t.base, 'GET', '/entries', { query: `id=idz&token=${q(t.token)}` }); // warm the caches
    await call(t.base, 'GET', '/entries', { query: `id=home&token=${q(t.token)}` });
    await call(t.base, 'GET', '/entries', { query: `id=movies&token=${q(t.token)}` });
  });
  after(async () => t.close());

  /** The full path only: Fastify's own dispatch, which never meets the fast path. */
  const fullPath = async (query: string) => {
    const res = await t.server.app.inject({ method: 'GET', url: `/api/v1/entries?${query}` });
    return { status: res.statusCode, text: res.body };
  };

  it('answers `?idz&token=T` with the full path\'s 400', async () => {
    const query = `idz&token=${q(t.token)}`;
    const fast = await call(t.base, 'GET', '/entries', { query });
    assert.deepEqual({ status: fast.status, text: fast.text }, await fullPath(query));
    assert.equal(fast.status, 400);
  });

  it('any query string gets the same status and body from both paths', async () => {
    const name = fc.constantFrom('id', 'idz', 'i', 'token', 'tokenx', 'id[]', 'id[0]', 'token[]', 'id[a]', '%69d', 'i%64', 'id%5B%5D', 'to%6Ben', '', 'toString', '__proto__', 'constructor', 'id.x', 'ID', 'options[collection]', 'id ', '+id');
    const value = fc.constantFrom('home', 'movies', 'idz', 'h%6Fme', 'home/', 'home%2F', '%', '%zz', '', 'home&', 'ho+me', '%E2%80%8B', 'missing', t.token, q(t.token), `${t.token}x`, '=home');
    const pair = fc.oneof(
      fc.tuple(name, value).map(([k, v]) => `${k}=${v}`),
      name,
      fc.constantFrom(`token=${q(t.token)}`, 'id=home', 'id=movies', '&', '='),
    );
    const query = fc.array(pair, { minLength: 1, maxLength: 5 }).map((pairs) => pairs.join('&'));
    await fc.assert(
      fc.asyncProperty(query, async (text) => {
        const fast = await call(t.base, 'GET', '/entries', { query: text });
        const full = await fullPath(text);
        assert.deepEqual({ status: fast.status, text: fast.text }, full, `?${text}`);
      }),
      { numRuns: 300, examples: [[`idz&token=${q(t.token)}`], [`id=home&token=${q(t.token)}`], [`id=home&token=${q(t.token)}&id=movies`]] },
    );
  });
});

describe('item 25: one rule for keys, one rule for ids', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: false, settings: NO_BRAKE });
  });
  after(async () => t.close());

  it('keeps fields named like Object.prototype members in form bodies, as JSON does', async () => {
    const names = ['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'toLocaleString', 'propertyIsEnumerable'];
    const form = `token=${q(t.token)}&access_token=${q(t.accessToken)}&id=form-keys&${names.map((n) => `data[${n}]=v-${n}&data[nested][${n}]=w`).join('&')}`;
    const viaForm = await call(t.base, 'POST', '/entries', { form });
    assert.equal(viaForm.status, 200, viaForm.text);
    const data = Object.fromEntries(names.flatMap((n) => [[n, `v-${n}`]]));
    const nested = Object.fromEntries(names.map((n) => [n, 'w']));
    const viaJson = await call(t.base, 'POST', '/entries', { json: { token: t.token, access_token: t.accessToken, id: 'json-keys', data: { ...data, nested } } });
    assert.equal(viaJson.status, 200, viaJson.text);
    for (const n of names) {
      assert.equal(viaForm.body[n], `v-${n}`, n);
      assert.equal(viaJson.body[n], `v-${n}`, n);
      assert.equal(viaForm.body.nested?.[n], 'w', `nested ${n}`);
    }
    // The three names that could reach a prototype are dropped at every depth, in both forms.
    const poison = await call(t.base, 'POST', '/entries', {
      form: `token=${q(t.token)}&access_token=${q(t.accessToken)}&id=form-poison&data[a][constructor][prototype][x]=1&data[prototype]=1&data[b][__proto__][x]=1&data[ok]=1`,
    });
    assert.equal(poison.status, 200, poison.text);
    assert.equal(poison.body.ok, '1');
    assert.ok(!Object.hasOwn(poison.body, 'prototype') && !Object.hasOwn(poison.body.a ?? {}, 'constructor'), poison.text);
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });

  it('refuses ids with lone surrogates, invisible format characters or U+FFFD, and creates nothing', async () => {
    const auth = { token: t.token, access_token: t.accessToken };
    const bad = ['lone\uD800', 'lone\uDC00x', 'a\u200Bb', 'a\u200Cb', 'a\u200Db', 'a\u200Eb', 'a\u200Fb', 'a\u202Ab', 'a\u202Eb', 'a\u2060b', 'a\u2064b', 'a\u2066b', '\uFEFFa', 'a\u00ADb', 'a/\u2028b', 'a\uFFFDb'];
    for (const id of bad) {
      const res = await call(t.base, 'POST', '/entries', { json: { ...auth, id } });
      assert.equal(res.status, 400, `POST ${JSON.stringify(id)}: ${res.text}`);
      assert.match(res.body.detail, /id/);
      const viaQuery = await call(t.base, 'GET', '/entries', { query: `id=${q(id.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))}&token=${q(t.token)}` });
      assert.equal(viaQuery.status, 400, `GET ${JSON.stringify(id)}: ${viaQuery.text}`);
    }
    // A lone surrogate would otherwise reach the folder of U+FFFD (its UTF-8 replacement).
    assert.deepEqual((await storedChildren(t)).filter((n) => !['tokens', 'form-keys', 'json-keys', 'form-poison'].includes(n)), []);
    // Ordinary non-ASCII ids stay fine, taken exactly as sent (no normalization).
    for (const id of ['caf\u00e9', 'cafe\u0301', '\u{1F600}', 'na\u00efve/\u65e5\u672c']) {
      if (id.includes('/')) await call(t.base, 'POST', '/entries', { json: { ...auth, id: id.split('/')[0] } });
      const res = await call(t.base, 'POST', '/entries', { json: { ...auth, id } });
      assert.equal(res.status, 200, `${JSON.stringify(id)}: ${res.text}`);
      assert.equal(res.body.id, id);
    }
    assert.ok((await isStored(t, 'caf\u00e9')) && (await isStored(t, 'cafe\u0301')));
  });
});
