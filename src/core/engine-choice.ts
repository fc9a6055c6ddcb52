/**
 * Which storage engine a project uses: the settings decide (`storage.engine`, `storage.url`), and
 * `FLEXTYPE_STORAGE_URL` names the database without writing a password into a settings file.
 */
import path from 'node:path';
import type { FormatResolver, StorageEngine } from '../storage/engine.js';
import { FsEngine } from '../storage/fs/engine.js';
import { PgEngine } from '../storage/postgres/engine.js';
import { badRequest } from './errors.js';
import type { Settings } from './settings.js';
import type { Logger } from './store/store.js';

export function storageUrlOf(settings: Settings, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['FLEXTYPE_STORAGE_URL'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : settings.storage.url;
}

export function engineKindOf(settings: Settings, env: NodeJS.ProcessEnv = process.env): 'files' | 'postgres' {
  const chosen = settings.storage.engine;
  if (chosen !== 'auto') return chosen;
  return storageUrlOf(settings, env) !== '' ? 'postgres' : 'files';
}

export function createEngine(projectDir: string, settings: Settings, resolveFormat: FormatResolver, log?: Logger): StorageEngine {
  if (engineKindOf(settings) === 'postgres') {
    const url = storageUrlOf(settings);
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw badRequest('storage.engine is postgres but no postgres:// URL is set (storage.url or FLEXTYPE_STORAGE_URL)');
    }
    return new PgEngine({
      url,
      schema: settings.storage.schema,
      poolSize: settings.storage.pool_size,
      connectTimeoutMs: settings.storage.connect_timeout,
      resolveFormat,
      ...(log ? { log } : {}),
    });
  }
  return new FsEngine({
    root: path.resolve(projectDir, settings.entries.directory),
    resolveFormat,
    durable: settings.storage.durable,
    maxParallelIo: settings.storage.max_parallel_io,
    ...(log ? { log } : {}),
  });
}
