/**
 * Entry macros (SPEC §9.10): `macros.registry.get` and `macros.entries.fetch` embed registry values
 * and other entries into the fields, merged shallowly (a macro field replaces a stored one whole).
 * `macros.php` is never run.
 */
import { isPlainObject, setPath, type PlainObject } from '../util.js';
import { phpJsonText } from './types.js';

export interface MacroSwitches {
  registry: boolean;
  entries: boolean;
  /** `entries.macros.entries.fetch.type`: how embedded entries are given by default. */
  defaultType: string;
}

export function macroSwitches(setting: (path: string) => unknown): MacroSwitches {
  const off = (path: string) => setting(path) === false;
  return {
    registry: !off('entries.macros.registry.enabled') && !off('entries.macros.registry.get.enabled'),
    entries: !off('entries.macros.entries.enabled') && !off('entries.macros.entries.fetch.enabled'),
    defaultType: String(setting('entries.macros.entries.fetch.type') ?? 'array'),
  };
}

export interface MacroHost {
  registryGet(key: string): unknown;
  /** The rendered entry or collection as content sees it; undefined when missing or empty. */
  fetch(id: string, options: PlainObject): Promise<unknown>;
}

/** `collection` counts as true unless it is one of PHP's false-looking values. */
function normalizeOptions(options: unknown): PlainObject {
  if (!isPlainObject(options)) return {};
  const out: PlainObject = { ...options };
  if ('collection' in out) {
    const value = out['collection'];
    out['collection'] = !(value === false || value === 0 || (typeof value === 'string' && ['false', '0', 'off', 'no', ''].includes(value.toLowerCase())));
  }
  return out;
}

/** Shallow merge keeping the position of replaced keys (PHP array_merge). */
function mergeInto(target: PlainObject, data: PlainObject): void {
  for (const [key, value] of Object.entries(data)) target[key] = value;
}

/** Applies an entry's macros to its (decoded, not yet rendered) fields, in place. */
export async function applyMacros(fields: PlainObject, switches: MacroSwitches, host: MacroHost): Promise<void> {
  const macros = fields['macros'];
  if (!isPlainObject(macros)) return;
  const registryGet = isPlainObject(macros['registry']) ? macros['registry']['get'] : undefined;
  if (switches.registry && isPlainObject(registryGet)) {
    const data: PlainObject = {};
    for (const [field, body] of Object.entries(registryGet)) {
      // [ours] a macro without an id is skipped (the reference embeds the whole registry).
      if (!isPlainObject(body) || typeof body['id'] !== 'string') continue;
      const value = host.registryGet(body['id']);
      setPath(data, field, value !== undefined ? value : 'default' in body ? body['default'] : []);
    }
    mergeInto(fields, data);
  }
  const entriesFetch = isPlainObject(macros['entries']) ? macros['entries']['fetch'] : undefined;
  if (switches.entries && isPlainObject(entriesFetch)) {
    const data: PlainObject = {};
    for (const [field, body] of Object.entries(entriesFetch)) {
      if (!isPlainObject(body) || typeof body['id'] !== 'string') continue;
      const value = (await host.fetch(body['id'], normalizeOptions(body['options']))) ?? [];
      const type = typeof body['type'] === 'string' ? body['type'] : switches.defaultType;
      data[field] = type === 'json' ? phpJsonText(value) : value;
    }
    mergeInto(fields, data);
  }
}
