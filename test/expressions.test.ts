/**
 * Expressions (SPEC §9.7–§9.9, §9.11, §11) through POST /api/v1/query: every operator and
 * precedence rule, every function group, value conversions and the sandbox. Expected values from
 * the reference's own Pest tests where they exist (tests/src/flextype/core/Parsers/Expressions).
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, startTestServer, type TestServer } from './helpers.js';

let server: TestServer;

async function query(q: unknown, target: TestServer = server) {
  return call(target.base, 'POST', '/query', { json: { token: target.token, access_token: target.accessToken, query: q } });
}

/** The typed value of one expression. */
async function value(expression: string, target: TestServer = server): Promise<unknown> {
  const response = await query({ v: expression }, target);
  assert.equal(response.status, 200, `${expression} → ${response.text}`);
  return response.body.v;
}

/** The `detail` of a 400 for one expression. */
async function failure(expression: string, target: TestServer = server): Promise<string> {
  const response = await query({ v: expression }, target);
  assert.equal(response.status, 400, `${expression} should fail, got ${response.text}`);
  assert.match(response.body.detail, /^query "v": /);
  return response.body.detail as string;
}

async function table(cases: [string, unknown][], target: TestServer = server): Promise<void> {
  for (const [expression, expected] of cases) assert.deepEqual(await value(expression, target), expected, expression);
}

before(async () => {
  server = await startTestServer({ fromDemo: false });
  const dir = server.projectDir;
  mkdirSync(path.join(dir, 'files'), { recursive: true });
  writeFileSync(path.join(dir, 'files', 'note.txt'), 'Hello from a file');
  writeFileSync(path.join(dir, 'files', 'data.json'), '{"name": "Data", "list": [1, 2]}');
  writeFileSync(path.join(dir, 'files', 'data.yaml'), 'name: Yaml\n');
  writeFileSync(path.join(dir, 'files', '.env'), 'SECRET=1');
  const outside = path.join(os.tmpdir(), `flextype-outside-${process.pid}.txt`);
  writeFileSync(outside, 'outside');
  symlinkSync(outside, path.join(dir, 'files', 'link-out.txt'));
  const create = (id: string, data: unknown) => server.server.cms.entries.create(id, data);
  await create('data', { title: 'Foo!', category: 'foo', _secret: 'hidden', meta: { a: 1, _b: 2, list: [{ _c: 3, d: 4 }] } });
  await create('blog', { title: 'Blog' });
  await create('blog/a', { title: 'A', views: 10 });
  await create('blog/b', { title: 'B', views: 20 });
});

after(async () => {
  await server.close();
});

describe('literals (§9.7)', () => {
  it('texts, numbers, lists, hashes, constants', () =>
    table([
      ['"it\\"s"', 'it"s'],
      ["'it\\'s'", "it's"],
      ['"a\\tb\\nc\\\\"', 'a\tb\nc\\'],
      ['42', 42],
      ['.5', 0.5],
      ['1_000', 1000],
      ['1e-2', 0.01],
      ['1.5e3', 1500],
      ['[1, "a", [true]]', [1, 'a', [true]]],
      ['[1, 2,]', [1, 2]],
      ['{a: 1, "b": 2, (1+1): 3, 4: 5}', { a: 1, b: 2, '2': 3, '4': 5 }],
      ['{a: 1,}', { a: 1 }],
      ['{}', []],
      ['[]', []],
      ['true', true],
      ['TRUE', true],
      ['false', false],
      ['FALSE', false],
      ['null', null],
      ['NULL', null],
    ]));
});

describe('operators and precedence (§9.7)', () => {
  it('arithmetic', () =>
    table([
      ['1 + 1', 2],
      ['1 + 2 * 3', 7],
      ['(1 + 2) * 3', 9],
      ['10 - 2 - 3', 5],
      ['2 ** 3 ** 2', 512],
      ['-2 ** 2', 4],
      ['2 * -3', -6],
      ['+"3"', 3],
      ['7 / 2', 3.5],
      ['10 / 2', 5],
      ['7 % 3', 1],
      ['-7 % 2', -1],
      ['7 % 2.5', 1],
      ['2 * 3 % 4', 2],
      ['"5" + 3', 8],
      ['0.1 + 0.2', 0.30000000000000004],
    ]));

  it('division and modulo by zero are errors', async () => {
    assert.match(await failure('1 / 0'), /division by zero/);
    assert.match(await failure('1 % 0'), /modulo by zero/);
    assert.match(await failure('"abc" + 1'), /unsupported operand/);
    assert.match(await failure('"a" ~ 1 + 2'), /unsupported operand/, '~ binds tighter than +');
  });

  it('concatenation, logic and bitwise operators', () =>
    table([
      ['"a" ~ "b"', 'ab'],
      ['"1" ~ "2" + 3', 15],
      ['1 + 2 ~ "0"', 21],
      ['"n=" ~ 1.5', 'n=1.5'],
      ['"" ~ (0.1 + 0.2)', '0.3'],
      ['"" ~ 1e-5', '1.0E-5'],
      ['"" ~ true ~ "|" ~ false ~ "|" ~ null', '1||'],
      ['"" ~ [1, {a: "x/é"}]', '[1,{"a":"x/é"}]'],
      ['not true', false],
      ['!false', true],
      ['not true or true', true],
      ['not (true or true)', false],
      ['not 1 ~ ""', ''],
      ['true or false and false', true],
      ['(true or false) and false', false],
      ['true && false || true', true],
      ['1 and "a"', true],
      ['1 | 2 & 3', 3],
      ['6 ^ 3 | 1', 5],
      ['5 & 3 ^ 1', 0],
      ['1 < 2 == true', true],
    ]));

  it('short-circuit: the right side of and/or/?? is not evaluated when not needed', () =>
    table([
      ['false and 1 / 0', false],
      ['true or 1 / 0', true],
      ['1 ?? 1 / 0', 1],
    ]));

  it('ranges', async () => {
    await table([
      ['1..3', [1, 2, 3]],
      ['3..1', [3, 2, 1]],
      ['1 + 1 .. 4', [2, 3, 4]],
      ["'a'..'e'", ['a', 'b', 'c', 'd', 'e']],
    ]);
    assert.match(await failure('1..1e9'), /rendering limit exceeded/);
  });

  it('loose comparison follows PHP 8', () =>
    table([
      ['"1" == 1', true],
      ['"1.0" == 1', true],
      ['"abc" == 0', false],
      ['null == false', true],
      ['null == 0', true],
      ['"" == null', true],
      ['"0" == false', true],
      ['[] == false', true],
      ['"1e1" == "10"', true],
      ['"abc" == "ABC"', false],
      ['[1, 2] == [1, 2]', true],
      ['{a: 1} == {a: "1"}', true],
      ['1 != 2', true],
      ['"10" < "9"', false],
      ['"abc" < "b"', true],
      ['null < 1', true],
      ['2 >= 2', true],
      ['3 <= 2', false],
      ['1 === 1', true],
      ['"1" === 1', false],
      ['[1, 2] === [2, 1]', false],
      ['"1" !== 1', true],
    ]));

  it('membership and text tests', async () => {
    await table([
      ['2 in [1, 2]', true],
      ['"2" in [1, 2]', true],
      ['3 not in [1, 2]', true],
      ['1 in {a: 1}', true],
      ['"abc" contains "b"', true],
      ['"Abc" contains "a"', false],
      ['"abc" starts with "ab"', true],
      ['"abc" ends with "bc"', true],
      ['"abc" ends with "b"', false],
      ['"abc" matches "/B/i"', 1],
      ['"abc" matches "/x/"', 0],
      ['"a1" matches "/^[a-z]\\\\d$/"', 1],
    ]);
    assert.match(await failure('1 in "abc"'), /list or map/);
    assert.match(await failure('"aa" matches "/(a)\\\\1/"'), /invalid regular expression/);
    assert.match(await failure('"a" matches "abc"'), /delimiters/);
  });

  it('conditionals and null-coalescing', () =>
    table([
      ['1 > 2 ? "a" : "b"', 'b'],
      ['true ? "a"', 'a'],
      ['false ? "a"', null],
      ['"x" ?: "y"', 'x'],
      ['0 ?: "y"', 'y'],
      ['null ?? "d"', 'd'],
      ['false ?? "d"', false],
      ['null ?? false ?: "x"', 'x'],
      ['1 ?? 2 ? "a" : "b"', 'a'],
      ['true ? false ? 1 : 2 : 3', 2],
      ['{a: 1}.b ?? "missing"', 'missing'],
      ['null.a.b ?? "deep"', 'deep'],
      ['[1][3] ?? "none"', 'none'],
    ]));

  it('property, index and null-safe access', async () => {
    await table([
      ['{a: {b: [10, 20]}}.a.b[1]', 20],
      ['{a: 1}["a"]', 1],
      ['{a: 1}.b', null],
      ['[10, 20][0]', 10],
      ['[10, 20]["1"]', 20],
      ['[10, 20][5]', null],
      ['"abc"[1]', 'b'],
      ['null?.a', null],
      ['null?.a.b.c', null],
      ['{a: null}.a?.b', null],
      ['{a: {b: 2}}?.a?.b', 2],
    ]);
    assert.match(await failure('null.a'), /cannot read property "a" of null/);
    assert.match(await failure('"abc".length'), /cannot read property/);
    assert.match(await failure('{a: 1}.a()'), /cannot call method/);
  });

  it('syntax errors name their position; unknown names are errors', async () => {
    assert.match(await failure('1 +'), /syntax|unexpected/i);
    assert.match(await failure('1 +'), /at position 3/);
    assert.match(await failure('(1'), /unclosed "\(" at position 0/);
    assert.match(await failure('"abc'), /unclosed string at position 0/);
    assert.match(await failure('1 2'), /unexpected "2" at position 2/);
    assert.match(await failure('@'), /unexpected character "@" at position 0/);
    assert.match(await failure('title'), /variable "title" is not valid/);
    assert.match(await failure('nope(1)'), /function "nope" does not exist/);
  });
});

describe('sandbox (§11)', () => {
  it('no JavaScript prototype, constructor or global is reachable', async () => {
    await table([
      ['{}.constructor', null],
      ['{}.__proto__', null],
      ['{}["constructor"]', null],
      ['[].constructor', null],
      ['{a: 1}.hasOwnProperty', null],
      ['{"__proto__": 1}.__proto__', 1],
      ['collection({}).has("constructor")', false],
      ['collection({}).get("__proto__.polluted", "no")', 'no'],
    ]);
    assert.match(await failure('"a".constructor'), /cannot read property "constructor" of string/);
    assert.match(await failure('"a".constructor("return 1")'), /cannot call method/);
    assert.match(await failure('collection([]).constructor()'), /method "constructor\(\)" does not exist/);
    assert.match(await failure('collection([]).constructor'), /property "constructor" does not exist/);
    assert.match(await failure('collection([]).toString.constructor'), /property "toString" does not exist/);
    assert.match(await failure('strings("a").__proto__'), /property "__proto__" does not exist/);
    assert.match(await failure('strings("a").constructor()'), /method "constructor\(\)" does not exist/);
    assert.match(await failure('registry().hasOwnProperty("get")'), /does not exist/);
    for (const name of ['eval', 'Function', 'require', 'process', 'globalThis', 'constructor', 'map', 'system', 'exec']) {
      assert.match(await failure(`${name}("1")`), /does not exist/, name);
    }
    assert.match(await failure('process'), /variable "process" is not valid/);
    assert.match(await failure('collection(["id"]).map("system")'), /method "map\(\)" does not exist/);
  });

  it('constants: only the allowlist (§11.3)', () =>
    table([
      ['const("PHP_EOL")', '\n'],
      ['const("DIRECTORY_SEPARATOR")', '/'],
      ['const("M_PI")', Math.PI],
      ['constant("M_E")', Math.E],
      ['const("FLEXTYPE_PROJECT_NAME")', 'project'],
      ['const("FLEXTYPE_ROOT_DIR")', ''],
      ['const("FLEXTYPE_PATH_PROJECT")', ''],
      ['constant("PHP_VERSION")', ''],
      ['const("test-expression-const")', ''],
    ]));

  it('the registry is read-only (§11.4)', async () => {
    assert.equal(await value('registry().get("flextype.settings.timezone")'), 'UTC');
    assert.equal(await value('registry().get("flextype.nothing", "Default")'), 'Default');
    assert.equal(await value('registry().has("flextype.settings.timezone")'), true);
    assert.equal(await value('registry().has("flextype.nothing")'), false);
    assert.match(await failure('registry().set("flextype.settings.entries.directives.php.enabled", true)'), /read-only/);
    assert.match(await failure('registry().delete("flextype.settings.timezone")'), /read-only/);
    assert.equal(await value('registry().get("flextype.settings.timezone")'), 'UTC');
  });
});

describe('function groups (§9.8)', () => {
  it('math (reference: ceil 43, floor 4, min 1, max 7, abs 4.2, round 3)', () =>
    table([
      ['ceil(42.1)', 43],
      ['floor(4.3)', 4],
      ['min(2, 3, 1, 6, 7)', 1],
      ['max(2, 3, 1, 6, 7)', 7],
      ['abs(-4.2)', 4.2],
      ['round(3.4)', 3],
      ['round(2.5)', 3],
      ['round(-2.5)', -3],
      ['round(1.955, 2)', 1.96],
      ['min([3, 1, 2])', 1],
      ['"" ~ ceil(42.1)', '43'],
    ]));

  it('strings: the core operations of the text object', async () => {
    await table([
      ['strings("Foo").lower()', 'foo'],
      ['strings("Foo").upper()', 'FOO'],
      ['strings("héllo").length()', 5],
      ['strings("  a  ").trim()', 'a'],
      ['strings("7").padLeft(3, "0")', '007'],
      ['strings("7").padLeft(6, "0").upper().length()', 6],
      ['strings("a-b-c").replace("-", "+")', 'a+b+c'],
      ['strings("ab").toString()', 'ab'],
      ['strings(42).toString()', '42'],
      ['strings("12abc").toInteger()', 12],
      ['strings("").isEmpty()', true],
      ['strings("a").isNotEmpty()', true],
      ['"" ~ strings("x").append("y")', 'xy'],
    ]);
    assert.match(await failure('strings("a").repeat(999999999)'), /rendering limit exceeded/);
    assert.match(await failure('strings("a").padLeft(999999999)'), /rendering limit exceeded/);
    assert.match(await failure('strings("a").noSuchOperation()'), /does not exist/);
  });

  it('collection constructors (reference: Foo, a, Foo, Foo, 10)', () =>
    table([
      ['collection({"foo": "Foo"}).get("foo")', 'Foo'],
      ['collectionFromString("a,b", ",").offsetGet(0)', 'a'],
      ['collectionFromJson("{\\"foo\\": \\"Foo\\"}").get("foo")', 'Foo'],
      ['collectionFromQueryString("foo=Foo").get("foo")', 'Foo'],
      ['collectionWithRange(0, 10, 1).offsetGet(10)', 10],
      ['collectionWithRange(0, 10, 5)', [0, 5, 10]],
      ['collectionFromQueryString("a[]=1&a[]=2&b[c]=x+y")', { a: ['1', '2'], b: { c: 'x y' } }],
      ['collection([1, 2])', [1, 2]],
    ]));

  it('collection object: read methods', () =>
    table([
      ['collection({a: {b: 1}}).get("a.b")', 1],
      ['collection({a: null}).get("a", "d")', 'd'],
      ['collection({a: {b: 1}}).has("a.b")', true],
      ['collection({a: 1}).offsetExists("b")', false],
      ['collection([5, 6, 7]).first()', 5],
      ['collection([5, 6, 7]).last()', 7],
      ['collection({x: 1, y: 2}).firstKey()', 'x'],
      ['collection([5, 6, 7]).lastKey()', 2],
      ['collection([5, 6, 7]).count()', 3],
      ['collection([]).isEmpty()', true],
      ['collection({a: 1}).isAssoc()', true],
      ['collection([1]).isAssoc()', false],
      ['collection({a: 1, b: 2}).all()', { a: 1, b: 2 }],
      ['collection({a: 1, b: 2}).toArray()', { a: 1, b: 2 }],
      ['collection({a: 1, b: 2}).getValues()', [1, 2]],
      ['collection({a: 1, b: "2"}).search(2)', 'b'],
      ['collection([1]).search(5)', false],
      ['collection([1, 2, 3]).sum()', 6],
      ['collection([2, 3, 4]).product()', 24],
      ['collection({a: [1, "x/y"], b: {}}).toJson()', '{"a":[1,"x/y"],"b":[]}'],
      ['collection({a: "x y", b: [1, 2]}).toQuery()', 'a=x+y&b%5B0%5D=1&b%5B1%5D=2'],
      ['collection([1, 2, 3]).toString()', '1,2,3'],
      ['collection([1, 2, 3]).toString("-")', '1-2-3'],
      ['collection([4]).random()', 4],
      ['collection([4, 4]).random(2)', [4, 4]],
    ]));

  it('collection object: chainable methods', () =>
    table([
      ['collection({}).set("a.b", 1).set("c", 2).all()', { a: { b: 1 }, c: 2 }],
      ['collection({a: 1, b: 2}).delete("a").all()', { b: 2 }],
      ['collection({a: {b: [1, 2]}}).extract("a.b").all()', [1, 2]],
      ['collection([1]).append(2).all()', [1, 2]],
      ['collection([1]).prepend(0).all()', [0, 1]],
      ['collection({a: {b: 1, c: [2]}}).dot().all()', { 'a.b': 1, 'a.c.0': 2 }],
      ['collection({"a.b": 1}).undot().all()', { a: { b: 1 } }],
      ['collection({a: 1, b: 2, c: 3}).only(["a", "c"]).all()', { a: 1, c: 3 }],
      ['collection({a: 1, b: 2, c: 3}).except(["a"]).all()', { b: 2, c: 3 }],
      ['collection({a: 1, x: [1]}).merge({b: 2, x: [2]}).all()', { a: 1, x: [2], b: 2 }],
      ['collection([1, 2]).merge([3]).all()', [1, 2, 3]],
      ['collection({a: {x: 1}}).merge({a: {y: 2}}, true).all()', { a: { x: 1, y: 2 } }],
      ['collection([1, 2]).replace([9]).all()', [9, 2]],
      ['collection(["a", "b"]).combine([1, 2]).all()', { a: 1, b: 2 }],
      ['collection([1, 2, 3]).diff([2]).all()', { '0': 1, '2': 3 }],
      ['collection([1, 2, 3]).intersect([2, 3]).getValues()', [2, 3]],
      ['collection({a: 1, b: 2}).intersectKey({b: 0}).all()', { b: 2 }],
      ['collection({a: 1, b: 2}).flip().all()', { '1': 'a', '2': 'b' }],
      ['collection([1]).pad(3, 0).all()', [1, 0, 0]],
      ['collection({a: 1, b: 2}).reindex().all()', [1, 2]],
      ['collection([1, 2, 3]).reverse().all()', [3, 2, 1]],
      ['collection([1, 2, 3, 4]).slice(1, 2).all()', [2, 3]],
      ['collection([1, 2, 3]).skip(1).all()', [2, 3]],
      ['collection([1, 2, 3]).offset(2).all()', [3]],
      ['collection([1, 2, 3]).limit(2).all()', [1, 2]],
      ['collection([1, 2, 3]).chunk(2).all()', [[1, 2], [3]]],
      ['collection([{id: 1, t: "a"}, {id: 2, t: "b"}]).column("t").all()', ['a', 'b']],
      ['collection([{id: 1, t: "a"}, {id: 2, t: "b"}]).column("t", "id").all()', { '1': 'a', '2': 'b' }],
      ['collection([1, "1", 2]).unique().all()', { '0': 1, '2': 2 }],
      ['collection([1, 2, 3, 4, 5]).nth(2).all()', [1, 3, 5]],
      ['collection([1]).shuffle().all()', [1]],
      ['collection([3, 1, 2]).sort().getValues()', [1, 2, 3]],
      ['collection([3, 1, 2]).sort("DESC").getValues()', [3, 2, 1]],
      ['collection({b: 1, a: 2}).sortKeys().all()', { a: 2, b: 1 }],
      ['collection([{n: 2}, {n: 1}]).sortBy("n").getValues()', [{ n: 1 }, { n: 2 }]],
      ['collection([{t: "x", n: 1}, {t: "y", n: 2}, {t: "x", n: 3}]).groupBy("t").all()', { x: [{ t: 'x', n: 1 }, { t: 'x', n: 3 }], y: [{ t: 'y', n: 2 }] }],
      ['collection([{n: 1}, {n: 5}, {n: 9}]).where("n", ">", 3).getValues()', [{ n: 5 }, { n: 9 }]],
      ['collection([{t: "ab"}, {t: "cd"}]).where("t", "contains", "b").getValues()', [{ t: 'ab' }]],
      ['collection({a: 1}).copy().set("b", 2).all()', { a: 1, b: 2 }],
      ['filterCollection({x: {n: 2}, y: {n: 1}}, {"sort_by": {"key": "n"}})', { y: { n: 1 }, x: { n: 2 } }],
      ['filterCollection({x: {n: 2}, y: {n: 1}}, {"where": [{"key": "n", "operator": "gt", "value": 1}]})', { x: { n: 2 } }],
    ]));

  it('date (§9.11): PHP letters in the timezone setting', () =>
    table([
      ['date("Y-m-d H:i:s", 0)', '1970-01-01 00:00:00'],
      ['date("D, d M Y", 968544000)', 'Sun, 10 Sep 2000'],
      ['date("l jS F y, N w z t L", 968544000)', 'Sunday 10th September 00, 7 0 253 30 1'],
      ['date("jS", 978307200) ~ date(" jS", 978393600) ~ date(" jS", 978480000) ~ date(" jS", 979171200)', '1st 2nd 3rd 11th'],
      ['date("W o", 1104537600)', '53 2004'],
      ['date("a A g G h H i s u v", 968587200 + 3723)', 'pm PM 1 13 01 13 02 03 000000 000'],
      ['date("B", 0)', '041'],
      ['date("e I O P p T Z", 0)', 'UTC 0 +0000 +00:00 Z UTC 0'],
      ['date("c", 1076599161)', '2004-02-12T15:19:21+00:00'],
      ['date("r", 977414467)', 'Thu, 21 Dec 2000 16:01:07 +0000'],
      ['date("U", 123)', '123'],
      ['date("\\\\Y\\\\m Y", 0)', 'Ym 1970'],
      ['date("F j, Y, g:i a", 968544000)', 'September 10, 2000, 12:00 am'],
    ]));

  it('strtotime understands the listed forms; false when it does not', () =>
    table([
      ['strtotime("10 September 2000")', 968544000],
      ['strtotime("September 10, 2000")', 968544000],
      ['strtotime("2000-09-10")', 968544000],
      ['strtotime("2000-09-10T12:00:00Z")', 968587200],
      ['strtotime("2000-09-10T14:00:00+02:00")', 968587200],
      ['strtotime("10-09-2000 12:00")', 968587200],
      ['strtotime("2000-09-10 12:00")', 968587200],
      ['strtotime("09/10/2000 12:00 pm")', 968587200],
      ['strtotime("09/10/2000 12:00 am")', 968544000],
      ['strtotime("@123")', 123],
      ['strtotime("+1 day", 0)', 86400],
      ['strtotime("tomorrow", 100)', 86400],
      ['strtotime("2000-09-10 +1 week")', 968544000 + 7 * 86400],
      ['strtotime("not a date")', false],
      ['strtotime("now") >= time()', true],
      ['time() > 1600000000', true],
    ]));

  it('slugify, i18n, csrf, when/unless (reference: foo-bar, foobar, 178 characters, Yes!)', async () => {
    await table([
      ['slugify().slugify("foo bar")', 'foo-bar'],
      ['slugify().slugify("  Héllo, Wörld! ")', 'hello-woerld'],
      ['slugify().slugify("foo bar", "_")', 'foo_bar'],
      ['__("foo") ~ tr("bar")', 'foobar'],
      ['tr("hello :name", {":name": "Bob"})', 'hello :name'],
      ['strings(csrf()).length()', 178],
      ['csrf() matches "/^<input type=\\"hidden\\" name=\\"__csrf_token\\" value=\\"[0-9a-f]{128}\\">$/"', 1],
      ['when("Title" == "Title", "Yes!")', 'Yes!'],
      ['when("Title" == "Foo", "Yes!")', ''],
      ['unless("Title" == "Foo", "Yes!")', 'Yes!'],
      ['unless("Title" == "Title", "Yes!")', ''],
    ]);
    assert.notEqual(await value('csrf()'), await value('csrf()'));
  });

  it('serializers (reference: Foo)', () =>
    table([
      ['collection(serializers().json().decode("{\\"foo\\": \\"Foo\\"}")).get("foo")', 'Foo'],
      ['serializers().json().encode({a: [1, "x/é"]})', '{"a":[1,"x/é"]}'],
      ['serializers().yaml().encode({a: 1})', 'a: 1\n'],
      ['serializers().yaml().decode("a: [1, 2]")', { a: [1, 2] }],
      ['serializers().json5().decode("{a: 1,}")', { a: 1 }],
      ['serializers().frontmatter().decode("---\\ntitle: T\\n---\\nBody")', { title: 'T', content: 'Body' }],
      ['serializers().frontmatter().encode({title: "T", content: "Body"})', '---\ntitle: T\n---\nBody'],
    ]));

  it('url functions from base_url / base_path (no request origin leaks when base_url is set)', async () => {
    const other = await startTestServer({ fromDemo: false, settings: { base_url: 'https://example.org', base_path: 'site' } });
    try {
      await table([
        ['url("a//b/")', 'https://example.org/site/a/b'],
        ['url("x", "project")', 'https://example.org/site/project/x'],
        ['getBaseUrl()', 'https://example.org/site'],
        ['getBasePath()', 'site'],
        ['getProjectUrl()', 'https://example.org/site/project'],
        ['getUriString()', '/api/v1/query'],
        ['getAbsoluteUrl()', 'https://example.org/site/api/v1/query'],
        ['urlFor("entries.fetch")', '/site/api/v1/entries'],
        ['urlFor("query.evaluate", {}, {a: "b c"})', '/site/api/v1/query?a=b+c'],
      ], other);
      assert.match(await failure('urlFor("nope")', other), /unknown route/);
    } finally {
      await other.close();
    }
    assert.equal(await value('getBaseUrl()'), server.server.url);
  });

  it('var/vars, actions and field/fields live for one request (reference: Foo!, Qwerty)', async () => {
    const response = await query({
      _set: 'vars().set("test-set-1", "Foo!")',
      get1: 'vars().get("test-set-1")',
      get2: 'var("test-set-1")',
      has: 'vars().has("test-set-1")',
      _action: 'actions().set("foo", "Foo")',
      action: 'actions().get("foo")',
      _field: 'fields().set("qwerty", "Qwerty")',
      field1: 'fields().get("qwerty")',
      field2: 'field("qwerty")',
      missing: 'fields().get("_.bar", "Default")',
      _delete: 'fields().delete("qwerty")',
      after: 'field("qwerty")',
    });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, { get1: 'Foo!', get2: 'Foo!', has: true, action: 'Foo', field1: 'Qwerty', field2: 'Qwerty', missing: 'Default', after: null });
    assert.deepEqual(await value('var("test-set-1")'), null, 'vars do not outlive the request');
  });

  it('parsers(): expressions, markdown, textile and shortcodes from the rendering stage', async () => {
    assert.equal(await value('parsers().expressions().eval("2 * 21")'), 42);
    assert.match(await failure('parsers().expressions().eval("1 +")'), /position/);
    assert.equal(await value('parsers().markdown().parse("**foo**")'), '<p><strong>foo</strong></p>\n');
    assert.equal(await value('parsers().textile().parse("**foo**")'), '<p><b>foo</b></p>');
    assert.equal(await value('parsers().shortcodes().parse("(strings upper)foo(/strings)")'), 'FOO');
  });
});

describe('entries, fetch and filesystem (§11.1, §11.6–11.8)', () => {
  it('entries().fetch and has (reference: Foo!, true, false)', () =>
    table([
      ['entries().fetch("data").get("title")', 'Foo!'],
      ['entries().has("data")', true],
      ['entries().has("bar")', false],
      ['entries().fetch("bar").count()', 0],
      ['entries().fetch("blog", {"collection": true}).count()', 2],
      ['collection(entries().fetch("blog", {collection: true, filter: {sort_by: {key: "views", direction: "DESC"}}}).column("title")).getValues()', ['B', 'A']],
      ['entries().registry().count()', 0],
    ]));

  it('private fields are stripped at every depth', async () => {
    const data = (await value('entries().fetch("data")')) as Record<string, unknown>;
    assert.equal(data['_secret'], undefined);
    assert.deepEqual(data['meta'], { a: 1, list: [{ d: 4 }] });
    await table([
      ['entries().fetch("data").get("_secret")', null],
      ['entries().fetch("data").get("meta._b", "gone")', 'gone'],
      ['entries().fetch("data").toJson() contains "hidden"', false],
      ['fetch("data").get("meta.list.0._c", "gone")', 'gone'],
    ]);
  });

  it('tokens do not exist for content', async () => {
    const token = server.token;
    await table([
      [`entries().has("tokens/${token}")`, false],
      ['entries().has("tokens")', false],
      [`entries().fetch("tokens/${token}").count()`, 0],
      ['entries().fetch("tokens", {"collection": true}).count()', 0],
      [`fetch("tokens/${token}").count()`, 0],
      [`filesystem().file("entries/tokens/${token}/token.yaml").exists()`, false],
      [`filesystem().file("entries/tokens/${token}/token.yaml").get()`, false],
    ]);
    const root = (await value('entries().fetch("", {"collection": true})')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(root).sort(), ['blog', 'data']);
    const deep = (await value('entries().fetch("", {"collection": true, "find": {"depth": ">= 1"}})')) as Record<string, unknown>;
    assert.ok(Object.keys(deep).length >= 4 && Object.keys(deep).every((id) => !id.startsWith('tokens')), Object.keys(deep).join());
  });

  it('content cannot write: create/update/delete/move/copy answer false and change nothing', async () => {
    await table([
      ['entries().create("made", {"title": "x"})', false],
      ['entries().update("data", {"title": "changed"})', false],
      ['entries().delete("data")', false],
      ['entries().move("data", "moved")', false],
      ['entries().copy("data", "copied")', false],
      ['[entries().has("made"), entries().has("moved"), entries().has("copied"), entries().fetch("data").get("title")]', [false, false, false, 'Foo!']],
    ]);
  });

  it('fetch(): an entry, else a project file decoded by extension, else empty (reference: Foo!, JSON, FooDefault)', () =>
    table([
      ["fetch('data').get('title')", 'Foo!'],
      ["fetch('data').toJson() starts with '{'", true],
      ["fetch('data').get('foo', 'FooDefault')", 'FooDefault'],
      ["fetch('files/data.json').get('name')", 'Data'],
      ["fetch('project/files/data.yaml').get('name')", 'Yaml'],
      ["fetch('files/note.txt').all()", ['Hello from a file']],
      ["fetch('files/missing.json').count()", 0],
      ["fetch('https://example.org/').count()", 0],
      ["fetch('/etc/passwd').count()", 0],
    ]));

  it('filesystem(): only regular files inside the project (reference: txt)', () =>
    table([
      ['filesystem().file("1.txt").extension()', 'txt'],
      ['filesystem().file("files/note.txt").get()', 'Hello from a file'],
      ['filesystem().file("project/files/note.txt").get()', 'Hello from a file'],
      ['filesystem().file("files/note.txt").exists()', true],
      ['filesystem().file("files/note.txt").size()', 17],
      ['filesystem().file("files/note.txt").basename()', 'note.txt'],
      ['filesystem().file("files/note.txt").name()', 'note'],
      ['filesystem().file("files/note.txt").mimeType()', 'text/plain'],
      ['filesystem().file("files/note.txt").type()', 'file'],
      ['filesystem().file("files/note.txt").hash()', '20fa092c1390a219fef0230712979d17'],
      ['filesystem().file("files/note.txt").isWritable()', false],
      ['filesystem().file("files/note.txt").lastModified() > 0', true],
      ['filesystem().directory("files").exists()', true],
      ['filesystem().directory("files").isDirectory()', true],
      ['filesystem().glob("files/*.json")', ['files/data.json']],
      ['filesystem().glob("files/*")', ['files/data.json', 'files/data.yaml', 'files/note.txt']],
      ['filesystem().isAbsolute("/etc")', true],
      ['filesystem().isWindowsPath("C:\\\\x")', true],
      ['filesystem().isStream("http://x")', true],
      ['filesystem().file("/etc/passwd").get()', false],
      ['filesystem().file("/etc/passwd").exists()', false],
      ['filesystem().file("../../../../etc/passwd").get()', false],
      ['filesystem().file("files/../../x").get()', false],
      ['filesystem().file("files/.env").get()', false],
      ['filesystem().file("files/link-out.txt").get()', false],
      ['filesystem().file("/proc/self/environ").get()', false],
      ['filesystem().file("config/flextype/settings.yaml").get()', false],
      ['filesystem().file("files").get()', false],
      ['filesystem().directory("/etc").exists()', false],
      ['filesystem().glob("/etc/*")', []],
      ['filesystem().glob("../*")', []],
    ]));
});
