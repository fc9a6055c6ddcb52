/**
 * Tokens under attack (issue 9, items 3, 4 and 7): a restricted token cannot climb above itself,
 * parallel guessing meets the brake and never stalls other requests, and unknown tokens cost the
 * same bcrypt work as known ones.
 */
import assert from 'node:assert/strict';
import { runNode } from './cli-helpers.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, CLI, isStored, q, REPO_ROOT, removeProject, startTestServer, tempProject, type ApiResponse, type TestServer } from './helpers.js';

interface Credentials {
  token: string;
  access_token: string;
}

function assertRefused(res: ApiResponse, status: number, detail: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.http_status_code, status);
  assert.match(res.body.detail, detail);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('item 3: no token can create, change or delete a token with more power than its own', () => {
  let t: TestServer;
  let admin: Credentials;
  before(async () => {
    t = await startTestServer({ fromDemo: true });
    admin = { token: t.token, access_token: t.accessToken };
  });
  after(() => t.close());

  const create = (by: Credentials, data?: Record<string, unknown>) => call(t.base, 'POST', '/tokens', { json: { ...by, ...(data ? { data } : {}) } });
  const patch = (by: Credentials, id: string, data: Record<string, unknown>) => call(t.base, 'PATCH', '/tokens', { json: { ...by, id, data } });
  const remove = (by: Credentials, id: string) => call(t.base, 'DELETE', '/tokens', { json: { ...by, id } });
  const fields = async (id: string): Promise<Record<string, unknown>> => {
    const res = await call(t.base, 'GET', '/tokens', { query: `id=${q(id)}&token=${q(admin.token)}&access_token=${q(admin.access_token)}` });
    assert.equal(res.status, 200, res.text);
    return res.body as Record<string, unknown>;
  };
  const made = async (res: ApiResponse): Promise<Credentials> => {
    assert.equal(res.status, 200, res.text);
    return res.body as Credentials;
  };

  it('on create, on PATCH (itself and others) and on DELETE; calls is never writable through the API', async () => {
    const expiry = nowSeconds() + 3600;
    const manager = await made(await create(admin, { title: 'manager', scopes: ['tokens:write', 'tokens:read', 'entries:read'], limit_calls: 1000, expires_at: expiry }));

    // Create: what is not given is inherited; more than the caller's is refused.
    const inherited = await made(await create(manager));
    const child = await fields(inherited.token);
    assert.equal(child['limit_calls'], 1000);
    assert.equal(child['expires_at'], expiry);
    assert.deepEqual([...(child['scopes'] as string[])].sort(), ['entries:read', 'tokens:read', 'tokens:write']);
    assertRefused(await create(manager, { limit_calls: 0 }), 400, /limit_calls/);
    assertRefused(await create(manager, { limit_calls: 1001 }), 400, /limit_calls/);
    assertRefused(await create(manager, { expires_at: null }), 400, /expires_at/);
    assertRefused(await create(manager, { expires_at: expiry + 1 }), 400, /expires_at/);
    assertRefused(await create(manager, { scopes: null }), 400, /scope/);
    const lesser = await made(await create(manager, { scopes: ['entries:read'], limit_calls: 10, expires_at: expiry - 60 }));

    // PATCH itself: it may lower, never raise, its own limits, and never reset its count.
    assertRefused(await patch(manager, manager.token, { limit_calls: 0 }), 400, /limit_calls/);
    assertRefused(await patch(manager, manager.token, { limit_calls: 2000 }), 400, /limit_calls/);
    assertRefused(await patch(manager, manager.token, { expires_at: null }), 400, /expires_at/);
    assertRefused(await patch(manager, manager.token, { expires_at: '' }), 400, /expires_at/);
    assertRefused(await patch(manager, manager.token, { calls: 0 }), 400, /calls/);
    assertRefused(await patch(manager, manager.token, { scopes: null }), 400, /scope/);
    const before = await fields(manager.token);
    assert.equal(before['limit_calls'], 1000);
    assert.equal(before['expires_at'], expiry);
    assert.ok((before['calls'] as number) > 0);
    const lowered = await patch(manager, manager.token, { limit_calls: 900, title: 'manager (lowered)' });
    assert.equal(lowered.status, 200, lowered.text);
    assert.equal(lowered.body.limit_calls, 900);

    // PATCH others: a token above it (unrestricted, or just unlimited) cannot be touched at all.
    const unlimitedReader = await made(await create(admin, { scopes: ['entries:read'] }));
    assertRefused(await patch(manager, admin.token, { title: 'mine' }), 400, /more power.*scope/);
    assertRefused(await patch(manager, admin.token, { state: 'disabled' }), 400, /more power/);
    assertRefused(await patch(manager, unlimitedReader.token, { title: 'mine' }), 400, /more power.*limit_calls/);
    assertRefused(await patch(manager, lesser.token, { limit_calls: 901 }), 400, /limit_calls/);
    assertRefused(await patch(manager, lesser.token, { expires_at: expiry + 60 }), 400, /expires_at/);
    assertRefused(await patch(manager, lesser.token, { calls: 0 }), 400, /calls/);
    const raised = await patch(manager, lesser.token, { limit_calls: 900, expires_at: expiry });
    assert.equal(raised.status, 200, raised.text);
    assert.equal((await fields(admin.token))['title'], 'test token');
    assert.equal((await fields(admin.token))['state'], 'enabled');
    assert.ok(!('limit_calls' in (await fields(unlimitedReader.token))) || (await fields(unlimitedReader.token))['limit_calls'] === 0);

    // DELETE: never a token above it; a lesser one, or itself, is fine.
    assertRefused(await remove(manager, admin.token), 400, /cannot delete.*more power/);
    assertRefused(await remove(manager, unlimitedReader.token), 400, /cannot delete.*more power/);
    assert.ok(await isStored(t, `tokens/${admin.token}`));
    assert.ok(await isStored(t, `tokens/${unlimitedReader.token}`));
    assert.equal((await call(t.base, 'GET', '/entries', { query: `id=blog&token=${admin.token}` })).status, 200, 'the admin token still works');
    assert.equal((await remove(manager, lesser.token)).status, 204);
    assert.equal((await remove(manager, manager.token)).status, 204);

    // Not even the unrestricted token may write the count.
    assertRefused(await patch(admin, inherited.token, { calls: 0 }), 400, /calls/);
  });
});

describe('item 4: parallel guessing meets the brake, and bcrypt never stalls the server', () => {
  it('a burst of N parallel wrong attempts over the limit gets at least N - limit 429s', async () => {
    const limit = 5;
    const burst = 30;
    // A realistic bcrypt cost: the slower each check, the wider the window parallel attempts had.
    const s = await startTestServer({ fromDemo: true, settings: { tokens: { hash_rounds: 9 }, security: { auth_failures_per_minute: limit, auth_block_seconds: 30 } } });
    try {
      const answers = await Promise.all(
        Array.from({ length: burst }, (_, i) =>
          call(s.base, 'POST', '/tokens/generate', { json: { token: s.token, access_token: i.toString(16).padStart(32, '0') } }),
        ),
      );
      const statuses = answers.map((a) => a.status);
      assert.ok(statuses.every((x) => x === 401 || x === 429), `${statuses}`);
      const refused = statuses.filter((x) => x === 429).length;
      assert.ok(refused >= burst - limit, `${refused} 429s of ${burst}: ${statuses}`);
    } finally {
      await s.close();
    }
  });

  it('the same for a burst of unknown tokens (no access token: a disk read decides)', async () => {
    const limit = 5;
    const burst = 30;
    const s = await startTestServer({ fromDemo: true, settings: { security: { auth_failures_per_minute: limit, auth_block_seconds: 30 } } });
    try {
      const answers = await Promise.all(
        Array.from({ length: burst }, (_, i) => call(s.base, 'GET', '/entries', { query: `id=blog&token=${i.toString(16).padStart(32, 'e')}` })),
      );
      const statuses = answers.map((a) => a.status);
      assert.ok(statuses.every((x) => x === 401 || x === 429), `${statuses}`);
      assert.ok(statuses.filter((x) => x === 429).length >= burst - limit, `${statuses}`);
    } finally {
      await s.close();
    }
  });

  it('a GET with a known token completes while a burst of wrong access tokens is still being checked (before most of it)', async () => {
    // No 429s here: every one of the burst is a full bcrypt check, one at a time (so that the burst
    // outlasts the time it takes to send it, on a loaded machine too).
    const s = await startTestServer({
      fromDemo: true,
      settings: { tokens: { hash_rounds: 9 }, security: { auth_failures_per_minute: 10_000, auth_concurrent_per_address: 1 } },
    });
    try {
      // Token and entry are cached: these are the reads that must never wait behind bcrypt.
      assert.equal((await call(s.base, 'GET', '/entries', { query: `id=blog&token=${s.token}` })).status, 200);
      const size = 60;
      let received = 0;
      s.server.app.server.on('request', (req: { method?: string }) => {
        if (req.method === 'PATCH') received++;
      });
      const events: string[] = [];
      const burst = Array.from({ length: size }, (_, i) =>
        call(s.base, 'PATCH', '/entries', { json: { token: s.token, access_token: i.toString(16).padStart(32, 'a'), id: 'blog', data: { title: 'x' } } }).then(
          (res) => {
            events.push('burst');
            return res;
          },
        ),
      );
      // The whole burst is in the server's hands before the probes are sent.
      for (let i = 0; i < 2000 && received < size; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(received, size);
      const probes = [
        call(s.base, 'GET', '/entries', { query: `id=blog&token=${s.token}` }), // the fast path
        call(s.base, 'GET', '/entries', { query: 'id=blog', headers: { authorization: `Bearer ${s.token}` } }), // the full path
      ].map((p) =>
        p.then((res) => {
          events.push('probe');
          return res;
        }),
      );
      const [fast, full] = await Promise.all(probes);
      const wrong = await Promise.all(burst);
      assert.equal(fast!.status, 200, fast!.text);
      assert.equal(full!.status, 200, full!.text);
      assert.ok(wrong.every((r) => r.status === 401), `${wrong.map((r) => r.status)}`);
      // On the main thread, bcrypt answered nearly the whole burst before the probes got a turn.
      const answeredFirst = events.slice(0, events.lastIndexOf('probe')).filter((e) => e === 'burst').length;
      assert.ok(answeredFirst < size / 2, `the probes finished before most of the burst: ${events.join(' ')}`);
    } finally {
      await s.close();
    }
  });

  it('verify-hash refuses a hash whose cost would hold a bcrypt worker for hours', { timeout: 20_000 }, async () => {
    const s = await startTestServer({ fromDemo: false });
    try {
      const costly = `$2b$31$${'a'.repeat(53)}`;
      const res = await call(s.base, 'POST', '/tokens/verify-hash', { json: { token: s.token, access_token: s.accessToken, string: 'x', hash: costly } });
      assertRefused(res, 400, /cost 31/);
    } finally {
      await s.close();
    }
  });

  it('the bcrypt workers start from source (tsx) and from the build, and never keep the process alive', async () => {
    const project = tempProject(false);
    const run = (args: string[]) => runNode(args, process.env, REPO_ROOT);
    try {
      assert.ok(existsSync(CLI), 'dist is built (npm test builds it first)');
      const source = ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts')];
      for (const entry of [[CLI], source]) {
        const hashed = await run([...entry, 'tokens:generate-hash', 'pool secret', '--project', project, '--json']);
        assert.equal(hashed.code, 0, hashed.stderr);
        const hash = JSON.parse(hashed.stdout).hashed_token as string;
        assert.match(hash, /^\$2[aby]\$\d\d\$/);
        const verified = await run([...entry, 'tokens:verify-hash', 'pool secret', hash, '--project', project, '--json']);
        assert.equal(verified.code, 0, verified.stderr);
        assert.deepEqual(JSON.parse(verified.stdout), { verified: true });
      }
    } finally {
      removeProject(project);
    }
  });
});

describe('item 7: unknown and known tokens cost the same bcrypt work', () => {
  it('one bcrypt verification for an unknown, a known, a disabled and an expired token alike (SPEC §2 answers kept)', async () => {
    const s = await startTestServer({ fromDemo: true, settings: { security: { auth_failures_per_minute: 0 } } });
    try {
      const tokens = s.server.cms.tokens;
      const disabled = await tokens.create({ state: 'disabled' });
      const expired = await tokens.create({ expires_at: nowSeconds() - 60 });
      let n = 0;
      const attempt = (token: string) => call(s.base, 'POST', '/tokens/generate', { json: { token, access_token: (n++).toString(16).padStart(32, 'c') } });
      const cases: [string, string, number, RegExp][] = [
        ['unknown', 'd'.repeat(32), 401, /unknown token/],
        ['known, wrong access token', s.token, 401, /access token/],
        ['disabled', disabled.token, 400, /disabled/],
        ['expired', expired.token, 400, /expired/],
      ];
      const runs: Record<string, number> = {};
      for (const [name, token, status, detail] of cases) {
        const before = tokens.verified.runs;
        assertRefused(await attempt(token), status, detail);
        runs[name] = tokens.verified.runs - before;
      }
      assert.deepEqual(runs, { unknown: 1, 'known, wrong access token': 1, disabled: 1, expired: 1 });
    } finally {
      await s.close();
    }
  });
});
