/**
 * Issue 13 item 5: access logs of `flextype serve`, captured from the server process (its log
 * stream is stderr; stdout is for people): one JSON line per answer on both paths, with request
 * id, method, route, status, duration and bytes, and never a credential.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, okJson, serve, stop, waitForLog, type Served } from './cli-helpers.js';
import { removeProject, tempProject } from './helpers.js';

interface AccessLine {
  level: number;
  time: number;
  msg: string;
  reqId: string;
  method: string;
  route: string;
  url: string;
  status: number;
  ms: number;
  bytes: number;
  remote: string;
}

const REQUEST_LINE = '"msg":"request"';

function accessLines(served: Served): AccessLine[] {
  return served
    .logs()
    .split('\n')
    .filter((line) => line.includes(REQUEST_LINE))
    .map((line) => JSON.parse(line) as AccessLine);
}

describe('access log of flextype serve (settings log.access)', () => {
  let project: string;
  let served: Served;
  let token: string;
  let accessToken: string;
  const METRICS_SECRET = 'scrape-secret-9f8e7d6c5b4a3210';

  before(async () => {
    await ensureBuilt();
    project = tempProject(true);
    appendFileSync(path.join(project, 'config', 'flextype', 'settings.yaml'), `\nmetrics:\n  token: ${METRICS_SECRET}\n`);
    const created = await okJson(['tokens:create', '--project', project]);
    token = String(created['token']);
    accessToken = String(created['access_token']);
    served = await serve(project);
  });
  after(async () => {
    if (served) await stop(served.child);
    removeProject(project);
  });

  it('writes one JSON line per answer, on the fast path and the full path, with no credential in it', async () => {
    const base = served.base;
    const origin = new URL(base).origin;
    const answers: { what: string; status: number; id: string | null; length: string | null }[] = [];
    const send = async (what: string, url: string, init: RequestInit = {}) => {
      const response = await fetch(url, init);
      await response.arrayBuffer();
      answers.push({ what, status: response.status, id: response.headers.get('x-request-id'), length: response.headers.get('content-length') });
    };
    const entry = `${base}/entries?id=movies/inception&token=${token}`;
    await send('first read (full path, fills the cache)', entry, { headers: { 'x-request-id': 'trace-0001' } });
    await send('fast path', entry, { headers: { 'x-request-id': 'trace-0002' } });
    await send('Bearer', `${base}/entries?id=movies/arrival`, { headers: { authorization: `Bearer ${token}` } });
    await send('write with the secrets in the query', `${base}/entries?id=blog/logged&token=${token}&access_token=${accessToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { title: 'Logged' } }),
    });
    await send('write with the secrets in headers', `${base}/entries?id=blog/logged`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}`, 'x-access-token': accessToken },
    });
    await send('no such entry', `${base}/entries?id=movies/none&token=${token}`);
    await send('metrics', `${origin}/metrics`, { headers: { authorization: `Bearer ${METRICS_SECRET}` } });
    await waitForLog(served, REQUEST_LINE, answers.length);
    const lines = accessLines(served);
    assert.equal(lines.length, answers.length);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 204, 404, 200],
    );
    for (const [i, line] of lines.entries()) {
      const answer = answers[i]!;
      assert.equal(line.msg, 'request');
      assert.equal(line.level, 30);
      assert.equal(line.reqId, answer.id, `${answer.what}: the id the answer carried`);
      assert.equal(line.status, answer.status, answer.what);
      assert.ok(Number.isFinite(line.ms) && line.ms >= 0, `${answer.what}: ms`);
      if (answer.length !== null) assert.equal(line.bytes, Number(answer.length), `${answer.what}: bytes`);
      assert.equal(line.remote, '127.0.0.1');
    }
    assert.deepEqual(
      lines.map((l) => [l.method, l.route]),
      [
        ['GET', '/api/v1/entries'],
        ['GET', '/api/v1/entries'],
        ['GET', '/api/v1/entries'],
        ['POST', '/api/v1/entries'],
        ['DELETE', '/api/v1/entries'],
        ['GET', '/api/v1/entries'],
        ['GET', '/metrics'],
      ],
    );
    assert.equal(lines[0]!.reqId, 'trace-0001');
    assert.equal(lines[1]!.reqId, 'trace-0002');
    assert.equal(lines[1]!.url, '/api/v1/entries?id=movies/inception&token=[redacted]');
    assert.equal(lines[3]!.url, '/api/v1/entries?id=blog/logged&token=[redacted]&access_token=[redacted]');
    const everything = served.logs() + served.output();
    for (const secret of [token, accessToken, METRICS_SECRET]) assert.ok(!everything.includes(secret), `a secret in the logs: ${secret.slice(0, 4)}…`);
  });

  it('is off with log.access: false (checked after a graceful stop, which flushes the log)', async () => {
    const quiet = tempProject(true);
    try {
      appendFileSync(path.join(quiet, 'config', 'flextype', 'settings.yaml'), '\nlog:\n  access: false\n');
      const created = await okJson(['tokens:create', '--project', quiet]);
      const server = await serve(quiet);
      try {
        for (let i = 0; i < 3; i++) await (await fetch(`${server.base}/entries?id=movies/inception&token=${String(created['token'])}`)).arrayBuffer();
      } finally {
        await stop(server.child);
      }
      assert.equal(accessLines(server).length, 0);
      assert.match(server.logs(), /server listening/, 'the other logs are still written');
    } finally {
      removeProject(quiet);
    }
  });
});
