/** Tokens API over HTTP (SPEC §4): every endpoint and its errors, scopes, expiry, limits, headers. */
import assert from 'node:assert/strict';
import { ON_POSTGRES } from './engine-helpers.js';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { call, isStored, q, startTestServer, storedText, type ApiResponse, type TestServer } from './helpers.js';

const HEX32 = /^[0-9a-f]{32}$/;

interface Credentials {
  token: string;
  access_token: string;
}

let t: TestServer;
let admin: Credentials;
/** Every response this file received; each was checked for the secret hash. */
let responses = 0;

/**
 * One HTTP call; no response, whatever the endpoint or outcome, may carry the secret hash: neither
 * the field (as a JSON key) nor anything shaped like a bcrypt hash. Error details may name the field.
 */
async function api(method: string, endpoint: string, init: Parameters<typeof call>[3] = {}): Promise<ApiResponse> {
  const res = await call(t.base, method, endpoint, init);
  responses++;
  assert.ok(!/"hashed_access_token"\s*:/.test(res.text), `${method} ${endpoint} answered the hash: ${res.text}`);
  assert.ok(!/\$2[abxy]\$\d\d\$/.test(res.text) || endpoint.endsWith('generate-hash'), `${method} ${endpoint} answered a bcrypt hash`);
  return res;
}

function assertError(res: ApiResponse, status: number, detail?: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.http_status_code, status);
  assert.equal(typeof res.body.title, 'string');
  assert.equal(typeof res.body.message, 'string');
  assert.equal(typeof res.body.detail, 'string', 'a detail says what was wrong');
  if (detail) assert.match(res.body.detail, detail);
}

async function createToken(data?: Record<string, unknown>, by: Credentials = admin): Promise<Credentials> {
  const res = await api('POST', '/tokens', { json: { ...by, ...(data === undefined ? {} : { data }) } });
  assert.equal(res.status, 200, res.text);
  return res.body as Credentials;
}

async function fetchToken(id: string): Promise<Record<string, unknown>> {
  const res = await api('GET', '/tokens', { query: `id=${q(id)}&token=${q(admin.token)}&access_token=${q(admin.access_token)}` });
  assert.equal(res.status, 200, res.text);
  return res.body as Record<string, unknown>;
}

const readEntry = (c: Credentials, id = 'blog') => api('GET', '/entries', { query: `id=${q(id)}&token=${q(c.token)}` });

before(async () => {
  t = await startTestServer({ fromDemo: true });
  admin = { token: t.token, access_token: t.accessToken };
});
after(async () => {
  await t.close();
  // The hash check above ran on every response; make sure it was not vacuous.
  assert.ok(responses > 50, `only ${responses} responses checked`);
});

describe('GET /tokens', () => {
  it('fetches one token with the token and the access token, without the hash', async () => {
    assert.match(await storedText(t, `tokens/${admin.token}`), /hashed_access_token: \$2/, 'the hash is on disk, so hiding it is a real check');
    const body = await fetchToken(admin.token);
    assert.equal(body['id'], admin.token);
    assert.equal(body['state'], 'enabled');
    assert.equal(body['title'], 'test token');
    assert.equal(typeof body['uuid'], 'string');
    assert.equal(typeof body['created_at'], 'number');
    assert.equal(typeof body['modified_at'], 'number');
    assert.equal(body['limit_calls'], 0);
    assert.equal(typeof body['calls'], 'number');
    assert.ok(!('hashed_access_token' in body));
  });

  it('[ours] needs the access token as well', async () => {
    assertError(await api('GET', '/tokens', { query: `id=${admin.token}&token=${admin.token}` }), 400, /access_token/);
    assertError(await api('GET', '/tokens', { query: `id=${admin.token}&token=${admin.token}&access_token=${'0'.repeat(32)}` }), 401);
  });

  it('answers 400 for missing parameters and 401 for an unknown token', async () => {
    assertError(await api('GET', '/tokens', { query: `token=${admin.token}&access_token=${admin.access_token}` }), 400, /id/);
    assertError(await api('GET', '/tokens', { query: `id=${admin.token}&access_token=${admin.access_token}` }), 400, /token/);
    assertError(await api('GET', '/tokens', { query: `id=${admin.token}&token=${'f'.repeat(32)}&access_token=${admin.access_token}` }), 401);
  });

  it('answers 404 for a token id that does not exist', async () => {
    assertError(await api('GET', '/tokens', { query: `id=${'e'.repeat(32)}&token=${admin.token}&access_token=${admin.access_token}` }), 404);
  });

  it('lists every token as a collection with id= empty', async () => {
    const other = await createToken({ title: 'listed' });
    const res = await api('GET', '/tokens', {
      query: `id=&options[collection]=true&token=${admin.token}&access_token=${admin.access_token}`,
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(Object.keys(res.body).includes(admin.token));
    assert.equal(res.body[other.token].title, 'listed');
    assert.equal(res.body[other.token].id, other.token);
    const filtered = await api('GET', '/tokens', {
      query: `id=&options[collection]=1&options[filter][where][0][key]=title&options[filter][where][0][operator]=eq&options[filter][where][0][value]=listed&token=${admin.token}&access_token=${admin.access_token}`,
    });
    assert.deepEqual(Object.keys(filtered.body), [other.token]);
  });

  it('cannot be used to read the hash through filters', async () => {
    const auth = `token=${admin.token}&access_token=${admin.access_token}`;
    const only = await api('GET', '/tokens', { query: `id=${admin.token}&options[filter][only][0]=hashed_access_token&${auth}` });
    assert.equal(only.status, 200);
    assert.deepEqual(only.body, {});
    const where = await api('GET', '/tokens', {
      query: `id=&options[collection]=true&options[filter][where][0][key]=hashed_access_token&options[filter][where][0][operator]=starts_with&options[filter][where][0][value]=${q('$2')}&${auth}`,
    });
    assert.equal(where.status, 200);
    assert.deepEqual(where.body, {}, 'the hash is not a field that can be matched');
    // The raw-file search would be an oracle on the hash, character by character.
    for (const option of ['contains', 'not_contains']) {
      const raw = await api('GET', '/tokens', { query: `id=&options[collection]=true&options[find][${option}]=${q('$2')}&${auth}` });
      assertError(raw, 400, /not available for tokens/);
    }
  });
});

describe('POST /tokens', () => {
  it('creates a token without data: exactly {token, access_token}, both 32 lowercase hex', async () => {
    const res = await api('POST', '/tokens', { json: admin });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'token']);
    assert.match(res.body.token, HEX32);
    assert.match(res.body.access_token, HEX32);
    assert.notEqual(res.body.token, res.body.access_token);
    const stored = await storedText(t, `tokens/${res.body.token}`);
    assert.ok(!stored.includes(res.body.access_token), 'only the hash of the access token is stored');
    const fields = await fetchToken(res.body.token);
    assert.equal(fields['state'], 'enabled');
    assert.equal(fields['calls'], 0);
    assert.equal(fields['limit_calls'], 0);
  });

  it('stores data with the new token, and the new token works for reads and writes', async () => {
    const created = await createToken({ title: 'Editor', email: 'editor@example.org' });
    const fields = await fetchToken(created.token);
    assert.equal(fields['title'], 'Editor');
    assert.equal(fields['email'], 'editor@example.org');
    assert.equal((await readEntry(created)).status, 200);
    const write = await api('POST', '/entries', { json: { ...created, id: 'by-new-token', data: { title: 'x' } } });
    assert.equal(write.status, 200, write.text);
  });

  it('accepts a form-encoded body', async () => {
    const res = await api('POST', '/tokens', {
      form: `token=${admin.token}&access_token=${admin.access_token}&data[title]=Form&data[scopes][]=entries:read`,
    });
    assert.equal(res.status, 200, res.text);
    const fields = await fetchToken(res.body.token);
    assert.equal(fields['title'], 'Form');
    assert.deepEqual(fields['scopes'], ['entries:read']);
  });

  it('answers 400 without access_token and 401 with a wrong one', async () => {
    assertError(await api('POST', '/tokens', { json: { token: admin.token } }), 400, /access_token/);
    assertError(await api('POST', '/tokens', { json: { token: admin.token, access_token: 'a'.repeat(32) } }), 401);
  });

  it('refuses data that tries to set the hash or has invalid fields', async () => {
    assertError(await api('POST', '/tokens', { json: { ...admin, data: { hashed_access_token: '$2y$10$abc' } } }), 400, /hashed_access_token/);
    assertError(await api('POST', '/tokens', { json: { ...admin, data: { scopes: ['everything'] } } }), 400, /scope/);
    assertError(await api('POST', '/tokens', { json: { ...admin, data: { state: 'sleeping' } } }), 400, /state/);
    assertError(await api('POST', '/tokens', { json: { ...admin, data: { limit_calls: -1 } } }), 400, /limit_calls/);
    assertError(await api('POST', '/tokens', { json: { ...admin, data: 'title' } }), 400, /data/);
  });
});

describe('PATCH /tokens', () => {
  it('updates a token entry and answers it', async () => {
    const created = await createToken({ title: 'before' });
    const res = await api('PATCH', '/tokens', { json: { ...admin, id: created.token, data: { title: 'after', note: 'n' } } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, created.token);
    assert.equal(res.body.title, 'after');
    assert.equal(res.body.note, 'n');
    assert.equal(res.body.state, 'enabled');
    assert.equal((await fetchToken(created.token))['title'], 'after');
    // The access token still works: updating never touches the hash.
    assert.equal((await api('GET', '/tokens', { query: `id=${created.token}&token=${created.token}&access_token=${created.access_token}` })).status, 200);
  });

  it('answers 400 without data or id, 404 for an unknown token', async () => {
    const created = await createToken();
    assertError(await api('PATCH', '/tokens', { json: { ...admin, id: created.token } }), 400, /data/);
    assertError(await api('PATCH', '/tokens', { json: { ...admin, data: { title: 'x' } } }), 400, /id/);
    assertError(await api('PATCH', '/tokens', { json: { ...admin, id: 'b'.repeat(32), data: { title: 'x' } } }), 404);
    assertError(await api('PATCH', '/tokens', { json: { ...admin, id: created.token, data: { hashed_access_token: 'x' } } }), 400);
  });
});

describe('DELETE /tokens', () => {
  it('deletes a token (204, empty body); the deleted token is refused on the very next request', async () => {
    const created = await createToken();
    assert.equal((await readEntry(created)).status, 200);
    const res = await api('DELETE', '/tokens', { json: { ...admin, id: created.token } });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.ok(!(await isStored(t, `tokens/${created.token}`)));
    assertError(await readEntry(created), 401);
    assertError(await api('GET', '/tokens', { query: `id=${created.token}&token=${admin.token}&access_token=${admin.access_token}` }), 404);
  });

  it('a token can delete itself; it is refused afterwards', async () => {
    const created = await createToken();
    assert.equal((await api('DELETE', '/tokens', { json: { ...created, id: created.token } })).status, 204);
    assertError(await api('DELETE', '/tokens', { json: { ...created, id: created.token } }), 401);
  });

  it('answers 404 for an unknown token and 400 without id', async () => {
    assertError(await api('DELETE', '/tokens', { json: { ...admin, id: 'c'.repeat(32) } }), 404);
    assertError(await api('DELETE', '/tokens', { json: admin }), 400, /id/);
  });

  it('refuses to delete the last remaining token with 400 and a detail', async () => {
    const solo = await startTestServer({ fromDemo: false });
    try {
      const res = await call(solo.base, 'DELETE', '/tokens', { json: { token: solo.token, access_token: solo.accessToken, id: solo.token } });
      assertError(res, 400, /last token/);
      assert.ok(await isStored(solo, `tokens/${solo.token}`));
      const still = await call(solo.base, 'GET', '/tokens', { query: `id=${solo.token}&token=${solo.token}&access_token=${solo.accessToken}` });
      assert.equal(still.status, 200);
    } finally {
      await solo.close();
    }
  });
});

describe('generate, generate-hash, verify-hash', () => {
  it('generates a random token {"token"}: 32 lowercase hex, different each time', async () => {
    const a = await api('POST', '/tokens/generate', { json: admin });
    const b = await api('POST', '/tokens/generate', { json: admin });
    assert.equal(a.status, 200);
    assert.deepEqual(Object.keys(a.body), ['token']);
    assert.match(a.body.token, HEX32);
    assert.notEqual(a.body.token, b.body.token);
  });

  it('hashes a string {"hashed_token"} that verifies, through verify-hash and the validate-hash alias', async () => {
    const res = await api('POST', '/tokens/generate-hash', { json: { ...admin, string: 'my secret' } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body), ['hashed_token']);
    const hash: string = res.body.hashed_token;
    assert.ok(bcrypt.compareSync('my secret', hash));
    for (const endpoint of ['/tokens/verify-hash', '/tokens/validate-hash']) {
      const yes = await api('POST', endpoint, { json: { ...admin, string: 'my secret', hash } });
      assert.equal(yes.status, 200, yes.text);
      assert.deepEqual(yes.body, { verified: true });
      const no = await api('POST', endpoint, { json: { ...admin, string: 'not it', hash } });
      assert.deepEqual(no.body, { verified: false });
    }
  });

  it('verifies hashes made by PHP ($2y$) and answers false for a malformed hash', async () => {
    const php = bcrypt.hashSync('from php', 4).replace(/^\$2[ab]\$/, '$2y$');
    const yes = await api('POST', '/tokens/verify-hash', { form: `token=${admin.token}&access_token=${admin.access_token}&string=from+php&hash=${q(php)}` });
    assert.deepEqual(yes.body, { verified: true });
    const bad = await api('POST', '/tokens/verify-hash', { json: { ...admin, string: 'x', hash: 'not-a-hash' } });
    assert.equal(bad.status, 200);
    assert.deepEqual(bad.body, { verified: false });
  });

  it('answers 400 for missing parameters and 401 for a wrong access token', async () => {
    assertError(await api('POST', '/tokens/generate-hash', { json: admin }), 400, /string/);
    assertError(await api('POST', '/tokens/verify-hash', { json: { ...admin, string: 'x' } }), 400, /hash/);
    assertError(await api('POST', '/tokens/validate-hash', { json: { ...admin, hash: 'x' } }), 400, /string/);
    assertError(await api('POST', '/tokens/generate', { json: { token: admin.token } }), 400, /access_token/);
    assertError(await api('POST', '/tokens/generate', { json: { token: admin.token, access_token: 'd'.repeat(32) } }), 401);
  });

  it('answers 405 with Allow for a wrong method on a token path', async () => {
    const res = await api('GET', '/tokens/generate', { query: `token=${admin.token}` });
    assert.equal(res.status, 405);
    assert.match(res.headers.get('allow') ?? '', /POST/);
  });
});

describe('[ours] scopes', () => {
  it('a token with ["entries:read"] reads entries but is refused (401 + detail) everywhere else', async () => {
    const reader = await createToken({ scopes: ['entries:read'] });
    assert.equal((await readEntry(reader)).status, 200);
    assert.equal((await readEntry(reader, 'blog/hello-world')).status, 200);
    const refused: [string, string, Parameters<typeof call>[3]][] = [
      ['POST', '/entries', { json: { ...reader, id: 'scoped-write', data: { title: 'x' } } }],
      ['PATCH', '/entries', { json: { ...reader, id: 'blog', data: { title: 'x' } } }],
      ['DELETE', '/entries', { json: { ...reader, id: 'blog' } }],
      ['PUT', '/entries', { json: { ...reader, id: 'blog', new_id: 'blog2' } }],
      ['PUT', '/entries/copy', { json: { ...reader, id: 'blog', new_id: 'blog2' } }],
      ['GET', '/tokens', { query: `id=${reader.token}&token=${reader.token}&access_token=${reader.access_token}` }],
      ['POST', '/tokens', { json: reader }],
      ['PATCH', '/tokens', { json: { ...reader, id: reader.token, data: { title: 'x' } } }],
      ['DELETE', '/tokens', { json: { ...reader, id: reader.token } }],
      ['POST', '/tokens/generate', { json: reader }],
      ['POST', '/tokens/generate-hash', { json: { ...reader, string: 'x' } }],
      ['POST', '/tokens/verify-hash', { json: { ...reader, string: 'x', hash: 'y' } }],
      ['GET', '/registry', { query: `id=flextype.manifest.name&token=${reader.token}` }],
      ['POST', '/cache/clear', { json: reader }],
    ];
    for (const [method, endpoint, init] of refused) {
      const res = await api(method, endpoint, init);
      assert.equal(res.status, 401, `${method} ${endpoint}: ${res.text}`);
      assert.match(res.body.detail, /scope/, `${method} ${endpoint}`);
    }
    assert.ok(await isStored(t, 'blog'), 'nothing was deleted');
    assert.ok(!(await isStored(t, 'scoped-write')));
  });

  it('scopes: [] can do nothing', async () => {
    const none = await createToken({ scopes: [] });
    assert.deepEqual((await fetchToken(none.token))['scopes'], []);
    assertError(await readEntry(none), 401, /scope/);
    assertError(await api('GET', '/registry', { query: `id=flextype&token=${none.token}` }), 401, /scope/);
    assertError(await api('POST', '/cache/clear', { json: none }), 401, /scope/);
    assertError(await api('POST', '/tokens/generate', { json: none }), 401, /scope/);
  });

  it('each scope opens exactly its own endpoints', async () => {
    const registry = await createToken({ scopes: ['registry:read'] });
    assert.equal((await api('GET', '/registry', { query: `id=flextype.manifest.name&token=${registry.token}` })).status, 200);
    assertError(await readEntry(registry), 401, /entries:read/);
    const cache = await createToken({ scopes: ['cache:write'] });
    assert.equal((await api('POST', '/cache/clear', { json: cache })).status, 204);
    assertError(await api('GET', '/registry', { query: `id=flextype&token=${cache.token}` }), 401, /registry:read/);
    const tokensRead = await createToken({ scopes: ['tokens:read'] });
    assert.equal((await api('GET', '/tokens', { query: `id=${tokensRead.token}&token=${tokensRead.token}&access_token=${tokensRead.access_token}` })).status, 200);
    assertError(await api('POST', '/tokens/generate', { json: tokensRead }), 401, /tokens:write/);
    const writer = await createToken({ scopes: ['entries:write'] });
    assert.equal((await api('POST', '/entries', { json: { ...writer, id: 'scoped-writer', data: { title: 'w' } } })).status, 200);
    assertError(await readEntry(writer), 401, /entries:read/);
  });

  it('a scoped token cannot create a token with more scopes (400); a lesser or equal one is fine', async () => {
    const manager = await createToken({ scopes: ['tokens:write', 'tokens:read', 'entries:read'] });
    assertError(await api('POST', '/tokens', { json: { ...manager, data: { scopes: ['entries:write'] } } }), 400, /scope/);
    assertError(await api('POST', '/tokens', { json: { ...manager, data: { scopes: null } } }), 400, /scope/);
    const lesser = await createToken({ scopes: ['entries:read'] }, manager);
    assert.deepEqual((await fetchToken(lesser.token))['scopes'], ['entries:read']);
    // Without scopes, the new token inherits the caller's, never "everything".
    const inherited = await createToken(undefined, manager);
    assert.deepEqual([...((await fetchToken(inherited.token))['scopes'] as string[])].sort(), ['entries:read', 'tokens:read', 'tokens:write']);
    assertError(await api('POST', '/entries', { json: { ...inherited, id: 'inherited', data: {} } }), 401, /scope/);
  });

  it('a scoped token cannot PATCH another token above its own scopes (400), nor lift its scopes', async () => {
    const manager = await createToken({ scopes: ['tokens:write', 'entries:read'] });
    const target = await createToken({ scopes: ['entries:read'] });
    assertError(await api('PATCH', '/tokens', { json: { ...manager, id: target.token, data: { scopes: ['entries:read', 'cache:write'] } } }), 400, /scope/);
    // Removing the list would make the token unrestricted.
    assertError(await api('PATCH', '/tokens', { json: { ...manager, id: target.token, data: { scopes: null } } }), 400, /scope/);
    assertError(await api('PATCH', '/tokens', { json: { ...manager, id: manager.token, data: { scopes: null } } }), 400, /scope/);
    // An unrestricted token is above the manager: it may not be changed by it.
    assertError(await api('PATCH', '/tokens', { json: { ...manager, id: admin.token, data: { title: 'mine now' } } }), 400, /scope/);
    assert.deepEqual((await fetchToken(target.token))['scopes'], ['entries:read']);
    assert.equal((await fetchToken(admin.token))['title'], 'test token');
    const ok = await api('PATCH', '/tokens', { json: { ...manager, id: target.token, data: { title: 'renamed', scopes: [] } } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.scopes, []);
    assertError(await readEntry(target), 401, /scope/);
  });

  it('an unrestricted token may lift a token\'s scopes', async () => {
    const target = await createToken({ scopes: ['entries:read'] });
    const res = await api('PATCH', '/tokens', { json: { ...admin, id: target.token, data: { scopes: null } } });
    assert.equal(res.status, 200, res.text);
    assert.ok(!('scopes' in res.body));
    assert.equal((await api('POST', '/cache/clear', { json: target })).status, 204);
  });
});

describe('[ours] expiry, disabling and limit_calls', () => {
  it('a token whose expires_at is in the past is refused with 400; a future one works', async () => {
    const expired = await createToken({ expires_at: Math.floor(Date.now() / 1000) - 60 });
    assertError(await readEntry(expired), 400, /expired/);
    const dated = await createToken({ expires_at: '2001-01-01 00:00' });
    assertError(await readEntry(dated), 400, /expired/);
    const future = await createToken({ expires_at: Math.floor(Date.now() / 1000) + 3600 });
    assert.equal((await readEntry(future)).status, 200);
    // Expiring an existing token takes effect on the next request.
    const res = await api('PATCH', '/tokens', { json: { ...admin, id: future.token, data: { expires_at: 1 } } });
    assert.equal(res.status, 200, res.text);
    assertError(await readEntry(future), 400, /expired/);
    assertError(await api('POST', '/tokens', { json: { ...admin, data: { expires_at: 'not a date' } } }), 400, /expires_at/);
  });

  it('a disabled token is refused with 400 on the next request, and works again when enabled', async () => {
    const created = await createToken();
    assert.equal((await readEntry(created)).status, 200);
    const res = await api('PATCH', '/tokens', { json: { ...admin, id: created.token, data: { state: 'disabled' } } });
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'disabled');
    assertError(await readEntry(created), 400, /disabled/);
    assertError(await api('POST', '/entries', { json: { ...created, id: 'disabled-write', data: {} } }), 400, /disabled/);
    // A disabled token is refused before its access token is even checked.
    assertError(await api('POST', '/entries', { json: { token: created.token, access_token: 'f'.repeat(32), id: 'x', data: {} } }), 400, /disabled/);
    await api('PATCH', '/tokens', { json: { ...admin, id: created.token, data: { state: 'enabled' } } });
    assert.equal((await readEntry(created)).status, 200);
  });

  it('limit_calls is enforced exactly: the call that reaches the limit succeeds, the next is refused', async () => {
    const limited = await createToken({ limit_calls: 3 });
    for (let i = 1; i <= 3; i++) assert.equal((await readEntry(limited)).status, 200, `call ${i}`);
    assertError(await readEntry(limited), 400, /limit_calls/);
    assertError(await api('POST', '/entries', { json: { ...limited, id: 'over-limit', data: {} } }), 400, /limit_calls/);
    const fields = await fetchToken(limited.token);
    assert.equal(fields['calls'], 3, 'refused calls are not counted');
    // Raising the limit lets it work again, once.
    await api('PATCH', '/tokens', { json: { ...admin, id: limited.token, data: { limit_calls: 4 } } });
    assert.equal((await readEntry(limited)).status, 200);
    assertError(await readEntry(limited), 400, /limit_calls/);
  });

  it('limit_calls holds under concurrent calls', async () => {
    const limited = await createToken({ limit_calls: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, () => readEntry(limited)));
    assert.equal(results.filter((r) => r.status === 200).length, 5);
    assert.equal(results.filter((r) => r.status === 400).length, 7);
  });

  it('the calls counter increments on every authorized call, reads included', async () => {
    const counted = await createToken();
    assert.equal((await fetchToken(counted.token))['calls'], 0);
    await readEntry(counted);
    await readEntry(counted, 'does-not-exist'); // authorized, then 404: still a call
    await api('GET', '/registry', { query: `id=flextype.manifest.name&token=${counted.token}` });
    await api('POST', '/entries', { json: { ...counted, id: 'counted', data: {} } });
    await api('GET', '/tokens', { query: `id=${counted.token}&token=${counted.token}&access_token=${counted.access_token}` });
    assert.equal((await fetchToken(counted.token))['calls'], 5);
    // A refused call (wrong access token) is not counted.
    await api('POST', '/entries', { json: { token: counted.token, access_token: 'f'.repeat(32), id: 'counted-2', data: {} } });
    assert.equal((await fetchToken(counted.token))['calls'], 5);
    // The counter reaches the token file (flushed in the background and on close). On
    // PostgreSQL the shared counter table holds it (README "Scaling out"): the API answer above.
    await t.server.cms.tokens.counters.flush();
    if (!ON_POSTGRES) assert.match(await storedText(t, `tokens/${counted.token}`), /^calls: 5$/m);
  });
});

describe('[ours] credentials in headers', () => {
  it('Authorization: Bearer and X-Access-Token work on every endpoint', async () => {
    const user = await createToken({ title: 'header user' });
    const other = await createToken();
    const h = { authorization: `Bearer ${user.token}`, 'x-access-token': user.access_token };
    const ok = async (method: string, endpoint: string, init: Parameters<typeof call>[3], status = 200) => {
      const res = await api(method, endpoint, { ...init, headers: h });
      assert.equal(res.status, status, `${method} ${endpoint}: ${res.text}`);
      return res;
    };
    await ok('GET', '/entries', { query: 'id=blog' });
    await ok('GET', '/entries', { query: 'id=blog&options[collection]=true' });
    await ok('POST', '/entries', { json: { id: 'from-headers', data: { title: 'h' } } });
    await ok('PATCH', '/entries', { json: { id: 'from-headers', data: { title: 'h2' } } });
    await ok('PUT', '/entries/copy', { json: { id: 'from-headers', new_id: 'from-headers-copy' } });
    await ok('PUT', '/entries', { json: { id: 'from-headers-copy', new_id: 'from-headers-moved' } });
    await ok('DELETE', '/entries', { json: { id: 'from-headers-moved' } }, 204);
    await ok('GET', '/tokens', { query: `id=${user.token}` });
    await ok('GET', '/tokens', { query: 'id=&options[collection]=true' });
    await ok('POST', '/tokens', { json: {} });
    await ok('PATCH', '/tokens', { json: { id: other.token, data: { title: 'by header' } } });
    await ok('POST', '/tokens/generate', { json: {} });
    const hash = (await ok('POST', '/tokens/generate-hash', { json: { string: 'abc' } })).body.hashed_token;
    assert.deepEqual((await ok('POST', '/tokens/verify-hash', { json: { string: 'abc', hash } })).body, { verified: true });
    await ok('POST', '/tokens/validate-hash', { json: { string: 'abc', hash } });
    await ok('GET', '/registry', { query: 'id=flextype.manifest.name' });
    await ok('POST', '/cache/clear', {}, 204);
    await ok('DELETE', '/tokens', { json: { id: other.token } }, 204);
    // Write endpoints work with no body at all when the credentials are in headers.
    await ok('POST', '/tokens/generate', {});
  });

  it('a wrong X-Access-Token is 401; a Bearer token alone is not enough for writes', async () => {
    assertError(await api('POST', '/tokens/generate', { headers: { authorization: `Bearer ${admin.token}`, 'x-access-token': 'a'.repeat(32) } }), 401);
    assertError(await api('POST', '/tokens/generate', { headers: { authorization: `Bearer ${admin.token}` } }), 400, /access_token/);
    assertError(await api('GET', '/entries', { query: 'id=blog', headers: { authorization: `Bearer ${'9'.repeat(32)}` } }), 401);
  });
});
