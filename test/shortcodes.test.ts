/**
 * Shortcodes (SPEC §9.4 syntax, §9.5 built-ins, §11 confinement): each case is one field of an entry
 * fetched over HTTP, compared exactly. Expected answers come from the reference's tests
 * (`*ShortcodeTest.php`, ShortcodesTest.php) and the shortcode parser library's rules where they
 * exist, else from SPEC and PHP semantics.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, q, removeProject, startTestServer, tempProject, writeStoredText, type TestServer } from './helpers.js';

type Expected = unknown | { test: (value: unknown) => boolean; means: string };
type Case = [text: string, expected: Expected];

const check = (test: (value: unknown) => boolean, means: string) => ({ test, means });
const isCheck = (e: Expected): e is { test: (value: unknown) => boolean; means: string } =>
  typeof e === 'object' && e !== null && typeof (e as { test?: unknown }).test === 'function';
const json = (test: (value: any) => boolean, means: string) => // eslint-disable-line @typescript-eslint/no-explicit-any -- decoded JSON of any shape
  check((v) => {
    try {
      return typeof v === 'string' && test(JSON.parse(v));
    } catch {
      return false;
    }
  }, means);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BASE = 'https://example.org/site';

/** `levels` unknown tags around `inner` (unknown tags render their content once, so depth is plain to see). */
const nest = (levels: number, inner: string) => '(x)'.repeat(levels) + inner + '(/x)'.repeat(levels);
const UPPER_A = '(strings upper)a(/strings)';

/** Case groups; each group is one entry (with `title: "Title"` and a few data fields) whose fields are the cases. */
const GROUPS: Record<string, Case[]> = {
  parser: [
    ['(strings upper)a(/strings)', 'A'],
    ['( strings upper )a(/strings)', 'A'],
    ['(strings   upper    append : x  )a(/strings)', 'Ax'],
    // Names are case-sensitive; unknown names keep their tags, and what is inside still renders.
    ['(Strings upper)a(/Strings)', '(Strings upper)a(/Strings)'],
    ['(x)(strings upper)a(/strings)(/x)', '(x)A(/x)'],
    ['(my-tag_1* k:v flag)(strings upper)a(/strings)(/my-tag_1*)', '(my-tag_1* k:v flag)A(/my-tag_1*)'],
    // Main value: unquoted, quoted, spaces around the separator.
    ['(field:title)', 'Title'],
    ["(field:'title')", 'Title'],
    ['(field : title)', 'Title'],
    // Quoted values hold spaces, parentheses, colons and slashes; unquoted ones stop at `/`.
    ["(strings append:' (a): b/c')x(/strings)", 'x (a): b/c'],
    ['(strings append:a/b)x(/strings)', '(strings append:a/b)x(/strings)'],
    // A backslash pairs with the next character and is never removed.
    ["(strings append:'it\\'s')x(/strings)", "xit\\'s"],
    ['\\(strings upper)a(/strings)', '\\(strings upper)a(/strings)'],
    ['(strings upper)a\\b(/strings)', 'A\\B'],
    // Self-closing, with and without space.
    ['(strings append:x /)', 'x'],
    ['(strings append:x/)', 'x'],
    // A tag whose closing tag never comes has no content; what follows is ordinary text.
    ['(strings upper)abc', 'abc'],
    ['(strings append:X)abc', 'Xabc'],
    ['(strings append:X)abc(/other)', 'Xabc(/other)'],
    ['a (strings upper) b', 'a  b'],
    // Paired tags nest, also with the same name (the innermost closes first).
    ['(strings upper)a(strings reverse)bc(/strings)d(/strings)', 'ACBD'],
    ['(strings upper)a(/strings)-(strings lower)B(/strings)', 'A-b'],
    // Closing tags allow whitespace.
    ['(strings upper)a( / strings )', 'A'],
    // Malformed text stays as written.
    ['(see above)', '(see above)'],
    ["(strings append:'oops)x(/strings)", "(strings append:'oops)x(/strings)"],
    ['(strings upper a(/strings)', '(strings upper a(/strings)'],
    ['text (/strings) more', 'text (/strings) more'],
    ['a ( ) b (: x) c', 'a ( ) b (: x) c'],
    // One pass: a value read from a field that has not rendered yet is inserted as it is.
    ['(field:later)', '(strings upper)a(/strings)'],
    // A tag at nesting level 64 renders; deeper tags stay as written.
    [nest(63, UPPER_A), nest(63, 'A')],
    [nest(64, UPPER_A), nest(64, UPPER_A)],
    [nest(200, UPPER_A), nest(200, UPPER_A)],
  ],
  entries: [
    ["(entries fetch id:'data' field:'title' /)", 'Foo'],
    ["(entries fetch id:'data' field:'nested.a.b' /)", 'deep'],
    ["(entries fetch id:'data' field:'nope' default:'D' /)", 'D'],
    ["(entries fetch id:'data' field:'_secret' default:'D' /)", 'D'],
    ["(entries fetch id:'nope' field:'title' default:'D' /)", 'D'],
    ["(entries fetch id:'nope' /)", '[]'],
    ["(entries fetch id:'data' /)", json((e) => e.title === 'Foo' && e.id === 'data' && e.num === 5 && !('_secret' in e), 'the entry data as JSON, without _secret')],
    ["(entries fetch:'data' /)", ''],
    ["(entries id:'data' field:'title' /)", ''],
    ["(entries fetch id:'(field:_vars.id)' field:'title' /)", 'Blog'],
    ["(entries fetch id:'blog/post-2' field:'(strings lower)TITLE(/strings)' /)", 'Post 2'],
    [
      "@type[array] (entries fetch id:'blog' options:'collection=true&filter[sort_by][key]=title&filter[sort_by][direction]=DESC' /)",
      check((v) => JSON.stringify(Object.keys(v as object)) === '["blog/post-3","blog/post-2","blog/post-1"]', 'the collection keyed by id, sorted DESC'),
    ],
    ["@type[array] (entries fetch id:'(field:_vars.id)' options:'(field:_vars.options)' /)", check((v) => Object.keys(v as object).length === 3, 'a collection of 3')],
    ["@type[array] (entries fetch id:'blog' options:'collection=true&filter[limit]=2' /)", check((v) => Object.keys(v as object).length === 2, 'a collection of 2 (limit typed as an integer)')],
    ["(entries fetch id:'blog' options:'collection=true&filter[sort_by][key]=title&filter[limit]=1' field:'blog/post-1.title' /)", 'Post 1'],
    ["(entries fetch id:'data' options:'collection=true' /)", '[]'],
  ],
  fetch: [
    ["(fetch:data field:'title')", 'Foo'],
    ['(fetch:data)', json((e) => e.title === 'Foo' && !('_secret' in e), 'the entry as JSON')],
    ["(fetch:data field:'foo' default:'FooDefault')", 'FooDefault'],
    ["(fetch resource:'data' field:'category')", 'foo'],
    ["(fetch:'files/info.yaml' field:'name')", 'Flextype'],
    ["(fetch:'files/info.yaml')", '{"name":"Flextype","list":[1,2]}'],
    ["(fetch:'files/info.yaml' field:boo default:Boo)", 'Boo'],
    ["(fetch:'project/files/info.yaml' field:'name')", 'Flextype'],
    ["(fetch:'files/data.json' field:'a.b')", '1'],
    ["(fetch:'files/note.txt')", '["hello"]'],
    // Nothing found answers '' even with a default.
    ["(fetch:'files/nope.yaml' default:'D')", ''],
    ["(fetch:'nope-entry' field:'x' default:'D')", ''],
    ["(fetch:'/etc/passwd')", ''],
    ["(fetch:'files/.hidden')", ''],
  ],
  registry: [
    ["(registry get id:'flextype.settings.timezone')", 'UTC'],
    ["(registry get id:'flextype.settings.entries.directory')", 'entries'],
    ["(registry get id:'flextype.settings.api.query')", '{"enabled":true}'],
    ["(registry get id:'flextype.nope' default:'Default')", 'Default'],
    ["(registry get id:'flextype.nope')", ''],
    ["(registry id:'flextype.settings.timezone')", ''],
    ["(registry get id:'(strings lower)FLEXTYPE.SETTINGS.TIMEZONE(/strings)')", 'UTC'],
  ],
  logic: [
    ["(if:'2 > 1')yes(/if)", 'yes'],
    ["(if:'2>1')yes(/if)", 'yes'],
    ["(if:'2<1')yes(/if)", ''],
    ["(when:'2 > 1')yes(/when)", 'yes'],
    ["(when:'2>1')yes(/when)", 'yes'],
    ["(when:'2<1')yes(/when)", ''],
    ["(unless:'2 > 1')yes(/unless)", ''],
    ["(unless:'2>1')yes(/unless)", ''],
    ["(unless:'2<1')yes(/unless)", 'yes'],
    ["(if:'(field:num) > 3')big(/if)", 'big'],
    // Exactly true / exactly false.
    ["(if:'1')yes(/if)", ''],
    ["(unless:'0')yes(/unless)", ''],
    ["(if:'true')(strings upper)a(/strings)(/if)", 'A'],
    // A condition that fails to parse, or names a variable (there are none), stays as written.
    ["(if:'2 >')x(/if)", "(if:'2 >')x(/if)"],
    ['(if:\'title == "Title"\')x(/if)', '(if:\'title == "Title"\')x(/if)'],
    ['(calc:2+2)', '4'],
    ['(calc)2+2(/calc)', '4'],
    ['(eval:2+2) (eval)2+2(/eval)', '4 4'],
    ['(eval:1)2+3(/eval)', '5'],
    ["(calc:'10/4')", '2.5'],
    ["(calc:'0.1 + 0.2')", '0.3'],
    ["(calc:'1 == 1')", '1'],
    ["(calc:'1 == 2')", ''],
    ["(calc:'[1, 2]')", '[1,2]'],
    ["(calc:'(field:num) * 2')", '10'],
    ["(calc:'1/0') after", "(calc:'1/0') after"],
  ],
  markup: [
    ['(markdown)**Foo**(/markdown)', '<p><strong>Foo</strong></p>\n'],
    ['(markdown) **Foo**', '<p> <strong>Foo</strong></p>'],
    ['(markdown)(strings upper)**a**(/strings)(/markdown)', '<p><strong>A</strong></p>\n'],
    ['(textile)**Foo**(/textile)', '<p><b>Foo</b></p>'],
    ['(textile) **Foo**', '<p> <b>Foo</b></p>'],
    ["(raw)(entries fetch:'foo' field:'title')(/raw)", "(entries fetch:'foo' field:'title')"],
    ['(raw)(strings upper)a(/strings)(/raw)', '(strings upper)a(/strings)'],
    // `strings` renders its content again: what `raw` kept renders there.
    ['(strings lower)(raw)(strings upper)A(/strings)(/raw)(/strings)', 'a'],
    ['(type:int) 10', 10],
    ['(type:string) 10', '10'],
    ['(type:bool) yes', true],
    ['(type) 10', ' 10'],
    ["(tr:foo)", 'foo'],
    ["(tr:hello values:'name=Bob' locale:'en_US')", 'hello'],
    ['(tr)', ''],
    ['(const:PHP_EOL)', '\n'],
    ['(const:DIRECTORY_SEPARATOR)', '/'],
    ['(const:FLEXTYPE_PROJECT_NAME)', 'project'],
    ['(const:FLEXTYPE_ROOT_DIR)', ''],
    ['(const:FLEXTYPE_PATH_PROJECT)', ''],
    ['(const:M_PI)', '3.1415926535898'],
    ['(const)', ''],
    // PHP never runs, `compile` is not provided: tags stay.
    ['(php)echo "Foo";(/php)', '(php)echo "Foo";(/php)'],
    ['(compile)1+1(/compile)', '(compile)1+1(/compile)'],
  ],
  time: [
    ["(date:'Y')", String(new Date().getUTCFullYear())],
    ["(date:'\\Y')", 'Y'],
    ['(date)', check((v) => typeof v === 'string' && /^\d{2}-\d{2}-\d{4} \d{2}:\d{2}$/.test(v), 'now as d-m-Y H:i')],
    ["(date:'D, d M Y H:i:s')", check((v) => typeof v === 'string' && /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2}$/.test(v), 'an RFC-like date')],
    ['(uuid)', check((v) => typeof v === 'string' && UUID_V4.test(v), 'a v4 UUID')],
    ['(uuid:4)', check((v) => typeof v === 'string' && UUID_V4.test(v), 'a v4 UUID')],
    ['(uuid:1)', check((v) => typeof v === 'string' && UUID_V4.test(v), 'a v4 UUID')],
    ['(uuid) (uuid)', check((v) => typeof v === 'string' && /^\S+ \S+$/.test(v) && v.split(' ')[0] !== v.split(' ')[1], 'two different UUIDs')],
  ],
  url: [
    ["(url:'foo/bar')", `${BASE}/foo/bar`],
    ["(url:'/foo//bar/')", `${BASE}/foo/bar`],
    ["(url:'a' prefix:'project')", `${BASE}/project/a`],
    ['(url)', BASE],
    ['(url:foo/bar)', '(url:foo/bar)'],
    ['(getBaseUrl)', BASE],
    ['(getBasePath)', ''],
    ['(getProjectUrl)', `${BASE}/project`],
    ["(urlFor routeName:'entries.fetch')", '/api/v1/entries'],
    ["(urlFor routeName:'entries.fetch' queryParams:'{\"id\":\"a b\"}')", '/api/v1/entries?id=a+b'],
    ["(urlFor routeName:'registry.get')", '/api/v1/registry'],
    ["(urlFor routeName:'query.evaluate')", '/api/v1/query'],
    ["(urlFor routeName:'nope')", "(urlFor routeName:'nope')"],
  ],
  filesystem: [
    ["(filesystem get file:'files/note.txt')", 'hello'],
    ["(filesystem get file:'project/files/note.txt')", 'hello'],
    ["(filesystem file:'files/note.txt')", ''],
    ["(filesystem get file:'files/nope.txt')", ''],
    ["(filesystem get file:'/etc/passwd')", ''],
    ["(filesystem get file:'files/../../outside.txt')", ''],
    ["(filesystem get file:'files/.hidden')", ''],
    ["(filesystem get file:'.hidden-root')", ''],
    ["(filesystem get file:'files/link.txt')", ''],
  ],
};

/** The reference's FieldShortcodeTest entry, plus our rules for private and added fields. */
const FIELD_ENTRY: Record<string, unknown> = {
  title: 'Title',
  num: 5,
  flag: true,
  nothing: null,
  nested: { a: 'x', b: [1, 2] },
  'test-get-1': '(field:title)',
  'test-get-2': '(field get:title)',
  'test-get-3': '(field get:foo default:Foo)',
  'test-get-4': '(field get:foo)Foo(/field)',
  'test-get-5': '(field get:title default:X)',
  'test-get-6': '(field get:nothing default:D)',
  'test-get-7': "(field get:foo default:'(strings upper)d(/strings)')",
  'test-get-8': '(field get:foo)(strings upper)d(/strings)(/field)',
  'test-num': '(field:num)',
  'test-flag': '(field:flag)',
  'test-map': '(field:nested)',
  'test-set-1': '(field set:bar1 value:Bar1)(field:bar1)',
  'test-set-2': '(field set:bar2)Bar2(/field)(field:bar2)',
  'test-set-3': '(field set:level1.level2.level3)Multilevel(/field)(field:level1.level2.level3)',
  'test-set-4': '(field set:_.foo)Foo(/field)(field:_.foo)',
  'test-set-5': "(field set:copy value:'(field:title)!')(field:copy)",
  'test-unset-1': '(field unset:bar1)(field:bar1)',
  'test-delete-1': '(field delete:bar1)(field:bar1)',
};
const FIELD_EXPECTED: Record<string, unknown> = {
  'test-get-1': 'Title',
  'test-get-2': 'Title',
  'test-get-3': 'Foo',
  'test-get-4': 'Foo',
  'test-get-5': 'Title',
  'test-get-6': 'D',
  // `default` is not rendered; content is.
  'test-get-7': '(strings upper)d(/strings)',
  'test-get-8': 'D',
  'test-num': '5',
  'test-flag': '1',
  'test-map': '{"a":"x","b":[1,2]}',
  'test-set-1': 'Bar1',
  'test-set-2': 'Bar2',
  'test-set-3': 'Multilevel',
  'test-set-4': 'Foo',
  'test-set-5': 'Title!',
  'test-unset-1': '',
  'test-delete-1': '',
};

/** The reference's VarShortcodeTest entry; variables are shared with entries fetched in the same request. */
const VAR_ENTRY: Record<string, unknown> = {
  title: 'Title',
  'test-set-1': '(var set:bar1 value:Bar1)(var:bar1)',
  'test-set-2': '(var set:bar2)Bar2(/var)(var:bar2)',
  'test-set-3': '(var set:level1.level2.level3)Multilevel(/var)(var:level1.level2.level3)',
  'test-set-4': '(var set:_.foo)Foo(/var)(var:_.foo)',
  'test-get-1': '(var:bar1)',
  'test-get-3': '(var get:foo default:Foo)',
  'test-get-4': '(var get:foo)Foo(/var)',
  'test-unset-1': '(var unset:bar1)(var:bar1)',
  'test-delete-1': '(var delete:bar1)(var:bar1)',
  'test-shared': "(var set:greeting value:Hello)(entries fetch id:'var-reader' field:'x' /)",
};
const VAR_EXPECTED: Record<string, unknown> = {
  'test-set-1': 'Bar1',
  'test-set-2': 'Bar2',
  'test-set-3': 'Multilevel',
  'test-set-4': 'Foo',
  'test-get-1': 'Bar1',
  'test-get-3': 'Foo',
  'test-get-4': 'Foo',
  'test-unset-1': '',
  'test-delete-1': '',
  'test-shared': 'Hello World',
};

const idOf = (group: string) => `sc-${group}`;
const fieldOf = (i: number) => `c${String(i).padStart(3, '0')}`;

const jsonEntryText = (fields: Record<string, unknown>): string => `---json\n${JSON.stringify(fields, null, 2)}\n---\n`;

function writeJsonEntry(projectDir: string, id: string, fields: Record<string, unknown>): void {
  const dir = path.join(projectDir, 'entries', ...id.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'entry.md'), jsonEntryText(fields));
}

/** After start: the entry's text through the running server's engine (its file, or its row). */
const storeJsonEntry = (id: string, fields: Record<string, unknown>): Promise<void> => writeStoredText(server, id, jsonEntryText(fields));

/** Data entries and project files the cases read. */
function writeFixtures(projectDir: string): void {
  writeJsonEntry(projectDir, 'data', { title: 'Foo', category: 'foo', nested: { a: { b: 'deep' } }, num: 5, _secret: 'hidden' });
  writeJsonEntry(projectDir, 'blog', { title: 'Blog' });
  for (const n of [1, 2, 3]) writeJsonEntry(projectDir, `blog/post-${n}`, { title: `Post ${n}` });
  writeJsonEntry(projectDir, 'var-reader', { x: '(var:greeting) World' });
  const files = path.join(projectDir, 'files');
  mkdirSync(files, { recursive: true });
  writeFileSync(path.join(files, 'note.txt'), 'hello');
  writeFileSync(path.join(files, 'info.yaml'), 'name: Flextype\nlist: [1, 2]\n');
  writeFileSync(path.join(files, 'data.json'), '{"a": {"b": 1}}');
  writeFileSync(path.join(files, '.hidden'), 'secret');
  writeFileSync(path.join(projectDir, '.hidden-root'), 'secret');
  writeFileSync(path.join(projectDir, '..', 'outside.txt'), 'outside');
  symlinkSync(path.join(projectDir, '..', 'outside.txt'), path.join(files, 'link.txt'));
}

function differences(body: Record<string, unknown>, cases: Array<[label: string, field: string, expected: Expected]>): string[] {
  const wrong: string[] = [];
  for (const [label, field, expected] of cases) {
    const value = body[field];
    const ok = isCheck(expected) ? expected.test(value) : JSON.stringify(value) === JSON.stringify(expected);
    if (!ok) wrong.push(`${JSON.stringify(label)}\n    expected ${isCheck(expected) ? expected.means : JSON.stringify(expected)}\n    got      ${JSON.stringify(value)}`);
  }
  return wrong;
}

let server: TestServer;
let projectDir: string;
const get = (id: string, target: TestServer = server) => call(target.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(target.token)}` });

before(async () => {
  // The project sits in its own folder so that `../outside.txt` is a real file outside it.
  projectDir = path.join(tempProject(false), 'project');
  mkdirSync(projectDir);
  writeFixtures(projectDir);
  for (const [group, cases] of Object.entries(GROUPS)) {
    const fields: Record<string, unknown> = { title: 'Title', num: 5, _vars: { id: 'blog', options: 'collection=true' } };
    cases.forEach(([text], i) => (fields[fieldOf(i)] = text));
    fields['later'] = '(strings upper)a(/strings)';
    writeJsonEntry(projectDir, idOf(group), fields);
  }
  writeJsonEntry(projectDir, 'sc-field', FIELD_ENTRY);
  writeJsonEntry(projectDir, 'sc-var', VAR_ENTRY);
  writeJsonEntry(projectDir, 'sc-request', { uri: '(getUriString)', absolute: '(getAbsoluteUrl)' });
  writeJsonEntry(projectDir, 'sc-var-alone', { x: '(var:greeting)|(var:bar1)' });
  server = await startTestServer({ projectDir, settings: { base_url: BASE } });
});

after(async () => {
  await server.close();
  removeProject(path.dirname(projectDir));
});

describe('shortcodes in entry fields', () => {
  for (const [group, cases] of Object.entries(GROUPS)) {
    it(`${group} (${cases.length} cases)`, async () => {
      const res = await get(idOf(group));
      assert.equal(res.status, 200, res.text);
      const wrong = differences(res.body, cases.map(([text, expected], i) => [text, fieldOf(i), expected]));
      assert.equal(wrong.length, 0, `${wrong.length} of ${cases.length} cases differ:\n  ${wrong.join('\n  ')}`);
    });
  }

  it('(date:U) is the current Unix time', async () => {
    await storeJsonEntry('sc-unix', { now: '(date:U)' });
    const before = Math.floor(Date.now() / 1000);
    const res = await get('sc-unix');
    const afterCall = Math.ceil(Date.now() / 1000);
    assert.equal(res.status, 200, res.text);
    const now = Number(res.body.now);
    assert.ok(Number.isInteger(now) && now >= before && now <= afterCall, `got ${res.body.now}`);
  });

  it('field: every form of the reference test; set fields join the answer, `_` ones stay private', async () => {
    const res = await get('sc-field');
    assert.equal(res.status, 200, res.text);
    const wrong = differences(res.body, Object.entries(FIELD_EXPECTED).map(([field, expected]) => [`${field}: ${String(FIELD_ENTRY[field])}`, field, expected]));
    assert.equal(wrong.length, 0, wrong.join('\n  '));
    assert.equal(res.body.bar2, 'Bar2');
    assert.equal(res.body.copy, 'Title!');
    assert.deepEqual(res.body.level1, { level2: { level3: 'Multilevel' } });
    assert.equal('bar1' in res.body, false, 'deleted at the end');
    assert.equal('_' in res.body, false, '`_` fields are never answered');
  });

  it('var: every form of the reference test, shared with entries fetched in the same request', async () => {
    const res = await get('sc-var');
    assert.equal(res.status, 200, res.text);
    const wrong = differences(res.body, Object.entries(VAR_EXPECTED).map(([field, expected]) => [`${field}: ${String(VAR_ENTRY[field])}`, field, expected]));
    assert.equal(wrong.length, 0, wrong.join('\n  '));
    assert.equal('bar2' in res.body, false, 'variables are not fields');
  });

  it('var: variables live for one request only', async () => {
    await get('sc-var');
    const res = await get('sc-var-alone');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.x, '|');
  });

  it('request URL shortcodes answer this request, never a cached earlier one', async () => {
    for (const query of [`id=sc-request&token=${q(server.token)}`, `token=${q(server.token)}&id=sc-request`]) {
      const res = await call(server.base, 'GET', '/entries', { query });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.uri, `/api/v1/entries?${query}`);
      assert.equal(res.body.absolute, `${BASE}/api/v1/entries?${query}`);
    }
  });

  it('(registry get) of the manifest answers what the Registry API answers', async () => {
    await storeJsonEntry('sc-manifest', { name: "(registry get id:'flextype.manifest.name')", manifest: "(registry get id:'flextype.manifest')" });
    const registry = await call(server.base, 'GET', '/registry', { query: `id=flextype.manifest&token=${q(server.token)}` });
    assert.equal(registry.status, 200, registry.text);
    const res = await get('sc-manifest');
    assert.equal(res.status, 200, res.text);
    const manifest = registry.body.value;
    assert.equal(res.body.name, manifest.name);
    assert.deepEqual(JSON.parse(res.body.manifest), manifest);
  });

  it('reads no token entry (§11.6)', async () => {
    await storeJsonEntry('sc-tokens', {
      file: `(filesystem get file:'entries/tokens/${server.token}/token.yaml')`,
      fetched: `(fetch:'entries/tokens/${server.token}/token.yaml')`,
      entry: `(entries fetch id:'tokens/${server.token}' /)`,
      list: "(entries fetch id:'tokens' options:'collection=true' /)",
    });
    const res = await get('sc-tokens');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.body.file, res.body.fetched, res.body.entry, res.body.list], ['', '', '[]', '[]']);
  });
});

describe('shortcodes switched off in the project settings', () => {
  let off: TestServer;
  let offDir: string;
  const CASES: Case[] = [
    ['(strings upper)a(/strings)', '(strings upper)a(/strings)'],
    ['(x)(strings upper)a(/strings)(/x)', '(x)(strings upper)a(/strings)(/x)'],
    ['(calc:2+2)', '(calc:2+2)'],
    ['(getBaseUrl)', '(getBaseUrl)'],
    ["(url:'a')", "(url:'a')"],
    ['(tr:foo)', '(tr:foo)'],
    ['(php)echo 1;(/php)', '(php)echo 1;(/php)'],
    // Sub-switches make the shortcode answer ''.
    ["(entries fetch id:'data' field:'title' /)", ''],
    ["(registry get id:'flextype.settings.timezone')", ''],
    ["(filesystem get file:'files/note.txt')", ''],
    // Others still work.
    ['(field:title)', 'Title'],
    ['(eval:1+1)', '2'],
  ];

  before(async () => {
    offDir = tempProject(false);
    writeJsonEntry(offDir, 'data', { title: 'Foo' });
    mkdirSync(path.join(offDir, 'files'));
    writeFileSync(path.join(offDir, 'files', 'note.txt'), 'hello');
    writeJsonEntry(offDir, 'off', { title: 'Title', ...Object.fromEntries(CASES.map(([text], i) => [fieldOf(i), text])) });
    off = await startTestServer({
      projectDir: offDir,
      settings: {
        parsers: {
          shortcodes: {
            shortcodes: {
              strings: { enabled: false },
              calc: { enabled: false },
              url: { enabled: false },
              i18n: { enabled: false },
              php: { enabled: true },
              entries: { fetch: { enabled: false } },
              registry: { get: { enabled: false } },
              filesystem: { get: { enabled: false } },
            },
          },
        },
      },
    });
  });

  after(async () => {
    await off.close();
    rmSync(offDir, { recursive: true, force: true });
  });

  it(`tags of disabled shortcodes stay as written (${CASES.length} cases)`, async () => {
    const res = await get('off', off);
    assert.equal(res.status, 200, res.text);
    const wrong = differences(res.body, CASES.map(([text, expected], i) => [text, fieldOf(i), expected]));
    assert.equal(wrong.length, 0, `${wrong.length} of ${CASES.length} cases differ:\n  ${wrong.join('\n  ')}`);
  });
});
