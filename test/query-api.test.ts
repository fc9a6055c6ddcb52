/**
 * The Query API (SPEC §10): validation in §2's order, flatten → evaluate → drop `_` → expand, typed
 * JSON answers, errors naming the key, settings, the render limits (§11.11), and `flextype query`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from './cli-helpers.js';
import { call, CLI, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

let server: TestServer;

const post = (body: Record<string, unknown>, target: TestServer = server) => call(target.base, 'POST', '/query', { json: body });
const withCredentials = (query: unknown, target: TestServer = server) => ({ token: target.token, access_token: target.accessToken, query });

before(async () => {
  server = await startTestServer({ fromDemo: false });
  await server.server.cms.entries.create('data', { title: 'Foo', _secret: 's' });
});

after(async () => {
  await server.close();
});

describe('POST /api/v1/query', () => {
  it('evaluates every leaf, drops top-level `_` names, expands dotted keys, answers typed JSON', async () => {
    const response = await post(withCredentials({
      sum: '1 + 1',
      list: '[1, 2]',
      text: '"a" ~ "b"',
      float: '0.1 + 0.2',
      bool: '1 == 1',
      nil: 'null',
      map: '{b: 1}',
      col: 'collection({x: 1})',
      str: 'strings("Foo").lower()',
      obj: 'registry()',
      a: { b: '2 * 3', _c: '"kept"' },
      'x.y': '"expanded"',
      _private: '"dropped"',
      nested: ['1', '2 + 2'],
    }));
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(
      response.text,
      '{"sum":2,"list":[1,2],"text":"ab","float":0.30000000000000004,"bool":true,"nil":null,"map":{"b":1},"col":{"x":1},' +
        '"str":"foo","obj":{},"a":{"b":6,"_c":"kept"},"x":{"y":"expanded"},"nested":[1,4]}',
    );
  });

  it('a `_` leaf is still evaluated (its side effects count), then dropped', async () => {
    const response = await post(withCredentials({ _set: 'vars().set("n", 41)', n: 'vars().get("n") + 1' }));
    assert.deepEqual(response.body, { n: 42 });
  });

  it('nothing left to answer is 200 {} ([ours]; the reference answers 404)', async () => {
    for (const query of [{}, { _only: '1' }]) {
      const response = await post(withCredentials(query));
      assert.equal(response.status, 200);
      assert.equal(response.text, '{}');
    }
  });

  it('query that is not a map, or a leaf that is not text, is 400 and evaluates nothing', async () => {
    for (const query of ['1 + 1', ['1 + 1'], 5, null]) {
      const response = await post(withCredentials(query));
      assert.equal(response.status, 400, JSON.stringify(query));
      assert.match(response.body.detail, /must be a map|required/);
    }
    for (const [query, key] of [[{ a: 1 }, 'a'], [{ a: { b: true } }, 'a.b'], [{ a: [] }, 'a'], [{ a: {} }, 'a']] as const) {
      const response = await post(withCredentials(query));
      assert.equal(response.status, 400, JSON.stringify(query));
      assert.match(response.body.detail, new RegExp(`query "${key.replace('.', '\\.')}" must be an expression`));
    }
  });

  it('a failing leaf is 400 with a detail naming its key ([ours]; the reference answers 500)', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ok: '1', bad: '1 +' }, /^query "bad": .*position 3/],
      [{ a: { b: 'nope()' } }, /^query "a\.b": function "nope" does not exist/],
      [{ z: '1 / 0' }, /^query "z": division by zero$/],
      [{ v: 'title' }, /^query "v": variable "title" is not valid/],
      [{ r: 'registry().set("flextype.settings.api.query.enabled", false)' }, /^query "r": the registry is read-only/],
      [{ big: '1..1e9' }, /^query "big": rendering limit exceeded/],
    ];
    for (const [query, detail] of cases) {
      const response = await post(withCredentials(query));
      assert.equal(response.status, 400, JSON.stringify(query));
      assert.equal(response.body.title, 'Bad Request');
      assert.match(response.body.detail, detail);
    }
  });

  it('form bodies with brackets work like JSON', async () => {
    const response = await call(server.base, 'POST', '/query', {
      form: `token=${server.token}&access_token=${server.accessToken}&query[a][b]=1%2B1&query[c]=${encodeURIComponent('"x" ~ "y"')}`,
    });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, { a: { b: 2 }, c: 'xy' });
  });

  it('entries().fetch answers the entry without `_` fields', async () => {
    const response = await post(withCredentials({ e: 'entries().fetch("data")' }));
    assert.equal(response.status, 200);
    assert.equal(response.body.e.title, 'Foo');
    assert.equal('_secret' in response.body.e, false);
  });

  it('fields() is an empty scratch entry, not the caller\'s token', async () => {
    const response = await post(withCredentials({ all: 'fields().get("hashed_access_token", "none")', id: 'field("id")' }));
    assert.deepEqual(response.body, { all: 'none', id: null });
  });
});

describe('validation order (§2) and credentials', () => {
  it('required parameters first: query, token, access_token → 400', async () => {
    for (const body of [{ token: server.token, access_token: server.accessToken }, { query: { a: '1' }, access_token: server.accessToken }, { query: { a: '1' }, token: server.token }]) {
      const response = await post(body);
      assert.equal(response.status, 400);
      assert.match(response.body.detail, /missing required parameter/);
    }
  });

  it('unknown token → 401; wrong access token → 401', async () => {
    assert.equal((await post({ token: 'nope', access_token: 'x', query: { a: '1' } })).status, 401);
    assert.equal((await post({ token: server.token, access_token: 'wrong', query: { a: '1' } })).status, 401);
  });

  it('header credentials work', async () => {
    const response = await call(server.base, 'POST', '/query', {
      json: { query: { a: '1 + 2' } },
      headers: { authorization: `Bearer ${server.token}`, 'x-access-token': server.accessToken },
    });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, { a: 3 });
  });

  it('every authorized call counts', async () => {
    const counters = server.server.cms.tokens.counters;
    const calls = async () => {
      const entry = (await server.server.cms.store.getFresh(`tokens/${server.token}`))!;
      return counters.current(entry.id, entry.fields);
    };
    const start = await calls();
    await post(withCredentials({ a: '1' }));
    await post(withCredentials({ a: '1' }));
    assert.equal(await calls(), start + 2);
  });

  it('a scoped token needs entries:read and registry:read', async () => {
    const cms = server.server.cms;
    const both = await cms.tokens.create({ title: 'both', scopes: ['entries:read', 'registry:read'] });
    const entriesOnly = await cms.tokens.create({ title: 'entries', scopes: ['entries:read'] });
    const registryOnly = await cms.tokens.create({ title: 'registry', scopes: ['registry:read'] });
    const ask = (t: { token: string; access_token: string }) => post({ ...t, query: { a: '1' } });
    assert.equal((await ask(both)).status, 200);
    const missingRegistry = await ask(entriesOnly);
    assert.equal(missingRegistry.status, 401);
    assert.match(missingRegistry.body.detail, /registry:read/);
    const missingEntries = await ask(registryOnly);
    assert.equal(missingEntries.status, 401);
    assert.match(missingEntries.body.detail, /entries:read/);
  });

  it('GET is 405 with Allow: POST, OPTIONS', async () => {
    const response = await call(server.base, 'GET', '/query');
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST, OPTIONS');
  });
});

describe('settings', () => {
  it('api.query.enabled: false → 400 after the required-parameter check', async () => {
    const off = await startTestServer({ fromDemo: false, settings: { api: { query: { enabled: false } } } });
    try {
      const response = await post(withCredentials({ a: '1' }, off), off);
      assert.equal(response.status, 400);
      assert.match(response.body.detail, /query API is disabled/);
      const missing = await post({ token: off.token, access_token: off.accessToken }, off);
      assert.match(missing.body.detail, /missing required parameter: query/);
    } finally {
      await off.close();
    }
  });

  it('entries.render.max_items and max_value_bytes bound ranges, lists and texts', async () => {
    const small = await startTestServer({ fromDemo: false, settings: { entries: { render: { max_items: 10, max_value_bytes: 100 } } } });
    try {
      const ask = async (expression: string) => (await post(withCredentials({ v: expression }, small), small));
      assert.deepEqual((await ask('1..10')).body, { v: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
      for (const expression of ['1..11', 'collectionWithRange(1, 11)', 'strings("x").repeat(101)', 'strings("x").padRight(101)',
        'strings("é").repeat(51)', '"x" ~ strings("y").repeat(100)', 'collection([1]).pad(11, 0)', 'collectionFromString("a,b,c,d,e,f,g,h,i,j,k", ",")']) {
        const response = await ask(expression);
        assert.equal(response.status, 400, expression);
        assert.match(response.body.detail, /rendering limit exceeded/, expression);
      }
      assert.equal((await ask('strings("x").repeat(100)')).status, 200);
    } finally {
      await small.close();
    }
  });

  it('date() and strtotime() use the timezone setting', async () => {
    const berlin = await startTestServer({ fromDemo: false, settings: { timezone: 'Europe/Berlin' } });
    try {
      const response = await post(withCredentials({
        winter: 'date("H:i T P e I", 0)',
        summer: 'date("H:i T O I", 968544000)',
        parsed: 'strtotime("2000-09-10")',
        zoned: 'strtotime("2000-09-10T00:00:00Z")',
      }, berlin), berlin);
      assert.deepEqual(response.body, { winter: '01:00 CET +01:00 Europe/Berlin 0', summer: '02:00 CEST +0200 1', parsed: 968536800, zoned: 968544000 });
    } finally {
      await berlin.close();
    }
  });

  it('a disabled expression group makes its functions unknown', async () => {
    const noMath = await startTestServer({ fromDemo: false, settings: { parsers: { expressions: { expressions: { math: { enabled: false } } } } } });
    try {
      const response = await post(withCredentials({ v: 'ceil(1.5)' }, noMath), noMath);
      assert.equal(response.status, 400);
      assert.match(response.body.detail, /function "ceil" does not exist/);
      assert.deepEqual((await post(withCredentials({ v: '1 + 1' }, noMath), noMath)).body, { v: 2 });
    } finally {
      await noMath.close();
    }
  });
});


describe('flextype query', () => {
  it('prints the JSON answer the HTTP API gives; errors exit 2 with the reason', async () => {
    const dir = tempProject(true);
    try {
      const ok = await cli(['query', '{"sum": "1 + 1", "a": {"b": "strings(\\"Foo\\").upper()"}, "_x": "1", "t": "entries().has(\\"tokens\\")"}', '--project', dir]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, '{"sum":2,"a":{"b":"FOO"},"t":false}\n');
      const bad = await cli(['query', '{"k": "1 / 0"}', '--project', dir]);
      assert.equal(bad.code, 2);
      assert.equal(bad.stdout, '');
      assert.match(bad.stderr, /query "k": division by zero/);
      const notJson = await cli(['query', '{"k": ', '--project', dir]);
      assert.equal(notJson.code, 2);
      assert.match(notJson.stderr, /not valid JSON/);
    } finally {
      removeProject(dir);
    }
  });

  it('is listed in the help', async () => {
    const help = await cli(['--help']);
    assert.match(help.stdout, /query \[options\] <query>/);
    assert.ok(readFileSync(path.resolve(CLI), 'utf8').length > 0);
  });
});
