/**
 * The API on PostgreSQL with push-down wired in: a collection query over plain entries is
 * answered from SQL once every entry is cached (proved by a row whose jsonb alone was changed
 * behind the core's back), gives the in-memory answer, and entries that render are never pushed.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { call, q, startTestServer, type TestServer } from './helpers.js';
import { describePg, withSchema, type TestSchema } from './pg-helpers.js';

const TOP = [
  'options[collection]=true',
  'options[filter][where][0][key]=tag',
  'options[filter][where][0][operator]=eq',
  'options[filter][where][0][value]=news',
  'options[filter][sort_by][key]=rating',
  'options[filter][sort_by][direction]=DESC',
  'options[filter][limit]=2',
].join('&');

describePg('push-down through the API (PostgreSQL engine)', () => {
  let t: TestServer;
  let schema: TestSchema;
  const list = async () => {
    const res = await call(t.base, 'GET', '/entries', { query: `id=blog&${TOP}&token=${q(t.token)}` });
    assert.equal(res.status, 200, res.text);
    return { ids: Object.keys(res.body as object), total: res.headers.get('x-total-count') };
  };
  before(async () => {
    schema = withSchema('ft_pdapi');
    t = await startTestServer({ fromDemo: false, settings: { query: { pushdown: true }, storage: { engine: 'postgres', url: schema.url, schema: schema.schema } } });
    const write = (id: string, data: Record<string, unknown>) =>
      call(t.base, 'POST', '/entries', { json: { id, data }, headers: { authorization: `Bearer ${t.token}`, 'x-access-token': t.accessToken } });
    assert.equal((await write('blog', { title: 'Blog' })).status, 200);
    for (const [id, tag, rating] of [['a', 'news', 3], ['b', 'News', 9], ['c', 'news', '10'], ['d', 'sport', 20], ['e', 'news', 3]] as const) {
      const res = await write(`blog/${id}`, { title: id, tag, rating });
      assert.equal(res.status, 200, res.text);
    }
  });
  after(async () => {
    await t.close();
    await schema.cleanup();
  });

  it('answers as in memory, then from SQL once every entry is cached', async () => {
    const first = await list();
    // Numeric sort across a number and a numeric string; ties (a, e at 3) in id order.
    assert.deepEqual(first, { ids: ['c', 'a'].map((id) => `blog/${id}`), total: '3' });
    // Changed in jsonb only (no NOTIFY, the source unchanged): only SQL can see it.
    const admin = await schema.admin();
    try {
      await admin.query(`UPDATE "${schema.schema}".flextype_entries SET fields = jsonb_set(fields, '{rating}', '100') WHERE id = 'blog/e'`);
    } finally {
      await admin.end();
    }
    const second = await list();
    assert.deepEqual(second, { ids: ['e', 'c'].map((id) => `blog/${id}`), total: '3' }, 'the second answer came from the push-down');
  });
});
