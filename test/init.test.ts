/**
 * `flextype init [dir]` through the real CLI: a project that serves at once with the printed token,
 * refusal of non-empty folders, --force that keeps what is there, --json for scripts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSettings } from '../src/core/settings.js';
import { cli, ensureBuilt, fails, ok, serve, stop } from './cli-helpers.js';
import { call, removeProject, tempProject } from './helpers.js';

const HEX32 = /[0-9a-f]{32}/;

/** Every file under `dir`, as text. */
function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(path.join(entry.parentPath, entry.name), 'utf8'))
    .join('\n');
}

describe('flextype init', () => {
  let root: string;
  before(async () => {
    await ensureBuilt();
    root = tempProject(false);
  });
  after(() => removeProject(root));

  it('creates a project that serves at once: the printed token reads and writes, the next commands are printed', { timeout: 90_000 }, async () => {
    const dir = path.join(root, 'site');
    const out = await ok(['init', dir]);
    const token = new RegExp(`token:\\s+(${HEX32.source})`).exec(out)![1]!;
    const accessToken = new RegExp(`access_token:\\s+(${HEX32.source})`).exec(out)![1]!;
    assert.match(out, /shown only once/);
    assert.ok(out.includes(`npx flextype serve --project ${dir}`), out);
    assert.ok(out.includes(`curl -g 'http://127.0.0.1:8000/api/v1/entries?id=home&token=${token}'`), out);
    assert.ok(out.includes(`"access_token":"${accessToken}"`), 'the write example carries the access token');
    // The settings file explains itself and is valid; the access token is stored only as a hash.
    const settingsText = readFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), 'utf8');
    assert.match(settingsText, /^# /m);
    assert.match(settingsText, /FLEXTYPE_/);
    assert.equal(loadSettings(dir, {}, {}).server.port, 8000);
    assert.ok(!allText(dir).includes(accessToken), 'no file holds the access token');
    assert.ok(existsSync(path.join(dir, 'entries', 'home', 'entry.md')));

    const served = await serve(dir);
    try {
      assert.ok(!served.output().includes('No API token existed'), 'serve uses the token init made');
      const home = await call(served.base, 'GET', '/entries', { query: `id=home&token=${token}` });
      assert.equal(home.status, 200, home.text);
      assert.equal(home.body.title, 'Home');
      const created = await call(served.base, 'POST', '/entries', { json: { id: 'hello', data: { title: 'Hello' }, token, access_token: accessToken } });
      assert.equal(created.status, 200, created.text);
      // Every scope: tokens and cache too.
      assert.equal((await call(served.base, 'POST', '/cache/clear', { json: { token, access_token: accessToken } })).status, 204);
      assert.equal((await call(served.base, 'GET', '/tokens', { query: `id=${token}&token=${token}&access_token=${accessToken}` })).status, 200);
    } finally {
      await stop(served.child);
    }
  });

  it('refuses a folder that is not empty, changing nothing; --force adds a project and keeps existing files', async () => {
    const dir = path.join(root, 'busy');
    mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
    writeFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), 'server:\n  port: 9123\n');
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    await fails(['init', dir], /is not empty.*--force/, 2);
    assert.deepEqual(readdirSync(dir).sort(), ['config', 'notes.txt']);

    const out = await ok(['init', dir, '--force']);
    assert.match(out, /kept .*settings\.yaml/);
    assert.equal(readFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), 'utf8'), 'server:\n  port: 9123\n');
    assert.ok(out.includes('http://127.0.0.1:9123/api/v1'), 'the examples use the project’s own port');
    assert.equal(readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
    assert.ok(existsSync(path.join(dir, 'entries', 'home', 'entry.md')));
  });

  it('--json prints the token, access token, files and next commands; a file in the way is refused', async () => {
    const dir = path.join(root, 'scripted');
    const result = JSON.parse(await ok(['init', dir, '--json'])) as Record<string, unknown>;
    assert.equal(result['dir'], dir);
    assert.match(String(result['token']), HEX32);
    assert.match(String(result['access_token']), HEX32);
    assert.ok(Array.isArray(result['next']) && (result['next'] as string[])[0]!.includes('serve'));
    const file = path.join(root, 'a-file');
    writeFileSync(file, 'x');
    const run = await cli(['init', file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /not a folder/);
  });
});
