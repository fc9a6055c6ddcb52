/**
 * Settings from the environment: `FLEXTYPE_<PATH>` sets the setting at PATH (`FLEXTYPE_CACHE_ENABLED`
 * sets `cache.enabled`). Names are matched against the schema's known paths, not split at
 * underscores, so `FLEXTYPE_CACHE_MAX_ENTRIES` finds `cache.max_entries`. Values are read by the
 * setting's type; the merged tree is then checked by the schema like the settings files.
 */
import { z } from 'zod';
import { settingsSchema } from './settings-schema.js';
import { isPlainObject, type PlainObject } from './util.js';

export const ENV_PREFIX = 'FLEXTYPE_';

/** FLEXTYPE_ variables that are not settings (the CLI reads them). */
export const NON_SETTING_VARIABLES = new Set(['FLEXTYPE_PROJECT', 'FLEXTYPE_HOST', 'FLEXTYPE_PORT']);

export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

type Kind = 'boolean' | 'number' | 'string' | 'list' | 'json';

interface Target {
  path: string[];
  kinds: Kind[];
}

/** The JSON Schema form of our zod schema: a plain tree that is easy to walk. */
type JsonNode = {
  type?: string | string[];
  properties?: Record<string, JsonNode>;
  additionalProperties?: JsonNode | boolean;
  anyOf?: JsonNode[];
  enum?: unknown[];
};

let jsonSchema: JsonNode | undefined;
function schemaTree(): JsonNode {
  jsonSchema ??= z.toJSONSchema(settingsSchema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
  return jsonSchema;
}

function kindsOf(node: JsonNode): Kind[] {
  if (node.anyOf) return [...new Set(node.anyOf.flatMap(kindsOf))];
  if (node.enum) return ['string'];
  const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  return types.map((type) => {
    if (type === 'boolean') return 'boolean';
    if (type === 'number' || type === 'integer') return 'number';
    if (type === 'string') return 'string';
    if (type === 'array') return 'list';
    return 'json';
  });
}

/** The variable name of a settings path: segments upper-cased, joined by `_`, other characters as `_`. */
export function variableOf(path: readonly string[]): string {
  return ENV_PREFIX + path.map((segment) => segment.toUpperCase().replace(/[^A-Z0-9]/g, '_')).join('_');
}

/**
 * Every path a variable can set: the leaves of the schema (lists included), open maps (collections,
 * shortcodes…) as a whole (JSON, merged over the files'), and the leaves of the entries such a map
 * already has in the files.
 */
function collectTargets(node: JsonNode, tree: unknown, path: string[], out: Map<string, Target[]>): void {
  const add = (kinds: Kind[]) => {
    const name = variableOf(path);
    out.set(name, [...(out.get(name) ?? []), { path: [...path], kinds }]);
  };
  if (node.properties) {
    for (const [key, child] of Object.entries(node.properties)) {
      collectTargets(child, isPlainObject(tree) ? tree[key] : undefined, [...path, key], out);
    }
    if (path.length > 0 && node.additionalProperties === undefined) return;
  }
  if (typeof node.additionalProperties === 'object') {
    // An open map: set whole (JSON), or the entries it already has, by their own schema.
    if (path.length > 0) add(['json']);
    if (isPlainObject(tree)) {
      for (const [key, value] of Object.entries(tree)) collectTargets(node.additionalProperties, value, [...path, key], out);
    }
    return;
  }
  if (node.properties) return;
  if (node.anyOf && node.anyOf.some((option) => option.properties)) {
    add(['json']);
    return;
  }
  add(kindsOf(node));
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Reads a variable's text as the setting's type; undefined when it is not of that type. */
function parseValue(text: string, kinds: Kind[]): { value: unknown } | undefined {
  const trimmed = text.trim();
  const lower = trimmed.toLowerCase();
  for (const kind of kinds) {
    if (kind === 'boolean' && (TRUE.has(lower) || FALSE.has(lower))) return { value: TRUE.has(lower) };
    if (kind === 'number' && trimmed !== '' && Number.isFinite(Number(trimmed))) return { value: Number(trimmed) };
    if (kind === 'json' || (kind === 'list' && trimmed.startsWith('['))) {
      try {
        return { value: JSON.parse(trimmed) as unknown };
      } catch {
        continue;
      }
    }
    // A list without brackets: comma-separated strings (`a,b,c`); empty text is the empty list. Where
    // text is allowed too (cors.origin), only text with a comma is a list.
    if (kind === 'list' && (!kinds.includes('string') || trimmed.includes(','))) {
      return { value: trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim()) };
    }
  }
  // Strings last, so that `true` for a boolean-or-string setting is the boolean.
  if (kinds.includes('string')) return { value: text };
  return undefined;
}

function describeKinds(kinds: Kind[]): string {
  const words: Record<Kind, string> = {
    boolean: 'true or false',
    number: 'a number',
    string: 'text',
    list: 'a comma-separated list or a JSON array',
    json: 'JSON',
  };
  return kinds.map((kind) => words[kind]).join(' or ');
}

export interface EnvironmentSettings {
  /** The settings the variables give, as a tree to merge over the files. */
  settings: PlainObject;
  /** Dot path → the variable that set it (to name it in a schema error). */
  origins: Map<string, string>;
  /** FLEXTYPE_ variables that name no setting (misspelled?). */
  unknownVariables: string[];
}

/**
 * The settings set by `env`'s FLEXTYPE_ variables, given the tree the files make (it lists the
 * entries of open maps). A value that cannot be read as its setting's type is an EnvironmentError.
 */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv, fileTree: PlainObject): EnvironmentSettings {
  const result: EnvironmentSettings = { settings: {}, origins: new Map(), unknownVariables: [] };
  const names = Object.keys(env).filter((name) => name.startsWith(ENV_PREFIX) && !NON_SETTING_VARIABLES.has(name));
  if (names.length === 0) return result;
  const targets = new Map<string, Target[]>();
  collectTargets(schemaTree(), fileTree, [], targets);
  const problems: string[] = [];
  // Sorted: a whole map (FLEXTYPE_ENTRIES_COLLECTIONS_BLOG) comes before its fields, which then win.
  for (const name of names.sort()) {
    const text = env[name];
    if (text === undefined) continue;
    const found = targets.get(name);
    if (!found) {
      result.unknownVariables.push(name);
      continue;
    }
    if (found.length > 1) {
      problems.push(`${name} is ambiguous: it may mean ${found.map((t) => t.path.join('.')).join(' or ')}; set it in the settings file instead`);
      continue;
    }
    const target = found[0]!;
    const parsed = parseValue(text, target.kinds);
    if (!parsed) {
      problems.push(`${name} (${target.path.join('.')}): expected ${describeKinds(target.kinds)}, found ${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}…` : text)}`);
      continue;
    }
    let node = result.settings;
    for (const segment of target.path.slice(0, -1)) {
      if (!isPlainObject(node[segment])) node[segment] = {};
      node = node[segment] as PlainObject;
    }
    node[target.path[target.path.length - 1]!] = parsed.value;
    result.origins.set(target.path.join('.'), name);
  }
  if (problems.length > 0) {
    throw new EnvironmentError(`invalid environment variable${problems.length === 1 ? '' : 's'}:\n  - ${problems.join('\n  - ')}`);
  }
  return result;
}

/** The variable that set `dotPath` or a setting above it, if any. */
export function originOf(origins: Map<string, string>, dotPath: string): string | undefined {
  let best: string | undefined;
  let bestLength = -1;
  for (const [path, name] of origins) {
    if ((dotPath === path || dotPath.startsWith(`${path}.`)) && path.length > bestLength) {
      best = name;
      bestLength = path.length;
    }
  }
  return best;
}
