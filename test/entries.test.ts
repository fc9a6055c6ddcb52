/** Entries API over HTTP (SPEC §2, §3): the six endpoints, system fields, and every error answer. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, isStored, q, startTestServer, storedStat, storedText, type ApiResponse, type TestServer } from './helpers.js';

const SEED_ERRORS: Record<number, { title: string; message: string }> = {
  400: { title: 'Bad Request', message: 'Validation for this particular item failed' },
  401: { title: 'Unauthorized', message: 'Token is wrong' },
  404: { title: 'Not Found', message: 'The requested resource or endpoint could not be found' },
  405: { title: 'Method Not Allowed', message: 'The method is not allowed for the requested endpoint' },
  413: { title: 'Payload Too Large', message: 'The request body is larger than allowed' },
};

/** Asserts the seed's error body exactly: status, title, message, http_status_code, optional detail. */
function assertError(res: ApiResponse, status: number, detail?: RegExp): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  const { detail: actualDetail, ...rest } = res.body as Record<string, unknown>;
  assert.deepEqual(rest, { ...SEED_ERRORS[status], http_status_code: status });
  if (actualDetail !== undefined) assert.equal(typeof actualDetail, 'string');
  if (detail) assert.match(String(actualDetail), detail);
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('Entries API', () => {
  let t: TestServer;
  let entriesDir: string;
  /** Sends a write with the credentials in a JSON body. */
  const write = (method: string, endpoint: string, params: Record<string, unknown>) =>
    call(t.base, method, endpoint, { json: { token: t.token, access_token: t.accessToken, ...params } });
  const fetchEntry = (id: string, extra = '') => call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}${extra}` });
  /** A token made for one test, with the given token fields. */
  const makeToken = (data: Record<string, unknown>) => t.server.cms.tokens.create(data);

  before(async () => {
    t = await startTestServer({ fromDemo: true });
    entriesDir = path.join(t.projectDir, 'entries');
  });
  after(async () => t.close());

  describe('create (POST /entries)', () => {
    it('keeps a NUL and a U+FFFF in the content and in fields as sent, on every engine (a database text column holds no NUL)', async () => {
      const content = 'a\u0000b \uFFFF0 \uFFFF1 \u0000c';
      for (const [id, data] of [
        ['nul-content', { content }],
        ['nul-leading', { content: `\uFFFF${content}` }],
        ['nul-field', { title: 'x\u0000y', content: 'plain' }],
      ] as const) {
        const created = await write('POST', '/entries', { id, data });
        assert.equal(created.status, 200, `${id}: ${created.text}`);
        const fetched = await fetchEntry(id);
        assert.equal(fetched.status, 200, fetched.text);
        for (const [key, value] of Object.entries(data)) assert.equal(fetched.body[key], value, `${id}.${key}`);
        const patched = await write('PATCH', '/entries', { id, data: { extra: 1 } });
        assert.equal(patched.status, 200, patched.text);
        for (const [key, value] of Object.entries(data)) assert.equal(patched.body[key], value, `${id}.${key} after a PATCH`);
      }
      const copied = await write('PUT', '/entries/copy', { id: 'nul-content', new_id: 'nul-copied' });
      assert.equal(copied.status, 200, copied.text);
      assert.equal((await fetchEntry('nul-copied')).body.content, content);
      assert.ok((await storedText(t, 'nul-content')).endsWith(content), 'the stored text holds the content as sent');
    });

    it('stores a JSON body with its types and answers the new entry with system fields', async () => {
      const before = Math.floor(Date.now() / 1000);
      const res = await write('POST', '/entries', {
        id: 'created-json',
        data: { title: 'JSON', views: 10, ratio: 1.5, draft: false, tags: ['a', 'b'], meta: { depth: 2 } },
      });
      const afterCall = Math.ceil(Date.now() / 1000);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      const e = res.body;
      assert.equal(e.title, 'JSON');
      assert.equal(e.views, 10);
      assert.equal(e.ratio, 1.5);
      assert.equal(e.draft, false);
      assert.deepEqual(e.tags, ['a', 'b']);
      assert.deepEqual(e.meta, { depth: 2 });
      assert.match(e.uuid, UUID_V4);
      assert.equal(e.created_by, '');
      assert.equal(e.published_by, '');
      assert.equal(e.routable, true);
      assert.equal(e.visibility, 'visible');
      assert.equal(e.id, 'created-json');
      assert.equal(e.slug, 'created-json');
      for (const key of ['created_at', 'published_at', 'modified_at']) {
        assert.ok(Number.isInteger(e[key]), `${key} is an integer: ${e[key]}`);
        assert.ok(e[key] >= before - 1 && e[key] <= afterCall + 1, `${key} is now: ${e[key]}`);
      }
      // The answer is what a fetch returns.
      const fetched = await fetchEntry('created-json');
      assert.equal(fetched.status, 200);
      assert.deepEqual(fetched.body, e);
      assert.ok((await isStored(t, 'created-json')));
    });

    it('keeps form-encoded values as strings and decodes brackets into nesting', async () => {
      const form = [
        `id=created-form`,
        `token=${q(t.token)}`,
        `access_token=${q(t.accessToken)}`,
        'data[title]=Form%20entry',
        'data[views]=10',
        'data[flag]=true',
        'data[tags][]=x',
        'data[tags][]=y',
        'data[meta][author]=ada',
      ].join('&');
      const res = await call(t.base, 'POST', '/entries', { form });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.title, 'Form entry');
      assert.equal(res.body.views, '10');
      assert.equal(res.body.flag, 'true');
      assert.deepEqual(res.body.tags, ['x', 'y']);
      assert.deepEqual(res.body.meta, { author: 'ada' });
      assert.match(res.body.uuid, UUID_V4);
      const fetched = await fetchEntry('created-form');
      assert.equal(fetched.body.views, '10');
    });

    it('creates an entry without data, with only the system fields', async () => {
      const res = await write('POST', '/entries', { id: 'created-empty' });
      assert.equal(res.status, 200, res.text);
      assert.match(res.body.uuid, UUID_V4);
      assert.equal(res.body.visibility, 'visible');
      assert.equal(res.body.routable, true);
    });

    it('keeps given system fields, an allowed visibility, and turns an invalid visibility into "visible"', async () => {
      const given = await write('POST', '/entries', {
        id: 'created-given',
        data: { uuid: '11111111-2222-4333-8444-555555555555', created_by: 'ada', routable: false, visibility: 'draft' },
      });
      assert.equal(given.status, 200, given.text);
      assert.equal(given.body.uuid, '11111111-2222-4333-8444-555555555555');
      assert.equal(given.body.created_by, 'ada');
      assert.equal(given.body.routable, false);
      assert.equal(given.body.visibility, 'draft');
      const hidden = await write('POST', '/entries', { id: 'created-hidden', data: { visibility: 'hidden' } });
      assert.equal(hidden.body.visibility, 'hidden');
      const invalid = await write('POST', '/entries', { id: 'created-invalid', data: { visibility: 'secret' } });
      assert.equal(invalid.status, 200, invalid.text);
      assert.equal(invalid.body.visibility, 'visible');
    });

    it('stores private fields but never returns them', async () => {
      const res = await write('POST', '/entries', { id: 'created-private', data: { title: 'P', _notes: 'hidden text' } });
      assert.equal(res.status, 200, res.text);
      assert.equal('_notes' in res.body, false);
      const fetched = await fetchEntry('created-private');
      assert.equal('_notes' in fetched.body, false);
      assert.doesNotMatch(fetched.text, /hidden text/);
      assert.match((await storedText(t, 'created-private')), /_notes: hidden text/);
    });

    it('creates a child entry under an existing parent', async () => {
      const res = await write('POST', '/entries', { id: 'blog/created-child', data: { title: 'Child' } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, 'blog/created-child');
      assert.equal(res.body.slug, 'created-child');
    });

    it('refuses to create an existing entry with 400 and a detail, leaving it unchanged', async () => {
      const fileBefore = (await storedText(t, 'home'));
      const res = await write('POST', '/entries', { id: 'home', data: { title: 'Overwritten' } });
      assertError(res, 400, /already exists/);
      assert.equal((await storedText(t, 'home')), fileBefore);
    });

    it('refuses a child of a missing parent with 404 and a detail', async () => {
      const res = await write('POST', '/entries', { id: 'no-such-parent/child', data: { title: 'Orphan' } });
      assertError(res, 404, /parent/);
      assert.equal((await isStored(t, 'no-such-parent')), false);
    });

    it('refuses a non-object data with 400', async () => {
      assertError(await write('POST', '/entries', { id: 'created-bad-data', data: 'just a string' }), 400, /data/);
      assertError(await write('POST', '/entries', { id: 'created-bad-data', data: [1, 2] }), 400, /data/);
    });
  });

  describe('fetch (GET /entries)', () => {
    it('returns the entry unwrapped, with id, slug, modified_at and Unix timestamps', async () => {
      const res = await fetchEntry('blog/hello-world');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal('data' in res.body, false);
      assert.equal(res.body.id, 'blog/hello-world');
      assert.equal(res.body.slug, 'hello-world');
      assert.equal(res.body.title, 'Hello world');
      assert.equal(res.body.created_at, Date.UTC(2020, 4, 16, 9, 30) / 1000);
      assert.equal(res.body.published_at, Date.UTC(2020, 4, 16, 9, 30) / 1000);
      const mtime = (await storedStat(t, 'blog/hello-world')).mtimeMs;
      assert.equal(res.body.modified_at, Math.floor(mtime / 1000));
      assert.equal(res.body.routable, true);
      assert.match(res.body.content, /^The first post/);
    });

    it('answers ISO dates as Unix timestamps and hides private fields of files', async () => {
      const res = await fetchEntry('blog/flat-files');
      assert.equal(res.status, 200);
      assert.equal(res.body.created_at, Date.UTC(2021, 2, 2, 10, 0) / 1000);
      assert.equal('_editor_notes' in res.body, false);
      assert.doesNotMatch(res.text, /private fields start/);
    });

    it('uses the file modification time for missing dates and returns routable as a boolean', async () => {
      // Movies have no dates and no routable field in their YAML files.
      const res = await fetchEntry('movies/arrival');
      assert.equal(res.status, 200);
      const mtime = Math.floor((await storedStat(t, 'movies/arrival')).mtimeMs / 1000);
      assert.equal(res.body.created_at, mtime);
      assert.equal(res.body.published_at, mtime);
      assert.equal(res.body.modified_at, mtime);
      assert.equal(res.body.routable, true);
      // A routable stored as the string "false" comes back as the boolean false.
      const created = await call(t.base, 'POST', '/entries', {
        form: `id=routable-string&token=${q(t.token)}&access_token=${q(t.accessToken)}&data[routable]=false`,
      });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.routable, false);
    });

    it('applies options[filter][only] and [except] to a single entry', async () => {
      const only = await fetchEntry('blog/hello-world', '&options[filter][only][]=title&options[filter][only][]=views');
      assert.equal(only.status, 200, only.text);
      assert.deepEqual(only.body, { title: 'Hello world', views: 120 });
      const except = await fetchEntry('blog/hello-world', '&options[filter][except][]=content&options[filter][except][]=tags');
      assert.equal(except.status, 200);
      assert.equal('content' in except.body, false);
      assert.equal('tags' in except.body, false);
      assert.equal(except.body.title, 'Hello world');
      assert.equal(except.body.id, 'blog/hello-world');
    });

    it('supports dot paths in only', async () => {
      await write('POST', '/entries', { id: 'nested-only', data: { meta: { a: 1, b: 2 }, title: 'N' } });
      const res = await fetchEntry('nested-only', `&options[filter][only][]=${q('meta.a')}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { meta: { a: 1 } });
    });

    it('trims trailing slashes of an id', async () => {
      const res = await fetchEntry('blog/hello-world/');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, 'blog/hello-world');
    });

    it('answers 404 with the seed body for an unknown entry', async () => {
      assertError(await fetchEntry('no/such/entry'), 404);
    });
  });

  describe('update (PATCH /entries)', () => {
    it('merges data shallowly into the stored fields', async () => {
      const created = await write('POST', '/entries', {
        id: 'upd',
        data: { title: 'Old', keep: 'me', meta: { a: 1, b: 2 }, list: [1, 2, 3] },
      });
      assert.equal(created.status, 200, created.text);
      const res = await write('PATCH', '/entries', { id: 'upd', data: { title: 'New', meta: { c: 3 }, list: [9] } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.title, 'New');
      assert.equal(res.body.keep, 'me');
      assert.deepEqual(res.body.meta, { c: 3 });
      assert.deepEqual(res.body.list, [9]);
      assert.equal(res.body.uuid, created.body.uuid);
      assert.equal(res.body.created_at, created.body.created_at);
      const fetched = await fetchEntry('upd');
      assert.deepEqual(fetched.body, res.body);
    });

    it('keeps form-encoded values as strings on update', async () => {
      await write('POST', '/entries', { id: 'upd-form', data: { views: 1 } });
      const res = await call(t.base, 'PATCH', '/entries', {
        form: `id=upd-form&token=${q(t.token)}&access_token=${q(t.accessToken)}&data[views]=2`,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.views, '2');
    });

    it('requires data', async () => {
      assertError(await write('PATCH', '/entries', { id: 'home' }), 400, /data/);
    });

    it('answers 404 for a missing entry and creates nothing', async () => {
      assertError(await write('PATCH', '/entries', { id: 'upd-missing', data: { title: 'x' } }), 404);
      assert.equal((await isStored(t, 'upd-missing')), false);
    });
  });

  describe('move (PUT /entries)', () => {
    it('moves an entry with its children', async () => {
      assert.equal((await write('POST', '/entries', { id: 'mv-a', data: { title: 'A' } })).status, 200);
      const child = await write('POST', '/entries', { id: 'mv-a/child', data: { title: 'Child' } });
      const res = await write('PUT', '/entries', { id: 'mv-a', new_id: 'mv-b' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, 'mv-b');
      assert.equal(res.body.slug, 'mv-b');
      assert.equal(res.body.title, 'A');
      const movedChild = await fetchEntry('mv-b/child');
      assert.equal(movedChild.status, 200);
      assert.equal(movedChild.body.title, 'Child');
      assert.equal(movedChild.body.uuid, child.body.uuid);
      assertError(await fetchEntry('mv-a'), 404);
      assertError(await fetchEntry('mv-a/child'), 404);
      assert.equal((await isStored(t, 'mv-a')), false);
    });

    it('moves into an existing parent', async () => {
      await write('POST', '/entries', { id: 'mv-into', data: { title: 'x' } });
      const res = await write('PUT', '/entries', { id: 'mv-into', new_id: 'blog/mv-into' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, 'blog/mv-into');
    });

    it('answers 404 for a missing entry, 400 for an existing target, 404 for a target without parent', async () => {
      assertError(await write('PUT', '/entries', { id: 'mv-missing', new_id: 'mv-anything' }), 404);
      await write('POST', '/entries', { id: 'mv-src', data: { title: 'src' } });
      assertError(await write('PUT', '/entries', { id: 'mv-src', new_id: 'home' }), 400, /exists/);
      assertError(await write('PUT', '/entries', { id: 'mv-src', new_id: 'mv-nowhere/mv-src' }), 404, /parent/);
      // Nothing moved.
      assert.equal((await fetchEntry('mv-src')).status, 200);
      assert.equal((await fetchEntry('home')).body.title, 'Home');
    });

    it('requires new_id', async () => {
      assertError(await write('PUT', '/entries', { id: 'home' }), 400, /new_id/);
    });
  });

  describe('copy (PUT /entries/copy)', () => {
    it('copies an entry with its children, each copy with a fresh uuid', async () => {
      const parent = await write('POST', '/entries', { id: 'cp-a', data: { title: 'A', body: 'same' } });
      const child = await write('POST', '/entries', { id: 'cp-a/child', data: { title: 'Child' } });
      const res = await write('PUT', '/entries/copy', { id: 'cp-a', new_id: 'cp-b' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, 'cp-b');
      assert.equal(res.body.title, 'A');
      assert.equal(res.body.body, 'same');
      assert.match(res.body.uuid, UUID_V4);
      assert.notEqual(res.body.uuid, parent.body.uuid);
      const copiedChild = await fetchEntry('cp-b/child');
      assert.equal(copiedChild.status, 200);
      assert.equal(copiedChild.body.title, 'Child');
      assert.match(copiedChild.body.uuid, UUID_V4);
      assert.notEqual(copiedChild.body.uuid, child.body.uuid);
      // The source is untouched.
      const source = await fetchEntry('cp-a');
      assert.equal(source.body.uuid, parent.body.uuid);
      assert.equal((await fetchEntry('cp-a/child')).body.uuid, child.body.uuid);
    });

    it('answers 404 for a missing entry, 400 for an existing target', async () => {
      assertError(await write('PUT', '/entries/copy', { id: 'cp-missing', new_id: 'cp-anything' }), 404);
      assert.equal((await isStored(t, 'cp-anything')), false);
      await write('POST', '/entries', { id: 'cp-src', data: { title: 'src' } });
      const homeBefore = (await storedText(t, 'home'));
      assertError(await write('PUT', '/entries/copy', { id: 'cp-src', new_id: 'home' }), 400, /exists/);
      assert.equal((await storedText(t, 'home')), homeBefore);
      assertError(await write('PUT', '/entries/copy', { id: 'cp-src', new_id: 'cp-nowhere/x' }), 404, /parent/);
    });
  });

  describe('delete (DELETE /entries)', () => {
    it('deletes an entry with its children and answers 204 with an empty body', async () => {
      await write('POST', '/entries', { id: 'del-a', data: { title: 'A' } });
      await write('POST', '/entries', { id: 'del-a/child', data: { title: 'Child' } });
      const res = await write('DELETE', '/entries', { id: 'del-a' });
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      assertError(await fetchEntry('del-a'), 404);
      assertError(await fetchEntry('del-a/child'), 404);
      assert.equal((await isStored(t, 'del-a')), false);
    });

    it('answers 404 for a missing entry', async () => {
      assertError(await write('DELETE', '/entries', { id: 'del-missing' }), 404);
    });

    it('accepts credentials in a form body', async () => {
      await write('POST', '/entries', { id: 'del-form', data: { title: 'A' } });
      const res = await call(t.base, 'DELETE', '/entries', {
        form: `id=del-form&token=${q(t.token)}&access_token=${q(t.accessToken)}`,
      });
      assert.equal(res.status, 204, res.text);
    });
  });

  describe('token entries are not reachable through the Entries API', () => {
    it('answers 404 for reads and writes under tokens/ and leaves the token working', async () => {
      const tokenId = `tokens/${t.token}`;
      assertError(await fetchEntry(tokenId), 404);
      assertError(await fetchEntry('tokens'), 404);
      assertError(await fetchEntry('tokens', '&options[collection]=true'), 404);
      assertError(await write('POST', '/entries', { id: 'tokens/new-token', data: { title: 'x' } }), 404);
      assertError(await write('PATCH', '/entries', { id: tokenId, data: { state: 'disabled' } }), 404);
      assertError(await write('PUT', '/entries', { id: tokenId, new_id: 'stolen' }), 404);
      assertError(await write('PUT', '/entries/copy', { id: tokenId, new_id: 'stolen' }), 404);
      assertError(await write('PUT', '/entries/copy', { id: 'home', new_id: 'tokens/home' }), 404);
      assertError(await write('DELETE', '/entries', { id: tokenId }), 404);
      assert.equal((await isStored(t, 'stolen')), false);
      assert.equal((await isStored(t, 'tokens/new-token')), false);
      assert.equal((await fetchEntry('home')).status, 200);
    });

    it('leaves tokens out of the root collection', async () => {
      const res = await call(t.base, 'GET', '/entries', { query: `id=&options[collection]=true&token=${q(t.token)}` });
      assert.equal(res.status, 200, res.text);
      assert.ok('home' in res.body);
      assert.equal('tokens' in res.body, false);
      assert.doesNotMatch(res.text, /hashed_access_token/);
    });
  });

  describe('request validation and errors', () => {
    it('answers a missing parameter with 400 naming it', async () => {
      assertError(await call(t.base, 'GET', '/entries', { query: `token=${q(t.token)}` }), 400, /\bid\b/);
      assertError(await call(t.base, 'GET', '/entries', { query: 'id=home' }), 400, /token/);
      assertError(await call(t.base, 'POST', '/entries', { json: { id: 'x-missing', token: t.token } }), 400, /access_token/);
      assertError(await call(t.base, 'POST', '/entries', { json: { token: t.token, access_token: t.accessToken } }), 400, /\bid\b/);
      assertError(await call(t.base, 'DELETE', '/entries', { json: { id: 'home', access_token: t.accessToken } }), 400, /token/);
    });

    it('checks parameters before the token (validation order)', async () => {
      // An unknown token with a missing id is a 400 (step 1), not a 401 (step 3).
      assertError(await call(t.base, 'GET', '/entries', { query: 'token=nobody' }), 400, /\bid\b/);
    });

    it('answers an unknown token with 401', async () => {
      assertError(await call(t.base, 'GET', '/entries', { query: 'id=home&token=unknown-token' }), 401);
      assertError(
        await call(t.base, 'POST', '/entries', { json: { id: 'x-unknown', token: 'unknown-token', access_token: t.accessToken } }),
        401,
      );
      assert.equal((await isStored(t, 'x-unknown')), false);
    });

    it('answers a wrong access token with 401 and writes nothing', async () => {
      const res = await call(t.base, 'POST', '/entries', {
        json: { id: 'x-wrong-access', token: t.token, access_token: '0'.repeat(32), data: { title: 'x' } },
      });
      assertError(res, 401);
      assert.equal((await isStored(t, 'x-wrong-access')), false);
      assertError(await call(t.base, 'DELETE', '/entries', { json: { id: 'home', token: t.token, access_token: 'wrong' } }), 401);
      assert.equal((await fetchEntry('home')).status, 200);
    });

    it('refuses a disabled token with 400, before checking its access token', async () => {
      const disabled = await makeToken({ state: 'disabled' });
      assertError(await call(t.base, 'GET', '/entries', { query: `id=home&token=${q(disabled.token)}` }), 400, /disabled/);
      assertError(
        await call(t.base, 'POST', '/entries', { json: { id: 'x-disabled', token: disabled.token, access_token: disabled.access_token } }),
        400,
        /disabled/,
      );
      // Step 4 (disabled) comes before step 5 (access token).
      assertError(
        await call(t.base, 'POST', '/entries', { json: { id: 'x-disabled', token: disabled.token, access_token: 'wrong' } }),
        400,
        /disabled/,
      );
      assert.equal((await isStored(t, 'x-disabled')), false);
    });

    it('lets the call that reaches limit_calls succeed and refuses the next with 400', async () => {
      const limited = await makeToken({ limit_calls: 3 });
      const read = () => call(t.base, 'GET', '/entries', { query: `id=home&token=${q(limited.token)}` });
      assert.equal((await read()).status, 200);
      assert.equal((await read()).status, 200);
      const third = await call(t.base, 'POST', '/entries', {
        json: { id: 'x-limit', token: limited.token, access_token: limited.access_token },
      });
      assert.equal(third.status, 200, third.text);
      assertError(await read(), 400, /limit_calls/);
      assertError(
        await call(t.base, 'POST', '/entries', { json: { id: 'x-limit-2', token: limited.token, access_token: limited.access_token } }),
        400,
        /limit_calls/,
      );
      assert.equal((await isStored(t, 'x-limit-2')), false);
      // Other tokens are unaffected.
      assert.equal((await fetchEntry('home')).status, 200);
    });

    it('counts refused calls not at all: a failed access token does not use up the limit', async () => {
      const limited = await makeToken({ limit_calls: 1 });
      assertError(
        await call(t.base, 'POST', '/entries', { json: { id: 'x-limit-fail', token: limited.token, access_token: 'wrong' } }),
        401,
      );
      const ok = await call(t.base, 'GET', '/entries', { query: `id=home&token=${q(limited.token)}` });
      assert.equal(ok.status, 200, ok.text);
    });

    it('refuses unsafe ids with 400 and touches nothing outside entries/', async () => {
      const unsafe = ['..', '../home', 'blog/../home', 'blog/./hello-world', '/home', '//home', 'blog\\hello-world', 'a\u0000b', 'a\u0001b',
        'blog//hello-world', '.hidden', `a\u007fb`];
      for (const id of unsafe) {
        assertError(await fetchEntry(id), 400);
        assertError(await write('POST', '/entries', { id, data: { title: 'escape' } }), 400);
        assertError(await write('PATCH', '/entries', { id, data: { title: 'escape' } }), 400);
        assertError(await write('DELETE', '/entries', { id }), 400);
      }
      // Percent-encoded dots in a query are decoded before the check.
      assertError(await call(t.base, 'GET', '/entries', { query: `id=%2e%2e&token=${q(t.token)}` }), 400);
      assertError(await call(t.base, 'GET', '/entries', { query: `id=blog/%2E%2E/home&token=${q(t.token)}` }), 400);
      assertError(await call(t.base, 'GET', '/entries', { query: `id=a%00b&token=${q(t.token)}` }), 400);
      // Unsafe targets of move and copy.
      await write('POST', '/entries', { id: 'unsafe-src', data: { title: 'src' } });
      for (const newId of ['../escaped', '/escaped', 'a\\b', 'x//y', 'x/../y']) {
        assertError(await write('PUT', '/entries', { id: 'unsafe-src', new_id: newId }), 400);
        assertError(await write('PUT', '/entries/copy', { id: 'unsafe-src', new_id: newId }), 400);
      }
      assert.equal(existsSync(path.join(t.projectDir, 'escaped')), false);
      assert.equal(existsSync(path.join(path.dirname(t.projectDir), 'escaped')), false);
      for (const name of readdirSync(t.projectDir)) assert.ok(['config', 'entries', 'var'].includes(name), `unexpected ${name}`);
      assert.equal((await fetchEntry('unsafe-src')).status, 200);
    });

    it('refuses an empty id with 400', async () => {
      assertError(await call(t.base, 'GET', '/entries', { query: `id=&token=${q(t.token)}` }), 400);
      assertError(await call(t.base, 'GET', '/entries', { query: `id=/&token=${q(t.token)}` }), 400);
      assertError(await write('POST', '/entries', { id: '' }), 400);
      assertError(await write('POST', '/entries', { id: 42 }), 400);
    });

    it('answers malformed JSON with 400', async () => {
      const res = await call(t.base, 'POST', '/entries', { raw: '{"id": "x-bad-json", "token":', headers: { 'content-type': 'application/json' } });
      assertError(res, 400, /JSON/);
      const notObject = await call(t.base, 'POST', '/entries', { raw: '[1,2]', headers: { 'content-type': 'application/json' } });
      assertError(notObject, 400);
      assert.equal((await isStored(t, 'x-bad-json')), false);
    });

    it('answers an unknown route with a JSON 404', async () => {
      assertError(await call(t.base, 'GET', '/nothing-here'), 404);
      assertError(await call(t.base, 'POST', '/entries/nothing', { json: {} }), 404);
      const outside = await fetch(`${t.server.url}/not-the-api`);
      assert.equal(outside.status, 404);
      assert.equal(outside.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(((await outside.json()) as { http_status_code: number }).http_status_code, 404);
    });

    it('answers a wrong method on a known path with 405 and an Allow header', async () => {
      const res = await call(t.base, 'GET', '/entries/copy', { query: `id=home&token=${q(t.token)}` });
      assertError(res, 405);
      const allow = (res.headers.get('allow') ?? '').split(/,\s*/);
      assert.ok(allow.includes('PUT'), `Allow: ${res.headers.get('allow')}`);
      assert.equal(allow.includes('GET'), false);
      const post = await call(t.base, 'POST', '/entries/copy', { json: {} });
      assertError(post, 405);
    });

    it('answers an oversized body with 413', async () => {
      // The default body limit is 1 MiB.
      const big = { id: 'x-too-big', token: t.token, access_token: t.accessToken, data: { text: 'x'.repeat(1_200_000) } };
      assertError(await call(t.base, 'POST', '/entries', { json: big }), 413);
      const form = `id=x-too-big&token=${q(t.token)}&access_token=${q(t.accessToken)}&data[text]=${'y'.repeat(1_200_000)}`;
      assertError(await call(t.base, 'POST', '/entries', { form }), 413);
      assert.equal((await isStored(t, 'x-too-big')), false);
    });
  });

  describe('CORS', () => {
    it('answers a preflight with the Access-Control-Allow-* headers', async () => {
      const res = await call(t.base, 'OPTIONS', '/entries', {
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'content-type, x-access-token',
        },
      });
      assert.ok(res.status === 204 || res.status === 200, `status ${res.status}`);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const methods = (res.headers.get('access-control-allow-methods') ?? '').toUpperCase();
      for (const m of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) assert.ok(methods.includes(m), `allow-methods: ${methods}`);
      const headers = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      assert.ok(headers.includes('content-type') && headers.includes('x-access-token'), `allow-headers: ${headers}`);
    });

    it('puts Allow-Origin and Expose-Headers (ETag, X-Total-Count) on answers, errors included', async () => {
      for (const res of [
        await call(t.base, 'GET', '/entries', { query: `id=home&token=${q(t.token)}`, headers: { origin: 'https://app.example' } }),
        await call(t.base, 'GET', '/entries', { query: 'id=home&token=nobody', headers: { origin: 'https://app.example' } }),
      ]) {
        assert.equal(res.headers.get('access-control-allow-origin'), '*');
        const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
        assert.ok(exposed.includes('etag') && exposed.includes('x-total-count'), `expose: ${exposed.join(',')}`);
      }
    });
  });

  describe('credentials in headers', () => {
    it('accepts Authorization: Bearer for reads', async () => {
      const res = await call(t.base, 'GET', '/entries', { query: 'id=home', headers: { authorization: `Bearer ${t.token}` } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, 'home');
    });

    it('accepts Bearer and X-Access-Token for writes, and refuses a wrong X-Access-Token', async () => {
      const headers = { authorization: `Bearer ${t.token}`, 'x-access-token': t.accessToken };
      const created = await call(t.base, 'POST', '/entries', { json: { id: 'hdr-entry', data: { title: 'H' } }, headers });
      assert.equal(created.status, 200, created.text);
      const updated = await call(t.base, 'PATCH', '/entries', { json: { id: 'hdr-entry', data: { title: 'H2' } }, headers });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.title, 'H2');
      const wrong = await call(t.base, 'DELETE', '/entries', {
        json: { id: 'hdr-entry' },
        headers: { authorization: `Bearer ${t.token}`, 'x-access-token': 'f'.repeat(32) },
      });
      assertError(wrong, 401);
      const deleted = await call(t.base, 'DELETE', '/entries', { json: { id: 'hdr-entry' }, headers });
      assert.equal(deleted.status, 204);
    });

    it('refuses an unknown Bearer token with 401 and a missing one with 400', async () => {
      assertError(await call(t.base, 'GET', '/entries', { query: 'id=home', headers: { authorization: 'Bearer unknown' } }), 401);
      assertError(await call(t.base, 'GET', '/entries', { query: 'id=home', headers: { authorization: 'Basic abc' } }), 400, /token/);
    });
  });
});
