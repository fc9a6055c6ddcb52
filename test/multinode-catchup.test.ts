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
