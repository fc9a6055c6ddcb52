/**
 * FLEXTYPE_<PATH> environment variables: names matched against the schema's paths (underscores in
 * keys included), values read by type, checked by the schema with the variable named, and the
 * precedence defaults < settings file < environment < command line — through the CLI and in-process.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCheckedSettings, SettingsError } from '../src/core/settings.js';
import { cli, ensureBuilt, ok, serve, stop } from './cli-helpers.js';
import { call, removeProject, tempProject } from './helpers.js';

/** Adds settings to the project's file (the demo project's own are kept). */
function withSettings(dir: string, yaml: string): string {
  mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
  appendFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), `\n${yaml}`);
  return dir;
}

describe('settings from the environment (in-process)', () => {
  let dir: string;
  before(() => {
    dir = withSettings(tempProject(true), 'cache:\n  max_entries: 100\n');
  });
  after(() => removeProject(dir));
  const load = (env: Record<string, string>, overrides = {}) => loadCheckedSettings(dir, overrides, env);

  it('reads each value by its setting type; names with underscores find their keys', () => {
    const { settings } = load({
      FLEXTYPE_CACHE_ENABLED: 'false',
      FLEXTYPE_CACHE_MAX_ENTRIES: '250',
      FLEXTYPE_SERVER_SHUTDOWN_GRACE: '2.5',
      FLEXTYPE_LOG_LEVEL: 'warn',
      FLEXTYPE_ENTRIES_DATE_FIELDS: 'created_at, published_at',
      FLEXTYPE_SERVER_TRUST_PROXY: 'true',
      // movies_item is a key of the demo project's collections map: matched whole, not split.
      FLEXTYPE_ENTRIES_COLLECTIONS_MOVIES_ITEM_EXTENSION: 'yml',
    });
    assert.equal(settings.cache.enabled, false);
    assert.equal(settings.cache.max_entries, 250);
    assert.equal(settings.server.shutdown_grace, 2.5);
    assert.equal(settings.log.level, 'warn');
    assert.deepEqual(settings.entries.date_fields, ['created_at', 'published_at']);
    assert.equal(settings.server.trust_proxy, true);
    assert.equal(settings.entries.collections['movies_item']!.extension, 'yml');
    assert.equal(settings.entries.collections['movies_item']!.serializer, 'yaml', 'the rest of the collection is kept');
  });

  it('text-or-list settings: one value is text, commas or brackets make a list; JSON for lists of maps', () => {
    assert.equal(load({ FLEXTYPE_CORS_ORIGIN: 'https://a.example' }).settings.cors.origin, 'https://a.example');
    assert.deepEqual(load({ FLEXTYPE_CORS_ORIGIN: 'https://a.example,https://b.example' }).settings.cors.origin, ['https://a.example', 'https://b.example']);
    assert.deepEqual(load({ FLEXTYPE_CORS_ORIGIN: '["https://a.example"]' }).settings.cors.origin, ['https://a.example']);
    const endpoints = [{ url: 'https://hooks.example/x', events: ['*'], secret: 'sixteen-characters!' }];
    assert.deepEqual(load({ FLEXTYPE_WEBHOOKS_ENDPOINTS: JSON.stringify(endpoints) }).settings.webhooks.endpoints, endpoints);
  });

  it('precedence: defaults < settings file < environment < command line', () => {
    assert.equal(load({}).settings.cache.max_entries, 100, 'the file over the default');
    assert.equal(load({ FLEXTYPE_CACHE_MAX_ENTRIES: '200' }).settings.cache.max_entries, 200, 'the environment over the file');
    assert.equal(load({ FLEXTYPE_CACHE_MAX_ENTRIES: '200' }, { cache: { max_entries: 300 } }).settings.cache.max_entries, 300, 'the command line over all');
  });

  it('a value of the wrong type, or one the schema refuses, names the variable', () => {
    assert.throws(
      () => load({ FLEXTYPE_CACHE_ENABLED: 'maybe' }),
      (err: Error) => err instanceof SettingsError && /FLEXTYPE_CACHE_ENABLED \(cache\.enabled\): expected true or false, found "maybe"/.test(err.message),
    );
    assert.throws(
      () => load({ FLEXTYPE_SERVER_PORT: 'eighty' }),
      (err: Error) => /FLEXTYPE_SERVER_PORT \(server\.port\): expected a number/.test(err.message),
    );
    assert.throws(
      () => load({ FLEXTYPE_SERVER_PORT: '70000' }),
      (err: Error) => /server\.port \(from FLEXTYPE_SERVER_PORT\): expected a number of at most 65535, found 70000/.test(err.message),
    );
    assert.throws(
      () => load({ FLEXTYPE_LOG_LEVEL: 'loud' }),
      (err: Error) => /log\.level \(from FLEXTYPE_LOG_LEVEL\): expected one of/.test(err.message),
    );
    // A webhook secret that is refused is never repeated in the message.
    assert.throws(
      () => load({ FLEXTYPE_WEBHOOKS_ENDPOINTS: '[{"url":"https://h.example","events":["*"],"secret":"short-secret"}]' }),
      (err: Error) => /from FLEXTYPE_WEBHOOKS_ENDPOINTS/.test(err.message) && !err.message.includes('short-secret'),
    );
    assert.throws(
      () => load({ FLEXTYPE_WEBHOOKS_ENDPOINTS: '[{"url":"ftp://h.example","events":["*"],"secret":"sixteen-characters!"}]' }),
      (err: Error) => /webhooks\.endpoints\.0\.url \(from FLEXTYPE_WEBHOOKS_ENDPOINTS\): expected an http:\/\/ or https:\/\/ URL/.test(err.message),
    );
  });

  it('variables naming no setting are reported, not applied; CLI variables are no settings', () => {
    const checked = load({ FLEXTYPE_CACHE_ENABLD: 'false', FLEXTYPE_PROJECT: '/x', FLEXTYPE_PORT: '1', OTHER: 'x' });
    assert.deepEqual(checked.unknownVariables, ['FLEXTYPE_CACHE_ENABLD']);
    assert.equal(checked.settings.cache.enabled, true);
  });

  it('a name two paths would share is refused as ambiguous, naming both', () => {
    // The default `entries` shortcode has a `fetch.enabled` switch; a project adds one named entries_fetch.
    const twin = withSettings(tempProject(false), 'parsers:\n  shortcodes:\n    shortcodes:\n      entries_fetch: { enabled: true }\n');
    try {
      assert.throws(
        () => loadCheckedSettings(twin, {}, { FLEXTYPE_PARSERS_SHORTCODES_SHORTCODES_ENTRIES_FETCH_ENABLED: 'false' }),
        (err: Error) =>
          /FLEXTYPE_PARSERS_SHORTCODES_SHORTCODES_ENTRIES_FETCH_ENABLED is ambiguous: it may mean parsers\.shortcodes\.shortcodes\.entries\.fetch\.enabled or parsers\.shortcodes\.shortcodes\.entries_fetch\.enabled/.test(
            err.message,
          ),
      );
    } finally {
      removeProject(twin);
    }
  });
});

describe('settings from the environment (CLI)', () => {
  let dir: string;
  before(async () => {
    await ensureBuilt();
    dir = withSettings(tempProject(true), 'cache:\n  max_entries: 100\ntokens: { hash_rounds: 4 }\n');
  });
  after(() => removeProject(dir));

  it('a bad variable stops any command with exit code 78 and one line naming it', async () => {
    const run = await cli(['entries:has', 'home', '--project', dir], { FLEXTYPE_CACHE_ENABLED: 'maybe' });
    assert.equal(run.code, 78, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /FLEXTYPE_CACHE_ENABLED \(cache\.enabled\): expected true or false/);
    assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
  });

  it('serve: the environment over the file, the command line over the environment; unknown variables warned', { timeout: 60_000 }, async () => {
    // FLEXTYPE_SERVER_HOST names an address this machine does not have: --host (the command line) wins.
    const served = await serve(dir, { FLEXTYPE_CACHE_MAX_ENTRIES: '200', FLEXTYPE_SERVER_HOST: '203.0.113.1', FLEXTYPE_CACHE_ENABLD: 'false' });
    try {
      const token = /token:\s+([0-9a-f]{32})/.exec(await ok(['tokens:create', '--project', dir]))![1]!;
      const res = await call(served.base, 'GET', '/registry', { query: `id=flextype.settings.cache&token=${token}` });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.value.max_entries, 200);
      assert.equal(res.body.value.enabled, true);
      assert.match(served.logs(), /environment variables that name no setting.*FLEXTYPE_CACHE_ENABLD/);
    } finally {
      await stop(served.child);
    }
  });
});
