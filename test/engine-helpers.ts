/**
 * Which engine the HTTP suite runs on: FLEXTYPE_TEST_ENGINE=postgres puts every test server's
 * entries into a fresh PostgreSQL schema (imported from the fixture's entries folder, dropped on
 * close); anything else (the default) keeps them in files. Tests about files themselves say so with
 * `filesOnly(reason)`, which skips them on PostgreSQL with that reason in the test report.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createCollectionResolver } from '../src/core/collections.js';
import { loadSettings } from '../src/core/settings.js';
import type { PlainObject } from '../src/core/util.js';
import { StorageError } from '../src/storage/engine.js';
import { FsEngine } from '../src/storage/fs/engine.js';
import { PgEngine } from '../src/storage/postgres/engine.js';

export const TEST_ENGINE: 'files' | 'postgres' = process.env['FLEXTYPE_TEST_ENGINE'] === 'postgres' ? 'postgres' : 'files';
export const ON_POSTGRES = TEST_ENGINE === 'postgres';
const PG_URL = process.env['FLEXTYPE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Test options that skip a test (or a describe) on PostgreSQL: it is about files, not the API. */
export function filesOnly(reason: string): { skip: string | false } {
  return { skip: ON_POSTGRES ? `files only: ${reason}` : false };
}

/** A project's entries in a database: the settings that point a server at them, and the cleanup. */
export interface EngineSetup {
  /** Deep-merged over the test's settings (storage.engine, url, schema). */
  settings: PlainObject;
  /** Drops the schema (files: nothing). */
  drop(): Promise<void>;
}

/**
 * Prepares `projectDir` for the chosen engine. On PostgreSQL: every entry of its entries folder
 * (tokens too) goes into a new schema through `writeSource` (its text unchanged), and the folder
 * is removed, so a test that still reads entry files fails instead of passing by accident.
 */
export async function prepareEngine(projectDir: string, overrides: PlainObject = {}, options: { serverUrl?: string } = {}): Promise<EngineSetup> {
  if (!ON_POSTGRES) return { settings: {}, drop: async () => undefined };
  const schema = `ft_suite_${randomBytes(6).toString('hex')}`;
  // The server may reach the database another way (`serverUrl`, e.g. a proxy the test cuts); the import goes direct.
  const storage = { engine: 'postgres', url: options.serverUrl ?? PG_URL, schema, pool_size: 4 };
  const settings = loadSettings(projectDir, { ...overrides, storage: { ...((overrides['storage'] as PlainObject | undefined) ?? {}), ...storage } });
  const resolveFormat = createCollectionResolver(settings.entries.collections);
  const root = path.resolve(projectDir, settings.entries.directory);
  const source = new FsEngine({ root, resolveFormat, durable: false, maxParallelIo: 16 });
  const target = new PgEngine({ url: PG_URL, schema, resolveFormat, poolSize: 4 });
  const drop = () => dropSchema(schema);
  // Each entry's file time goes with it (its created_at/modified_at defaults), as a tested project recorded it.
  const times: { id: string; mtimeMs: number }[] = [];
  try {
    await target.open();
    if (existsSync(root)) for await (const batch of source.list()) {
      await Promise.all(
        batch.map(async (id) => {
          const [stored, revision] = await Promise.all([source.readSource(id), source.revision(id)]);
          if (!stored) return;
          try {
            await target.writeSource(id, stored.text, stored.extension);
          } catch (err) {
            // A folder name the database cannot hold as an id (e.g. U+0001) stays behind, as with
            // storage:copy; the API refuses such ids on both engines anyway.
            if (err instanceof StorageError && err.reason === 'bad_name') return;
            throw err;
          }
          if (revision) times.push({ id, mtimeMs: revision.mtimeMs });
        }),
      );
    }
    if (times.length > 0) await keepTimes(schema, times);
  } catch (err) {
    await drop().catch(() => undefined);
    throw err;
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
  rmSync(root, { recursive: true, force: true });
  return { settings: { storage }, drop };
}

/** Sets the rows' update times to the files' modification times (the engine itself stamps the time of the write). */
async function keepTimes(schema: string, times: { id: string; mtimeMs: number }[]): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(
      `UPDATE "${schema}".flextype_entries AS e SET updated_at = to_timestamp(t.ms / 1000.0)
       FROM unnest($1::text[], $2::float8[]) AS t(id, ms) WHERE e.id = t.id`,
      [times.map((t) => t.id), times.map((t) => t.mtimeMs)],
    );
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** What a test server's Cms exposes that `otherNode` needs (kept narrow: no import of helpers.ts). */
interface ServerSettings {
  settings: { storage: { schema: string }; entries: { collections: Parameters<typeof createCollectionResolver>[0] } };
}

/**
 * On PostgreSQL, an "outside edit" is another node writing to the same schema: this opens a second
 * engine there (its own node id, so the server is told through LISTEN/NOTIFY, as from a peer).
 * Closed by the caller.
 */
export async function otherNode(cms: ServerSettings): Promise<PgEngine> {
  const engine = new PgEngine({
    url: PG_URL,
    schema: cms.settings.storage.schema,
    resolveFormat: createCollectionResolver(cms.settings.entries.collections),
    poolSize: 2,
  });
  await engine.open();
  return engine;
}
