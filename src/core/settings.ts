/**
 * Settings: the built-in defaults (config/default-settings.yaml, shipped with the package)
 * deep-merged with the project's config/flextype/settings.yaml, checked once at start-up, then frozen.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSerializer, serializerNames } from '../storage/serializers/index.js';
import { parseYaml } from '../storage/serializers/yaml.js';
import { deepFreeze, deepMerge, getPath, isPlainObject, type PlainObject } from './util.js';

export interface CollectionSettings {
  pattern?: string;
  filename: string;
  extension: string;
  serializer: string;
  fields?: PlainObject;
}

export interface Settings {
  timezone: string;
  server: {
    host: string;
    port: number;
    body_limit: number;
    cache_control: string;
    compress_threshold: number;
    stream_threshold: number;
    query_depth: number;
    query_parameter_limit: number;
    query_array_limit: number;
    shutdown_grace: number;
    trust_proxy: boolean | string;
    max_connections: number;
    max_connections_per_address: number;
    headers_timeout: number;
    request_timeout: number;
    keep_alive_timeout: number;
  };
  cors: { enabled: boolean; origin: string | string[]; methods: string[]; headers: string[]; expose: string[] };
  api: Record<'entries' | 'tokens' | 'registry' | 'cache' | 'query', { enabled: boolean }>;
  entries: {
    directory: string;
    date_fields: string[];
    max_id_length: number;
    max_segment_length: number;
    max_data_depth: number;
    collections: Record<string, CollectionSettings>;
    render: { max_value_bytes: number; max_items: number; max_time_ms: number; max_depth: number };
  };
  query: {
    max_depth: number;
    max_pattern_length: number;
    max_items: number;
    heavy: { threshold: number; concurrency: number; queue: number; retry_after: number };
  };
  storage: { durable: boolean; max_parallel_io: number };
  cache: { enabled: boolean; preload: boolean; max_entries: number; watch: boolean; watch_max_entries: number; poll_interval: number };
  tokens: { calls_flush_interval: number; hash_rounds: number };
  security: { auth_failures_per_minute: number; auth_block_seconds: number };
  log: { level: string };
  [key: string]: unknown;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_SETTINGS_FILE = path.join(packageRoot, 'config', 'default-settings.yaml');
export const PACKAGE_JSON_FILE = path.join(packageRoot, 'package.json');

/** The project's own settings file, at the reference's location. */
export function projectSettingsFile(projectDir: string): string {
  return path.join(projectDir, 'config', 'flextype', 'settings.yaml');
}

function readYamlMap(file: string, required: boolean): PlainObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SettingsError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new SettingsError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) throw new SettingsError(`${file} must contain a map of settings`);
  return parsed;
}

function expect(settings: PlainObject, key: string, type: 'number' | 'string' | 'boolean', problems: string[]): void {
  const value = getPath(settings, key);
  const ok = type === 'number' ? typeof value === 'number' && Number.isFinite(value) && value >= 0 : typeof value === type;
  if (!ok) problems.push(`${key} must be a ${type === 'number' ? 'non-negative number' : type} (found ${JSON.stringify(value)})`);
}

function validate(settings: PlainObject): asserts settings is Settings {
  const problems: string[] = [];
  for (const key of ['server.port', 'server.body_limit', 'server.compress_threshold', 'server.stream_threshold', 'server.query_depth',
    'server.query_parameter_limit', 'server.query_array_limit', 'server.shutdown_grace', 'server.max_connections',
    'server.max_connections_per_address', 'server.headers_timeout', 'server.request_timeout', 'server.keep_alive_timeout',
    'entries.max_id_length',
    'entries.max_segment_length', 'entries.max_data_depth', 'query.max_depth', 'query.max_pattern_length', 'query.max_items',
    'query.heavy.threshold', 'query.heavy.concurrency', 'query.heavy.queue', 'query.heavy.retry_after',
    'storage.max_parallel_io', 'cache.max_entries', 'cache.watch_max_entries', 'cache.poll_interval', 'tokens.calls_flush_interval', 'tokens.hash_rounds',
    'security.auth_failures_per_minute', 'security.auth_block_seconds']) {
    expect(settings, key, 'number', problems);
  }
  for (const key of ['server.host', 'server.cache_control', 'entries.directory', 'timezone', 'log.level']) {
    expect(settings, key, 'string', problems);
  }
  for (const key of ['cors.enabled', 'storage.durable', 'cache.enabled', 'cache.preload', 'cache.watch']) {
    expect(settings, key, 'boolean', problems);
  }
  for (const api of ['entries', 'tokens', 'registry', 'cache']) expect(settings, `api.${api}.enabled`, 'boolean', problems);
  const port = getPath(settings, 'server.port');
  if (typeof port === 'number' && (!Number.isInteger(port) || port > 65535)) problems.push('server.port must be an integer 0–65535');
  const headersTimeout = getPath(settings, 'server.headers_timeout');
  const requestTimeout = getPath(settings, 'server.request_timeout');
  // Node refuses a headers timeout longer than the request timeout (0 turns the latter off).
  if (typeof headersTimeout === 'number' && typeof requestTimeout === 'number' && requestTimeout > 0 && headersTimeout > requestTimeout) {
    problems.push('server.headers_timeout must not exceed server.request_timeout');
  }
  const concurrency = getPath(settings, 'query.heavy.concurrency');
  if (typeof concurrency === 'number' && (!Number.isInteger(concurrency) || concurrency < 1)) problems.push('query.heavy.concurrency must be an integer of at least 1');
  const rounds = getPath(settings, 'tokens.hash_rounds');
  if (typeof rounds === 'number' && (rounds < 4 || rounds > 31)) problems.push('tokens.hash_rounds must be within 4–31');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: String(getPath(settings, 'timezone')) });
  } catch {
    problems.push(`timezone "${String(getPath(settings, 'timezone'))}" is not a known time zone`);
  }
  const collections = getPath(settings, 'entries.collections');
  if (!isPlainObject(collections) || !isPlainObject(collections['default'])) {
    problems.push('entries.collections.default must be defined');
  } else {
    for (const [name, collection] of Object.entries(collections)) {
      if (!isPlainObject(collection)) {
        problems.push(`entries.collections.${name} must be a map`);
        continue;
      }
      if (typeof collection['filename'] !== 'string' || collection['filename'] === '') {
        problems.push(`entries.collections.${name}.filename must be a non-empty string`);
      }
      if (typeof collection['extension'] !== 'string') problems.push(`entries.collections.${name}.extension must be a string`);
      if (typeof collection['serializer'] !== 'string' || !getSerializer(collection['serializer'])) {
        problems.push(`entries.collections.${name}.serializer must be one of ${serializerNames().join(', ')}`);
      }
      if (collection['pattern'] !== undefined) {
        try {
          new RegExp(String(collection['pattern']), 'u');
        } catch {
          problems.push(`entries.collections.${name}.pattern is not a valid regular expression`);
        }
      }
    }
  }
  if (problems.length > 0) throw new SettingsError(`invalid settings:\n  - ${problems.join('\n  - ')}`);
}

/** Loads, merges, checks and freezes the settings of a project; `overrides` win over both files. */
export function loadSettings(projectDir: string, overrides: PlainObject = {}): Settings {
  const defaults = readYamlMap(DEFAULT_SETTINGS_FILE, true);
  const project = readYamlMap(projectSettingsFile(projectDir), false);
  const merged = deepMerge(deepMerge(defaults, project), overrides);
  validate(merged);
  return deepFreeze(merged);
}

export interface Manifest {
  name: string;
  version: string;
  description: string;
  author: string;
  license: string;
  homepage: string;
}

export function loadManifest(): Manifest {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON_FILE, 'utf8')) as PlainObject;
  return deepFreeze({
    name: 'Flextype TS',
    version: String(pkg['version'] ?? '0.0.0'),
    description: String(pkg['description'] ?? ''),
    author: 'The Flextype TS team',
    license: String(pkg['license'] ?? ''),
    homepage: '',
  });
}
