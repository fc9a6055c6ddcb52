/**
 * PHP behaviours content relies on, written for our runtime: `parse_str` (query strings in
 * `@type[array]`, shortcode options, `contains` needles) and the typed option values of the
 * `entries`/`fetch` shortcodes. Hand-written: `qs` differs from PHP on name mangling (`.` and space
 * become `_`), unmatched brackets and empty names.
 */
import { isPlainObject, type PlainObject } from '../util.js';

/** PHP's max_input_nesting_level. */
const MAX_NESTING = 64;

function urldecode(text: string): string {
  const plus = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    // PHP decodes each valid %XX and keeps the rest; decode byte runs one at a time.
    return plus.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** Appends under the next integer key (PHP `[]`), or sets a named key. */
function assign(target: PlainObject, key: string | undefined, value: unknown): void {
  if (key !== undefined) {
    target[key] = value;
    return;
  }
  const numeric = Object.keys(target).filter((k) => /^(0|[1-9]\d*)$/.test(k)).map(Number);
  target[String(numeric.length === 0 ? 0 : Math.max(...numeric) + 1)] = value;
}

/** PHP arrays whose keys are 0…n-1 in order (the empty one too) are JSON lists; the rest are maps. */
export function phpArrayToJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(phpArrayToJson);
  if (!isPlainObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.every((k, i) => k === String(i))) return keys.map((k) => phpArrayToJson(value[k]));
  const out: PlainObject = {};
  for (const k of keys) out[k] = phpArrayToJson(value[k]);
  return out;
}

/** Splits `a[b][]` into the base name and bracket keys, as PHP does (unmatched `[` is literal). */
function splitName(raw: string): { base: string; keys: Array<string | undefined> } | undefined {
  let name = raw.replace(/^ +/, '');
  const open = name.indexOf('[');
  let base = open === -1 ? name : name.slice(0, open);
  const keys: Array<string | undefined> = [];
  if (open !== -1) {
    let rest = name.slice(open);
    let complete = true;
    while (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close === -1) {
        complete = keys.length > 0;
        break;
      }
      const key = rest.slice(1, close);
      keys.push(key === '' ? undefined : key);
      rest = rest.slice(close + 1);
      if (keys.length >= MAX_NESTING) break;
    }
    if (!complete) {
      // No closing bracket at all: the first `[` becomes `_` and the name is taken literally.
      base = name.slice(0, open) + '_' + name.slice(open + 1);
      keys.length = 0;
    }
  }
  base = base.replace(/[. ]/g, '_');
  if (base === '') return undefined;
  name = base;
  return { base: name, keys };
}

/** Names that would reach an object's prototype; such pairs are dropped. */
const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);

/** PHP `parse_str` as a nested map of strings (PHP array keys; `[]` appends under 0, 1, …). */
export function parseStr(text: string): PlainObject {
  const result: PlainObject = {};
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = urldecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : urldecode(pair.slice(eq + 1));
    const parts = splitName(rawName);
    if (!parts || [parts.base, ...parts.keys].some((k) => k !== undefined && UNSAFE.has(k))) continue;
    if (parts.keys.length === 0) {
      result[parts.base] = value;
      continue;
    }
    let container = result;
    const chain: Array<string | undefined> = [parts.base, ...parts.keys];
    chain.forEach((key, index) => {
      if (index === chain.length - 1) {
        assign(container, key, value);
        return;
      }
      const existing = key === undefined ? undefined : container[key];
      const child: PlainObject = isPlainObject(existing) ? existing : {};
      assign(container, key, child);
      container = child;
    });
  }
  return result;
}

/** `parse_str` as JSON shows the PHP array (sequential keys become lists). */
export function parseStrToJson(text: string): unknown {
  return phpArrayToJson(parseStr(text));
}

/**
 * Option values of the `entries` and `fetch` shortcodes, typed as the reference's string helpers
 * do: integers (not `0`), floats, the boolean words (and `0`), `null`, else the text.
 */
export function typedOptionValue(value: string): unknown {
  if (/^[+-]?[1-9]\d*$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$/.test(value)) return Number(value);
  const word = value.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(word)) return true;
  if (['false', 'no', 'off', '0'].includes(word)) return false;
  if (word === 'null') return null;
  return value;
}

export function typeOptionValues(value: unknown): unknown {
  if (typeof value === 'string') return typedOptionValue(value);
  if (Array.isArray(value)) return value.map(typeOptionValues);
  if (isPlainObject(value)) {
    const out: PlainObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = typeOptionValues(v);
    return out;
  }
  return value;
}
