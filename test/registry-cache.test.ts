/** Registry API (SPEC §5) and Cache API (SPEC §6) over HTTP. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { filesOnly } from './engine-helpers.js';
import { call, isStored, q, REPO_ROOT, startTestServer, tempProject, removeProject, type ApiResponse, type TestServer } from './helpers.js';

const SECRET_VALUES = ['pa55-word-value', 'api-key-value-42', 'client-secret-value', 'nested-token-value'];

/** Project settings with secret-looking keys beside ordinary ones. */
const SETTINGS_WITH_SECRETS = `
mail:
  host: smtp.example.org
  port: 587
  password: ${SECRET_VALUES[0]}
  api_key: ${SECRET_VALUES[1]}
  oauth:
    client_secret: ${SECRET_VALUES[2]}
    client_id: public-client-id
  webhooks:
    - url: https://example.org/hook
      token: ${SECRET_VALUES[3]}
`;

function assertError(res: ApiResponse, status: number, detail?: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.http_status_code, status);
  assert.equal(typeof res.body.detail, 'string');
  if (detail) assert.match(res.body.detail, detail);
}

function assertNoSecret(text: string): void {
  for (const secret of SECRET_VALUES) assert.ok(!text.includes(secret), `secret ${secret} exposed in ${text.slice(0, 200)}…`);
}

describe('Registry API', () => {
  let t: TestServer;
  let project: string;
  const get = (query: string) => call(t.base, 'GET', '/registry', { query: `${query}&token=${q(t.token)}` });

  before(async () => {
    project = tempProject(true);
    appendFileSync(
      path.join(project, 'config', 'flextype', 'settings.yaml'),
      `${SETTINGS_WITH_SECRETS}\nregistry:\n  public: [mail.host, mail.port, mail.oauth.client_id]\n`,
    );
    t = await startTestServer({ projectDir: project });
  });
  after(async () => {
    await t.close();
    removeProject(project);
  });

  it('answers {"id", "value"} for a leaf', async () => {
    const res = await get('id=flextype.manifest.name');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(res.body, { id: 'flextype.manifest.name', value: 'Flextype TS' });
    assert.deepEqual(Object.keys(res.body), ['id', 'value']);
  });

  it('answers the manifest: name, version, description, author, license', async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, string>;
    const res = await get('id=flextype.manifest');
    assert.equal(res.status, 200);
    const manifest = res.body.value;
    assert.equal(manifest.name, 'Flextype TS');
    assert.equal(manifest.version, pkg['version']);
    assert.equal(manifest.license, pkg['license']);
    assert.equal(manifest.description, pkg['description']);
    assert.equal(typeof manifest.author.name, 'string');
    assert.equal(typeof manifest.author.email, 'string');
    assert.equal(typeof manifest.bugs, 'string');
    assert.equal((await get('id=flextype.manifest.version')).body.value, pkg['version']);
  });

  it('answers subtrees as objects, from the effective merged settings', async () => {
    const api = await get('id=flextype.settings.api');
    assert.deepEqual(api.body, {
      id: 'flextype.settings.api',
      value: { entries: { enabled: true }, tokens: { enabled: true }, registry: { enabled: true }, cache: { enabled: true }, query: { enabled: true } },
    });
    // A default (built-in) and a project override side by side.
    assert.equal((await get('id=flextype.settings.timezone')).body.value, 'UTC');
    const movies = await get('id=flextype.settings.entries.collections.movies_item');
    assert.equal(movies.body.value.serializer, 'yaml');
    assert.equal((await get('id=flextype.settings.entries.collections.default.filename')).body.value, 'entry');
    // A key the project added, marked public.
    assert.equal((await get('id=flextype.settings.mail.port')).body.value, 587);
    // The test server's own overrides are part of the effective settings too.
    assert.equal((await get('id=flextype.settings.tokens.hash_rounds')).body.value, 4);
    // Lists come back as lists.
    assert.ok(Array.isArray((await get('id=flextype.settings.entries.date_fields')).body.value));
  });

  it('answers `default` for a missing key, and 404 without one', async () => {
    assert.deepEqual((await get('id=flextype.nothing.here&default=fallback')).body, { id: 'flextype.nothing.here', value: 'fallback' });
    assert.deepEqual((await get('id=flextype.nothing&default[a]=1')).body, { id: 'flextype.nothing', value: { a: '1' } });
    // An existing key wins over the default.
    assert.equal((await get('id=flextype.manifest.name&default=other')).body.value, 'Flextype TS');
    const missing = await get('id=flextype.nothing.here');
    assertError(missing, 404, /flextype\.nothing\.here/);
    assert.equal(missing.body.title, 'Not Found');
    assertError(await get('id=flextype.manifest.name.deeper'), 404);
  });

  it('hides every key a project adds unless registry.public lists it, at any level', async () => {
    const mail = await get('id=flextype.settings.mail');
    assert.equal(mail.status, 200);
    // Listed: mail.host, mail.port, mail.oauth.client_id; nothing else of mail.
    assert.deepEqual(mail.body.value, { host: 'smtp.example.org', port: 587, oauth: { client_id: 'public-client-id' } });
    for (const query of ['id=flextype.settings.mail', 'id=flextype.settings', 'id=flextype', 'id=']) {
      const res = await get(query);
      assert.equal(res.status, 200, `${query}: ${res.text}`);
      assertNoSecret(res.text);
    }
    // The whole tree is served under id= (the root), still without secrets.
    assert.equal((await get('id=')).body.value.flextype.manifest.name, 'Flextype TS');
  });

  it('a secret key asked for directly is missing: 404, or the default (never the secret)', async () => {
    for (const key of ['mail.password', 'mail.api_key', 'mail.oauth.client_secret', 'mail.webhooks.0.token']) {
      const res = await get(`id=flextype.settings.${key}`);
      assertError(res, 404);
      assertNoSecret(res.text);
      const withDefault = await get(`id=flextype.settings.${key}&default=none`);
      assert.deepEqual(withDefault.body, { id: `flextype.settings.${key}`, value: 'none' });
    }
  });

  it('validates the call: id and token required (400), unknown token 401, wrong access token 401', async () => {
    assertError(await get(''), 400, /id/);
    assertError(await call(t.base, 'GET', '/registry', { query: 'id=flextype' }), 400, /token/);
    assertError(await call(t.base, 'GET', '/registry', { query: `id=flextype&token=${'1'.repeat(32)}` }), 401);
    // The registry needs no access token, but one that is given must be right.
    assertError(await call(t.base, 'GET', '/registry', { query: `id=flextype&token=${t.token}&access_token=${'2'.repeat(32)}` }), 401);
    assert.equal((await call(t.base, 'GET', '/registry', { query: `id=flextype&token=${t.token}&access_token=${t.accessToken}` })).status, 200);
    const post = await call(t.base, 'POST', '/registry', { json: { id: 'flextype', token: t.token } });
    assert.equal(post.status, 405);
  });

  it('answers an ETag and 304 for an unchanged value', async () => {
    const first = await get('id=flextype.manifest');
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await call(t.base, 'GET', '/registry', { query: `id=flextype.manifest&token=${t.token}`, headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });
});

/** Issue 9 item 5: keys the old name-based filter let through, some inside documented subtrees. */
const LEAKS = ['leak-smtp-pass', 'leak-pwd', 'leak-dsn-password', 'leak-authorization', 'leak-jwt', 'leak-github-pat',
  'leak-api-key', 'leak-access-token', 'leak-signing-key', 'leak-in-cors', 'leak-in-collection', 'leak-in-shortcode'];
const LEAKING_SETTINGS = `
smtp:
  host: mail.example.org
  pass: leak-smtp-pass
pwd: leak-pwd
database:
  dsn: 'postgres://app:leak-dsn-password@db.example.org/app'
authorization: 'Bearer leak-authorization'
jwt: leak-jwt
github_pat: leak-github-pat
api_keys: [leak-api-key]
access_tokens: { ci: leak-access-token }
signing_keys: [{ kid: k1, key: leak-signing-key }]
cors:
  pwd: leak-in-cors
parsers:
  shortcodes:
    shortcodes:
      fetch: { enabled: true, github_pat: leak-in-shortcode }
site:
  title: My site
registry:
  public: [site]
`;

/** SPEC §12: keys and the reference's defaults (a sample from every group), and our own. */
const REFERENCE_DEFAULTS: Record<string, unknown> = {
  timezone: 'UTC', charset: 'UTF-8', locale: 'en_US', base_url: '', base_path: '',
  date_format: 'd-m-Y H:i', date_display_format: 'd-m-Y H:i',
  'entries.directives.expressions.enabled_globally': true, 'entries.directives.markdown.enabled_globally': false,
  'entries.directives.php.enabled': false, 'entries.directives.types.enabled': true,
  'entries.macros.debug': false, 'entries.macros.php.enabled': false, 'entries.macros.registry.get.enabled': true,
  'entries.macros.entries.fetch.type': 'array',
  'entries.collections.tokens_item.pattern': 'tokens/([a-zA-Z0-9_-]+)', 'entries.collections.default.serializer': 'frontmatter',
  'entries.collections.default.fields.uuid.enabled': true, 'cache.enabled': true,
  'slugify.separator': '-', 'slugify.regexp': '/[^A-Za-z0-9]+/', 'slugify.lowercase_after_regexp': false,
  'serializers.frontmatter.decode.header.allowed': ['yaml', 'json', 'json5', 'neon'],
  'serializers.frontmatter.encode.header.serializer': 'yaml',
  'parsers.markdown.commonmark.html_input': 'allow', 'parsers.markdown.commonmark.allow_unsafe_links': false,
  'parsers.shortcodes.opening_tag': '(', 'parsers.shortcodes.parameter_value_delimiter': "'",
  'parsers.shortcodes.shortcodes.php.enabled': false, 'parsers.shortcodes.shortcodes.type.enabled': true,
  'parsers.shortcodes.shortcodes.entries.fetch.enabled': true, 'parsers.shortcodes.shortcodes.filesystem.get.enabled': true,
  'parsers.expressions.opening_block_tag': '[%', 'parsers.expressions.closing_comment_tag': '#]',
  'parsers.expressions.expressions.unless.enabled': true, 'parsers.expressions.expressions.entries.has.enabled': true,
  'parsers.expressions.expressions.entries.delete.enabled': false,
  'cors.enabled': true, 'cors.origin': '*', 'cors.credentials': false, 'cors.expose': ['ETag', 'X-Total-Count', 'X-Skipped-Count', 'X-Request-Id'],
  'cors.methods': ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
  'cors.headers': ['X-Requested-With', 'Content-Type', 'Accept', 'Origin', 'Authorization', 'X-Access-Token', 'If-Match', 'If-None-Match'],
  'api.query.enabled': true, 'api.registry.enabled': true,
  'entries.render.max_depth': 16, 'entries.render.max_value_bytes': 1048576, 'entries.render.max_items': 100000,
  'entries.render.max_time_ms': 10000, 'fetch.remote.enabled': false, 'fetch.remote.allowed_hosts': [], 'registry.public': ['site'],
};

describe('Registry API: an allowlist, never a guess at secret names (issue 9 #5)', () => {
  let t: TestServer;
  let project: string;
  const get = (id: string) => call(t.base, 'GET', '/registry', { query: `id=${q(id)}&token=${q(t.token)}` });

  before(async () => {
    project = tempProject(true);
    appendFileSync(path.join(project, 'config', 'flextype', 'settings.yaml'), LEAKING_SETTINGS);
    // An absolute entries path (the registry must not tell it either), and a key inside a collection.
    t = await startTestServer({
      projectDir: project,
      settings: { entries: { directory: path.join(project, 'entries'), collections: { default: { jwt: 'leak-in-collection' } } } },
    });
  });
  after(async () => {
    await t.close();
    removeProject(project);
  });

  it('no project key is readable, directly or inside any subtree; §12 keys answer the defaults; public keys answer', async () => {
    const direct = ['smtp', 'smtp.pass', 'smtp.host', 'pwd', 'database.dsn', 'authorization', 'jwt', 'github_pat', 'api_keys',
      'api_keys.0', 'access_tokens', 'access_tokens.ci', 'signing_keys', 'cors.pwd', 'entries.collections.default.jwt',
      'parsers.shortcodes.shortcodes.fetch.github_pat', 'entries.directory'];
    for (const key of direct) {
      const res = await get(`flextype.settings.${key}`);
      assert.equal(res.status, 404, `${key}: ${res.text}`);
    }
    for (const id of ['', 'flextype', 'flextype.settings', 'flextype.settings.cors', 'flextype.settings.entries',
      'flextype.settings.entries.collections', 'flextype.settings.parsers', 'flextype.settings.parsers.shortcodes.shortcodes.fetch']) {
      const res = await get(id);
      assert.equal(res.status, 200, `${id}: ${res.text}`);
      for (const leak of [...LEAKS, project]) assert.ok(!res.text.includes(leak), `${leak} readable through id=${id}`);
    }
    for (const [key, value] of Object.entries(REFERENCE_DEFAULTS)) {
      const res = await get(`flextype.settings.${key}`);
      assert.equal(res.status, 200, `${key}: ${res.text}`);
      assert.deepEqual(res.body.value, value, key);
    }
    for (const name of ['entries', 'date', 'raw', 'textile', 'markdown', 'registry', 'url', 'strings', 'filesystem', 'i18n', 'if',
      'when', 'unless', 'uuid', 'const', 'var', 'field', 'fetch', 'calc', 'eval', 'type']) {
      assert.equal((await get(`flextype.settings.parsers.shortcodes.shortcodes.${name}.enabled`)).body.value, true, name);
    }
    assert.deepEqual((await get('flextype.manifest.author')).body.value.name, 'The Flextype TS team');
    assert.deepEqual((await get('flextype.settings.site')).body.value, { title: 'My site' });
  });
});

/** An edit no watcher or poll sees: on PostgreSQL every write is announced to the nodes, so there is none. */
const UNSEEN_EDIT = filesOnly('an entry file edited by hand, unseen until the cache clear');

describe('Cache API', () => {
  let t: TestServer;
  const entryFile = () => path.join(t.projectDir, 'entries', 'blog', 'hello-world', 'entry.md');
  const fetchEntry = () => call(t.base, 'GET', '/entries', { query: `id=blog/hello-world&token=${q(t.token)}` });
  const fetchBlog = () => call(t.base, 'GET', '/entries', { query: `id=blog&options[collection]=true&token=${q(t.token)}` });
  const clear = (body: Record<string, unknown>) => call(t.base, 'POST', '/cache/clear', { json: body });

  before(async () => {
    // No watcher and a very long re-check interval: only a cache clear makes the server see edits.
    t = await startTestServer({ fromDemo: true, settings: { cache: { watch: false, poll_interval: 3_600_000 } } });
  });
  after(async () => t.close());

  it('clears with 204 and an empty body; content is all still there', async () => {
    const before = await fetchBlog();
    const single = await fetchEntry();
    const res = await clear({ token: t.token, access_token: t.accessToken });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    const afterBlog = await fetchBlog();
    assert.equal(afterBlog.status, 200);
    assert.deepEqual(afterBlog.body, before.body);
    assert.deepEqual((await fetchEntry()).body, single.body);
    assert.ok(await isStored(t, 'blog/hello-world'));
    // The token (an entry too) survives and still verifies.
    assert.equal((await clear({ token: t.token, access_token: t.accessToken })).status, 204);
  });

  it('accepts a form body and header credentials', async () => {
    assert.equal((await call(t.base, 'POST', '/cache/clear', { form: `token=${t.token}&access_token=${t.accessToken}` })).status, 204);
    const headers = { authorization: `Bearer ${t.token}`, 'x-access-token': t.accessToken };
    assert.equal((await call(t.base, 'POST', '/cache/clear', { headers })).status, 204);
  });

  it('needs the access token: 400 without, 401 when wrong or the token is unknown; GET is 405', async () => {
    assertError(await clear({ token: t.token }), 400, /access_token/);
    assertError(await clear({ access_token: t.accessToken }), 400, /token/);
    assertError(await clear({ token: t.token, access_token: 'a'.repeat(32) }), 401);
    assertError(await clear({ token: 'b'.repeat(32), access_token: t.accessToken }), 401);
    const get = await call(t.base, 'GET', '/cache/clear', { query: `token=${t.token}` });
    assert.equal(get.status, 405);
    assert.match(get.headers.get('allow') ?? '', /POST/);
  });

  it('an entry file edited on disk is re-read after the clear', UNSEEN_EDIT, async () => {
    const original = await fetchEntry();
    assert.equal(original.status, 200);
    const text = readFileSync(entryFile(), 'utf8');
    assert.match(text, /^title: /m);
    writeFileSync(entryFile(), text.replace(/^title: .*$/m, 'title: Edited on disk'));
    // Before the clear the server answers from its cache (this is what makes the test meaningful).
    assert.equal((await fetchEntry()).body.title, original.body.title);
    assert.equal((await clear({ token: t.token, access_token: t.accessToken })).status, 204);
    const fresh = await fetchEntry();
    assert.equal(fresh.body.title, 'Edited on disk');
    assert.notEqual(fresh.headers.get('etag'), original.headers.get('etag'));
    assert.equal((await fetchBlog()).body['blog/hello-world'].title, 'Edited on disk');
  });

  it('a new entry folder made on disk appears in collections after the clear', UNSEEN_EDIT, async () => {
    const dir = path.join(t.projectDir, 'entries', 'blog', 'made-on-disk');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'entry.md'), '---\ntitle: Made on disk\n---\nBody\n');
    assert.ok(!('blog/made-on-disk' in (await fetchBlog()).body), 'the id tree is cached before the clear');
    assert.equal((await clear({ token: t.token, access_token: t.accessToken })).status, 204);
    assert.equal((await fetchBlog()).body['blog/made-on-disk'].title, 'Made on disk');
  });
});

describe('disabled APIs', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true, settings: { api: { registry: { enabled: false }, cache: { enabled: false } } } });
  });
  after(async () => t.close());

  it('a disabled registry or cache API answers 400 with a detail, after the parameter check', async () => {
    assertError(await call(t.base, 'GET', '/registry', { query: `id=flextype&token=${t.token}` }), 400, /registry API is disabled/);
    assertError(await call(t.base, 'POST', '/cache/clear', { json: { token: t.token, access_token: t.accessToken } }), 400, /cache API is disabled/);
    // Step 1 (required parameters) comes before step 2 (API enabled).
    assertError(await call(t.base, 'GET', '/registry', { query: `token=${t.token}` }), 400, /id/);
    // Other APIs are unaffected.
    assert.equal((await call(t.base, 'GET', '/entries', { query: `id=blog&token=${t.token}` })).status, 200);
  });
});
