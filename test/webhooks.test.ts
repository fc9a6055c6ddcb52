/**
 * Webhooks against a real loopback receiver: signed deliveries, retries, order, answers that never
 * wait for the receiver, token events without secrets, events surviving a SIGKILLed server, the CLI.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyWebhookSignature } from '../src/index.js';
import { readDeliveryLog } from '../src/core/webhooks/inspect.js';
import type { LogRecord } from '../src/core/webhooks/delivery.js';
import { cli, ensureBuilt, ok, serve, stop, type Served } from './cli-helpers.js';
import { call, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const SECRET = 'a-test-secret-of-enough-length';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test inspects arbitrary JSON
  json: any;
  status?: number;
}

/** A loopback HTTP receiver; `respond` decides each answer's status (and may hold it back). */
class Receiver {
  readonly received: Received[] = [];
  respond: (request: Received, index: number) => number | Promise<number> = () => 200;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const request: Received = { headers: req.headers, body, json: JSON.parse(body) };
        const index = this.received.push(request) - 1;
        void Promise.resolve(this.respond(request, index)).then((status) => {
          request.status = status;
          res.writeHead(status).end();
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Waits (bounded) until `predicate` holds for the requests received so far. */
  async until(predicate: (received: Received[]) => boolean, what: string): Promise<Received[]> {
    for (let i = 0; i < 1500; i++) {
      if (predicate(this.received)) return this.received;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail(`the receiver never got ${what}; got ${JSON.stringify(this.received.map((r) => [r.json.event, r.json.data, r.status]))}`);
  }

  answered(event: string, id?: string): (received: Received[]) => boolean {
    return (received) => received.some((r) => r.status === 200 && r.json.event === event && (id === undefined || r.json.data.id === id));
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const fastRetries = { max_attempts: 5, backoff_base: 0.02, backoff_max: 0.1, timeout: 5 };

async function logUntil(projectDir: string, predicate: (records: LogRecord[]) => boolean): Promise<LogRecord[]> {
  for (let i = 0; i < 1500; i++) {
    const records = await readDeliveryLog(projectDir, 1000);
    if (predicate(records)) return records;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail('the delivery log never showed the expected attempts');
}

describe('webhooks: delivery from a server', () => {
  let receiver: Receiver;
  let t: TestServer;
  const credentials = () => ({ token: t.token, access_token: t.accessToken });

  before(async () => {
    receiver = new Receiver();
    await receiver.start();
    t = await startTestServer({
      settings: { webhooks: { ...fastRetries, endpoints: [{ url: receiver.url, events: ['*'], secret: SECRET }] } },
    });
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  it('POSTs a signed {id, event, occurred_at, data} a receiver can verify, refusing replays and changes', async () => {
    const res = await call(t.base, 'POST', '/entries', { json: { id: 'signed', data: { title: 'S' }, ...credentials() } });
    assert.equal(res.status, 200, res.text);
    const [request] = (await receiver.until(receiver.answered('entries.created', 'signed'), 'entries.created')).filter(
      (r) => r.json.data.id === 'signed',
    );
    assert.deepEqual(Object.keys(request!.json).sort(), ['data', 'event', 'id', 'occurred_at']);
    assert.equal(request!.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(request!.headers['x-flextype-event'], 'entries.created');
    assert.equal(request!.headers['x-flextype-delivery'], request!.json.id);
    assert.equal(request!.json.data.etag, res.headers.get('etag'));
    const header = String(request!.headers['x-flextype-signature']);
    assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
    const verified = verifyWebhookSignature({ header, body: request!.body, secret: SECRET });
    assert.equal(verified.ok, true);
    const signedAt = Number(/t=(\d+)/.exec(header)![1]);
    // Replayed six minutes later: refused, although the signature itself is right.
    assert.deepEqual(verifyWebhookSignature({ header, body: request!.body, secret: SECRET, now: signedAt + 360 }), { ok: false, reason: 'expired' });
    assert.deepEqual(verifyWebhookSignature({ header, body: request!.body.replace('signed', 'forged'), secret: SECRET }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifyWebhookSignature({ header, body: request!.body, secret: 'another-secret-of-length' }), { ok: false, reason: 'mismatch' });
  });

  it('reports every kind of change, in the order they were made', async () => {
    const before = receiver.received.length;
    const write = async (method: string, endpoint: string, body: Record<string, unknown>) => {
      const res = await call(t.base, method, endpoint, { json: { ...body, ...credentials() } });
      assert.ok(res.status < 300, `${method} ${endpoint}: ${res.text}`);
    };
    await write('POST', '/entries', { id: 'order-a', data: { title: 'A' } });
    await write('PATCH', '/entries', { id: 'order-a', data: { title: 'A2' } });
    await write('PUT', '/entries/copy', { id: 'order-a', new_id: 'order-b' });
    await write('PUT', '/entries', { id: 'order-b', new_id: 'order-c' });
    await write('DELETE', '/entries', { id: 'order-c' });
    await write('POST', '/cache/clear', {});
    const received = await receiver.until((all) => all.slice(before).some((r) => r.json.event === 'cache.cleared' && r.status === 200), 'cache.cleared');
    const delivered = received.slice(before).filter((r) => r.status === 200);
    assert.deepEqual(
      delivered.map((r) => [r.json.event, r.json.data.id ?? null, r.json.data.new_id ?? null]),
      [
        ['entries.created', 'order-a', null],
        ['entries.updated', 'order-a', null],
        ['entries.copied', 'order-a', 'order-b'],
        ['entries.moved', 'order-b', 'order-c'],
        ['entries.deleted', 'order-c', null],
        ['cache.cleared', null, null],
      ],
    );
    assert.deepEqual(delivered[1]!.json.data.fields, ['title']);
    assert.equal(delivered[5]!.json.data.source, 'api');
  });

  it('token events name the token by fingerprint only: never the token, its access token or hash', async () => {
    const before = receiver.received.length;
    const created = await call(t.base, 'POST', '/tokens', { json: { ...credentials(), data: { title: 'for a webhook' } } });
    assert.equal(created.status, 200, created.text);
    const { token, access_token: accessToken } = created.body as { token: string; access_token: string };
    assert.equal((await call(t.base, 'PATCH', '/tokens', { json: { ...credentials(), id: token, data: { title: 'renamed' } } })).status, 200);
    assert.equal((await call(t.base, 'DELETE', '/tokens', { json: { ...credentials(), id: token } })).status, 204);
    const received = await receiver.until((all) => all.slice(before).some((r) => r.json.event === 'tokens.deleted' && r.status === 200), 'tokens.deleted');
    const events = received.slice(before).filter((r) => r.status === 200);
    assert.deepEqual(
      events.map((r) => r.json.event),
      ['tokens.created', 'tokens.updated', 'tokens.deleted'],
    );
    for (const event of events) {
      assert.ok(!event.body.includes(token), 'no token in the payload');
      assert.ok(!event.body.includes(accessToken), 'no access token in the payload');
      assert.ok(!event.body.includes('hashed_access_token') && !event.body.includes('$2'), 'no hash in the payload');
      assert.match(event.json.data.token_fingerprint, /^[0-9a-f]{16}$/);
    }
    assert.equal(events[0]!.json.data.token_fingerprint, events[2]!.json.data.token_fingerprint);
    assert.equal(events[1]!.json.data.title, 'renamed');
  });

  it('retries after 500s with backoff, then succeeds; every attempt is in the delivery log', async () => {
    const failures = new Set<string>();
    receiver.respond = (request) => {
      if (request.json.data.id !== 'retried') return 200;
      const attempts = receiver.received.filter((r) => r.json.id === request.json.id).length;
      if (attempts <= 2) {
        failures.add(request.json.id);
        return 500;
      }
      return 200;
    };
    try {
      assert.equal((await call(t.base, 'POST', '/entries', { json: { id: 'retried', data: {}, ...credentials() } })).status, 200);
      const received = await receiver.until(receiver.answered('entries.created', 'retried'), 'the third attempt');
      const attempts = received.filter((r) => r.json.data.id === 'retried');
      assert.deepEqual(
        attempts.map((r) => r.status),
        [500, 500, 200],
      );
      assert.equal(new Set(attempts.map((r) => r.json.id)).size, 1, 'the same event id each time');
      const eventId = attempts[0]!.json.id as string;
      const records = await logUntil(t.projectDir, (all) => all.some((r) => r.event_id === eventId && r.outcome === 'delivered'));
      const mine = records.filter((r) => r.event_id === eventId);
      assert.deepEqual(
        mine.map((r) => [r.attempt, r.status, r.ok, r.outcome ?? null]),
        [
          [1, 500, false, null],
          [2, 500, false, null],
          [3, 200, true, 'delivered'],
        ],
      );
      assert.equal(mine[0]!.error, 'HTTP 500');
      assert.ok(mine.every((r) => typeof r.duration_ms === 'number' && r.by === 'server'));
    } finally {
      receiver.respond = () => 200;
    }
  });

  it('answers the API at once while the receiver is slow; later events wait behind, in order', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.respond = async (request) => {
      if (request.json.data.id === 'slow-1') await held;
      return 200;
    };
    try {
      // Would never answer if the API waited for the receiver (it holds the delivery until released).
      assert.equal((await call(t.base, 'POST', '/entries', { json: { id: 'slow-1', data: {}, ...credentials() } })).status, 200);
      await receiver.until((all) => all.some((r) => r.json.data.id === 'slow-1'), 'slow-1 (held)');
      assert.equal((await call(t.base, 'POST', '/entries', { json: { id: 'slow-2', data: {}, ...credentials() } })).status, 200);
      assert.ok(!receiver.received.some((r) => r.json.data.id === 'slow-2'), 'slow-2 waits behind slow-1');
      release();
      const received = await receiver.until(receiver.answered('entries.created', 'slow-2'), 'slow-2');
      const ids = received.map((r) => r.json.data.id);
      assert.ok(ids.indexOf('slow-1') < ids.indexOf('slow-2'));
    } finally {
      release();
      receiver.respond = () => 200;
    }
  });

  it('gives up after max_attempts (each bounded by the timeout), keeps the event for redelivery, goes on with the next', async () => {
    const hanging = new Receiver();
    hanging.respond = (request) => (request.json.data.id === 'never' ? new Promise<number>(() => {}) : 200);
    await hanging.start();
    const s = await startTestServer({
      settings: { webhooks: { max_attempts: 2, backoff_base: 0.01, backoff_max: 0.01, timeout: 0.3, endpoints: [{ url: hanging.url, events: ['entries.created'], secret: SECRET }] } },
    });
    try {
      const write = (id: string) => call(s.base, 'POST', '/entries', { json: { id, data: {}, token: s.token, access_token: s.accessToken } });
      assert.equal((await write('never')).status, 200);
      assert.equal((await write('after-never')).status, 200);
      await hanging.until(hanging.answered('entries.created', 'after-never'), 'the event after the one given up');
      assert.equal(hanging.received.filter((r) => r.json.data.id === 'never').length, 2);
      const records = await readDeliveryLog(s.projectDir, 100);
      const never = records.filter((r) => r.event !== 'webhooks.test' && r.status === null);
      assert.deepEqual(never.map((r) => [r.attempt, r.error, r.outcome ?? null]), [
        [1, 'no answer within 0.3 s', null],
        [2, 'no answer within 0.3 s', 'failed'],
      ]);
      const failed = readFileSync(path.join(s.projectDir, 'var', 'webhooks', 'failed.jsonl'), 'utf8');
      assert.ok(failed.includes('"never"'));
      assert.ok(!failed.includes(SECRET));
    } finally {
      await s.close();
      await hanging.close();
    }
  });

  it('the registry never shows webhook settings, even when registry.public lists them', async () => {
    const res = await call(t.base, 'GET', '/registry', { query: `id=flextype.settings.webhooks&token=${t.token}` });
    assert.equal(res.status, 404, res.text);
    const all = await call(t.base, 'GET', '/registry', { query: `id=flextype.settings&token=${t.token}` });
    assert.equal(all.status, 200);
    assert.ok(!all.text.includes(SECRET) && !all.text.includes('webhooks'));
    const opened = await startTestServer({
      settings: { registry: { public: ['webhooks', 'webhooks.endpoints', 'storage.url'] }, storage: { engine: 'files', url: 'postgres://u:pw@db/x' }, webhooks: { endpoints: [{ url: receiver.url, events: ['cache.cleared'], secret: SECRET }] } },
    });
    try {
      const res2 = await call(opened.base, 'GET', '/registry', { query: `id=flextype.settings.webhooks.endpoints&token=${opened.token}` });
      assert.equal(res2.status, 404);
      const storage = await call(opened.base, 'GET', '/registry', { query: `id=flextype.settings.storage&token=${opened.token}` });
      assert.equal(storage.status, 200);
      assert.ok(!storage.text.includes('pw@'), 'a database URL is never shown');
    } finally {
      await opened.close();
    }
  });
});

describe('webhooks: the outbox survives a killed server; CLI commands', () => {
  let receiver: Receiver;
  let project: string;
  let served: Served | undefined;

  before(async () => {
    await ensureBuilt();
    receiver = new Receiver();
    await receiver.start();
    project = tempProject(true);
    mkdirSync(path.join(project, 'config', 'flextype'), { recursive: true });
    writeFileSync(
      path.join(project, 'config', 'flextype', 'settings.yaml'),
      [
        'tokens: { hash_rounds: 4 }',
        'webhooks:',
        '  max_attempts: 50',
        '  backoff_base: 0.02',
        '  backoff_max: 0.2',
        '  endpoints:',
        `    - url: ${receiver.url}`,
        '      events: [entries.created, entries.deleted]',
        '      secret_env: HOOK_SECRET',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    if (served) await stop(served.child);
    await receiver.close();
    removeProject(project);
  });

  /** The first token `serve` prints (the banner is complete once it says how to stop). */
  const credentialsOf = async (running: Served) => {
    for (let i = 0; i < 500 && !running.output().includes('Press Ctrl+C'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const output = running.output();
    return { token: /token:\s+([0-9a-f]{32})/.exec(output)![1]!, access_token: /access_token:\s+([0-9a-f]{32})/.exec(output)![1]! };
  };

  it('an event acknowledged before a SIGKILL is delivered after the restart', { timeout: 60_000 }, async () => {
    // The receiver holds every request: nothing is delivered before the kill.
    let holding = true;
    receiver.respond = () => (holding ? new Promise<number>(() => {}) : 200);
    served = await serve(project, { HOOK_SECRET: SECRET });
    const credentials = await credentialsOf(served);
    const res = await call(served.base, 'POST', '/entries', { json: { id: 'survivor', data: { title: 'S' }, ...credentials } });
    assert.equal(res.status, 200, res.text);
    const killed = new Promise((resolve) => served!.child.once('exit', resolve));
    served.child.kill('SIGKILL');
    await killed;
    served = undefined;
    assert.ok(!receiver.received.some((r) => r.status === 200), 'nothing was delivered before the kill');
    holding = false;
    served = await serve(project, { HOOK_SECRET: SECRET });
    const received = await receiver.until(receiver.answered('entries.created', 'survivor'), 'the survivor event');
    const delivered = received.find((r) => r.status === 200)!;
    assert.equal(verifyWebhookSignature({ header: String(delivered.headers['x-flextype-signature']), body: delivered.body, secret: SECRET }).ok, true);
    // webhooks:log shows the delivery.
    const log = JSON.parse(await ok(['webhooks:log', '--json', '--project', project])) as LogRecord[];
    const eventId = delivered.json.id as string;
    await logUntil(project, (all) => all.some((r) => r.event_id === eventId && r.outcome === 'delivered'));
    assert.ok(Array.isArray(log));
  });

  it('changes made with CLI commands while the server runs are delivered by it', async () => {
    assert.ok(served, 'the server of the previous test runs');
    await ok(['entries:create', 'from-cli', '{"title":"C"}', '--project', project], { HOOK_SECRET: SECRET });
    await receiver.until(receiver.answered('entries.created', 'from-cli'), 'the CLI-made entry');
  });

  it('webhooks:list shows endpoints without secrets; webhooks:test sends a signed test event', async () => {
    const listed = await ok(['webhooks:list', '--project', project], { HOOK_SECRET: SECRET });
    assert.ok(listed.includes(receiver.url), listed);
    assert.ok(!listed.includes(SECRET));
    const json = JSON.parse(await ok(['webhooks:list', '--json', '--project', project], { HOOK_SECRET: SECRET })) as { url: string; events: string[]; pending: number }[];
    assert.deepEqual(json.map((e) => [e.url, e.events]), [[receiver.url, ['entries.created', 'entries.deleted']]]);
    const before = receiver.received.length;
    const tested = await ok(['webhooks:test', '--project', project], { HOOK_SECRET: SECRET });
    assert.match(tested, /200/);
    const test = receiver.received.slice(before).find((r) => r.json.event === 'webhooks.test')!;
    assert.equal(verifyWebhookSignature({ header: String(test.headers['x-flextype-signature']), body: test.body, secret: SECRET }).ok, true);
    // An unknown URL is refused, a missing secret variable is named.
    const unknown = await cli(['webhooks:test', 'http://127.0.0.1:1/nope', '--project', project], { HOOK_SECRET: SECRET });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no configured webhook endpoint/);
    const noSecret = await cli(['webhooks:list', '--project', project]);
    assert.notEqual(noSecret.code, 0);
    assert.match(noSecret.stderr, /HOOK_SECRET/);
  });

  it('webhooks:redeliver sends a recorded event again', async () => {
    const eventId = receiver.received.find((r) => r.json.data.id === 'survivor')!.json.id as string;
    const before = receiver.received.length;
    const out = await ok(['webhooks:redeliver', eventId, '--project', project], { HOOK_SECRET: SECRET });
    assert.match(out, /200/);
    assert.equal(receiver.received.slice(before).filter((r) => r.json.id === eventId).length, 1);
    const missing = await cli(['webhooks:redeliver', 'no-such-event', '--project', project], { HOOK_SECRET: SECRET });
    assert.equal(missing.code, 3);
  });
});
