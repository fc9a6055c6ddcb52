/**
 * The HTTP/API suite on PostgreSQL (`npm test` runs it after the whole suite on files): the files
 * below, with FLEXTYPE_TEST_ENGINE=postgres, so every test server keeps its entries in a fresh
 * schema. Without PostgreSQL it says clearly that this part was skipped and passes; with CI=true a
 * missing PostgreSQL is a failure. Tests about files themselves skip with "files only: <reason>".
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';
import { pgAvailable, PG_URL } from './pg-helpers.js';

/** The API test files that run on both engines. */
export const API_SUITE = [
  'access-log',
  'admin-api',
  'cache',
  'cli',
  'client',
  'client-types',
  'collections-load',
  'compat',
  'concurrency',
  'connections',
  'docs-browser',
  'entries',
  'expressions',
  'fast-path',
  'hostile',
  'negotiation',
  'neon',
  'openapi',
  'ops',
  'outside-edits',
  'pipeline',
  'property',
  'query',
  'query-api',
  'registry-cache',
  'render',
  'serializers',
  'shop',
  'shortcodes',
  'smoke',
  'store-changes',
  'stream-answers',
  'strings',
  'token-attacks',
  'tokens',
  'trust-input',
  'webhooks',
];

const shownUrl = PG_URL.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
if (!(await pgAvailable())) {
  if (process.env['CI'] === 'true') {
    console.error(`error: PostgreSQL is not reachable at ${shownUrl}; the API suite on PostgreSQL is required with CI=true`);
    process.exit(1);
  }
  console.log(`# SKIPPED: the API suite on PostgreSQL (${API_SUITE.length} files): PostgreSQL is not reachable at ${shownUrl}`);
  process.exit(0);
}
console.log(`# the API suite on PostgreSQL (${API_SUITE.length} files) at ${shownUrl}`);
const files = API_SUITE.map((name) => path.join('test', `${name}.test.ts`));
// Three files at a time: each server has its own schema, port and folder, and most of a file's time
// is spent waiting (child processes, the database), so this roughly halves the run (measured: 14m22s
// one at a time, 9m49s three at a time with more files, on a loaded 2-core box). Overridable.
const args = process.argv.slice(2);
const concurrency = args.some((arg) => arg.startsWith('--test-concurrency')) ? [] : ['--test-concurrency=3'];
const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...concurrency, ...args, ...files], {
  cwd: REPO_ROOT,
  env: { ...process.env, FLEXTYPE_TEST_ENGINE: 'postgres' },
  stdio: 'inherit',
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
