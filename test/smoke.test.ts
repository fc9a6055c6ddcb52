import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, q, startTestServer, type TestServer } from './helpers.js';

describe('smoke: the demo project over HTTP', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true });
  });
  after(async () => t.close());

  it('fetches a demo entry with system fields and Unix dates', async () => {
    const res = await call(t.base, 'GET', '/entries', { query: `id=blog/hello-world&token=${q(t.token)}` });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.body.id, 'blog/hello-world');
    assert.equal(res.body.slug, 'hello-world');
    assert.equal(res.body.created_at, Date.UTC(2020, 4, 16, 9, 30) / 1000);
  });

  it('answers an unknown route with the JSON 404 body', async () => {
    const res = await call(t.base, 'GET', '/nothing-here');
    assert.equal(res.status, 404);
    assert.deepEqual(
      { title: res.body.title, message: res.body.message, http_status_code: res.body.http_status_code },
      { title: 'Not Found', message: 'The requested resource or endpoint could not be found', http_status_code: 404 },
    );
  });
});
