/**
 * The admin app's first load in headless Chromium (`npm run bench:admin`): a fresh browser profile
 * each round, so nothing comes from the browser's cache. Reports the median of the rounds for
 * (1) navigation start → the sign-in form usable, and (2) after signing in → the entry tree shown,
 * plus the bytes the page transferred. Needs Debian's /usr/bin/chromium and a build (`npm run build`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startTestServer } from '../test/helpers.js';

const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const t = await startTestServer({ fromDemo: true, settings: { storage: { durable: false } } });
const toForm: number[] = [];
const toTree: number[] = [];
let transferred = 0;
try {
  for (let round = 0; round < ROUNDS; round++) {
    const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'admin-load-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: '/usr/bin/chromium', args: FLAGS, viewport: { width: 1280, height: 800 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      let bytes = 0;
      page.on('response', (response) => {
        const length = Number(response.headers()['content-length'] ?? 0);
        if (Number.isFinite(length)) bytes += length;
      });
      const started = performance.now();
      await page.goto(`${t.server.url}/admin/`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      toForm.push(performance.now() - started);
      await page.getByLabel('Token', { exact: true }).fill(t.token);
      await page.getByLabel('Access token').fill(t.accessToken);
      const signedIn = performance.now();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: 'All entries' }).first().waitFor();
      toTree.push(performance.now() - signedIn);
      transferred = bytes;
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }
} finally {
  await t.close();
}
console.log(`admin first load, ${ROUNDS} rounds, fresh profile each (load average ${os.loadavg()[0]!.toFixed(1)}):`);
console.log(`  navigation → sign-in form usable: median ${median(toForm).toFixed(0)} ms (${toForm.map((v) => v.toFixed(0)).join(', ')})`);
console.log(`  sign in → entry tree shown:       median ${median(toTree).toFixed(0)} ms (${toTree.map((v) => v.toFixed(0)).join(', ')})`);
console.log(`  bytes on the wire (content-length, compressed where sent so): ${transferred}`);
