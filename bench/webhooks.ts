/**
 * `node --import tsx bench/webhooks.ts [--writes 200] [--rounds 3]`: what recording webhook events
 * costs a write. POST /entries latency (concurrency 1) with no endpoint, and with one endpoint (a
 * loopback receiver answering 200), in alternated rounds of one run; durable storage (fsync) both ways.
 * Prints a Markdown table of medians and p95 over all rounds.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/logging.js';
import { startServer } from '../src/http/start.js';

const { values: flags } = parseArgs({ options: { writes: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' } } });
const WRITES = Number(flags.writes);
const ROUNDS = Number(flags.rounds);

const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200).end());
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

async function round(withHook: boolean, label: number): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-bench-hooks-'));
  const server = await startServer({
    projectDir: dir,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('silent'),
    settings: {
      tokens: { hash_rounds: 4 },
      webhooks: { endpoints: withHook ? [{ url: hook, events: ['*'], secret: 'bench-secret-of-length' }] : [] },
    },
  });
  try {
    const { token, access_token } = await server.cms.tokens.create({});
    const times: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const body = JSON.stringify({ id: `e${label}-${i}`, data: { title: `T${i}` }, token, access_token });
      const started = performance.now();
      const res = await fetch(`${server.url}/api/v1/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      times.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    }
    return times;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const results: Record<string, number[]> = { 'no endpoint': [], 'one endpoint': [] };
for (let r = 0; r < ROUNDS; r++) {
  results['no endpoint']!.push(...(await round(false, r)));
  results['one endpoint']!.push(...(await round(true, r)));
}
receiver.close();
console.log(`| POST /entries (${ROUNDS}×${WRITES} writes, durable) | median ms | p95 ms |\n|---|---|---|`);
for (const [name, times] of Object.entries(results)) console.log(`| ${name} | ${quantile(times, 0.5).toFixed(2)} | ${quantile(times, 0.95).toFixed(2)} |`);
