/** The `@type[…]` directive (SPEC §9.3): converts a rendered text to another JSON type, as PHP casts do. */
import { parseStr, phpArrayToJson } from './php.js';

/** PHP `trim`'s default characters. */
export function phpTrim(text: string): string {
  return text.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, '');
}

const LEADING_NUMBER = /^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/;

/** PHP `intval` of a text, saturating at ±(2^53−1) so every answer is an exact JSON integer. */
export function phpIntval(text: string): number {
  const match = LEADING_NUMBER.exec(text);
  if (!match) return 0;
  const value = Math.trunc(Number(match[0]));
  if (Number.isNaN(value)) return 0;
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, value));
}

/** PHP `floatval`: the leading decimal number, else 0. */
export function phpFloatval(text: string): number {
  const match = LEADING_NUMBER.exec(text);
  const value = match ? Number(match[0]) : 0;
  return Number.isFinite(value) ? value : 0;
}

export function textToBoolean(text: string): boolean {
  return !['0', 'false', 'off', 'no', ''].includes(phpTrim(text).toLowerCase());
}

function decodeJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** JSON text as PHP's encoder writes a PHP array: compact, and an empty map or list is `[]`. */
export function phpJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? [] : v,
  );
}

const MARKERS = ['integer', 'int', 'float', 'boolean', 'bool', 'json', 'array', 'collection', 'string', 'null'] as const;

/** The converted value, or `text` itself when it holds no known marker. */
export function applyTypeDirective(text: string): unknown {
  const name = MARKERS.find((marker) => text.includes(`@type[${marker}]`));
  if (name === undefined) return text;
  const rest = phpTrim(text.split(`@type[${name}]`).join(''));
  switch (name) {
    case 'integer':
    case 'int':
      return phpIntval(rest);
    case 'float':
      return phpFloatval(rest);
    case 'boolean':
    case 'bool':
      return textToBoolean(rest);
    case 'array':
    case 'collection': {
      const json = decodeJson(rest);
      return json.ok ? json.value : phpArrayToJson(parseStr(rest));
    }
    case 'json':
      return decodeJson(rest).ok ? rest : phpJsonText(phpArrayToJson(parseStr(rest)));
    case 'string':
      return rest;
    case 'null':
      return null;
  }
}
