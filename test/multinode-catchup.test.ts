/**
 * Writes whose change notice never came (the writing node was killed between its commit and its
 * NOTIFY, or someone changed rows with plain SQL) still reach every node: the change feed catches
 * up on rows written since its last look (issue 11 #4). Each write below is made with SQL and no
 * NOTIFY; the node must serve it within a generous bound (polled, no timing asserted).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type pg from 'pg';
import { ensureBuilt, type Served } from './cli-helpers.js';
import { call, q } from './helpers.js';
import { Cluster, eventually, type NodeOptions } from './multinode-helpers.js';
import { describePg, PG_URL, withSchema } from './pg-helpers.js';

describePg('catch-up of writes that sent no notice', () => {
  const schema = withSchema('ft_catchup');
  const cluster = new Cluster();
  const options: NodeOptions = { url: PG_URL, schema: schema.schema };
  const table = `"${schema.schema}".flextype_entries`;
  let node: Served;
  let admin: { token: string; access_token: string };
  let sql: pg.Client;

  const write = (method: string, params: Record<string, unknown>) =>
    call(node.base, method, '/entries', { json: { token: admin.token, access_token: admin.access_token, ...params } });
  const get = (id: string) => call(node.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(admin.token)}` });
  const titleOf = async (id: string) => ((await get(id)).body as { title?: unknown } | undefined)?.title;

  before(async () => {
    await ensureBuilt();
    node = await cluster.add(options);
    admin = await cluster.token(options);
    sql = await schema.admin();
    assert.equal((await write('POST', { id: 'notes', data: { title: 'Notes' } })).status, 200);
    assert.equal((await write('POST', { id: 'notes/one', data: { title: 'v1' } })).status, 200);
    assert.equal((await write('POST', { id: 'notes/two', data: { title: 'w1' } })).status, 200);
  });
  after(async () => {
    await sql?.end();
    await cluster.close();
    await schema.cleanup();
  });

  it('a write committed by a node that died before its NOTIFY (a new revision, no notice) is served', async () => {
    assert.equal(await titleOf('notes/one'), 'v1'); // cached now, and trusted: the feed runs
    await sql.query(
      `UPDATE ${table} SET source = replace(source, 'title: v1', 'title: v2'), fields = jsonb_set(fields, '{title}', '"v2"'),
         revision = nextval('"${schema.schema}".flextype_revision_seq') WHERE id = 'notes/one'`,
    );
    assert.ok(await eventually(async () => (await titleOf('notes/one')) === 'v2', 20_000), 'the node kept serving its cached v1');
  });

  it('a plain SQL edit that keeps the revision gets a new one, and is served', async () => {
    const before = await get('notes/two');
    assert.equal((before.body as { title: string }).title, 'w1');
    await sql.query(`UPDATE ${table} SET source = replace(source, 'title: w1', 'title: w2'), fields = jsonb_set(fields, '{title}', '"w2"') WHERE id = 'notes/two'`);
    assert.ok(await eventually(async () => (await titleOf('notes/two')) === 'w2', 20_000), 'the node kept serving its cached w1');
    assert.notEqual((await get('notes/two')).headers.get('etag'), before.headers.get('etag'));
  });

  it('a PATCH on a node whose cached copy is stale merges into the stored version, and If-Match is decided against that', async () => {
    assert.equal((await write('POST', { id: 'notes/four', data: { title: 'x', a: 1 } })).status, 200);
    const cachedEtag = (await get('notes/four')).headers.get('etag')!;
    const { rows } = await sql.query<{ revision: string }>(
      `UPDATE ${table} SET source = replace(source, 'a: 1', 'a: 2'), fields = jsonb_set(fields, '{a}', '2') WHERE id = 'notes/four' RETURNING revision::text AS revision`,
    );
    const storedEtag = `"${BigInt(rows[0]!.revision).toString(36)}"`;
    // Right away (the node most likely still holds the old copy; correct either way).
    const stale = await call(node.base, 'PATCH', '/entries', { json: { ...admin, id: 'notes/four', data: { b: 1 } }, headers: { 'if-match': cachedEtag } });
    assert.equal(stale.status, 412, stale.text);
    const fresh = await call(node.base, 'PATCH', '/entries', { json: { ...admin, id: 'notes/four', data: { b: 1 } }, headers: { 'if-match': storedEtag } });
    assert.equal(fresh.status, 200, fresh.text);
    const stored = (await sql.query<{ fields: { a: number; b: number } }>(`SELECT fields FROM ${table} WHERE id = 'notes/four'`)).rows[0]!.fields;
    assert.deepEqual([stored.a, stored.b], [2, 1], 'the SQL change was kept and the PATCH applied on top');
  });

  it('an entry inserted without a notice appears in collections', async () => {
    const listed = async () => {
      const res = await call(node.base, 'GET', '/entries', { query: `id=notes&token=${q(admin.token)}&options[collection]=true` });
      return JSON.stringify(res.body).includes('"notes/three"');
    };
    assert.equal(await listed(), false);
    await sql.query(
      `INSERT INTO ${table} (id, parent, depth, extension, source, fields, size) VALUES ('notes/three', 'notes', 2, 'md', $1, $2::jsonb, $3)`,
      ['---\ntitle: Three\n---\n', JSON.stringify({ title: 'Three' }), 21],
    );
    assert.ok(await eventually(listed, 20_000), 'the collection never listed notes/three');
  });
});
