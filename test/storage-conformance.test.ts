/** Runs the one storage conformance suite (src/storage/conformance.ts) against every engine. */
import { storageConformance } from '../src/storage/conformance.js';
import type { StorageEngine } from '../src/storage/engine.js';
import { PgEngine } from '../src/storage/postgres/engine.js';
import { describePg, withSchema } from './pg-helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FsEngine } from '../src/storage/fs/engine.js';

describePg('PostgreSQL engine', () => {
  storageConformance('postgres', async (resolveFormat) => {
    const { schema, url, cleanup } = withSchema('ft_conf');
    const opened: StorageEngine[] = [];
    const make = async () => {
      const engine = new PgEngine({ url, schema, resolveFormat, poolSize: 4 });
      await engine.open();
      opened.push(engine);
      return engine;
    };
    return {
      engine: await make(),
      another: make,
      async cleanup() {
        await Promise.all(opened.map((engine) => engine.close()));
        await cleanup();
      },
    };
  });
});

// The file engine, over a temp folder; `another` is a second engine on the same folder (its writes are edits on disk).
storageConformance('files', async (resolveFormat) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'flextype-conformance-'));
  const opened: StorageEngine[] = [];
  const make = async () => {
    const engine = new FsEngine({ root, resolveFormat, durable: false, maxParallelIo: 16 });
    await engine.open();
    opened.push(engine);
    return engine;
  };
  return {
    engine: await make(),
    another: make,
    async cleanup() {
      await Promise.all(opened.map((engine) => engine.close()));
      rmSync(root, { recursive: true, force: true });
    },
  };
});
