/**
 * Entry files through the API (issue 9, items 9, 18, 19, 22): YAML alias bombs are refused
 * quickly, a PATCH leaves every untouched field's source text as it was, over-deep data is
 * refused rather than cut, and a broken file is reported with its parse message and line.
 * Real files in a temp project, a real server, the built CLI.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { cli, ensureBuilt, projectStoredText, withProjectStore } from './cli-helpers.js';
import { call, isStored, q, removeProject, startTestServer, storedText, tempProject, writeStoredText, type ApiResponse, type TestServer } from './helpers.js';

const COLLECTIONS = {
  yaml_items: { pattern: 'y/.+', filename: 'entry', extension: 'yaml', serializer: 'yaml' },
  json_items: { pattern: 'j/.+', filename: 'entry', extension: 'json', serializer: 'json' },
  json5_items: { pattern: 'j5/.+', filename: 'entry', extension: 'json5', serializer: 'json5' },
};

/** Nine aliases of nine aliases …: a few hundred bytes that expand to 9^levels values. */
function aliasBomb(levels: number): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

function nested(levels: number, leaf: unknown = 'leaf'): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { [`l${levels - i}`]: value };
  return value;
}

/** Everything the server said about a failed request: the answer's detail and the logged error messages. */
function reported(res: ApiResponse, logs: string[]): string {
  const messages = logs.flatMap((line) => {
    try {
      const record = JSON.parse(line) as { msg?: string; err?: { message?: string } };
      return [record.msg ?? '', record.err?.message ?? ''];
    } catch {
      return [line];
    }
  });
  return [String(res.body?.detail ?? ''), ...messages].join('\n');
}

function assertCleanError(res: ApiResponse, context: string): void {
  assert.ok(res.status >= 400, `${context}: status ${res.status}`);
  assert.equal(res.body?.http_status_code, res.status, `${context}: ${res.text.slice(0, 200)}`);
  assert.ok(!/\bat .+:\d+:\d+/.test(res.text), `${context}: no stack trace`);
}

describe('entry files through the API', () => {
  let t: TestServer;
  const auth = () => ({ authorization: `Bearer ${t.token}` });
  // The entry's stored text, written and read through the engine (its file, or its row).
  const writeEntry = (id: string, file: string, text: string) => writeStoredText(t, id, text, path.extname(file).slice(1));
  const readEntry = (id: string, _file: string) => storedText(t, id);
  const patch = (id: string, data: unknown) =>
    call(t.base, 'PATCH', '/entries', { query: `id=${q(id)}&access_token=${t.accessToken}`, json: { data }, headers: auth() });
  const get = (id: string) => call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${t.token}` });

  before(async () => {
    t = await startTestServer({ settings: { entries: { collections: COLLECTIONS } } });
  });
  after(() => t.close());

  describe('YAML alias bombs (item 9)', () => {
    it('refuses an entry whose aliases expand beyond the limit, names it, and keeps serving the rest', async () => {
      // 9^6 (531,441) values from about 400 bytes: enough for the old code to answer 200 with megabytes.
      await writeEntry('blog/bomb', 'entry.md', `---\ntitle: Bomb\n${aliasBomb(6)}---\nbody\n`);
      const logStart = t.logs.lines.length;
      const res = await get('blog/bomb');
      assertCleanError(res, 'GET of the bomb');
      assert.match(reported(res, t.logs.lines.slice(logStart)), /entry "blog\/bomb" cannot be parsed: YAML error: .*alias/);
      assert.equal((await get('home')).status, 200, 'another entry still answers');
      const collection = await call(t.base, 'GET', '/entries', { query: `id=blog&options[collection]=true&token=${t.token}` });
      assert.equal(collection.status, 200, 'a collection holding the bomb still answers');
      assert.ok(collection.text.length < 100_000, 'and it does not hold the expansion');
    });

    it('still reads legitimate anchors and aliases', async () => {
      await writeEntry('blog/anchors', 'entry.md', '---\ndefaults: &d\n  color: red\nfirst: *d\nsecond: *d\n---\n');
      const res = await get('blog/anchors');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.second, { color: 'red' });
    });

    it('refuses a settings file with an alias bomb at start-up', async () => {
      const project = tempProject(true);
      try {
        mkdirSync(path.join(project, 'config', 'flextype'), { recursive: true });
        writeFileSync(path.join(project, 'config', 'flextype', 'settings.yaml'), `extra:\n${aliasBomb(6).replace(/^/gm, '  ')}`);
        await assert.rejects(startTestServer({ projectDir: project }), /alias/);
      } finally {
        removeProject(project);
      }
    });
  });

  describe('PATCH keeps untouched fields as written (item 18)', () => {
    it('front matter (YAML header): comments, big integers, hex, octal, anchors and quoting stay', async () => {
      const before = [
        '---',
        '# A comment that must stay',
        'title: Old title',
        'big: 12345678901234567890',
        'hex: 0x1F',
        'oct: 0o17',
        'defaults: &defaults',
        '  color: red   # inner comment',
        'uses: *defaults',
        "quoted: 'single'   # trailing comment",
        'gone: remove me',
        '---',
        'Body text',
        '',
      ].join('\n');
      await writeEntry('blog/keep', 'entry.md', before);
      const res = await patch('blog/keep', { title: 'New title', added: 7 });
      assert.equal(res.status, 200, res.text);
      assert.equal(await readEntry('blog/keep', 'entry.md'), before.replace('title: Old title', 'title: New title').replace('gone: remove me\n', 'gone: remove me\nadded: 7\n'));
      assert.equal(res.body.uses.color, 'red');
    });

    it('front matter with a ---json header stays JSON, big integers untouched', async () => {
      const before = '---json\n{\n  "title": "Old",\n  "big": 12345678901234567890\n}\n---\nBody\n';
      await writeEntry('blog/json-header', 'entry.md', before);
      const res = await patch('blog/json-header', { title: 'New' });
      assert.equal(res.status, 200, res.text);
      assert.equal(await readEntry('blog/json-header', 'entry.md'), before.replace('"Old"', '"New"'));
    });

    it('front matter with a ---json5 header stays JSON5', async () => {
      const before = "---json5\n{\n  // note\n  title: 'Old',\n  hex: 0x1F,\n}\n---\n";
      await writeEntry('blog/json5-header', 'entry.md', before);
      const res = await patch('blog/json5-header', { title: 'New' });
      assert.equal(res.status, 200, res.text);
      assert.equal(await readEntry('blog/json5-header', 'entry.md'), before.replace("'Old'", "'New'"));
    });

    it('yaml, json and json5 entry files', async () => {
      const cases: Array<[string, string, string, string]> = [
        ['y/one', 'entry.yaml', '# c\ntitle: Old\nbig: 12345678901234567890 # b\nhex: 0x1F\n', 'title: New'],
        ['j/one', 'entry.json', '{\n  "title": "Old",\n  "big": 12345678901234567890,\n  "f": 1.50\n}\n', '"title": "New"'],
        ['j5/one', 'entry.json5', "{\n  title: 'Old', // t\n  big: 12345678901234567890,\n  hex: 0x1F,\n}\n", "title: 'New'"],
      ];
      for (const [id, file, before, changed] of cases) {
        await writeEntry(id, file, before);
        const res = await patch(id, { title: 'New' });
        assert.equal(res.status, 200, `${id}: ${res.text}`);
        assert.equal(await readEntry(id, file), before.replace(/"?title"?: ["']?Old["']?/, changed), id);
      }
    });

    it('for any field map, a PATCH of one field leaves every other field\'s source text unchanged (property)', async () => {
      // Scalars in notations a re-serializer would change; each field is one line.
      const yamlSource = fc.oneof(
        fc.bigInt({ min: 10n ** 16n, max: 10n ** 30n }).map(String),
        fc.integer({ min: 0, max: 4095 }).map((n) => `0x${n.toString(16).toUpperCase()}`),
        fc.integer({ min: 0, max: 4095 }).map((n) => `0o${n.toString(8)}`),
        fc.constantFrom('1.50', '1e3', '~', 'Null', 'TRUE', "'quoted'", '"dq \\u00e9"', '[1, 0x2, "three"]', '{a: 1,  b: [x]}', 'plain text'),
        fc.tuple(fc.integer(), fc.constantFrom('# note', '#x')).map(([n, c]) => `${n}   ${c}`),
      );
      const jsonSource = fc.oneof(
        fc.bigInt({ min: 10n ** 16n, max: 10n ** 30n }).map(String),
        fc.constantFrom('1.50', '1E3', '-0', 'null', 'true', '"\\u00e9"', '[1,  2]', '{"a" : {"b": []}}', '"text"'),
      );
      const keys = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), { minLength: 2, maxLength: 8 });
      const newValue = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }).filter((s) => !/[\n\r\u0085\u2028\u2029]/.test(s)), fc.constant(null));
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          keys.chain((names) => fc.tuple(fc.constant(names), fc.array(fc.tuple(yamlSource, jsonSource), { minLength: names.length, maxLength: names.length }), fc.nat(names.length - 1), newValue)),
          async ([names, sources, which, value]) => {
            run++;
            const yamlLines = names.map((name, i) => `${name}: ${sources[i]![0]}`);
            const jsonLines = names.map((name, i) => `  "${name}": ${sources[i]![1]}${i < names.length - 1 ? ',' : ''}`);
            const files: Array<[string, string, string, string[]]> = [
              [`blog/prop-${run}`, 'entry.md', `---\n${yamlLines.join('\n')}\n---\nbody\n`, yamlLines],
              [`j/prop-${run}`, 'entry.json', `{\n${jsonLines.join('\n')}\n}\n`, jsonLines],
            ];
            for (const [id, file, text, lines] of files) {
              await writeEntry(id, file, text);
              const res = await patch(id, { [names[which]!]: value });
              assert.equal(res.status, 200, `${id}: ${res.text}`);
              const after = (await readEntry(id, file)).split('\n');
              const untouched = text.split('\n').filter((line) => line !== lines[which]);
              // Every other line is still there, in order; the patched one reads back as sent.
              assert.deepEqual(after.filter((line) => untouched.includes(line)), untouched, `${id}:\n${text}\n->\n${after.join('\n')}`);
              assert.equal(after.length, untouched.length + 1, `${id}: one line replaced`);
              const reread = await get(id);
              assert.deepEqual(reread.body[names[which]!], value);
            }
          },
        ),
        { numRuns: 25, seed: 9018 },
      );
    });
  });

  describe('over-deep data is refused, never cut (item 19)', () => {
    it('answers 400 for data nested deeper than entries.max_data_depth, and stores nothing', async () => {
      const create = await call(t.base, 'POST', '/entries', {
        query: `access_token=${t.accessToken}`,
        json: { id: 'deep-object', data: nested(80) },
        headers: auth(),
      });
      assertCleanError(create, 'POST 80 levels');
      assert.equal(create.status, 400);
      assert.match(create.body.detail, /max_data_depth/);
      assert.equal(await isStored(t, 'deep-object'), false);

      const before = await readEntry('home', 'entry.md');
      let deepArray = '0';
      for (let i = 0; i < 100_000; i++) deepArray = `[${deepArray}]`;
      const raw = `{"id":"home","data":{"list":${deepArray}}}`;
      const update = await call(t.base, 'PATCH', '/entries', { query: `access_token=${t.accessToken}`, raw, headers: { ...auth(), 'content-type': 'application/json' } });
      assertCleanError(update, 'PATCH 100,000 levels');
      assert.equal(update.status, 400);
      assert.equal(await readEntry('home', 'entry.md'), before);
    });

    it('stores data at the limit exactly as sent', async () => {
      // The data map, 61 nested maps, an array and a map in it: 64 levels.
      const data = { deep: nested(61, [1, { x: 'y' }]) };
      const create = await call(t.base, 'POST', '/entries', { query: `access_token=${t.accessToken}`, json: { id: 'deep-ok', data }, headers: auth() });
      assert.equal(create.status, 200, create.text);
      assert.deepEqual((await get('deep-ok')).body.deep, data.deep);
      const deeper = await patch('deep-ok', { deep: nested(62, [1, { x: 'y' }]) });
      assert.equal(deeper.status, 400, 'one level more is refused');
    });

    it('refuses a value the file format cannot read back as sent (a number as front matter body)', async () => {
      const before = await readEntry('home', 'entry.md');
      const res = await patch('home', { content: 5 });
      assertCleanError(res, 'PATCH content: 5');
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /content/);
      assert.equal(await readEntry('home', 'entry.md'), before);
    });
  });

  describe('parse errors name the entry, the line and the reason (item 22)', () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['blog/broken-yaml', 'entry.md', '---\ntitle: ok\ntags: [a, b\n---\nbody\n', /YAML error at line \d+, column \d+: /],
      ['blog/broken-header', 'entry.md', '---json\n{\n  "title": "ok",\n}\n---\n', /JSON error at line 4, column 1: /],
      ['y/broken', 'entry.yaml', 'title: ok\nlist:\n  - a\n - b\n', /YAML error at line 4, column \d+: /],
      ['j/broken', 'entry.json', '{\n  "a": 1,\n  "b": }\n', /JSON error at line 3, column 8: /],
      ['j5/broken', 'entry.json5', '{\n  a: 1,\n  b: ?\n}\n', /JSON5 error at line 3, column 6: invalid character '\?'/],
    ];
    for (const [id, file, text, message] of cases) {
      it(`${id}: ${message.source}`, async () => {
        await writeEntry(id, file, text);
        const logStart = t.logs.lines.length;
        const res = await get(id);
        assertCleanError(res, id);
        const said = reported(res, t.logs.lines.slice(logStart));
        assert.match(said, new RegExp(`entry "${id.replace('/', '\\/')}" cannot be parsed: ${message.source}`), said);
      });
    }
  });
});

// ---- the CLI ---------------------------------------------------------------------------------

describe('entry files through the CLI', () => {
  let project: string;
  before(async () => {
    await ensureBuilt();
    project = tempProject(true);
  });
  after(() => removeProject(project));

  it('refuses over-deep data (item 19)', async () => {
    const run = await cli(['entries:create', 'deep', JSON.stringify(nested(80)), '--project', project]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /nested more than 64 levels/);
    assert.equal(await projectStoredText(project, 'deep'), undefined);
  });

  it('names the entry, line and reason of a broken file (item 22)', async () => {
    // Stored through an engine on the project (its file, or its row once the CLI has run it on PostgreSQL).
    await withProjectStore(project, (engine) => engine.writeSource('blog/broken', '---\ntitle: ok\nkey: a: b\n---\n', 'md'));
    const run = await cli(['entries:fetch', 'blog/broken', '--project', project]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /entry "blog\/broken" cannot be parsed: YAML error at line 3, column 7: bad indentation/);
  });
});
