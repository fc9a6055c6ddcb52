/** Issue 9 item 16: slow header senders (slowloris) cannot hold the server's connections. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { call, startTestServer, type TestServer } from './helpers.js';

const opened: RawClient[] = [];

interface RawClient {
  socket: net.Socket;
  closed: Promise<void>;
  isClosed(): boolean;
}

/** A raw connection that sends the start of a request and never finishes its headers. */
async function slowSender(port: number): Promise<RawClient> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => { closed = true; resolve(); }));
  socket.on('error', () => {}); // a reset by the server is what some of these expect
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', resolve);
  });
  if (!closed) socket.write('GET /api/v1/entries?id=x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  const client = { socket, closed: closedPromise, isClosed: () => closed };
  opened.push(client);
  return client;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A normal request, retried (bounded) while the server may still be counting closed connections. */
async function normalRequest(t: TestServer): Promise<number> {
  let last: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      return (await call(t.base, 'GET', '/entries', { query: `id=missing&token=${t.token}`, headers: { connection: 'close' } })).status;
    } catch (err) {
      last = err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw last;
}

describe('connection limits (item 16)', () => {
  // A failed assertion must not leave sockets that keep a server from closing.
  afterEach(() => {
    for (const c of opened.splice(0)) c.socket.destroy();
  });
  describe('per client address', () => {
    const CAP = 5;
    const EXTRA = 3;
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ fromDemo: false, settings: { server: { max_connections_per_address: CAP } } });
    });
    after(() => t.close());

    it('closes connections beyond the cap at accept; a normal request works once within limits', async () => {
      const clients: RawClient[] = [];
      for (let i = 0; i < CAP + EXTRA; i++) clients.push(await slowSender(t.server.port));
      // Exactly EXTRA of them are closed by the server (the held ones send no more bytes).
      await within(
        new Promise<void>((resolve) => {
          let closedCount = 0;
          for (const c of clients) void c.closed.then(() => { if (++closedCount === EXTRA) resolve(); });
        }),
        5000,
        'the excess connections are closed',
      );
      const held = clients.filter((c) => !c.isClosed());
      assert.equal(held.length, CAP);
      // With all slots taken a new connection is refused too; after one held client leaves, a normal
      // request succeeds while the others still hold theirs.
      held[0]!.socket.destroy();
      await held[0]!.closed;
      assert.equal(await normalRequest(t), 404);
      assert.ok(held.slice(1).every((c) => !c.isClosed()), 'the held connections within the cap stay open');
      for (const c of held) c.socket.destroy();
    });
  });

  describe('in all', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ fromDemo: false, settings: { server: { max_connections: 3 } } });
    });
    after(() => t.close());

    it('closes connections beyond server.max_connections', async () => {
      const clients: RawClient[] = [];
      for (let i = 0; i < 5; i++) clients.push(await slowSender(t.server.port));
      await within(Promise.all([clients[3]!.closed, clients[4]!.closed]), 5000, 'connections 4 and 5 are closed');
      assert.ok(clients.slice(0, 3).every((c) => !c.isClosed()));
      for (const c of clients) c.socket.destroy();
      await Promise.all(clients.map((c) => c.closed));
      assert.equal(await normalRequest(t), 404);
    });
  });

  describe('headers timeout', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ fromDemo: false, settings: { server: { headers_timeout: 0.3, request_timeout: 1 } } });
    });
    after(() => t.close());

    it('disconnects a client that does not finish its headers', async () => {
      const slow = await slowSender(t.server.port);
      let answer = '';
      slow.socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
      // Bytes keep trickling in, as a slowloris client sends them; the server still closes.
      const trickle = setInterval(() => { if (!slow.isClosed()) slow.socket.write('a'); }, 50);
      try {
        await within(slow.closed, 10_000, 'the slow sender is disconnected');
      } finally {
        clearInterval(trickle);
      }
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.equal(await normalRequest(t), 404);
    });
  });
});
