/**
 * Compatibility with projects written by the PHP reference (Flextype 1.0): a hand-built project
 * folder (front matter with `d-m-Y H:i` dates, a `---json` header, a YAML collection set in the
 * project settings, a token with a PHP `$2y$` bcrypt hash) is served without any change.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { call, q, removeProject, startTestServer, storedText, tempProject, withStoreAfterClose, type TestServer } from './helpers.js';

const TOKEN = 'f1a0c3e5d7b9a2c4e6f8a1b3c5d7e9f0';
const SECRET = '7c2e9b4f1a6d3c8e5b0a7f2d9c4e1b6a';

/** Writes a file, creating its folder. */
function put(root: string, relative: string, text: string): void {
  const file = path.join(root, ...relative.split('/'));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** A project folder laid out the way the PHP reference writes one. */
async function buildPhpProject(dir: string): Promise<{ phpHash: string }> {
  // PHP's password_hash() writes $2y$; it is the same algorithm as $2b$, so only the prefix differs.
  const nodeHash = await bcrypt.hash(SECRET, 10);
  assert.match(nodeHash, /^\$2b\$10\$/);
  const phpHash = nodeHash.replace(/^\$2b\$/, '$2y$');

  put(dir, 'config/flextype/settings.yaml', [
    'entries:',
    '  collections:',
    '    docs_item:',
    "      pattern: 'docs/[^/]+'",
    '      filename: entry',
    '      extension: yaml',
    '      serializer: yaml',
    '',
  ].join('\n'));
  put(dir, 'entries/home/entry.md', [
    '---',
    'title: Home',
    'description: Welcome',
    'template: default',
    'visibility: visible',
    'routable: true',
    'published_by: ""',
    'published_at: 15-05-2020 06:57',
    'created_at: 15-05-2020 06:57',
    'created_by: ""',
    'uuid: 3b6a4f1e-7c2d-4e8a-9b5f-1d2c3e4f5a6b',
    '---',
    'Welcome to **Flextype**.',
    '',
  ].join('\n'));
  put(dir, 'entries/blog/entry.md', [
    '---json',
    '{',
    '  "title": "Blog",',
    '  "published_at": "01-06-2021 18:05",',
    '  "routable": "false",',
    '  "tags": ["news", "php"]',
    '}',
    '---',
    'The blog.',
  ].join('\n'));
  put(dir, 'entries/blog/post-1/entry.md', [
    '---',
    'title: Post 1',
    'created_at: 1589525820',
    'modified_at: 31-12-2020 23:59',
    '_internal: kept on disk only',
    '---',
    '',
  ].join('\n'));
  put(dir, 'entries/docs/entry.md', '---\ntitle: Docs\n---\n');
  put(dir, 'entries/docs/intro/entry.yaml', ['title: Introduction', 'order: 1', 'created_at: 02-01-2021 00:00', ''].join('\n'));
  put(dir, `entries/tokens/${TOKEN}/token.yaml`, [
    `hashed_access_token: ${phpHash}`,
    'state: enabled',
    'calls: 0',
    'limit_calls: 0',
    'uuid: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
    'created_at: 15-05-2020 06:57',
    "created_by: ''",
    '',
  ].join('\n'));
  return { phpHash };
}

describe('a project folder written by the PHP reference', () => {
  let dir: string;
  let t: TestServer;
  let phpHash: string;
  const files: Record<string, string> = {};
  const get = (id: string, extra = '') => call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${TOKEN}${extra}` });

  before(async () => {
    dir = tempProject(false);
    ({ phpHash } = await buildPhpProject(dir));
    for (const id of ['home', 'blog', 'blog/post-1', 'docs']) files[id] = readFileSync(path.join(dir, 'entries', id, 'entry.md'), 'utf8');
    files['docs/intro'] = readFileSync(path.join(dir, 'entries', 'docs', 'intro', 'entry.yaml'), 'utf8');
    t = await startTestServer({ projectDir: dir, withToken: false, keepStore: true });
  });
  after(async () => {
    await t.close();
    await t.store.drop();
    removeProject(dir);
  });

  it('serves a front matter entry with d-m-Y H:i dates as Unix timestamps', async () => {
    const res = await get('home');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.created_at, 1589525820);
    assert.equal(res.body.published_at, 1589525820);
    assert.equal(res.body.title, 'Home');
    assert.equal(res.body.uuid, '3b6a4f1e-7c2d-4e8a-9b5f-1d2c3e4f5a6b');
    assert.equal(res.body.routable, true);
    assert.equal(res.body.published_by, '');
    assert.equal(res.body.content, 'Welcome to **Flextype**.');
    assert.equal(res.body.id, 'home');
    assert.equal(res.body.slug, 'home');
    assert.ok(Number.isInteger(res.body.modified_at));
  });

  it('serves a ---json header entry', async () => {
    const res = await get('blog');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.title, 'Blog');
    assert.deepEqual(res.body.tags, ['news', 'php']);
    assert.equal(res.body.published_at, Date.UTC(2021, 5, 1, 18, 5) / 1000);
    assert.equal(res.body.routable, false);
    assert.equal(res.body.content, 'The blog.');
  });

  it('keeps numeric timestamps, honours a stored modified_at and hides private fields', async () => {
    const res = await get('blog/post-1');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.created_at, 1589525820);
    assert.equal(res.body.modified_at, Date.UTC(2020, 11, 31, 23, 59) / 1000);
    assert.equal('_internal' in res.body, false);
    assert.equal(res.body.content, '');
  });

  it('serves an entry of a YAML collection declared in the project settings', async () => {
    const res = await get('docs/intro');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.title, 'Introduction');
    assert.equal(res.body.order, 1);
    assert.equal(res.body.created_at, Date.UTC(2021, 0, 2) / 1000);
    assert.equal('content' in res.body, false);
    const collection = await get('docs', '&options[collection]=true');
    assert.equal(collection.status, 200, collection.text);
    assert.deepEqual(Object.keys(collection.body), ['docs/intro']);
  });

  it('writes a new entry of the YAML collection as YAML', async () => {
    const res = await call(t.base, 'POST', '/entries', {
      json: { id: 'docs/setup', token: TOKEN, access_token: SECRET, data: { title: 'Setup' } },
    });
    assert.equal(res.status, 200, res.text);
    const stored = await t.server.cms.store.engine.readSource('docs/setup');
    assert.equal(stored?.extension, 'yaml');
    const text = stored.text;
    assert.match(text, /^title: Setup$/m);
    assert.doesNotMatch(text, /^---/);
  });

  it('accepts the access token verified against the PHP $2y$ hash for a write, and refuses a wrong one', async () => {
    const ok = await call(t.base, 'POST', '/entries', {
      json: { id: 'from-php-token', token: TOKEN, access_token: SECRET, data: { title: 'Made with a PHP token' } },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.title, 'Made with a PHP token');
    const wrong = await call(t.base, 'POST', '/entries', {
      json: { id: 'from-wrong-secret', token: TOKEN, access_token: SECRET.replace(/.$/, '0'), data: { title: 'x' } },
    });
    assert.equal(wrong.status, 401, wrong.text);
    assert.equal(wrong.body.http_status_code, 401);
    const missing = await get('from-wrong-secret');
    assert.equal(missing.status, 404);
  });

  it('verifies the PHP hash through verify-hash too', async () => {
    const res = await call(t.base, 'POST', '/tokens/verify-hash', {
      json: { token: TOKEN, access_token: SECRET, string: SECRET, hash: phpHash },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { verified: true });
  });

  it('leaves the hand-written entry files untouched after serving them', async () => {
    for (const id of ['home', 'blog', 'blog/post-1', 'docs', 'docs/intro']) {
      assert.equal(await storedText(t, id), files[id], id);
    }
  });

  it('keeps the PHP hash in the token file when the calls counter is written on shutdown', async () => {
    // Closing writes the pending counters (close is idempotent; after() calls it again).
    await t.close();
    const [text, sharedCalls] = await withStoreAfterClose(t, async (engine) => [
      (await engine.readSource(`tokens/${TOKEN}`))?.text ?? '',
      await engine.coordination?.readCalls(`tokens/${TOKEN}`),
    ] as const);
    assert.ok(text.includes(phpHash), text);
    // Files: the counter is the token file's `calls`; a database counts them in its own table (the token's `calls` only seeded it).
    if (sharedCalls === undefined) assert.match(text, /^calls: [1-9]\d*$/m);
    else assert.ok(sharedCalls > 0, `${sharedCalls} calls counted`);
  });
});
