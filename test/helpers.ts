/** Test harness: real projects in temp folders, real servers on ephemeral loopback ports. */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logging.js';
import { startServer, type RunningServer } from '../src/http/start.js';
import { deepMerge, type PlainObject } from '../src/core/util.js';
import { createCollectionResolver } from '../src/core/collections.js';
import type { StorageEngine } from '../src/storage/engine.js';
import { FsEngine } from '../src/storage/fs/engine.js';
import { ON_POSTGRES, otherNode, prepareEngine, type EngineSetup } from './engine-helpers.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_PROJECT = path.join(REPO_ROOT, 'project');
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

/** cpSync filter for the demo project: leaves out its tokens and var (judged inside the project: the checkout's own path may contain "tokens"). */
export function withoutDemoTokens(src: string): boolean {
  const inside = `${path.sep}${path.relative(DEMO_PROJECT, src)}`;
  return !inside.includes(`${path.sep}tokens`) && !inside.includes(`${path.sep}var`);
}

/** A fresh temp folder; with `fromDemo`, a copy of the bundled demo project (tokens excluded). */
export function tempProject(fromDemo = false): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-test-'));
  if (fromDemo) {
    cpSync(DEMO_PROJECT, dir, {
      recursive: true,
      filter: withoutDemoTokens,
    });
  }
  return dir;
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Collects log lines in memory so tests can read what the server logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestServer {
  server: RunningServer;
  base: string;
  projectDir: string;
  token: string;
  accessToken: string;
  logs: LogCapture;
  /** Where its entries are (files: the project; PostgreSQL: a schema), for a restart on the same entries. */
  store: EngineSetup;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 with an ephemeral port and one unrestricted token.
 * `settings` are deep-merged over the project's settings (e.g. { storage: { durable: false } }).
 */
export async function startTestServer(
  options: {
    projectDir?: string;
    fromDemo?: boolean;
    settings?: PlainObject;
    keepProject?: boolean;
    withToken?: boolean;
    /** Keeps the stored entries after close (PostgreSQL: the schema), for `sameStoreAs`. */
    keepStore?: boolean;
    /** Starts on the entries of that (closed, `keepStore`) server: a restart. */
    sameStoreAs?: TestServer;
    /** PostgreSQL: the URL the server reaches the database by (e.g. through a proxy); the entries are imported directly. */
    pgUrl?: string;
  } = {},
): Promise<TestServer> {
  const projectDir = options.projectDir ?? tempProject(options.fromDemo ?? true);
  const logs = new LogCapture();
  // No access log unless a test asks for one (settings log.access).
  const settings: PlainObject = { tokens: { hash_rounds: 4 }, ...(options.settings ?? {}), log: { access: false, ...((options.settings?.['log'] as PlainObject | undefined) ?? {}) } };
  // FLEXTYPE_TEST_ENGINE=postgres: the same project, its entries in a fresh schema.
  const engine = options.sameStoreAs ? options.sameStoreAs.store : await prepareEngine(projectDir, settings, { serverUrl: options.pgUrl });
  const drop = () => (options.keepStore ? Promise.resolve() : engine.drop());
  let server: RunningServer;
  try {
    server = await startServer({
      projectDir,
      host: '127.0.0.1',
      port: 0,
      settings: deepMerge(settings, engine.settings),
      logger: createLogger('info', logs),
    });
  } catch (err) {
    await drop();
    throw err;
  }
  let token = '';
  let accessToken = '';
  if (options.withToken !== false) {
    const created = await server.cms.tokens.create({ title: 'test token' });
    token = created.token;
    accessToken = created.access_token;
  }
  return {
    server,
    base: `${server.url}/api/v1`,
    projectDir,
    token,
    accessToken,
    logs,
    store: engine,
    async close() {
      await server.close();
      await drop();
      if (!options.keepProject && !options.projectDir) removeProject(projectDir);
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined for an empty body). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON shapes
}

/**
 * One HTTP call. `query` is appended as-is (a string, so tests control bracket syntax exactly);
 * `json` sends a JSON body, `form` a form-urlencoded string.
 */
export async function call(
  base: string,
  method: string,
  endpoint: string,
  init: { query?: string; json?: unknown; form?: string; headers?: Record<string, string>; raw?: string | Buffer } = {},
): Promise<ApiResponse> {
  const url = `${base}${endpoint}${init.query !== undefined ? `?${init.query}` : ''}`;
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body: string | Blob | undefined;
  if (init.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = init.form;
  } else if (init.raw !== undefined) {
    // Raw bytes (e.g. invalid UTF-8) go as a Blob, which fetch sends unchanged.
    body = typeof init.raw === 'string' ? init.raw : new Blob([new Uint8Array(init.raw)]);
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let parsed: unknown;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/** Encodes a value for a query string. */
export const q = encodeURIComponent;

/** An entry's stored text, through the server's own engine (the file's text, or the database row's). */
export async function storedText(t: TestServer, id: string): Promise<string> {
  const stored = await t.server.cms.store.engine.readSource(id);
  assert.ok(stored, `entry "${id}" is stored`);
  return stored.text;
}

/** Whether an entry is stored (its file or its row exists). */
export async function isStored(t: TestServer, id: string): Promise<boolean> {
  return (await t.server.cms.store.engine.revision(id)) !== undefined;
}

/** An entry's stored modification time and size, through the engine. */
export async function storedStat(t: TestServer, id: string): Promise<{ mtimeMs: number; size: number }> {
  const revision = await t.server.cms.store.engine.revision(id);
  assert.ok(revision, `entry "${id}" is stored`);
  return { mtimeMs: revision.mtimeMs, size: revision.size };
}

/** Every stored entry's fields, read through the server's engine (an unreadable entry fails the test). */
export async function storedEntries(t: TestServer): Promise<Map<string, Record<string, unknown>>> {
  const engine = t.server.cms.store.engine;
  const entries = new Map<string, Record<string, unknown>>();
  for await (const batch of engine.list()) {
    for (const id of batch) {
      const entry = await engine.read(id);
      if (entry) entries.set(id, entry.fields as Record<string, unknown>);
    }
  }
  return entries;
}

/** The direct children of an id that are entries or lead to entries ('' for the top level), sorted. */
export async function storedChildren(t: TestServer, id = ''): Promise<string[]> {
  return (await t.server.cms.store.engine.children(id)).sort();
}

/**
 * Stores an entry's text through the server's own engine (the file, or the row), as an editor
 * would write it by hand. The server sees it at its next read of that entry: meant for entries it
 * has not cached (on PostgreSQL the engine announces its own writes to other nodes only).
 */
export async function writeStoredText(t: TestServer, id: string, text: string, extension = 'md'): Promise<void> {
  await t.server.cms.store.engine.writeSource(id, text, extension);
}

/**
 * An outside edit of an entry's text: an editor writing its file (files), or another node writing
 * to the same database (PostgreSQL: the server hears of it through LISTEN/NOTIFY, so poll for it).
 */
export async function editOutside(t: TestServer, id: string, text: string, extension = 'md'): Promise<void> {
  if (!ON_POSTGRES) {
    const dir = path.join(t.projectDir, 'entries', ...id.split('/'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `entry.${extension}`), text);
    return;
  }
  const node = await otherNode(t.server.cms);
  try {
    await node.writeSource(id, text, extension);
  } finally {
    await node.close();
  }
}

/** An outside removal of an entry with its children (rm -r, or another node's delete). */
export async function removeOutside(t: TestServer, id: string): Promise<void> {
  if (!ON_POSTGRES) {
    rmSync(path.join(t.projectDir, 'entries', ...id.split('/')), { recursive: true });
    return;
  }
  const node = await otherNode(t.server.cms);
  try {
    await node.remove(id);
  } finally {
    await node.close();
  }
}

/**
 * Runs `read` on an engine of its own on a closed server's files or schema (the server started
 * with `keepStore`; the caller drops the kept store with `t.store.drop()`).
 */
export async function withStoreAfterClose<T>(t: TestServer, read: (engine: StorageEngine) => Promise<T>): Promise<T> {
  const { settings } = t.server.cms;
  const engine: StorageEngine = ON_POSTGRES
    ? await otherNode(t.server.cms)
    : new FsEngine({
      root: path.resolve(t.projectDir, settings.entries.directory),
      resolveFormat: createCollectionResolver(settings.entries.collections),
      durable: false,
      maxParallelIo: 4,
    });
  try {
    return await read(engine);
  } finally {
    await engine.close();
  }
}

/** An entry's stored text once the server is closed (see withStoreAfterClose). */
export function storedTextAfterClose(t: TestServer, id: string): Promise<string> {
  return withStoreAfterClose(t, async (engine) => {
    const stored = await engine.readSource(id);
    assert.ok(stored, `entry "${id}" is stored`);
    return stored.text;
  });
}
