/**
 * Issue 13, item 3: the client's hand-written types agree with the OpenAPI document the server
 * serves. Types are generated from the served document with openapi-typescript, then `tsc` checks
 * a file asserting, per operation, that what the client sends is assignable to the documented
 * request, and that the documented 200 answer is assignable to what the client returns. A control
 * file with one deliberate mismatch must fail the same check (so the check can fail).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import openapiTS, { astToString } from 'openapi-typescript';
import { call, REPO_ROOT, startTestServer, type TestServer } from './helpers.js';

const run = promisify(execFile);
// Inside the checkout (gitignored), so node_modules/@types resolve for the generated files.
const WORK = path.join(REPO_ROOT, 'test-artifacts', `client-types-${process.pid}`);
const CLIENT = path.join(REPO_ROOT, 'src', 'client', 'index.js');

/** Operations whose request and answer types the client declares (the docs endpoints aside). */
const REQUESTS = ['fetchEntry', 'createEntry', 'updateEntry', 'moveEntry', 'copyEntry', 'deleteEntry', 'fetchToken', 'createToken', 'updateToken', 'deleteToken', 'generateToken', 'generateHash', 'verifyHash', 'getRegistry', 'clearCache', 'runQuery', 'fetchEntrySource', 'saveEntrySource', 'previewEntry'];
const ANSWERS = ['fetchEntry', 'createEntry', 'updateEntry', 'moveEntry', 'copyEntry', 'fetchToken', 'createToken', 'updateToken', 'generateToken', 'generateHash', 'verifyHash', 'getRegistry', 'runQuery', 'fetchEntrySource', 'saveEntrySource', 'previewEntry', 'describeSelf'];

const PRELUDE = `import type { operations, components } from './api.js';
import type { Requests, Answers, Entry, TokenEntry, ErrorBody, FetchOptions, WhereItem } from ${JSON.stringify(CLIENT)};
type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type RequestOf<K extends keyof operations> = [NonNullable<operations[K]['requestBody']>] extends [never]
  ? NonNullable<operations[K]['parameters']['query']>
  : JsonOf<NonNullable<operations[K]['requestBody']>>;
type AnswerOf<K extends keyof operations> = operations[K] extends { responses: { 200: infer R } } ? JsonOf<R> : never;
`;

function checks(): string {
  const lines = [PRELUDE];
  for (const op of REQUESTS) lines.push(`export type Sends_${op} = Assert<Extends<Requests['${op}'], RequestOf<'${op}'>>>;`);
  for (const op of ANSWERS) lines.push(`export type Answers_${op} = Assert<Extends<AnswerOf<'${op}'>, Answers['${op}']>>;`);
  lines.push(
    // Both ways for the shared shapes.
    `export type EntryBothWays = Assert<Extends<components['schemas']['Entry'], Entry>> | Assert<Extends<Entry, components['schemas']['Entry']>>;`,
    `export type TokenBothWays = Assert<Extends<components['schemas']['TokenEntry'], TokenEntry>>;`,
    `export type ErrorBothWays = Assert<Extends<components['schemas']['Error'], ErrorBody>> | Assert<Extends<ErrorBody, components['schemas']['Error']>>;`,
    `export type Options = Assert<Extends<FetchOptions, components['schemas']['FetchOptions']>>;`,
    `export type Where = Assert<Extends<WhereItem, components['schemas']['WhereItem']>>;`,
    // Every documented operation has client types, and the client declares no other.
    `export type AllOperations = Assert<Extends<Exclude<keyof operations, 'getOpenApi' | 'getDocs' | 'validateHash' | 'getHealth' | 'getReady' | 'getMetrics'>, keyof Requests>>;`,
    `export type NoOthers = Assert<Extends<keyof Requests, keyof operations>>;`,
  );
  return lines.join('\n') + '\n';
}

async function typecheck(file: string): Promise<{ ok: boolean; output: string }> {
  const config = path.join(WORK, `tsconfig.${path.basename(file, '.ts')}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: true, types: ['node'] },
      files: [file, path.join(WORK, 'api.d.ts')],
    }),
  );
  try {
    const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { cwd: REPO_ROOT });
    return { ok: true, output: stdout };
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

describe('the client types against the served OpenAPI document', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: false, withToken: false, settings: { storage: { durable: false } } });
    const doc = (await call(t.base, 'GET', '/openapi.json')).body;
    mkdirSync(WORK, { recursive: true });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- openapi-typescript types its input loosely
    writeFileSync(path.join(WORK, 'api.d.ts'), astToString(await openapiTS(doc as any)));
  });
  after(async () => {
    await t.close();
    if (process.env["KEEP_TYPES"] !== "1") rmSync(WORK, { recursive: true, force: true });
  });

  it('agree for every operation (tsc on the generated types)', async () => {
    const file = path.join(WORK, 'check.ts');
    writeFileSync(file, checks());
    const result = await typecheck(file);
    assert.equal(result.ok, true, result.output);
  });

  it('a deliberate mismatch fails the same check', async () => {
    const file = path.join(WORK, 'control.ts');
    writeFileSync(
      file,
      `${PRELUDE}
export type WrongRequest = Assert<Extends<{ id: number }, RequestOf<'fetchEntry'>>>;
export type WrongBody = Assert<Extends<{ id: string; new_id: number }, RequestOf<'moveEntry'>>>;
export type WrongAnswer = Assert<Extends<AnswerOf<'generateHash'>, { hashed_token: number }>>;
`,
    );
    const result = await typecheck(file);
    assert.equal(result.ok, false);
    assert.match(result.output, /control\.ts\(\d+,\d+\): error TS2344/);
    assert.equal(result.output.match(/error TS/g)?.length, 3, result.output);
  });
});
