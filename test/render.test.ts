/**
 * The rendering stage through HTTP (SPEC §9.1–§9.3, §9.9, §9.10, §11): directives in order, every
 * `@type[…]` marker, markers and opt-outs, settings, field visibility while rendering, system field
 * order, macros, the safety rules, a render cache that is never stale, collections that filter
 * rendered items, and rendered answers of writes. Entries are real files in a temp project.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, editOutside, q, startTestServer, storedText, tempProject, type ApiResponse, type TestServer } from './helpers.js';

const BOUND_MS = 10_000;

/** Polls `probe` until `done` holds or the bound passes; returns the last value seen. */
async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, boundMs = BOUND_MS): Promise<T> {
  const deadline = Date.now() + boundMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await probe();
  }
  return value;
}

/**
 * A frontmatter file: each field on one line as JSON (valid YAML flow), in the given order, then
 * the body. JSON keeps strings such as `@type[int] 5` from being read as YAML syntax.
 */
function frontmatter(fields: Record<string, unknown>, body = ''): string {
  const lines = Object.entries(fields).map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`);
  return `---\n${lines.join('\n')}\n---\n${body}`;
}

function writeEntry(projectDir: string, id: string, text: string): void {
  const dir = path.join(projectDir, 'entries', ...id.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'entry.md'), text);
}

/** A fresh project holding these entries (id → file text). */
function projectWith(entries: Record<string, string>): string {
  const dir = tempProject(false);
  for (const [id, text] of Object.entries(entries)) writeEntry(dir, id, text);
  return dir;
}

const get = (t: TestServer, id: string, extra = '', headers: Record<string, string> = {}): Promise<ApiResponse> =>
  call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}${extra}`, headers });

const write = (t: TestServer, method: string, endpoint: string, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(t.base, method, endpoint, { json: { token: t.token, access_token: t.accessToken, ...params }, headers });

async function ok(t: TestServer, id: string, extra = ''): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary JSON
  const res = await get(t, id, extra);
  assert.equal(res.status, 200, `${id}: ${res.text}`);
  return res.body;
}

const SYSTEM_TAIL = ['slug', 'published_at', 'modified_at', 'created_at', 'routable', 'visibility', 'id'];

describe('rendering with the default settings', () => {
  let t: TestServer;
  let projectDir: string;

  before(async () => {
    projectDir = projectWith({
      // Directive order.
      'd/order': frontmatter({
        answer: '@type[int] [[ 2*21 ]]',
        upper: "(strings upper)[[ 'a' ~ 'b' ]](/strings)",
        rawCannotProtect: '(raw)[[ 1+1 ]](/raw)',
        shortcodeOutputNotEvaluated: '(raw)[(/raw)[ 1+1 ]]',
        markdownAfterShortcodes: '@markdown (strings upper)**hi**(/strings)',
        typeAfterMarkdown: '@type[string] @markdown x',
      }),
      // Every @type marker.
      'd/types': frontmatter({
        i1: '@type[int] 12abc',
        i2: '@type[integer] 1.9',
        i3: '@type[int] 1e3',
        i4: '@type[int] 0x1A',
        i5: '@type[int] abc',
        i6: '@type[int]',
        i7: '@type[int] 99999999999999999999',
        i8: '@type[int] -99999999999999999999',
        i9: '@type[int]   -7  ',
        i10: '@type[int] 5 @type[string]',
        f1: '@type[float] 1.5e3',
        f2: '@type[float] .5',
        f3: '@type[float] 1,5',
        f4: '@type[float] abc',
        f5: '@type[float] -2.25',
        b1: '@type[bool] 0',
        b2: '@type[bool] false',
        b3: '@type[boolean] OFF',
        b4: '@type[bool] no',
        b5: '@type[bool]',
        b6: '@type[bool] yes',
        b7: '@type[boolean] 1',
        b8: '@type[bool] anything',
        a1: '@type[array] {"b":1,"a":[1,2]}',
        a2: '@type[array] 123',
        a3: '@type[array] foo=bar&a[]=1',
        a4: '@type[array] foo',
        a5: '@type[array]',
        a6: '@type[array] a+b=c%21&x.y=1',
        a7: '@type[array] [1,"two"]',
        c1: '@type[collection] {"a":1}',
        c2: '@type[collection] foo=bar',
        j1: '@type[json]  {"a": 1} ',
        j2: '@type[json] foo=Foo',
        j3: '@type[json]',
        j4: '@type[json] a[]=1&a[]=2',
        s1: '@type[string]   hi  ',
        s2: '@type[string] 42',
        n1: '@type[null] x',
        u1: '@type[date] 2020',
      }),
      // Markers, trimming, opt-outs, php.
      'd/markers': frontmatter({
        md: '@markdown **Hi**',
        mdTwice: '@markdown a @markdown',
        textile: '@textile **Foo**',
        short: '@shortcodes (strings upper)a(/strings)',
        plainMarkdownText: '**not markdown**',
        noExpr: '!expressions [[ 1+1 ]]',
        noShort: '!shortcodes (strings upper)a(/strings) [[ 1+1 ]]',
        noMd: '!markdown @markdown **x**',
        noTextile: '!textile @textile **x**',
        noTypes: '!types @type[int] 5',
        php: '@php echo 1;',
        phpTag: '(php)echo 1;(/php)',
      }),
      // Nested data and non-strings.
      'd/nested': frontmatter({
        map: { a: { b: '[[ 1+1 ]]' }, list: ['@type[int] 3', { c: '(strings upper)x(/strings)' }] },
        n: 5,
        f: 1.5,
        yes: true,
        nothing: null,
        plain: 'just text',
        'a.b': '[[ 1 ]]',
        fromMap: '[[ map.a.b ~ map.list[0] ]]',
      }),
      // Field visibility while rendering.
      'd/fields': frontmatter({
        a: "[[ 'x' ~ 'y' ]]",
        b: '[[ a ]]|(field:a)|(field:c)',
        c: '[[ 1+1 ]]',
        s: "(field set:added value:'hello')done",
        later: '(field:added)',
        hidden: "(field set:_hush value:'p')",
        _secret: 'shh',
        shown: '[[ _secret ]]|(field:_secret)',
        setLater: "(field set:z value:'early')(field set:plainLater value:'early')[% fields().set('viaExpr', 'e') %](field:z)|[[ field('viaExpr') ]]",
        plainLater: 'stored',
        z: '[[ 20+1 ]]',
        readsViaExpr: '[[ viaExpr ]]',
        rawText: '(raw)(strings upper)x(/strings)(/raw)',
        byShortcode: '(field:rawText)',
        byExpression: '[[ rawText ]]',
      }),
      // System fields and order.
      'sys/plain': frontmatter({ title: 'Bikes' }),
      'sys/rendered': frontmatter({ title: "[[ 'Bi' ~ 'kes' ]]" }),
      'sys/stored': frontmatter({ visibility: 'nonsense', id: 'sys/stored', title: 'T' }),
      'sys/draft': frontmatter({ title: 'D', visibility: 'draft' }),
      // Macros.
      'm/data': frontmatter({ title: 'Data', nested: { x: 1 } }, 'Body'),
      'm/rawsrc': frontmatter({ t: '(raw)(strings upper)a(/strings)(/raw)' }),
      'm/list': frontmatter({ title: 'List' }),
      'm/list/a': frontmatter({ title: 'A', rank: 3 }),
      'm/list/b': frontmatter({ title: 'B', rank: 1 }),
      'm/list/c': frontmatter({ title: 'C', rank: 2 }),
      'm/host': frontmatter({
        title: 'Host',
        author: { name: 'Stored', extra: 'x' },
        data: 'stored, replaced',
        macros: {
          registry: {
            get: {
              charset: { id: 'flextype.settings.charset' },
              'site.locale': { id: 'flextype.settings.locale' },
              'site.timezone': { id: 'flextype.settings.timezone' },
              'author.name': { id: 'flextype.settings.charset' },
              fallback: { id: 'flextype.settings.no_such_key', default: 'Fallback' },
              missing: { id: 'flextype.settings.no_such_key' },
              noIdRegistry: { default: 'x' },
            },
          },
          entries: {
            fetch: {
              data: { id: 'm/data' },
              asJson: { id: 'm/data', type: 'json' },
              asArray: { id: 'm/data', type: 'array' },
              withResult: { id: 'm/data', result: 'toJson' },
              items: {
                id: 'm/list',
                options: {
                  collection: true,
                  filter: { where: [{ key: 'rank', operator: '>', value: 1 }], sort_by: { key: 'rank', direction: 'ASC' }, limit: 1 },
                },
              },
              all: { id: 'm/list', options: { collection: 'true' } },
              gone: { id: 'm/nothing' },
              emptyCollection: { id: 'm/data', options: { collection: true } },
              embeddedRaw: { id: 'm/rawsrc' },
              asCollectionType: { id: 'm/data', type: 'collection' },
              unknownType: { id: 'm/data', type: 'weird' },
              notCollection: { id: 'm/list', options: { collection: 'false' } },
              noId: { type: 'json' },
            },
          },
        },
      }),
      'm/debug': frontmatter({ title: 'Dbg', macros: { debug: true, registry: { get: { x: { id: 'flextype.settings.charset' } } } } }),
      'm/debug-text': frontmatter({ title: 'Dbg', macros: { debug: 'true', registry: { get: { x: { id: 'flextype.settings.charset' } } } } }),
      'l1': frontmatter({ title: 'L1', macros: { entries: { fetch: { root: { id: 'l1/l2' } } } } }),
      'l1/l2': frontmatter({ title: 'L2', macros: { entries: { fetch: { root: { id: 'l1/l2/l3' } } } } }),
      'l1/l2/l3': frontmatter({ title: 'L3', macros: { entries: { fetch: { root: { id: 'l1/l2/l3/l4' } } } } }),
      'l1/l2/l3/l4': frontmatter({ title: 'L4', deep: '[[ 3+1 ]]' }),
      // §11: private fields of others, cycles, errors, limits, read-only registry.
      'p/secretive': frontmatter({ title: 'S', _top: 'x', pub: { _nested: 'y', ok: 1 }, list: [{ _z: 1, k: 2 }] }),
      'p/box': frontmatter({ title: 'Box' }),
      'p/box/s1': frontmatter({ title: 'S1', _x: 1, deep: { list: [{ _y: 2, keep: 3 }] } }),
      'p/reader': frontmatter({
        title: 'R',
        boxJson: "[[ entries().fetch('p/box', {'collection': true}).toJson() ]]",
        boxShortcode: "(entries fetch id:'p/box' options:'collection=true')",
        viaFetch: "(fetch:'p/secretive' field:'pub')",
        viaShortcode: "(entries fetch id:'p/secretive' field:'pub')",
        nestedPrivate: "[[ entries().fetch('p/secretive').get('pub._nested', 'none') ]]",
        topPrivate: "(entries fetch id:'p/secretive' field:'_top' default:'none')",
        macros: { entries: { fetch: { other: { id: 'p/secretive' }, box: { id: 'p/box', options: { collection: true } } } } },
      }),
      'c/self': frontmatter({
        title: 'Self',
        t: "(entries fetch id:'c/self' field:'title' default:'cut')",
        macros: { entries: { fetch: { self: { id: 'c/self' } } } },
      }),
      'c/a': frontmatter({ title: 'A', macros: { entries: { fetch: { b: { id: 'c/b' } } } } }),
      'c/b': frontmatter({ title: 'B', macros: { entries: { fetch: { a: { id: 'c/a' } } } } }),
      'c/sa': frontmatter({ t: "(entries fetch id:'c/sb' field:'t')", n: "[[ entries().fetch('c/sa').count() ]]" }),
      'c/sb': frontmatter({ t: "(entries fetch id:'c/sa' field:'t' default:'cut')" }),
      'e/bad': frontmatter({
        a: 'ok [[ 1 + ]] then [[ 2+2 ]]',
        b: "(strings upper)x(/strings) (see above) ('unterminated",
        c: '[[ 1/0 ]] and [[ unknownfn() ]] and [[ nope ]] and [[ 3*3 ]]',
        d: '(strings upper)a(/strings) (/strings) (strings',
        repeat: '(strings repeat:999999999)ab(/strings) after',
        range: '[[ 1..1000000000 ]] after [[ 1+1 ]]',
        set: "[% registry().set('flextype.settings.charset', 'X') %]|[[ registry().set('a', 1) ]]",
        charset: "[[ registry().get('flextype.settings.charset') ]]",
      }),
      // Collections render each item before filters.
      'w': frontmatter({ title: 'W' }),
      'w/a': frontmatter({ n: '@type[int] 5', g: 'x' }),
      'w/b': frontmatter({ n: '@type[int] 12', g: 'y' }),
      'w/c': frontmatter({ n: '@type[int] 7', g: 'x' }),
      'w-host': frontmatter({
        big: "[[ entries().fetch('w', {'collection': true, 'filter': {'where': [{'key': 'n', 'operator': '>', 'value': 6}]}}).count() ]]",
        macros: { entries: { fetch: { bigItems: { id: 'w', options: { collection: true, filter: { where: [{ key: 'n', operator: 'gte', value: 7 }], sort_by: { key: 'n', direction: 'DESC' } } } } } } },
      }),
      'wm': frontmatter({ title: 'WM' }),
      'wm/a': frontmatter({ _private: 1, label: "[[ 'a' ~ charset ]]", macros: { registry: { get: { charset: { id: 'flextype.settings.charset' } } } } }),
      'wm/b': frontmatter({ label: 'plain b' }),
    });
    t = await startTestServer({ projectDir });
  });
  after(async () => t.close());

  describe('directives (§9.2)', () => {
    it('run in order: expressions → shortcodes → markdown → textile → types', async () => {
      const e = await ok(t, 'd/order');
      assert.equal(e.answer, 42);
      assert.equal(e.upper, 'AB');
      assert.equal(e.rawCannotProtect, '2');
      assert.equal(e.shortcodeOutputNotEvaluated, '[[ 1+1 ]]');
      assert.equal(e.markdownAfterShortcodes, '<p> <strong>HI</strong></p>');
      // Markdown wraps first, then the type marker (inside the HTML) converts what is left.
      assert.equal(e.typeAfterMarkdown, '<p>  x</p>');
    });

    it('converts every @type marker as PHP casts do (§9.3)', async () => {
      const e = await ok(t, 'd/types');
      const expected: Record<string, unknown> = {
        i1: 12, i2: 1, i3: 1000, i4: 0, i5: 0, i6: 0, i7: 9007199254740991, i8: -9007199254740991, i9: -7, i10: 5,
        f1: 1500, f2: 0.5, f3: 1, f4: 0, f5: -2.25,
        b1: false, b2: false, b3: false, b4: false, b5: false, b6: true, b7: true, b8: true,
        a1: { b: 1, a: [1, 2] }, a2: 123, a3: { foo: 'bar', a: ['1'] }, a4: { foo: '' }, a5: [], a6: { a_b: 'c!', x_y: '1' }, a7: [1, 'two'],
        c1: { a: 1 }, c2: { foo: 'bar' },
        j1: '{"a": 1}', j2: '{"foo":"Foo"}', j3: '[]', j4: '{"a":["1","2"]}',
        s1: 'hi', s2: '42',
        n1: null,
        u1: '@type[date] 2020',
      };
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(e[key], value, key);
      // Key order of a decoded JSON object is kept.
      assert.deepEqual(Object.keys(e.a1), ['b', 'a']);
    });

    it('markers trigger, are removed and the result trimmed; opt-outs keep their marker; php stays', async () => {
      const e = await ok(t, 'd/markers');
      assert.equal(e.md, '<p> <strong>Hi</strong></p>');
      assert.equal(e.mdTwice, '<p> a </p>');
      assert.equal(e.textile, '<p> <b>Foo</b></p>');
      assert.equal(e.short, 'A');
      assert.equal(e.plainMarkdownText, '**not markdown**');
      assert.equal(e.noExpr, '!expressions [[ 1+1 ]]');
      assert.equal(e.noShort, '!shortcodes (strings upper)a(/strings) 2');
      assert.equal(e.noMd, '!markdown @markdown **x**');
      assert.equal(e.noTextile, '!textile @textile **x**');
      assert.equal(e.noTypes, '!types @type[int] 5');
      assert.equal(e.php, '@php echo 1;');
      assert.equal(e.phpTag, '(php)echo 1;(/php)');
    });

    it('render nested maps and lists and leave non-strings untouched', async () => {
      const e = await ok(t, 'd/nested');
      assert.deepEqual(e.map, { a: { b: '2' }, list: [3, { c: 'X' }] });
      assert.equal(e.n, 5);
      assert.equal(e.f, 1.5);
      assert.equal(e.yes, true);
      assert.equal(e.nothing, null);
      assert.equal(e.plain, 'just text');
      // [ours] a dotted key stays as stored (the reference turns it into nesting).
      assert.equal(e['a.b'], '1');
      assert.equal('a' in e, false);
      // Earlier fields are seen rendered: the list item is already the integer 3.
      assert.equal(e.fromMap, '23');
    });

    it('a single entry filter sees the rendered fields', async () => {
      const e = await ok(t, 'd/types', '&options[filter][only][0]=i1&options[filter][only][1]=a4');
      assert.deepEqual(e, { i1: 12, a4: { foo: '' } });
    });

    it('see earlier fields rendered and later ones raw; field set adds a field; _ fields are readable but never answered', async () => {
      const e = await ok(t, 'd/fields');
      assert.equal(e.a, 'xy');
      assert.equal(e.b, 'xy|xy|[[ 1+1 ]]');
      assert.equal(e.c, '2');
      assert.equal(e.s, 'done');
      assert.equal(e.added, 'hello');
      assert.equal(e.later, 'hello');
      assert.equal(e.hidden, '');
      assert.equal(e.shown, 'shh|shh');
      assert.equal('_secret' in e, false);
      assert.equal('_hush' in e, false);
      // A field set early that is rendered later gets its own rendered value back.
      assert.equal(e.setLater, 'early|e');
      assert.equal(e.z, '21');
      assert.equal(e.plainLater, 'stored');
      assert.equal(e.viaExpr, 'e');
      assert.equal(e.readsViaExpr, 'e');
      // A value read from another field is inserted as it is (one pass), but expression output
      // still meets the shortcodes directive of the same leaf.
      assert.equal(e.rawText, '(strings upper)x(/strings)');
      assert.equal(e.byShortcode, '(strings upper)x(/strings)');
      assert.equal(e.byExpression, 'X');
    });
  });

  describe('system fields (§1 field order)', () => {
    it('appends the missing system fields in the reference order after the stored ones and content', async () => {
      for (const id of ['sys/plain', 'sys/rendered']) {
        const e = await ok(t, id);
        assert.deepEqual(Object.keys(e), ['title', 'content', ...SYSTEM_TAIL], id);
        assert.equal(e.title, 'Bikes');
        assert.equal(e.content, '');
        assert.equal(e.slug, id.split('/')[1]);
        assert.equal(e.routable, true);
        assert.equal(e.visibility, 'visible');
        assert.equal(e.id, id);
        for (const key of ['published_at', 'modified_at', 'created_at']) assert.ok(Number.isInteger(e[key]), key);
      }
    });

    it('keeps stored system fields in their position, an invalid visibility answered as visible', async () => {
      const e = await ok(t, 'sys/stored');
      assert.deepEqual(Object.keys(e), ['visibility', 'id', 'title', 'content', 'slug', 'published_at', 'modified_at', 'created_at', 'routable']);
      assert.equal(e.visibility, 'visible');
      assert.equal(e.id, 'sys/stored');
      assert.equal((await ok(t, 'sys/draft')).visibility, 'draft');
    });
  });

  describe('macros (§9.10)', () => {
    it('registry.get: dotted names build nesting, default, missing → [], shallow merge replaces stored fields', async () => {
      const e = await ok(t, 'm/host');
      assert.equal(e.charset, 'UTF-8');
      assert.deepEqual(e.site, { locale: 'en_US', timezone: 'UTC' });
      assert.deepEqual(e.author, { name: 'UTF-8' });
      assert.equal(e.fallback, 'Fallback');
      assert.deepEqual(e.missing, []);
      assert.equal('macros' in e, false);
    });

    it('entries.fetch: an entry, json text, array, a filtered collection, missing and empty → []', async () => {
      const e = await ok(t, 'm/host');
      const data = await ok(t, 'm/data');
      assert.equal(data.title, 'Data');
      assert.deepEqual(e.data, data);
      assert.deepEqual(e.asArray, data);
      assert.deepEqual(e.withResult, data);
      assert.equal(typeof e.asJson, 'string');
      assert.equal(e.asJson, JSON.stringify(data));
      assert.deepEqual(Object.keys(e.items), ['m/list/c']);
      assert.equal(e.items['m/list/c'].title, 'C');
      assert.deepEqual(Object.keys(e.all), ['m/list/a', 'm/list/b', 'm/list/c']);
      assert.deepEqual(e.gone, []);
      assert.deepEqual(e.emptyCollection, []);
      // Embedded values are rendered again with the entry: text that came out of (raw) renders now.
      assert.equal((await ok(t, 'm/rawsrc')).t, '(strings upper)a(/strings)');
      assert.equal(e.embeddedRaw.t, 'A');
      assert.deepEqual(e.asCollectionType, data);
      assert.deepEqual(e.unknownType, data);
      assert.equal(e.notCollection.id, 'm/list');
      assert.equal(e.notCollection.title, 'List');
      assert.equal('noId' in e, false);
      assert.equal('noIdRegistry' in e, false);
    });

    it('merges macro fields shallowly: replaced fields keep their place, new ones follow the stored ones', async () => {
      const e = await ok(t, 'm/host');
      assert.deepEqual(Object.keys(e), [
        'title', 'author', 'data', 'content',
        'charset', 'site', 'fallback', 'missing',
        'asJson', 'asArray', 'withResult', 'items', 'all', 'gone', 'emptyCollection', 'embeddedRaw', 'asCollectionType', 'unknownType', 'notCollection',
        ...SYSTEM_TAIL,
      ]);
    });

    it('nests four levels deep, each embedded entry running its own macros', async () => {
      const e = await ok(t, 'l1');
      assert.equal(e.root.id, 'l1/l2');
      assert.equal(e.root.root.id, 'l1/l2/l3');
      assert.equal(e.root.root.root.id, 'l1/l2/l3/l4');
      assert.equal(e.root.root.root.deep, '4');
      assert.equal('macros' in e.root, false);
    });

    it('answers the macros field only with macros.debug true (or "true") in the entry', async () => {
      for (const id of ['m/debug', 'm/debug-text']) {
        const e = await ok(t, id);
        assert.equal(e.x, 'UTF-8');
        assert.equal(typeof e.macros, 'object', id);
        assert.equal(e.macros.registry.get.x.id, 'flextype.settings.charset');
      }
    });
  });

  describe('safety rules through rendering (§11)', () => {
    it('does not show tokens to shortcodes, expressions or macros', async () => {
      const created = await write(t, 'POST', '/entries', {
        id: 's-tok',
        data: {
          viaShortcode: `(entries fetch id:'tokens/${t.token}')`,
          viaShortcodeField: `(entries fetch id:'tokens/${t.token}' field:'state' default:'none')`,
          hasRoot: "[[ entries().has('tokens') ? 'yes' : 'no' ]]",
          hasToken: `[[ entries().has('tokens/${t.token}') ? 'yes' : 'no' ]]`,
          hasSelf: "[[ entries().has('s-tok') ? 'yes' : 'no' ]]",
          viaFetch: `(fetch:'tokens/${t.token}' field:'state' default:'none')`,
          viaFile: `(filesystem get file:'entries/tokens/${t.token}/token.yaml')`,
          viaFetchFile: `(fetch:'entries/tokens/${t.token}/token.yaml' field:'state')`,
          viaExprFile: `[[ filesystem().file('entries/tokens/${t.token}/token.yaml').exists() ? 'yes' : 'no' ]]`,
          count: "[[ entries().fetch('tokens', {'collection': true}).count() ]]",
          macros: { entries: { fetch: { tok: { id: `tokens/${t.token}` }, all: { id: 'tokens', options: { collection: true } } } } },
        },
      });
      assert.equal(created.status, 200, created.text);
      const e = await ok(t, 's-tok');
      assert.equal(e.viaShortcode, '[]');
      assert.equal(e.viaShortcodeField, 'none');
      assert.equal(e.hasRoot, 'no');
      assert.equal(e.hasToken, 'no');
      assert.equal(e.hasSelf, 'yes');
      assert.equal(e.viaFetch, '');
      assert.equal(e.viaFile, '');
      assert.equal(e.viaFetchFile, '');
      assert.equal(e.viaExprFile, 'no');
      assert.equal(e.count, '0');
      assert.deepEqual(e.tok, []);
      assert.deepEqual(e.all, []);
      assert.doesNotMatch(JSON.stringify(e), /hashed_access_token|enabled/);
    });

    it('strips _ fields of other entries at every depth', async () => {
      const e = await ok(t, 'p/reader');
      assert.deepEqual(e.other.pub, { ok: 1 });
      assert.deepEqual(e.other.list, [{ k: 2 }]);
      assert.equal('_top' in e.other, false);
      assert.equal(e.viaShortcode, '{"ok":1}');
      assert.equal(e.nestedPrivate, 'none');
      assert.equal(e.topPrivate, 'none');
      assert.deepEqual(e.box, { 'p/box/s1': { ...(await ok(t, 'p/box/s1')), deep: { list: [{ keep: 3 }] } } });
      assert.equal(e.boxJson, JSON.stringify(e.box));
      assert.equal(e.boxShortcode, JSON.stringify(e.box));
      assert.equal(e.viaFetch, '{"ok":1}');
      assert.doesNotMatch(JSON.stringify(e), /_nested|_top|_z|_x|_y/);
    });

    it('never shows another entry through its file (entries are read by id, where _ fields are stripped)', async () => {
      const created = await write(t, 'POST', '/entries', {
        id: 'p-file-reader',
        data: {
          viaShortcode: "(fetch:'entries/p/secretive/entry.md' field:'_top' default:'none')",
          viaExpression: "[[ fetch('entries/p/secretive/entry.md').get('_top', 'none') ]]",
          nested: "(fetch:'entries/p/secretive/entry.md' field:'pub')",
          raw: "(filesystem get file:'entries/p/secretive/entry.md')",
          byId: "(fetch:'p/secretive' field:'pub')",
        },
      });
      assert.equal(created.status, 200, created.text);
      const { viaShortcode, viaExpression, nested, raw, byId } = created.body;
      // The entries folder is closed to file reads: nothing found answers '' (even with a default).
      assert.deepEqual({ viaShortcode, viaExpression, nested, raw, byId }, { viaShortcode: '', viaExpression: 'none', nested: '', raw: '', byId: '{"ok":1}' });
    });

    it('cuts self-reference and A → B → A cycles, answering 200', async () => {
      const self = await ok(t, 'c/self');
      assert.equal(self.t, 'cut');
      assert.deepEqual(self.self, []);
      const a = await ok(t, 'c/a');
      assert.equal(a.b.id, 'c/b');
      assert.deepEqual(a.b.a, []);
      const b = await ok(t, 'c/b');
      assert.equal(b.a.id, 'c/a');
      assert.deepEqual(b.a.b, []);
    });

    it('cuts shortcode and expression cycles the same way, whatever was fetched before', async () => {
      for (let round = 0; round < 2; round++) {
        const sa = await ok(t, 'c/sa');
        assert.equal(sa.t, 'cut', `round ${round}`);
        assert.equal(sa.n, '0', `round ${round}`);
        const sb = await ok(t, 'c/sb');
        assert.equal(sb.t, '', `round ${round}`);
      }
    });

    it('renders a malformed or failing tag as its raw text and the rest of the field normally', async () => {
      const e = await ok(t, 'e/bad');
      assert.equal(e.a, 'ok [[ 1 + ]] then 4');
      assert.equal(e.b, "X (see above) ('unterminated");
      assert.equal(e.c, '[[ 1/0 ]] and [[ unknownfn() ]] and [[ nope ]] and 9');
      assert.equal(e.d, 'A (/strings) (strings');
      assert.equal(e.repeat, '(strings repeat:999999999)ab(/strings) after');
      assert.equal(e.range, '[[ 1..1000000000 ]] after 2');
      assert.equal(e.set, "[% registry().set('flextype.settings.charset', 'X') %]|[[ registry().set('a', 1) ]]");
      assert.equal(e.charset, 'UTF-8');
      const registry = await call(t.base, 'GET', '/registry', { query: `id=flextype.settings.charset&token=${q(t.token)}` });
      assert.equal(registry.status, 200, registry.text);
      assert.equal(JSON.stringify(registry.body).includes('"X"'), false, registry.text);
    });
  });

  describe('nesting bounds (§11.9, §11.10)', () => {
    it('renders shortcodes nested 70 deep: the 64 outer levels run, the deeper tags stay as written', async () => {
      const text = '(strings upper)'.repeat(70) + 'x' + '(/strings)'.repeat(70);
      const created = await write(t, 'POST', '/entries', { id: 'n-70', data: { v: text } });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.v, '(STRINGS UPPER)'.repeat(6) + 'X' + '(/STRINGS)'.repeat(6));
    });

    it('answers 200 for expressions nested 100 000 deep, rendered as written', async () => {
      const fields = {
        parens: `[[ ${'('.repeat(100_000)}1${')'.repeat(100_000)} ]] ok`,
        lists: `[[ ${'['.repeat(100_000)}1${']'.repeat(100_000)} ]] ok`,
        unary: `[[ ${'-'.repeat(100_000)}1 ]] ok`,
      };
      const created = await write(t, 'POST', '/entries', { id: 'n-expr', data: fields });
      assert.equal(created.status, 200, created.text);
      assert.deepEqual({ parens: created.body.parens, lists: created.body.lists, unary: created.body.unary }, fields);
    });

    it('answers 200 for shortcodes nested 20 000 deep', async () => {
      const known = '(strings upper)'.repeat(20_000) + 'x' + '(/strings)'.repeat(20_000);
      const unknown = '(x)'.repeat(20_000) + 'x' + '(/x)'.repeat(20_000);
      const created = await write(t, 'POST', '/entries', { id: 'n-deep', data: { known, unknown } });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.unknown, unknown);
    });
  });

  describe('collections render each item before filters (§9.1)', () => {
    it('where compares a @type[int] value as a number, sort_by too', async () => {
      const where = await ok(t, 'w', '&options[collection]=true&options[filter][where][0][key]=n&options[filter][where][0][operator]=gt&options[filter][where][0][value]=6');
      assert.deepEqual(Object.keys(where), ['w/b', 'w/c']);
      assert.equal(where['w/b'].n, 12);
      const sorted = await ok(t, 'w', '&options[collection]=true&options[filter][sort_by][key]=n&options[filter][sort_by][direction]=DESC');
      assert.deepEqual(Object.keys(sorted), ['w/b', 'w/c', 'w/a']);
    });

    it('items run their own macros; _ fields and macros are not answered; where sees macro fields', async () => {
      const all = await ok(t, 'wm', '&options[collection]=true');
      assert.deepEqual(Object.keys(all), ['wm/a', 'wm/b']);
      assert.equal(all['wm/a'].label, 'aUTF-8');
      assert.equal(all['wm/a'].charset, 'UTF-8');
      assert.equal('_private' in all['wm/a'], false);
      assert.equal('macros' in all['wm/a'], false);
      const where = await ok(t, 'wm', '&options[collection]=true&options[filter][where][0][key]=charset&options[filter][where][0][operator]=eq&options[filter][where][0][value]=UTF-8');
      assert.deepEqual(Object.keys(where), ['wm/a']);
    });

    it('content filters rendered items too (macros and entries().fetch)', async () => {
      const e = await ok(t, 'w-host');
      assert.equal(e.big, '2');
      assert.deepEqual(Object.keys(e.bigItems), ['w/b', 'w/c']);
      assert.equal(e.bigItems['w/b'].n, 12);
    });

    it('group_by answers each group as a list of rendered items', async () => {
      const res = await get(t, 'w', '&options[collection]=true&options[filter][group_by]=g');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body), ['x', 'y']);
      assert.ok(Array.isArray(res.body.x), `a list: ${res.text}`);
      assert.deepEqual(res.body.x.map((item: { id: string }) => item.id), ['w/a', 'w/c']);
      assert.deepEqual(res.body.x.map((item: { n: number }) => item.n), [5, 7]);
      assert.deepEqual(res.body.y.map((item: { id: string }) => item.id), ['w/b']);
    });
  });

  describe('answers of writes are rendered like a GET (§9.1)', () => {
    it('POST, PATCH, PUT move and PUT copy answer rendered fields; the file keeps the raw text', async () => {
      const created = await write(t, 'POST', '/entries', { id: 'r-new', data: { v: '[[ 1+1 ]]' } });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.v, '2');
      assert.match(await storedText(t, 'r-new'), /\[\[ 1\+1 \]\]/);
      const patched = await write(t, 'PATCH', '/entries', { id: 'r-new', data: { w: '@type[int] 7' } });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.v, '2');
      assert.equal(patched.body.w, 7);
      const copied = await write(t, 'PUT', '/entries/copy', { id: 'r-new', new_id: 'r-copy' });
      assert.equal(copied.status, 200, copied.text);
      assert.equal(copied.body.id, 'r-copy');
      assert.equal(copied.body.v, '2');
      assert.equal(copied.body.w, 7);
      const moved = await write(t, 'PUT', '/entries', { id: 'r-new', new_id: 'r-moved' });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.body.id, 'r-moved');
      assert.equal(moved.body.v, '2');
      assert.deepEqual(moved.body, await ok(t, 'r-moved'));
    });
  });
});

describe('directive and macro settings', () => {
  it('shortcodes only with @shortcodes; expressions, types and markdown switched off; macros off', async () => {
    const t = await startTestServer({
      projectDir: projectWith({
        s: frontmatter({
          a: '(strings upper)a(/strings)',
          b: '@shortcodes (strings upper)a(/strings)',
          c: '[[ 1+1 ]]',
          d: '@type[int] 5',
          e: '@markdown **x**',
          macros: { registry: { get: { r: { id: 'flextype.settings.charset' } } }, entries: { fetch: { f: { id: 'other' } } } },
        }),
        other: frontmatter({ title: 'Other' }),
      }),
      settings: {
        entries: {
          directives: { shortcodes: { enabled_globally: false }, expressions: { enabled_globally: false }, types: { enabled: false }, markdown: { enabled: false } },
          macros: { entries: { enabled: false }, registry: { get: { enabled: false } } },
        },
      },
    });
    try {
      const e = await ok(t, 's');
      assert.equal(e.a, '(strings upper)a(/strings)');
      assert.equal(e.b, 'A');
      assert.equal(e.c, '[[ 1+1 ]]');
      assert.equal(e.d, '@type[int] 5');
      assert.equal(e.e, '@markdown **x**');
      assert.equal('r' in e, false);
      assert.equal('f' in e, false);
    } finally {
      await t.close();
    }
  });

  it('renders shortcodes and expressions written with other tags (parsers.*)', async () => {
    const t = await startTestServer({
      projectDir: projectWith({ s: frontmatter({ a: '{strings upper}a{/strings}', b: '<< 1+1 >>', c: '(strings upper)a(/strings) [[ 1+1 ]]' }) }),
      settings: {
        parsers: {
          shortcodes: { opening_tag: '{', closing_tag: '}' },
          expressions: { opening_variable_tag: '<<', closing_variable_tag: '>>' },
        },
      },
    });
    try {
      const e = await ok(t, 's');
      assert.equal(e.a, 'A');
      assert.equal(e.b, '2');
      assert.equal(e.c, '(strings upper)a(/strings) [[ 1+1 ]]');
    } finally {
      await t.close();
    }
  });

  it('embeds entries as JSON text when entries.macros.entries.fetch.type is json', async () => {
    const t = await startTestServer({
      projectDir: projectWith({
        host: frontmatter({ macros: { entries: { fetch: { other: { id: 'other' }, asArray: { id: 'other', type: 'array' } } } } }),
        other: frontmatter({ title: 'Other' }),
      }),
      settings: { entries: { macros: { entries: { fetch: { type: 'json' } } } } },
    });
    try {
      const e = await ok(t, 'host');
      const other = await ok(t, 'other');
      assert.equal(e.other, JSON.stringify(other));
      assert.deepEqual(e.asArray, other);
    } finally {
      await t.close();
    }
  });

  it('markdown everywhere (every string leaf, system fields too), untrimmed; with its marker trimmed', async () => {
    const t = await startTestServer({
      projectDir: projectWith({ s: frontmatter({ a: '**b**', b: '@textile **b**', c: '(strings upper)a(/strings)', d: '@markdown *i*', n: 5 }) }),
      settings: { entries: { directives: { markdown: { enabled_globally: true }, textile: { enabled: false }, shortcodes: { enabled: false } } } },
    });
    try {
      const e = await ok(t, 's');
      assert.equal(e.a, '<p><strong>b</strong></p>\n');
      assert.equal(e.b, '<p>@textile <strong>b</strong></p>\n');
      assert.equal(e.c, '<p>(strings upper)a(/strings)</p>\n');
      assert.equal(e.d, '<p> <em>i</em></p>');
      assert.equal(e.n, 5);
      assert.equal(e.id, '<p>s</p>\n');
    } finally {
      await t.close();
    }
  });

  describe('entries.macros.debug and entries.render.max_depth: 2', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({
        projectDir: projectWith({
          dbg: frontmatter({ title: 'Dbg', macros: { registry: { get: { x: { id: 'flextype.settings.charset' } } } } }),
          d1: frontmatter({ title: 'D1', macros: { entries: { fetch: { root: { id: 'd2' } } } } }),
          d2: frontmatter({ title: 'D2', macros: { entries: { fetch: { root: { id: 'd3' } } } } }),
          d3: frontmatter({ title: 'D3', macros: { entries: { fetch: { root: { id: 'd4' } } } } }),
          d4: frontmatter({ title: 'D4' }),
        }),
        settings: { entries: { macros: { debug: true }, render: { max_depth: 2 } } },
      });
    });
    after(async () => t.close());

    it('answers macros with the setting entries.macros.debug', async () => {
      const e = await ok(t, 'dbg');
      assert.equal(e.x, 'UTF-8');
      assert.equal(e.macros.registry.get.x.id, 'flextype.settings.charset');
    });

    it('stops nested fetches at entries.render.max_depth and answers 200', async () => {
      const cold = await ok(t, 'd1');
      assert.equal(cold.root.id, 'd2');
      assert.deepEqual(cold.root.root, []);
      const d2 = await ok(t, 'd2');
      assert.equal(d2.root.id, 'd3');
      assert.deepEqual(d2.root.root, []);
    });

    it('keeps the depth limit when a nested entry is served from the render cache', async () => {      // d3 alone reaches d4 within the limit; a cached d3 must not lift the limit for d2 or d1.
      assert.equal((await ok(t, 'd3')).root.id, 'd4');
      assert.deepEqual((await ok(t, 'd2')).root.root, [], 'd2 after d3 was cached');
      assert.deepEqual((await ok(t, 'd2')).root.root, [], 'd2 again');
      assert.deepEqual((await ok(t, 'd1')).root.root, [], 'd1 after d2 and d3 were fetched');
    });
  });
});

describe('render cache, never stale (§9.1 [ours])', () => {
  let t: TestServer;
  let projectDir: string;
  before(async () => {
    projectDir = projectWith({
      'k/b': frontmatter({ title: 'B1' }),
      'k/a-macro': frontmatter({ title: 'A', macros: { entries: { fetch: { b: { id: 'k/b' } } } } }),
      'k/a-short': frontmatter({ t: "(entries fetch id:'k/b' field:'title' default:'missing')" }),
      'k/a-expr': frontmatter({ t: "[[ entries().fetch('k/b').get('title', 'missing') ]]" }),
      'k/list': frontmatter({ title: 'List' }),
      'k/list/x': frontmatter({ title: 'X' }),
      'k/a-coll': frontmatter({
        n: "[[ entries().fetch('k/list', {'collection': true}).count() ]]",
        macros: { entries: { fetch: { items: { id: 'k/list', options: { collection: true } } } } },
      }),
      'k/c': frontmatter({ title: 'C1' }),
      'k/b2': frontmatter({ title: 'B2', macros: { entries: { fetch: { c: { id: 'k/c' } } } } }),
      'k/a2': frontmatter({ t: "(entries fetch id:'k/b2' field:'c.title')" }),
      'k/exists': frontmatter({ title: 'E' }),
      'k/has': frontmatter({
        exists: "[[ entries().has('k/exists') ? 'yes' : 'no' ]]",
        later: "[[ entries().has('k/list/x/later') ? 'yes' : 'no' ]]",
      }),
      'k/uuid': frontmatter({ u: '(uuid)', r: '(strings random)(/strings)' }),
      'kc-dep': frontmatter({ title: 'D1' }),
      'kc': frontmatter({ title: 'KC' }),
      'kc/a': frontmatter({ t: "(entries fetch id:'kc-dep' field:'title')" }),
      'k/time': frontmatter({ t: '[[ time() ]]' }),
      'k/date': frontmatter({ t: "(date:'U')" }),
    });
    t = await startTestServer({ projectDir });
  });
  after(async () => t.close());

  const titles = async () => {
    const [m, s, x] = await Promise.all([ok(t, 'k/a-macro'), ok(t, 'k/a-short'), ok(t, 'k/a-expr')]);
    return [Array.isArray(m.b) ? m.b : m.b.title, s.t, x.t];
  };

  it('shows a change of an embedded entry made through the API, on disk, and its deletion', async () => {
    assert.deepEqual(await titles(), ['B1', 'B1', 'B1']);
    const first = await get(t, 'k/a-macro');
    assert.deepEqual(await titles(), ['B1', 'B1', 'B1']);
    const again = await get(t, 'k/a-macro', '', { 'if-none-match': first.headers.get('etag')! });
    assert.equal(again.status, 304);

    const patched = await write(t, 'PATCH', '/entries', { id: 'k/b', data: { title: 'B2' } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(await titles(), ['B2', 'B2', 'B2']);
    const changed = await get(t, 'k/a-macro', '', { 'if-none-match': first.headers.get('etag')! });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.b.title, 'B2');
    assert.notEqual(changed.headers.get('etag'), first.headers.get('etag'));

    await editOutside(t, 'k/b', frontmatter({ title: 'B3' }));
    const seen = await waitFor(titles, (list) => list.every((title) => title === 'B3'));
    assert.deepEqual(seen, ['B3', 'B3', 'B3']);

    const deleted = await write(t, 'DELETE', '/entries', { id: 'k/b' });
    assert.equal(deleted.status, 204, deleted.text);
    assert.deepEqual(await titles(), [[], 'missing', 'missing']);
  });

  it('shows a change two embeddings away, also when the middle entry was served from the cache', async () => {
    assert.equal((await ok(t, 'k/b2')).c.title, 'C1');
    assert.equal((await ok(t, 'k/a2')).t, 'C1');
    assert.equal((await ok(t, 'k/a2')).t, 'C1');
    const patched = await write(t, 'PATCH', '/entries', { id: 'k/c', data: { title: 'C2' } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await ok(t, 'k/a2')).t, 'C2');
    assert.equal((await ok(t, 'k/b2')).c.title, 'C2');
    await editOutside(t, 'k/c', frontmatter({ title: 'C3' }));
    const seen = await waitFor(() => ok(t, 'k/a2'), (e) => e.t === 'C3');
    assert.equal(seen.t, 'C3');
  });

  it('follows entries().has: an entry deleted or created changes the answer', async () => {
    assert.deepEqual(await ok(t, 'k/has', '&options[filter][only][0]=exists&options[filter][only][1]=later'), { exists: 'yes', later: 'no' });
    assert.equal((await write(t, 'DELETE', '/entries', { id: 'k/exists' })).status, 204);
    assert.equal((await write(t, 'POST', '/entries', { id: 'k/list/x/later', data: { title: 'L' } })).status, 200);
    assert.deepEqual(await ok(t, 'k/has', '&options[filter][only][0]=exists&options[filter][only][1]=later'), { exists: 'no', later: 'yes' });
  });

  it('a collection of rendered items changes its ETag when an embedded entry changes', async () => {
    const first = await get(t, 'kc', '&options[collection]=true');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body['kc/a'].t, 'D1');
    const etag = first.headers.get('etag')!;
    assert.ok(etag, 'an ETag');
    assert.equal((await get(t, 'kc', '&options[collection]=true', { 'if-none-match': etag })).status, 304);
    assert.equal((await write(t, 'PATCH', '/entries', { id: 'kc-dep', data: { title: 'D2' } })).status, 200);
    const changed = await get(t, 'kc', '&options[collection]=true', { 'if-none-match': etag });
    assert.equal(changed.status, 200);
    assert.equal(changed.body['kc/a'].t, 'D2');
    assert.notEqual(changed.headers.get('etag'), etag);
  });

  it('never caches uuid or strings random', async () => {
    const first = await ok(t, 'k/uuid');
    const second = await ok(t, 'k/uuid');
    assert.match(first.u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(first.u, second.u);
    assert.equal(first.r.length, 64);
    assert.notEqual(first.r, second.r);
  });

  it('shows an entry created under a collection it embeds, and a changed item', async () => {
    const before = await ok(t, 'k/a-coll');
    assert.equal(before.n, '1');
    assert.deepEqual(Object.keys(before.items), ['k/list/x']);
    const created = await write(t, 'POST', '/entries', { id: 'k/list/y', data: { title: 'Y' } });
    assert.equal(created.status, 200, created.text);
    const after = await ok(t, 'k/a-coll');
    assert.equal(after.n, '2');
    assert.deepEqual(Object.keys(after.items), ['k/list/x', 'k/list/y']);
    await editOutside(t, 'k/list/z', frontmatter({ title: 'Z' }));
    const seen = await waitFor(() => ok(t, 'k/a-coll'), (e) => e.n === '3');
    assert.equal(seen.n, '3');
    assert.deepEqual(Object.keys(seen.items), ['k/list/x', 'k/list/y', 'k/list/z']);
    const patched = await write(t, 'PATCH', '/entries', { id: 'k/list/x', data: { title: 'X2' } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await ok(t, 'k/a-coll')).items['k/list/x'].title, 'X2');
    await editOutside(t, 'k/list/y', frontmatter({ title: 'Y2' }));
    const edited = await waitFor(() => ok(t, 'k/a-coll'), (e) => e.items['k/list/y'].title === 'Y2');
    assert.equal(edited.items['k/list/y'].title, 'Y2');
  });

  it('never caches a render that reads the clock', async () => {
    for (const id of ['k/time', 'k/date']) {
      const first = (await ok(t, id)).t;
      assert.match(first, /^\d{10}$/);
      const later = await waitFor(() => ok(t, id), (e) => e.t !== first, 5_000);
      assert.notEqual(later.t, first, id);
      assert.ok(Number(later.t) > Number(first), id);
    }
  });

  it('accepts If-Match with the ETag of a rendered answer (the file part decides), refuses a stale one', async () => {
    const fetched = await get(t, 'k/a-coll');
    const etag = fetched.headers.get('etag')!;
    assert.ok(etag, 'an ETag');
    const patched = await write(t, 'PATCH', '/entries', { id: 'k/a-coll', data: { note: 'one' } }, { 'if-match': etag });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.note, 'one');
    const stale = await write(t, 'PATCH', '/entries', { id: 'k/a-coll', data: { note: 'two' } }, { 'if-match': etag });
    assert.equal(stale.status, 412, stale.text);
    assert.equal((await ok(t, 'k/a-coll')).note, 'one');
  });
});

describe('a heavy render never stalls other requests (§11.11)', () => {
  let t: TestServer;
  before(async () => {
    // Tens of thousands of tags that render to nothing: a long render, all of it on the CPU.
    // (uuid) makes it volatile: rendered afresh on every GET.
    const heavy = '(uuid) ' + Array.from({ length: 40_000 }, (_, i) => `(strings upper)w${i}(/strings)`).join(' ');
    t = await startTestServer({ projectDir: projectWith({ heavy: frontmatter({ title: 'Heavy' }, heavy) }), fromDemo: false });
  });
  after(async () => t.close());

  it('lets the event loop turn many times while it renders', async () => {
    // The server runs in this process: a timer that re-arms itself turns only when the rendering
    // gives way. Handlers await each other as promises, which alone would never let it run.
    let turns = 0;
    let done = false;
    const turn = (): void => {
      if (done) return;
      turns++;
      setTimeout(turn, 1);
    };
    assert.equal((await get(t, 'heavy')).status, 200, 'the file is read and parsed now');
    setTimeout(turn, 1);
    const res = await get(t, 'heavy');
    done = true;
    assert.equal(res.status, 200, res.text);
    assert.ok(turns >= 15, `the event loop turned only ${turns} times during the render`);
  });
});
