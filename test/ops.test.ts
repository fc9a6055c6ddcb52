/**
 * Issue 13 item 5: liveness, readiness and Prometheus metrics through HTTP.
 */
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cms } from '../src/core/cms.js';
import { buildServer } from '../src/http/server.js';
import { ON_POSTGRES } from './engine-helpers.js';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';
import { metricValue, rawGet, writeEntry } from './http-raw.js';
import { TcpProxy } from './multinode-helpers.js';
import { PG_URL } from './pg-helpers.js';

describe('health and readiness', () => {
  it('is alive but not ready while the store is not loaded, then ready', async () => {
    const projectDir = tempProject(true);
    const cms = new Cms({ projectDir, settings: { log: { access: false } } });
    // Listening before start-up (which `serve` does not do): the deterministic "not loaded yet" state.
    const app = await buildServer(cms);
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const address = app.server.address();
      const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1`;
      const health = await call(base, 'GET', '/health');
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      const early = await call(base, 'GET', '/ready');
      assert.equal(early.status, 503);
      assert.equal(early.body.status, 'not_ready');
      assert.match(early.body.checks.store, /not loaded/);
      assert.equal(early.body.checks.storage, 'ok');
      assert.equal(early.headers.get('content-type'), 'application/json; charset=utf-8');
      await cms.start();
      const ready = await call(base, 'GET', '/ready');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready', checks: { store: 'ok', storage: 'ok' } });
    } finally {
      await app.close();
      await cms.close();
      removeProject(projectDir);
    }
  });

  it('is not ready while the storage is unreachable, and ready again when it is back; alive throughout', async () => {
    // Files: the entries folder moved away. PostgreSQL: the server reaches it through a proxy that is cut.
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(PG_URL).port || 5432));
    if (ON_POSTGRES) await proxy.open();
    const pgUrl = ON_POSTGRES ? PG_URL.replace(/@[^/]+\//, `@127.0.0.1:${proxy.port}/`) : undefined;
    const t = await startTestServer({ fromDemo: true, settings: { cache: { watch: false } }, pgUrl });
    const entries = path.join(t.projectDir, 'entries');
    const goAway = () => (ON_POSTGRES ? proxy.cut() : renameSync(entries, `${entries}-away`));
    const comeBack = () => (ON_POSTGRES ? proxy.open() : renameSync(`${entries}-away`, entries));
    try {
      assert.equal((await call(t.base, 'GET', '/ready')).status, 200);
      await goAway();
      const away = await call(t.base, 'GET', '/ready');
      assert.equal(away.status, 503);
      assert.equal(away.body.checks.store, 'ok');
      assert.match(away.body.checks.storage, ON_POSTGRES ? /^unreachable: the database cannot be reached$/ : /^unreachable: the entries folder is missing$/);
      assert.ok(!away.text.includes(t.projectDir), 'no path in the answer');
      assert.ok(!away.text.includes(String(proxy.port || 'no port')), 'no address in the answer');
      assert.equal((await call(t.base, 'GET', '/health')).status, 200);
      await comeBack();
      assert.equal((await call(t.base, 'GET', '/ready')).status, 200);
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('needs no token, and HEAD works for load balancers', async () => {
    const t = await startTestServer({ fromDemo: true, withToken: false });
    try {
      assert.equal((await call(t.base, 'HEAD', '/health')).status, 200);
      assert.equal((await call(t.base, 'HEAD', '/ready')).status, 200);
      const wrong = await call(t.base, 'POST', '/health');
      assert.equal(wrong.status, 405);
    } finally {
      await t.close();
    }
  });
});

describe('Prometheus metrics at /metrics', () => {
  let t: TestServer;
  let projectDir: string;
  let metricsUrl: string;
  const scrape = async () => {
    const answer = await rawGet(metricsUrl);
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return answer.body.toString('utf8');
  };
  before(async () => {
    projectDir = tempProject(true);
    writeEntry(projectDir, 'rendered', 'title: "(strings upper)shout(/strings)"');
    t = await startTestServer({ projectDir });
    metricsUrl = `${t.server.url}/metrics`;
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('counts requests by method, route pattern and status, on both paths', async () => {
    const entries = { method: 'GET', route: '/api/v1/entries', status: '200' };
    const before = await scrape();
    const count0 = metricValue(before, 'flextype_http_requests_total', entries) ?? 0;
    const hist0 = metricValue(before, 'flextype_http_request_duration_seconds_count', entries) ?? 0;
    const hits0 = metricValue(before, 'flextype_fast_path_total', { result: 'hit' }) ?? 0;
    const misses0 = metricValue(before, 'flextype_fast_path_total', { result: 'miss' }) ?? 0;
    for (let i = 0; i < 3; i++) assert.equal((await call(t.base, 'GET', '/entries', { query: `id=movies/inception&token=${q(t.token)}` })).status, 200);
    for (let i = 0; i < 2; i++) {
      assert.equal((await call(t.base, 'GET', '/entries', { query: 'id=movies/arrival', headers: { authorization: `Bearer ${t.token}` } })).status, 200);
    }
    assert.equal((await call(t.base, 'GET', '/entries', { query: `id=movies/none&token=${q(t.token)}` })).status, 404);
    const text = await scrape();
    assert.equal(metricValue(text, 'flextype_http_requests_total', entries), count0 + 5);
    assert.equal(metricValue(text, 'flextype_http_request_duration_seconds_count', entries), hist0 + 5);
    assert.equal(metricValue(text, 'flextype_http_request_duration_seconds_bucket', { ...entries, le: '+Inf' }), hist0 + 5);
    assert.ok((metricValue(text, 'flextype_http_request_duration_seconds_sum', entries) ?? 0) > 0);
    assert.equal(metricValue(text, 'flextype_http_requests_total', { ...entries, status: '404' }), 1);
    // The first fetch of inception fills the cache (full path, a miss); the next two are hits.
    assert.ok((metricValue(text, 'flextype_fast_path_total', { result: 'hit' }) ?? 0) >= hits0 + 2);
    assert.ok((metricValue(text, 'flextype_fast_path_total', { result: 'miss' }) ?? 0) >= misses0 + 1);
  });

  it('labels by route pattern, never by URL: unknown URLs share one label', async () => {
    for (let i = 0; i < 5; i++) await call(t.base, 'GET', `/nowhere-${i}`, { query: `token=${q(t.token)}` });
    const text = await scrape();
    assert.equal(metricValue(text, 'flextype_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 5);
    assert.ok(!text.includes('nowhere'), 'no raw URL in a label');
    assert.ok(!text.includes(t.token), 'no token in the metrics');
  });

  it('reports entries, cache hit ratios, event-loop delay and process metrics', async () => {
    await call(t.base, 'GET', '/entries', { query: `id=rendered&token=${q(t.token)}` });
    await call(t.base, 'GET', '/entries', { query: `id=rendered&token=${q(t.token)}` });
    const text = await scrape();
    const known = t.server.cms.store.entryCount;
    assert.ok(known !== undefined && known > 5);
    assert.equal(metricValue(text, 'flextype_entries'), known);
    assert.ok((metricValue(text, 'flextype_entries_cached') ?? 0) >= 1);
    assert.ok((metricValue(text, 'flextype_render_cache_total', { result: 'hit' }) ?? 0) >= 1);
    assert.ok((metricValue(text, 'flextype_render_cache_total', { result: 'miss' }) ?? 0) >= 1);
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      assert.ok(metricValue(text, name) !== undefined, `${name} present`);
    }
  });
});

describe('who may read /metrics (settings metrics.enabled, metrics.token)', () => {
  const SECRET = 'metrics-secret-0123456789abcdef';

  it('with a token set: a Bearer header equal to it, else 401 (and the token is never echoed)', async () => {
    const t = await startTestServer({ fromDemo: true, settings: { metrics: { token: SECRET } } });
    try {
      const url = `${t.server.url}/metrics`;
      for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${SECRET}x` }, { authorization: `Bearer ${SECRET.slice(0, -1)}` }, { authorization: SECRET }, { authorization: `Basic ${SECRET}` }, { 'x-access-token': SECRET }]) {
        const refused = await rawGet(url, headers);
        assert.equal(refused.status, 401, JSON.stringify(headers));
        const body = refused.body.toString('utf8');
        assert.equal(JSON.parse(body).title, 'Unauthorized');
        assert.ok(!body.includes(SECRET.slice(0, 10)));
      }
      const allowed = await rawGet(url, { authorization: `Bearer ${SECRET}` });
      assert.equal(allowed.status, 200);
      assert.match(allowed.body.toString('utf8'), /flextype_http_requests_total/);
      // The registry never tells the token.
      const registry = await call(t.base, 'GET', '/registry', { query: `id=metrics.token&token=${q(t.token)}` });
      assert.equal(registry.status, 404);
    } finally {
      await t.close();
    }
  });

  it('without a token: loopback clients only (behind a trusted proxy, the forwarded client decides)', async () => {
    const t = await startTestServer({ fromDemo: true, settings: { server: { trust_proxy: true } } });
    try {
      const url = `${t.server.url}/metrics`;
      assert.equal((await rawGet(url)).status, 200);
      assert.equal((await rawGet(url, { 'x-forwarded-for': '127.0.0.1' })).status, 200);
      const remote = await rawGet(url, { 'x-forwarded-for': '203.0.113.7' });
      assert.equal(remote.status, 401);
      assert.match(JSON.parse(remote.body.toString('utf8')).detail, /metrics\.token/);
    } finally {
      await t.close();
    }
  });

  it('metrics.enabled: false answers 404', async () => {
    const t = await startTestServer({ fromDemo: true, settings: { metrics: { enabled: false } } });
    try {
      assert.equal((await rawGet(`${t.server.url}/metrics`)).status, 404);
      assert.equal((await call(t.base, 'GET', '/health')).status, 200);
    } finally {
      await t.close();
    }
  });
});
