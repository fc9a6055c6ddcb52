/**
 * Settings: the built-in defaults (config/default-settings.yaml, shipped with the package)
 * deep-merged with the project's config/flextype/settings.yaml, then the FLEXTYPE_<PATH> environment
 * variables, then the command line's; checked once at start-up, then frozen.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYaml } from '../storage/serializers/yaml.js';
import { EnvironmentError, originOf, settingsFromEnvironment } from './settings-env.js';
import { describeIssues, settingsSchema, type SchemaSettings } from './settings-schema.js';
import { deepFreeze, deepMerge, isPlainObject, type PlainObject } from './util.js';

export type CollectionSettings = SchemaSettings['entries']['collections'][string];

/**
 * The effective settings: the schema's documented tree, plus whatever keys a project added (kept,
 * warned about at start-up, hidden from the registry unless `registry.public` lists them).
 */
export type Settings = SchemaSettings & { [key: string]: unknown };

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_SETTINGS_FILE = path.join(PACKAGE_ROOT, 'config', 'default-settings.yaml');
export const PACKAGE_JSON_FILE = path.join(PACKAGE_ROOT, 'package.json');

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

/** Dot paths of the keys in `given` that the schema dropped (it keeps only what it knows). */
function unknownKeys(given: unknown, known: unknown, prefix: string, found: string[]): string[] {
  if (!isPlainObject(given) || !isPlainObject(known)) return found;
  for (const [key, value] of Object.entries(given)) {
    const where = prefix === '' ? key : `${prefix}.${key}`;
    if (!Object.prototype.hasOwnProperty.call(known, key)) found.push(where);
    else unknownKeys(value, known[key], where, found);
  }
  return found;
}

export interface CheckedSettings {
  settings: Settings;
  /** Keys no setting of this product has (misspelled, or the project's own): dot paths. */
  unknownKeys: string[];
  /** FLEXTYPE_ environment variables that name no setting. */
  unknownVariables: string[];
}

/**
 * Checks a merged settings tree against the schema; every problem is listed in one SettingsError.
 * `origin` names where a dot path's value came from when not from the files (an environment variable).
 */
export function checkSettings(merged: PlainObject, source = 'settings', origin?: (dotPath: string) => string | undefined): CheckedSettings {
  const result = settingsSchema.safeParse(merged, { reportInput: true });
  if (!result.success) {
    const problems = describeIssues(result.error.issues, origin);
    throw new SettingsError(`invalid ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
  }
  return { settings: deepFreeze(merged) as Settings, unknownKeys: unknownKeys(merged, result.data, '', []), unknownVariables: [] };
}

/** The documented part of checked settings (what the schema knows), without the project's own keys. */
export function documentedSettings(settings: Settings): SchemaSettings {
  return settingsSchema.parse(settings);
}

/**
 * Loads, merges, checks and freezes the settings of a project, telling which keys are unknown.
 * Precedence: defaults < the project's settings file < FLEXTYPE_ variables of `env` < `overrides`.
 */
export function loadCheckedSettings(projectDir: string, overrides: PlainObject = {}, env: NodeJS.ProcessEnv = process.env): CheckedSettings {
  const defaults = readYamlMap(DEFAULT_SETTINGS_FILE, true);
  const file = projectSettingsFile(projectDir);
  const fromFiles = deepMerge(defaults, readYamlMap(file, false));
  let fromEnv;
  try {
    fromEnv = settingsFromEnvironment(env, fromFiles);
  } catch (err) {
    if (err instanceof EnvironmentError) throw new SettingsError(err.message);
    throw err;
  }
  const source = fromEnv.origins.size > 0 ? `settings (environment over ${file} over the defaults)` : `settings (${file} over the defaults)`;
  const checked = checkSettings(deepMerge(deepMerge(fromFiles, fromEnv.settings), overrides), source, (dotPath) =>
    originOf(fromEnv.origins, dotPath),
  );
  return { ...checked, unknownVariables: fromEnv.unknownVariables };
}

/** Loads, merges, checks and freezes the settings of a project; `overrides` win over the files and the environment. */
export function loadSettings(projectDir: string, overrides: PlainObject = {}, env: NodeJS.ProcessEnv = process.env): Settings {
  return loadCheckedSettings(projectDir, overrides, env).settings;
}

/** Our product's manifest as the registry answers it (`flextype.manifest.*`, SPEC §12). */
export interface Manifest {
  name: string;
  version: string;
  description: string;
  author: { name: string; email: string; url: string };
  homepage: string;
  bugs: string;
  license: string;
}

export function loadManifest(): Manifest {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON_FILE, 'utf8')) as PlainObject;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const bugs = pkg['bugs'];
  return deepFreeze({
    name: 'Flextype TS',
    version: text(pkg['version']) || '0.0.0',
    description: text(pkg['description']),
    author: { name: 'The Flextype TS team', email: '', url: '' },
    homepage: text(pkg['homepage']),
    bugs: isPlainObject(bugs) ? text(bugs['url']) : text(bugs),
    license: text(pkg['license']),
  });
}
