/** Small helpers shared across the core: plain-object checks, dot paths and deep merge. */
import { badRequest } from './errors.js';

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** Marks a missing value in compiled path lookups (distinct from a stored null or undefined). */
export const MISSING: unique symbol = Symbol('missing');

/** Compiles a dot path once into a lookup; MISSING when a step does not exist. */
export function compilePath(path: string): (source: unknown) => unknown {
  const parts = path.split('.');
  if (parts.some((part) => FORBIDDEN_KEYS.has(part))) return () => MISSING;
  if (parts.length === 1) {
    const key = parts[0]!;
    return (source) =>
      source !== null && typeof source === 'object' && Object.prototype.hasOwnProperty.call(source, key)
        ? (source as PlainObject)[key]
        : MISSING;
  }
  return (source) => {
    let current: unknown = source;
    for (const part of parts) {
      if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, part)) return MISSING;
      current = (current as PlainObject)[part];
    }
    return current;
  };
}

/** Reads `a.b.c` from nested objects (and arrays by index); undefined when a step is missing. */
export function getPath(source: unknown, path: string): unknown {
  if (path === '') return source;
  const value = compilePath(path)(source);
  return value === MISSING ? undefined : value;
}

export function hasPath(source: unknown, path: string): boolean {
  return path === '' || compilePath(path)(source) !== MISSING;
}

/** Sets `a.b.c`, creating plain objects on the way. */
export function setPath(target: PlainObject, path: string, value: unknown): void {
  const parts = path.split('.');
  let current: PlainObject = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (FORBIDDEN_KEYS.has(part)) return;
    const next = current[part];
    if (!isPlainObject(next)) current[part] = {};
    current = current[part] as PlainObject;
  }
  const last = parts[parts.length - 1]!;
  if (!FORBIDDEN_KEYS.has(last)) current[last] = value;
}

/** Deep merge of plain objects; arrays and scalars from `override` replace those in `base`. */
export function deepMerge(base: PlainObject, override: PlainObject): PlainObject {
  const result: PlainObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const existing = result[key];
    result[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return result;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}

/**
 * Deepest nesting any input may have (a bound for the recursion below); entries have a lower,
 * configurable limit (entries.max_data_depth).
 */
export const MAX_NESTING = 1000;

/** Drops keys that could reach an object's prototype from untrusted nested input; refuses (never cuts) over-deep input. */
export function sanitizeKeys(value: unknown, depth = 0): unknown {
  if (depth > MAX_NESTING) throw badRequest(`the data is nested more than ${MAX_NESTING} levels deep`);
  if (Array.isArray(value)) return value.map((item) => sanitizeKeys(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: PlainObject = {};
    for (const [key, child] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      out[key] = sanitizeKeys(child, depth + 1);
    }
    return out;
  }
  return value;
}

/** How many levels of objects and arrays `value` nests (a scalar is 0, `{a: 1}` is 1); stops counting past `limit`. */
export function nestingDepth(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    deepest = Math.max(deepest, nestingDepth(child, limit - 1));
    if (deepest >= limit) break;
  }
  return deepest + 1;
}
