/**
 * Hash keys of the field value indexes: the equality classes of `looseEquals` (compare.ts), so a
 * bucket lookup answers eq/in exactly. Checked against looseEquals on every pair of tricky values
 * and on random ones (test/query-index.test.ts).
 */
import { isPlainObject, MISSING } from '../util.js';
import { isNumericString } from './compare.js';
import type { WhereCondition } from './where.js';

export const ALWAYS = Symbol('always');

/**
 * The equality class of a field value under `looseEquals` (compare.ts): field f equals query value
 * v exactly when hashKeyOf(f) is one of queryKeysOf(v). Numbers and numeric strings share a class
 * by numeric value ("2020" = 2020 = "2020.0"); other strings by text; booleans by value (only
 * strings like "true", "1", "" coerce to them); null alone; arrays and objects by JSON text.
 * Values whose rules do not hash (undefined equals "", Infinity, Dates) are ALWAYS checked;
 * a missing key never matches eq/in, so it is in no class at all.
 */
export function hashKeyOf(f: unknown): string | typeof ALWAYS | undefined {
  if (f === MISSING) return undefined;
  if (typeof f === 'number') return Number.isFinite(f) ? `n:${String(f)}` : ALWAYS;
  if (typeof f === 'string') return isNumericString(f) ? `n:${String(Number(f))}` : `s:${f}`;
  if (typeof f === 'boolean') return `b:${f}`;
  if (f === null) return 'null';
  if (Array.isArray(f) || isPlainObject(f)) {
    const json = JSON.stringify(f);
    return json.startsWith('[') || json.startsWith('{') ? `o:${json}` : ALWAYS;
  }
  return ALWAYS;
}

/** The classes a query value equals (see hashKeyOf), or undefined when it cannot be hashed. */
export function queryKeysOf(v: unknown): string[] | undefined {
  if (typeof v === 'string') {
    const keys = [isNumericString(v) ? `n:${String(Number(v))}` : `s:${v}`];
    const lower = v.trim().toLowerCase();
    if (lower === 'true' || lower === '1') keys.push('b:true');
    if (lower === 'false' || lower === '0' || lower === '') keys.push('b:false');
    return keys;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? [`n:${String(v)}`] : undefined;
  if (typeof v === 'boolean') return [`b:${v}`];
  if (v === null) return ['null'];
  if (Array.isArray(v) || isPlainObject(v)) {
    const json = JSON.stringify(v);
    return json.startsWith('[') || json.startsWith('{') ? [`o:${json}`, `s:${json}`] : undefined;
  }
  return undefined;
}

/** The keys of an eq/in condition, or undefined when it is no hashable equality. */
export function conditionKeys(c: WhereCondition): string[] | undefined {
  if (c.operator === 'eq') return queryKeysOf(c.value);
  if (c.operator !== 'in') return undefined;
  const keys: string[] = [];
  for (const v of c.list!) {
    const k = queryKeysOf(v);
    if (!k) return undefined;
    keys.push(...k);
  }
  return keys;
}
