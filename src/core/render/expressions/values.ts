/**
 * The values expressions work with, and their conversions (SPEC §9.9). Maps are `Map`s (ordered
 * like PHP arrays, integer-like keys included, and free of prototypes: a key such as `constructor`
 * is just a missing key); lists are arrays; objects are our own `ExprObject`s, never JS objects.
 */
import { isPlainObject } from '../../util.js';
import type { Env } from './env.js';
import { runtimeError } from './errors.js';

export type PhpMap = Map<string, Value>;
export type Value = null | boolean | number | string | Value[] | PhpMap | ExprObject;

export type MethodImpl<T> = (self: T, args: Value[], env: Env) => Value | Promise<Value>;
/** A class's method table; `never` lets each table name its own class as `self`. */
export type MethodTable = ReadonlyMap<string, MethodImpl<never>>;

/**
 * An object an expression may call methods on. Methods come only from the subclass's explicit
 * table (a Map), so no JS property, prototype or constructor is ever reachable by name.
 */
export abstract class ExprObject {
  abstract readonly kind: string;
  protected abstract readonly methods: MethodTable;

  method(name: string): MethodImpl<ExprObject> | undefined {
    return this.methods.get(name) as MethodImpl<ExprObject> | undefined;
  }

  /** The value in typed JSON (Query API): `{}` for objects that are no data. */
  toData(): Value {
    return OPAQUE;
  }

  /** The value as text in a field: `''` for objects that are no data. */
  toText(): string {
    return '';
  }
}

/** What an object that is no data answers as data: an empty map that JSON writes as `{}`. */
export const OPAQUE: PhpMap = new Map();

export const isMap = (v: Value | undefined): v is PhpMap => v instanceof Map;
export const isList = (v: Value | undefined): v is Value[] => Array.isArray(v);

/** PHP array key normalization: "1" and 1 and 1.7 and true are the key "1"; null is "". */
export function keyOf(key: Value): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number') return Number.isFinite(key) ? String(Math.trunc(key)) : '';
  if (typeof key === 'boolean') return key ? '1' : '0';
  if (key === null) return '';
  throw runtimeError('illegal offset type (a list, map or object as a key)');
}

/** Entries of a map or list as [key, value] pairs. */
export function entriesOf(value: PhpMap | Value[]): [string, Value][] {
  return isList(value) ? value.map((v, i) => [String(i), v]) : [...value];
}

/** True when a map's keys are 0, 1, 2… in order (PHP would encode it as a JSON list). */
export function isListLike(map: PhpMap): boolean {
  let i = 0;
  for (const key of map.keys()) if (key !== String(i++)) return false;
  return true;
}

/** Plain JS data (decoded JSON/YAML, entry fields) as values; anything unknown becomes null. */
export function fromPlain(value: unknown, depth = 0): Value {
  if (depth > 256) throw runtimeError('data nested too deeply');
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return value;
    case 'bigint':
      return Number(value);
  }
  if (Array.isArray(value)) return value.map((item) => fromPlain(item, depth + 1));
  if (value instanceof Map) return value as PhpMap;
  if (value instanceof ExprObject) return value;
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (isPlainObject(value)) {
    const map: PhpMap = new Map();
    for (const key of Object.keys(value)) map.set(key, fromPlain(value[key], depth + 1));
    return map;
  }
  return null;
}

/**
 * Values as plain JS data (for the query engine, serializers): maps become null-prototype objects
 * (or arrays when their keys are 0…n-1); objects become their data.
 */
export function toPlain(value: Value, depth = 0): unknown {
  if (depth > 256) throw runtimeError('data nested too deeply');
  if (value instanceof ExprObject) return toPlain(value.toData(), depth + 1);
  if (isList(value)) return value.map((item) => toPlain(item, depth + 1));
  if (isMap(value)) {
    if (value.size > 0 && isListLike(value)) return [...value.values()].map((item) => toPlain(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) {
      // Own data properties only: defineProperty never triggers a `__proto__` setter.
      Object.defineProperty(out, key, { value: toPlain(item, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/** A float as PHP prints it (precision 14, %.14G): `0.30000000000000004` → `0.3`, `1.0E-5`. */
export function formatFloat(n: number): string {
  if (Number.isNaN(n)) return 'NAN';
  if (!Number.isFinite(n)) return n > 0 ? 'INF' : '-INF';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, exponentText] = n.toExponential(13).split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 14) {
    let digits = mantissa.replace(/0+$/, '').replace(/\.$/, '');
    if (!digits.includes('.')) digits += '.0';
    return `${digits}E${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
  }
  return String(Number(n.toPrecision(14)));
}

/** A number as text: integers in decimal (within the safe range), others as PHP floats. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return String(n);
  return formatFloat(n);
}

/**
 * Compact JSON text as the reference writes it: no spaces, `/` and non-ASCII unescaped, key order
 * kept, an empty map as `[]`, maps with keys 0…n-1 as lists.
 */
export function toJsonText(value: Value, depth = 0): string {
  if (depth > 256) throw runtimeError('data nested too deeply');
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : '0';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof ExprObject) return toJsonText(value.toData(), depth + 1);
  if (isList(value)) return `[${value.map((item) => toJsonText(item, depth + 1)).join(',')}]`;
  if (value === OPAQUE) return '{}';
  if (value.size === 0) return '[]';
  if (isListLike(value)) return `[${[...value.values()].map((item) => toJsonText(item, depth + 1)).join(',')}]`;
  const parts: string[] = [];
  for (const [key, item] of value) parts.push(`${JSON.stringify(key)}:${toJsonText(item, depth + 1)}`);
  return `{${parts.join(',')}}`;
}

/** The value as text in a field (§9.9): `true` → `1`, false/null → `''`, lists/maps → JSON text. */
export function toText(value: Value): string {
  if (value === null || value === false) return '';
  if (value === true) return '1';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatNumber(value);
  if (value instanceof ExprObject) return value.toText();
  return toJsonText(value);
}

export function toBool(value: Value): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value !== '' && value !== '0';
  if (isList(value)) return value.length > 0;
  if (isMap(value)) return value.size > 0;
  return true;
}

const NUMERIC = /^[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*$/;
const LEADING_NUMERIC = /^[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;

export function isNumericString(text: string): boolean {
  return NUMERIC.test(text);
}

/** A number for arithmetic, as PHP 8: numeric strings convert, leading-numeric ones too; others fail. */
export function toNumber(value: Value, operator: string): number {
  if (typeof value === 'number') return value;
  if (value === null || value === false) return 0;
  if (value === true) return 1;
  if (typeof value === 'string') {
    if (NUMERIC.test(value)) return Number(value.trim());
    const lead = LEADING_NUMERIC.exec(value);
    if (lead) return Number(lead[0].trim());
    throw runtimeError(`unsupported operand types: non-numeric text "${value.slice(0, 40)}" ${operator}`);
  }
  throw runtimeError(`unsupported operand types: ${typeName(value)} ${operator}`);
}

/** An integer as PHP's (int) cast of a number: truncated toward zero. */
export function toInteger(value: Value, operator: string): number {
  const n = toNumber(value, operator);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

export function typeName(value: Value): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'string';
  if (isList(value) || isMap(value)) return 'array';
  return value.kind;
}

function arrayOf(value: Value): [string, Value][] | undefined {
  if (isList(value)) return entriesOf(value);
  if (isMap(value)) return [...value];
  return undefined;
}

/** `==` as PHP 8 compares (SPEC §9.7): `"1" == 1`, `"abc" == 0` is false, `null == false`. */
export function looseEquals(a: Value, b: Value): boolean {
  return compareLoose(a, b) === 0;
}

/** PHP 8's `<=>`; NaN (uncomparable) when the types cannot be ordered. */
export function compareLoose(a: Value, b: Value): number {
  if (a instanceof ExprObject || b instanceof ExprObject) {
    if (a === b) return 0;
    if (a instanceof ExprObject && b instanceof ExprObject) return NaN;
    if (typeof a === 'boolean' || typeof b === 'boolean' || a === null || b === null) return cmp(toBool(a), toBool(b));
    return NaN;
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') return cmp(toBool(a), toBool(b));
  if (a === null && b === null) return 0;
  if (a === null) return typeof b === 'string' ? cmp('', b) : cmp(false, toBool(b));
  if (b === null) return typeof a === 'string' ? cmp(a, '') : cmp(toBool(a), false);
  const arrayA = arrayOf(a);
  const arrayB = arrayOf(b);
  if (arrayA && arrayB) {
    if (arrayA.length !== arrayB.length) return arrayA.length < arrayB.length ? -1 : 1;
    const right = new Map(arrayB);
    for (const [key, value] of arrayA) {
      if (!right.has(key)) return NaN;
      const c = compareLoose(value, right.get(key)!);
      if (c !== 0) return c;
    }
    return 0;
  }
  if (arrayA) return 1;
  if (arrayB) return -1;
  if (typeof a === 'number' && typeof b === 'number') return cmp(a, b);
  if (typeof a === 'number' && typeof b === 'string') return isNumericString(b) ? cmp(a, Number(b.trim())) : cmp(formatNumber(a), b);
  if (typeof a === 'string' && typeof b === 'number') return isNumericString(a) ? cmp(Number(a.trim()), b) : cmp(a, formatNumber(b));
  const sa = a as string;
  const sb = b as string;
  if (isNumericString(sa) && isNumericString(sb)) return cmp(Number(sa.trim()), Number(sb.trim()));
  return cmp(sa, sb);
}

function cmp<T extends number | string | boolean>(a: T, b: T): number {
  if (typeof a === 'string' && typeof b === 'string') {
    // strcmp: byte order of UTF-8, which is code point order.
    const x = Buffer.from(a, 'utf8');
    const y = Buffer.from(b, 'utf8');
    const c = Buffer.compare(x, y);
    return c;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `===`: same type and value; lists/maps with the same pairs in the same order. */
export function strictEquals(a: Value, b: Value): boolean {
  if (a instanceof ExprObject || b instanceof ExprObject) return a === b;
  const arrayA = arrayOf(a);
  const arrayB = arrayOf(b);
  if (arrayA || arrayB) {
    if (!arrayA || !arrayB || arrayA.length !== arrayB.length) return false;
    return arrayA.every(([key, value], i) => arrayB[i]![0] === key && strictEquals(value, arrayB[i]![1]));
  }
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return a === b;
}

/** Reads one key of a map or list (missing → undefined). */
export function readKey(container: PhpMap | Value[], key: Value): Value | undefined {
  const k = keyOf(key);
  if (isList(container)) {
    if (!/^(0|[1-9]\d*)$/.test(k)) return undefined;
    const i = Number(k);
    return i < container.length ? container[i] : undefined;
  }
  return container.get(k);
}
