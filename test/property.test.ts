/**
 * Property-based tests (fast-check): for any input, the id validator gives a safe id or a 400,
 * and the bracket parser and the filter engine answer over HTTP with a 2xx or a 4xx, never a 5xx.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import qs from 'qs';
import { CmsError } from '../src/core/errors.js';
import { normalizeId } from '../src/core/ids.js';
import { OPERATORS } from '../src/core/query/where.js';
import { call, startTestServer, type ApiResponse, type TestServer } from './helpers.js';

const LIMITS = { max_id_length: 1024, max_segment_length: 255 };
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const RUNS = 150;

/** Segments an attacker would try, mixed with arbitrary text. */
const segment = fc.oneof(
  fc.constantFrom('..', '.', '', 'a', 'home', '...', '.x', 'x.', 'a..b', '..a', '\\', '\u0000', '%2e%2e', 'C:', 'c:\\', '~', ' ', '\u2025', '．．'),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: fc.constantFrom('.', '/', '\\', 'a', '\u0000', ':', '%', '\n', '\u0085'), maxLength: 12 }),
);
const rawId = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(segment, { maxLength: 6 }).map((parts) => parts.join('/')),
  fc.tuple(fc.constantFrom('/', '//', '\\', 'C:\\', 'C:/', '', './', '../'), fc.array(segment, { maxLength: 4 })).map(([lead, parts]) => lead + parts.join('/')),
  fc.tuple(fc.array(segment, { maxLength: 3 }), fc.constantFrom('/', '//', '/./', '/../')).map(([parts, tail]) => parts.join('/') + tail),
  fc.integer({ min: 250, max: 1100 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 300 }).map((n) => `a/${'b'.repeat(n)}`),
);

function assertSafe(raw: string, id: string, allowRoot: boolean): void {
  if (id === '') {
    assert.ok(allowRoot && raw === '', 'the empty id only as the root of a collection');
    return;
  }
  assert.equal(id, raw.replace(/\/+$/, ''), 'only trailing slashes are trimmed');
  assert.ok(!id.startsWith('/'), 'no leading /');
  assert.ok(!id.includes('\\'), 'no backslash');
  assert.ok(!CONTROL.test(id), 'no control character');
  assert.ok(!/[\uD800-\uDFFF]/u.test(id), 'no lone surrogate');
  assert.ok(!/[\p{Cf}\u2028\u2029\uFFFD]/u.test(id), 'no invisible format character, no U+FFFD');
  assert.ok(!/^[a-zA-Z]:/.test(id), 'no drive letter');
  assert.ok(id.length <= LIMITS.max_id_length);
  for (const part of id.split('/')) {
    assert.ok(part !== '' && part !== '.' && part !== '..', `no empty, "." or ".." segment in ${JSON.stringify(id)}`);
    assert.ok(!part.startsWith('.'), 'no hidden segment');
    assert.ok(Buffer.byteLength(part) <= LIMITS.max_segment_length);
  }
  // Resolved against a root, it stays below it, and it is already in normal form.
  const root = path.resolve('/srv/project/entries');
  const resolved = path.resolve(root, ...id.split('/'));
  assert.ok(resolved.startsWith(root + path.sep), `${JSON.stringify(id)} resolves inside the root`);
  assert.equal(path.posix.normalize(id), id);
  assert.equal(normalizeId(id, LIMITS, allowRoot), id, 'normalizing is idempotent');
}

describe('property: the id validator', () => {
  it('turns any string into a safe id or a 400, never another exception', () => {
    fc.assert(
      fc.property(rawId, fc.boolean(), (raw, allowRoot) => {
        let id: string;
        try {
          id = normalizeId(raw, LIMITS, allowRoot);
        } catch (err) {
          assert.ok(err instanceof CmsError, `not a CmsError: ${String(err)}`);
          assert.equal(err.code, 'bad_request');
          return;
        }
        assertSafe(raw, id, allowRoot);
      }),
      { numRuns: 400 },
    );
  });

  it('answers any non-string with a 400', () => {
    fc.assert(
      fc.property(fc.anything().filter((v) => typeof v !== 'string'), (value) => {
        assert.throws(() => normalizeId(value, LIMITS, true), (err: unknown) => err instanceof CmsError && err.code === 'bad_request');
      }),
      { numRuns: RUNS },
    );
  });
});

describe('property: HTTP never answers 5xx', () => {
  let t: TestServer;
  before(async () => {
    // No failure brake: random parameters may replace the token, and 429s would hide the answers.
    t = await startTestServer({ fromDemo: true, settings: { security: { auth_failures_per_minute: 0 } } });
  });
  after(async () => t.close());

  const assertAnswered = (res: ApiResponse, what: string) => {
    assert.ok(res.status >= 200 && res.status < 500, `${what} → ${res.status} ${res.text.slice(0, 300)}`);
    if (res.status >= 400) {
      assert.equal(res.body?.http_status_code, res.status, `${what}: JSON error body ${res.text.slice(0, 200)}`);
    }
  };

  // A key: a known or arbitrary name, then bracket parts; pieces encoded or left raw.
  const piece = fc.oneof(
    fc.constantFrom('id', 'options', 'token', 'data', 'access_token', 'filter', 'where', 'collection', 'find', '0', '', '__proto__', 'constructor'),
    fc.string({ maxLength: 6 }),
    fc.string({ unit: 'binary', maxLength: 4 }),
  );
  const encodePiece = (text: string, raw: boolean) => (raw ? text.replace(/[#&=\s%]/g, encodeURIComponent) : encodeURIComponent(text));
  const key = fc
    .tuple(piece, fc.array(fc.oneof(piece, fc.constantFrom('', '[', ']')), { maxLength: 5 }), fc.boolean())
    .map(([name, parts, raw]) => encodePiece(name, raw) + parts.map((p) => `[${encodePiece(p, raw)}]`).join(''));
  const value = fc.oneof(
    fc.string({ maxLength: 10 }).map(encodeURIComponent),
    fc.string({ unit: 'binary', maxLength: 6 }).map(encodeURIComponent),
    fc.constantFrom('', 'true', '1', 'home', 'movies', '%', '%zz', '%ff', '%c0%ae', '%00', '..', '[]', '%5B%5D'),
  );
  const pairs = fc.array(fc.tuple(key, value, fc.boolean()), { maxLength: 12 }).map((list) =>
    list.map(([k, v, bare]) => (bare ? k : `${k}=${v}`)).join('&'),
  );

  it('answers any bracket query string on GET with a 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, fc.constantFrom('home', 'movies', ''), async (query, id) => {
        const full = `id=${id}&token=${t.token}&${query}`;
        assertAnswered(await call(t.base, 'GET', '/entries', { query: full }), `GET ?${full}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers any bracket form body on a write with a 2xx or 4xx, and what it stores reads back', async () => {
    const created = await call(t.base, 'POST', '/entries', { json: { token: t.token, access_token: t.accessToken, id: 'prop-target' } });
    assert.equal(created.status, 200);
    await fc.assert(
      fc.asyncProperty(pairs, async (form) => {
        const body = `token=${t.token}&access_token=${t.accessToken}&id=prop-target&data[seen]=1&${form}`;
        const res = await call(t.base, 'PATCH', '/entries', { form: body });
        assertAnswered(res, `PATCH ${body}`);
        if (res.status === 200) {
          // Whatever was written (odd keys included) must parse again from the file.
          t.server.cms.clearCaches();
          const back = await call(t.base, 'GET', '/entries', { query: `id=prop-target&token=${t.token}` });
          assert.equal(back.status, 200, `after PATCH ${body}: ${back.text.slice(0, 300)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  // The filter engine: conditions, groups, sort, limits, return modes, with sane and wild values.
  const fieldKey = fc.oneof(
    fc.constantFrom('title', 'year', 'rating', 'director', 'tags', 'tags.0', 'content', 'id', 'slug', 'created_at', 'visibility', 'routable', 'a.b.c', '__proto__', 'constructor', '', '.', 'toString'),
    fc.string({ maxLength: 8 }),
  );
  const operator = fc.oneof(
    fc.constantFrom(...OPERATORS),
    fc.constantFrom('EQ', ' like ', 'Regexp', 'bogus', '', '=='),
    fc.string({ maxLength: 5 }),
  );
  const scalar = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.integer({ min: -5, max: 3000 }).map(String),
    fc.constantFrom('true', 'false', '2020-01-01', '15-05-2020 06:57', '1K', 'Nolan', 'sci-fi', '(a+)+$', '[', '.*', '^t', '\\', '(?i)x'),
  );
  const condValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }));
  const { condition } = fc.letrec<{ condition: unknown }>((tie) => ({
    condition: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ key: fieldKey, operator, value: condValue }, { requiredKeys: [] }),
      fc.record({ or: fc.array(tie('condition'), { maxLength: 3 }) }),
      fc.record({ and: fc.array(tie('condition'), { maxLength: 3 }) }),
      scalar,
    ),
  }));
  const number = fc.oneof(fc.integer({ min: -3, max: 200_000 }).map(String), scalar);
  const filter = fc.record(
    {
      where: fc.oneof(fc.array(condition, { maxLength: 4 }), condition),
      sort_by: fc.oneof(fc.record({ key: fieldKey, direction: fc.constantFrom('ASC', 'DESC', 'asc', 'desc', 'up', '') }, { requiredKeys: [] }), fieldKey),
      group_by: fieldKey,
      offset: number,
      limit: number,
      return: fc.oneof(fc.constantFrom('all', 'first', 'last', 'random', 'shuffle', 'RANDOM', 'none'), fc.integer({ min: -1, max: 20 }).map((n) => `random=${n}`)),
      random: number,
      only: fc.array(fieldKey, { maxLength: 3 }),
      except: fc.array(fieldKey, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  const find = fc.record(
    {
      depth: fc.oneof(fc.constantFrom('1', '2', '>= 1', '> 0', '< 3', '> 100', '==1', 'x', ''), fc.array(fc.constantFrom('> 0', '< 3', '>= 2', 'nope'), { maxLength: 3 })),
      size: fc.constantFrom('>= 1K', '< 2M', '> 10ki', 'big', '0'),
      date: fc.constantFrom('>= 2018-01-01', '< 2100-01-01', 'yesterday', '> 0'),
      path: fc.constantFrom('sg-1', '/^a/', '/(a+)+$/', '/[/', ''),
      exclude: fc.constantFrom('sg-1', 'movies', ''),
      sort_by: fc.constantFrom('mtime', 'ctime', 'atime', 'size'),
    },
    { requiredKeys: [] },
  );

  it('answers any filter, sort and limit options with a 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('', 'movies', 'blog', 'home'), fc.boolean(), filter, find, async (id, collection, f, fd) => {
        const query = qs.stringify({ id, token: t.token, options: { collection: collection ? 'true' : undefined, filter: f, find: fd } });
        assertAnswered(await call(t.base, 'GET', '/entries', { query }), `GET ?${decodeURIComponent(query)}`);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same answer to the same collection query twice (no state leaks between queries)', async () => {
    await fc.assert(
      fc.asyncProperty(filter, async (f) => {
        // `random` and `shuffle` are random by design; everything else is deterministic.
        const fixed = { ...f, return: 'all', random: undefined };
        const query = qs.stringify({ id: 'movies', token: t.token, options: { collection: 'true', filter: fixed } });
        const first = await call(t.base, 'GET', '/entries', { query });
        const second = await call(t.base, 'GET', '/entries', { query });
        assert.equal(second.status, first.status);
        assert.equal(second.text, first.text);
      }),
      { numRuns: 60 },
    );
  });
});
