/**
 * The PostgreSQL engine beyond the conformance suite: migrations (repeated, concurrent, the CLI),
 * an unreachable or dropped database, the change feed's reconnection, and the shared counters
 * under concurrency from several engine instances (as several nodes would).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, it } from 'node:test';
import { conformanceFormats } from '../src/storage/conformance.js';
import { StorageError, type EngineChange } from '../src/storage/engine.js';
import { PgEngine } from '../src/storage/postgres/engine.js';
import { MIGRATIONS, migrate } from '../src/storage/postgres/migrations.js';
import { cli, ok } from './cli-helpers.js';
import { describePg, withSchema, type TestSchema } from './pg-helpers.js';

const LATEST = MIGRATIONS.map((m) => m.version);

function isReason(reason: StorageError['reason']) {
  return (err: unknown) => {
    assert.ok(err instanceof StorageError, `a StorageError, not ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return true;
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits (bounded) until `check` holds, polling. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describePg('PostgreSQL engine', () => {
  const schemas: TestSchema[] = [];
  const engines: PgEngine[] = [];
  const fresh = () => {
    const s = withSchema('ft_pge');
    schemas.push(s);
    return s;
  };
  const engineOn = (s: TestSchema, extra: { nodeId?: string; poolSize?: number; connectTimeoutMs?: number } = {}) => {
    const engine = new PgEngine({
      url: s.url,
      schema: s.schema,
      resolveFormat: conformanceFormats,
      poolSize: extra.poolSize ?? 4,
      nodeId: extra.nodeId,
      connectTimeoutMs: extra.connectTimeoutMs,
    });
    engines.push(engine);
    return engine;
  };
  let shared: TestSchema;
  before(async () => {
    shared = fresh();
    await migrate({ url: shared.url, schema: shared.schema });
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(schemas.map((s) => s.cleanup()));
  });

  it('applies the migrations once; running them again applies nothing', async () => {
    const s = fresh();
    assert.deepEqual(await migrate({ url: s.url, schema: s.schema }), { applied: LATEST, version: LATEST.at(-1) });
    assert.deepEqual(await migrate({ url: s.url, schema: s.schema }), { applied: [], version: LATEST.at(-1) });
    await engineOn(s).open();
  });

  it('lets several nodes start at once on a new schema: each migration is applied exactly once', async () => {
    const s = fresh();
    const results = await Promise.all([
      engineOn(s).open(),
      engineOn(s).open(),
      migrate({ url: s.url, schema: s.schema }),
      migrate({ url: s.url, schema: s.schema }),
    ]);
    const applied = results.slice(2).flatMap((r) => ('applied' in r ? r.applied : []));
    assert.ok(applied.length === 0 || JSON.stringify(applied) === JSON.stringify(LATEST), `applied ${applied}`);
    const admin = await s.admin();
    try {
      const { rows } = await admin.query<{ version: number }>(`SELECT version FROM "${s.schema}".flextype_migrations ORDER BY version`);
      assert.deepEqual(rows.map((r) => r.version), LATEST);
    } finally {
      await admin.end();
    }
  });

  it('storage:migrate applies the migrations and says which, then that nothing was left', async () => {
    const s = fresh();
    const first = await ok(['storage:migrate', '--url', s.url, '--schema', s.schema]);
    assert.match(first, new RegExp(`Applied migrations ${LATEST.join(', ')} to .*schema ${s.schema}`));
    const second = await ok(['storage:migrate', '--url', s.url, '--schema', s.schema, '--json']);
    assert.deepEqual(JSON.parse(second), { schema: s.schema, applied: [], version: LATEST.at(-1) });
  });

  it('storage:migrate on an unreachable server: one line of reason, no password, exit code 1', async () => {
    const url = `postgres://postgres:sekrit-pw@127.0.0.1:${await closedPort()}/test`;
    const run = await cli(['storage:migrate', '--url', url]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test .*is unavailable: .*ECONNREFUSED/);
    assert.ok(!run.stderr.includes('sekrit-pw'));
    assert.equal(run.stdout, '');
  });

  it('an unreachable database is "unavailable" at once, for every operation, without its password', async () => {
    const url = `postgres://postgres:sekrit-pw@127.0.0.1:${await closedPort()}/test`;
    const engine = new PgEngine({ url, resolveFormat: conformanceFormats, connectTimeoutMs: 2000 });
    engines.push(engine);
    assert.ok(!engine.location.includes('sekrit-pw'));
    for (const op of [engine.open(), engine.read('a'), engine.write('a', { x: 1 }), engine.children(''), engine.coordination.reserveCalls('t', 1, 5)]) {
      await assert.rejects(op, (err: unknown) => {
        isReason('unavailable')(err);
        assert.ok(!(err as Error).message.includes('sekrit-pw'), (err as Error).message);
        return true;
      });
    }
    await assert.rejects(engine.changes(() => undefined, () => undefined), isReason('unavailable'));
  });

  it('survives its connections being dropped: operations fail as "unavailable" or succeed, then recover', async () => {
    const nodeId = `drop-${randomUUID()}`;
    const engine = engineOn(shared, { nodeId });
    await engine.open();
    await engine.write('drop/a', { v: 1 });
    const admin = await shared.admin();
    try {
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`flextype:${nodeId}`]);
      assert.ok(killed.rowCount! > 0, 'the engine had connections to drop');
    } finally {
      await admin.end();
    }
    let recovered = false;
    for (let i = 0; i < 20 && !recovered; i++) {
      try {
        assert.equal((await engine.read('drop/a'))?.fields['v'], 1);
        recovered = true;
      } catch (err) {
        isReason('unavailable')(err);
      }
    }
    assert.ok(recovered, 'the engine reconnected');
    await engine.write('drop/a', { v: 2 });
    assert.equal((await engine.read('drop/a'))?.fields['v'], 2);
  });

  it('the change feed reconnects after losing its connection, then reports a resync and later changes', async () => {
    const nodeId = `feed-${randomUUID()}`;
    const watcher = engineOn(shared, { nodeId });
    const writer = engineOn(shared);
    await Promise.all([watcher.open(), writer.open()]);
    const seen: EngineChange[] = [];
    const feed = await watcher.changes((change) => seen.push(change), () => undefined);
    try {
      await writer.write('feed2/before', { v: 1 });
      await eventually(() => seen.some((c) => c.kind === 'entry' && c.id === 'feed2/before'), 'the first change');
      const admin = await shared.admin();
      try {
        const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`flextype-feed:${nodeId}`]);
        assert.equal(killed.rowCount, 1, 'one listening connection');
      } finally {
        await admin.end();
      }
      await eventually(() => seen.some((c) => c.kind === 'resync'), 'a resync after reconnecting');
      await writer.write('feed2/after', { v: 1 });
      await eventually(() => seen.some((c) => c.kind === 'entry' && c.id === 'feed2/after'), 'a change after reconnecting');
    } finally {
      await feed.close();
    }
  });

  it("the change feed leaves out this node's own changes", async () => {
    const mine = engineOn(shared);
    const other = engineOn(shared);
    await Promise.all([mine.open(), other.open()]);
    const seen: EngineChange[] = [];
    const feed = await mine.changes((change) => seen.push(change), () => undefined);
    try {
      await mine.write('own/mine', { v: 1 });
      await mine.remove('own/mine');
      // Notifications arrive in commit order: once the other's is here, ours would have been too.
      await other.write('own/theirs', { v: 1 });
      await eventually(() => seen.some((c) => c.kind === 'entry' && c.id === 'own/theirs'), "the other node's change");
      assert.deepEqual(seen.filter((c) => c.kind !== 'resync' && c.id === 'own/mine'), []);
    } finally {
      await feed.close();
    }
  });

  it("change notices carry the entry's new revision, also when many writes share one notification", async () => {
    const watcher = engineOn(shared);
    const writer = engineOn(shared);
    await Promise.all([watcher.open(), writer.open()]);
    const seen: EngineChange[] = [];
    const feed = await watcher.changes((change) => seen.push(change), () => undefined);
    try {
      const written = await Promise.all(Array.from({ length: 40 }, (_, i) => writer.write(`notice/e${i}`, { v: i })));
      const raw = await writer.writeSource('notice/raw', '---\nv: raw\n---\n', 'md');
      await eventually(() => seen.filter((c) => c.kind === 'entry' && c.id.startsWith('notice/')).length >= 41, 'every change');
      written.forEach((meta, i) => assert.deepEqual(seen.find((c) => c.kind === 'entry' && c.id === `notice/e${i}`), { kind: 'entry', id: `notice/e${i}`, revision: meta.revision }));
      assert.deepEqual(seen.find((c) => c.kind === 'entry' && c.id === 'notice/raw'), { kind: 'entry', id: 'notice/raw', revision: raw.revision });
    } finally {
      await feed.close();
    }
  });

  it('a write based on a text another node replaced meanwhile is a conflict with `expected`, and merges without', async () => {
    const a = engineOn(shared);
    const b = engineOn(shared);
    await Promise.all([a.open(), b.open()]);
    await a.write('stale/x', { v: 1 });
    const seenByA = (await a.read('stale/x'))!;
    const byB = await b.write('stale/x', { v: 2 });
    await assert.rejects(a.write('stale/x', { v: 3 }, { expected: seenByA.meta.revision }), isReason('conflict'));
    assert.equal((await b.read('stale/x'))?.fields['v'], 2);
    const byA = await a.write('stale/x', { v: 4 });
    assert.notEqual(byA.revision, byB.revision);
    assert.equal((await b.read('stale/x'))?.fields['v'], 4);
    // An entry B deleted and A still remembers: written anew, not lost.
    await b.remove('stale/x');
    await a.write('stale/x', { v: 5 });
    assert.equal((await b.read('stale/x'))?.fields['v'], 5);
    // A create where another node created it first: the later write replaces it (no `expected`).
    await b.write('stale/y', { v: 1 });
    await a.write('stale/y', { v: 2 });
    assert.equal((await b.read('stale/y'))?.fields['v'], 2);
  });

  it('two moves onto the same target at once: one wins, the other is "exists", nothing is lost', async () => {
    const engine = engineOn(shared, { poolSize: 4 });
    await engine.open();
    await Promise.all(['race/one', 'race/one/child', 'race/two', 'race/two/child'].map((id) => engine.write(id, { from: id })));
    const results = await Promise.allSettled([engine.move('race/one', 'race/target'), engine.move('race/two', 'race/target')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    isReason('exists')(failed.reason);
    const ids: string[] = [];
    for await (const batch of engine.list('race')) ids.push(...batch);
    assert.equal(ids.length, 4, ids.join(', '));
    assert.equal((await engine.read('race/target/child'))?.fields['from'], `${(await engine.read('race/target'))?.fields['from']}/child`);
  });

  it('keeps fields as jsonb for queries, and NULL where jsonb cannot hold them exactly', async () => {
    const engine = engineOn(shared);
    await engine.open();
    await engine.write('json/plain', { b: 2, a: { list: [1, 'x', null] } });
    await engine.writeSource('yaml/nan', 'value: .nan\n', 'yaml');
    const admin = await shared.admin();
    try {
      const { rows } = await admin.query<{ id: string; fields: unknown }>(`SELECT id, fields FROM "${shared.schema}".flextype_entries WHERE id IN ('json/plain', 'yaml/nan') ORDER BY id`);
      assert.deepEqual(rows, [
        { id: 'json/plain', fields: { a: { list: [1, 'x', null] }, b: 2, content: '' } },
        { id: 'yaml/nan', fields: null },
      ]);
    } finally {
      await admin.end();
    }
    assert.ok(Number.isNaN((await engine.read('yaml/nan'))?.fields['value']), 'read answers from the source, not jsonb');
  });

  it('refuses what PostgreSQL cannot store exactly, changing nothing', async () => {
    const engine = engineOn(shared);
    await engine.open();
    await assert.rejects(engine.writeSource('bad/surrogate', 'title: broken \ud800 half\n', 'md'), isReason('not_utf8'));
    await assert.rejects(engine.write(`bad/${'x'.repeat(2100)}`, { title: 'long' }), isReason('bad_name'));
    await assert.rejects(engine.writeSource('bad/ext', '{}', 'json'), isReason('bad_name'));
    const ids: string[] = [];
    for await (const batch of engine.list('bad')) ids.push(...batch);
    assert.deepEqual(ids, []);
    // A NUL, which text columns cannot hold, as an entry file holds it (and the marker that encodes it).
    for (const [id, text] of [['nul/body', '---\ntitle: a\n---\nx\u0000y \uFFFF0 \uFFFF1'], ['nul/marker', '\uFFFF---\n\u0000'], ['nul/plain', 'title: \uFFFF0\n']]) {
      await engine.writeSource(id!, text!, 'md');
      assert.equal((await engine.readSource(id!))?.text, text, id);
      assert.equal((await engineOn(shared).readSource(id!))?.text, text, `${id} read by another engine`);
    }
    // A lone surrogate in a field is escaped by the serializer: stored, and read back as written.
    await engine.write('escaped/surrogate', { title: 'broken \ud800 half' });
    assert.equal((await engine.read('escaped/surrogate'))?.fields['title'], 'broken \ud800 half');
  });

  it('reserveCalls never grants past the limit: 1,000 concurrent reservations from 3 nodes', async () => {
    // 1,000 waiting at once on one token's row lock: the wait for a pooled connection is long here.
    const node = () => engineOn(shared, { poolSize: 5, connectTimeoutMs: 120_000 });
    const nodes = [node(), node(), node()];
    await Promise.all(nodes.map((n) => n.open()));
    const grants = await Promise.all(Array.from({ length: 1000 }, (_, i) => nodes[i % 3]!.coordination.reserveCalls('tok-ones', 1, 600)));
    assert.equal(grants.reduce((a, b) => a + b, 0), 600);
    assert.ok(grants.every((g) => g === 0 || g === 1));
    assert.equal(await nodes[1]!.coordination.readCalls('tok-ones'), 600);

    const wants = Array.from({ length: 1000 }, (_, i) => 1 + (i % 5));
    const batches = await Promise.all(wants.map((want, i) => nodes[i % 3]!.coordination.reserveCalls('tok-batches', want, 1000)));
    assert.equal(batches.reduce((a, b) => a + b, 0), 1000);
    assert.ok(batches.every((g, i) => g >= 0 && g <= wants[i]!));
    assert.equal(await nodes[2]!.coordination.readCalls('tok-batches'), 1000);
  });

  it('counts calls without a limit, gives back unused ones, and can be reset', async () => {
    const engine = engineOn(shared);
    await engine.open();
    const c = engine.coordination;
    assert.equal(await c.readCalls('tok-free'), 0);
    assert.equal(await c.reserveCalls('tok-free', 7, 0), 7);
    assert.equal(await c.addCalls('tok-free', -3), 4);
    assert.equal(await c.addCalls('tok-free', 10), 14);
    await c.setCalls('tok-free', 2);
    assert.equal(await c.readCalls('tok-free'), 2);
    assert.equal(await c.reserveCalls('tok-free', 5, 4), 2, 'only what is left under the limit');
  });

  it('countFailure counts every failure exactly once across nodes, and a window starts afresh when it ends', async () => {
    const nodes = [engineOn(shared), engineOn(shared), engineOn(shared)];
    await Promise.all(nodes.map((n) => n.open()));
    const counts = await Promise.all(Array.from({ length: 150 }, (_, i) => nodes[i % 3]!.coordination.countFailure('ip:198.51.100.7', 3_600_000)));
    assert.deepEqual([...counts].sort((a, b) => a - b), Array.from({ length: 150 }, (_, i) => i + 1));
    assert.equal(await nodes[0]!.coordination.countFailure('ip:short', 1), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await nodes[0]!.coordination.countFailure('ip:short', 1), 1, 'the 1 ms window had ended');
  });
});
