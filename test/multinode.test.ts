/**
 * Three (and for a moment four) server processes on one PostgreSQL schema behave as one server
 * (issue 11 #4): writes seen everywhere, limit_calls exact across nodes, the failure brake shared,
 * a killed node loses no acknowledged write, and the database going away answers 503 and recovers.
 * Deadlines are generous and only bound the polling: no timing is asserted.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ensureBuilt, type Served } from './cli-helpers.js';
import { call, q } from './helpers.js';
import { Cluster, eventually, TcpProxy, type NodeOptions } from './multinode-helpers.js';
import { describePg, PG_URL, withSchema } from './pg-helpers.js';

const FAILURES_PER_MINUTE = 6;

describePg('many nodes, one database', () => {
  const schema = withSchema('ft_multinode');
  const cluster = new Cluster();
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(PG_URL).port || 5432));
  // The brake allows only 6 attempts under way per address (a low limit for its own test); the rest of a burst waits.
  const extraSettings = `tokens:\n  calls_flush_interval: 200\nsecurity:\n  auth_failures_per_minute: ${FAILURES_PER_MINUTE}\n  auth_block_seconds: 60\n  auth_waiting_per_address: 2000\n`;
  // A long connect_timeout: 1,000 concurrent calls on a loaded 2-core machine may wait for a pooled connection.
  const direct: NodeOptions = { url: PG_URL, schema: schema.schema, extraSettings, storageSettings: '  connect_timeout: 30000\n' };
  let a: Served, b: Served, c: Served;
  let admin: { token: string; access_token: string };

  const write = (node: Served, method: string, params: Record<string, unknown>) =>
    call(node.base, method, '/entries', { json: { token: admin.token, access_token: admin.access_token, ...params } });
  const get = (node: Served, id: string, token = admin.token) => call(node.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(token)}` });
  const tokenCalls = async (node: Served, id: string) => {
    const res = await call(node.base, 'GET', '/tokens', { query: `id=${q(id)}&token=${q(admin.token)}&access_token=${q(admin.access_token)}` });
    assert.equal(res.status, 200, res.text);
    return (res.body as { calls: number }).calls;
  };

  before(async () => {
    await ensureBuilt();
    await proxy.open();
    // Node C reaches the database through the proxy, so that the test can take it away from C alone.
    const viaProxy = PG_URL.replace(/@[^/]+\//, `@127.0.0.1:${proxy.port}/`);
    a = await cluster.add(direct); // runs the migrations first
    [b, c] = await Promise.all([cluster.add(direct), cluster.add({ ...direct, url: viaProxy })]);
    admin = await cluster.token(direct);
  });
  after(async () => {
    await cluster.close();
    await proxy.close();
    await schema.cleanup();
  });

  it('a write on A is seen on B and C, one entry and collections, also after B and C cached the old version', async () => {
    assert.equal((await write(a, 'POST', { id: 'notes', data: { title: 'Notes' } })).status, 200);
    assert.equal((await write(a, 'POST', { id: 'notes/one', data: { title: 'v1', views: 1 } })).status, 200);
    for (const node of [b, c]) {
      assert.ok(await eventually(async () => (await get(node, 'notes/one')).status === 200), `${node.base} never saw notes/one`);
      assert.equal((await get(node, 'notes/one')).body.title, 'v1'); // now cached there
    }
    assert.equal((await write(a, 'PATCH', { id: 'notes/one', data: { title: 'v2', views: 2 } })).status, 200);
    const collection = (node: Served) =>
      call(node.base, 'GET', '/entries', {
        query: `id=notes&token=${q(admin.token)}&options[collection]=true&options[filter][where][0][key]=views&options[filter][where][0][operator]=gte&options[filter][where][0][value]=2`,
      });
    for (const node of [b, c]) {
      assert.ok(await eventually(async () => (await get(node, 'notes/one')).body?.title === 'v2'), `${node.base} kept serving v1`);
      assert.ok(
        await eventually(async () => JSON.stringify((await collection(node)).body).includes('"v2"')),
        `${node.base}: the collection query never saw the update`,
      );
    }
    assert.equal((await write(b, 'DELETE', { id: 'notes/one' })).status, 204);
    for (const node of [a, c]) assert.ok(await eventually(async () => (await get(node, 'notes/one')).status === 404), `${node.base} still serves a deleted entry`);
  });

  it('exactly limit_calls of 1,000 concurrent calls spread over three nodes succeed, and the Tokens API answers that total', async () => {
    const limited = await cluster.token(direct, ['--scopes', 'entries:read', '--limit-calls', '137']);
    const nodes = [a, b, c];
    const statuses = await Promise.all(Array.from({ length: 1000 }, (_, i) => get(nodes[i % 3]!, 'notes', limited.token).then((r) => r.status)));
    const succeeded = statuses.filter((s) => s === 200).length;
    const byStatus: Record<number, number> = {};
    for (const s of statuses) byStatus[s] = (byStatus[s] ?? 0) + 1;
    assert.equal(succeeded, 137, `statuses: ${JSON.stringify(byStatus)}`);
    assert.ok(statuses.every((s) => s === 200 || s === 400), `every refusal is the limit: ${JSON.stringify(byStatus)}`);
    for (const node of nodes) assert.equal(await tokenCalls(node, limited.token), 137);
    assert.equal((await get(b, 'notes', limited.token)).status, 400);
  });

  it('an unlimited token counted on three nodes reaches the database total within the flush interval', async () => {
    const free = await cluster.token(direct, ['--scopes', 'entries:read']);
    const nodes = [a, b, c];
    for (let i = 0; i < 30; i++) assert.equal((await get(nodes[i % 3]!, 'notes', free.token)).status, 200);
    assert.ok(await eventually(async () => (await tokenCalls(a, free.token)) === 30), 'calls never reached 30');
    assert.equal(await tokenCalls(c, free.token), 30);
  });

  it('SIGKILL of a node during writes loses no acknowledged write, and the others keep serving', async () => {
    const victim = await cluster.add(direct);
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const id = `killed-${w}-${i}`;
        const res = await write(victim, 'POST', { id, data: { title: id } }).catch(() => undefined);
        if (!res) return; // the node is gone
        if (res.status === 200) acknowledged.push(id);
      }
    });
    assert.ok(await eventually(async () => acknowledged.length >= 60), 'the victim acknowledged too few writes');
    victim.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    assert.ok(acknowledged.length >= 60);
    for (const id of acknowledged) {
      const res = await get(b, id);
      assert.equal(res.status, 200, `acknowledged ${id} is missing`);
    }
    assert.equal((await write(a, 'POST', { id: 'after-kill', data: { title: 'x' } })).status, 200);
    assert.ok(await eventually(async () => (await get(c, 'after-kill')).status === 200));
  });

  it('the database going away: 503 with Retry-After, no crash, and serving again (with what changed meanwhile) once it is back', async () => {
    assert.equal((await write(a, 'POST', { id: 'outage', data: { title: 'before' } })).status, 200);
    assert.ok(await eventually(async () => (await get(c, 'outage')).body?.title === 'before'));
    await proxy.cut();
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    assert.ok(
      await eventually(async () => {
        const res = await write(c, 'PATCH', { id: 'outage', data: { title: 'from C' } });
        if (res.status === 503) refused = res;
        return res.status === 503;
      }),
      'C never answered 503 without its database',
    );
    assert.match(refused!.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal((refused!.body as { http_status_code: number }).http_status_code, 503);
    // Meanwhile A writes; C must not keep serving its cached copy once it is back.
    assert.equal((await write(a, 'PATCH', { id: 'outage', data: { title: 'during' } })).status, 200);
    assert.equal(c.child.exitCode, null, 'C crashed');
    await proxy.open();
    assert.ok(await eventually(async () => (await write(c, 'POST', { id: 'outage-after', data: { title: 'ok' } })).status === 200, 30_000), 'C never recovered');
    assert.ok(await eventually(async () => (await get(c, 'outage')).body?.title === 'during'), 'C serves what it cached before the outage');
    // Nothing of the refused PATCH was applied.
    assert.equal((await get(a, 'outage')).body.title, 'during');
    assert.equal(c.child.exitCode, null);
  });

  it('the failure brake counts failures of every node (last: it blocks this address)', async () => {
    const fail = (node: Served) => get(node, 'notes', 'no-such-token').then((r) => r.status);
    for (const node of [a, b, c]) for (let i = 0; i < FAILURES_PER_MINUTE / 3; i++) assert.equal(await fail(node), 401);
    // Alone, each node has seen a third of the failures allowed; shared, each refuses at its next failure.
    for (const node of [a, b, c]) {
      const answers = [await fail(node), await fail(node)];
      assert.ok(answers.includes(429), `${node.base} answered ${answers.join(', ')}: it counted alone`);
    }
  });
});
