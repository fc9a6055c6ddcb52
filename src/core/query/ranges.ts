/**
 * Range columns of the listing indexes: per field, the positions whose value is a finite number
 * (a number or a numeric string), sorted by that number, plus the positions whose value is present
 * but no finite number ("others": text, booleans, null, arrays, objects, ±Infinity, NaN, '1e999').
 * For a range condition with finite numeric bounds, where.ts compares a finite-numeric field value
 * numerically (compare.ts), so a binary search gives those matches exactly; the others are checked
 * with the condition's own predicate, and a missing key never matches. Date columns (newer/older)
 * hold the field's timestamp in the plan's time zone the same way.
 */
import { toTimestamp } from '../dates.js';
import { MISSING } from '../util.js';
import { asNumber } from './compare.js';
import { stableSortSteps } from './execute.js';
import type { WhereCondition } from './where.js';

/** A position's class in a column: absent (never matches), in the sorted column, or checked one by one. */
export const ABSENT = 0;
export const SORTED = 1;
export const OTHER = 2;

export interface RangeColumn {
  /** Per position: ABSENT, SORTED or OTHER. */
  readonly kind: Uint8Array;
  /** Per position: its number when SORTED. */
  readonly valueAt: Float64Array;
  /** SORTED positions ordered by (value, position), and their values. */
  readonly values: number[];
  readonly order: number[];
  /** OTHER positions, ascending. */
  readonly others: number[];
}

/** What a column holds for one field value. */
export type Classify = (field: unknown) => number | typeof OTHER_VALUE | undefined;
export const OTHER_VALUE = Symbol('other');

export const numericClass: Classify = (f) => {
  if (f === MISSING) return undefined;
  const n = asNumber(f);
  return n !== undefined && Number.isFinite(n) ? n : OTHER_VALUE;
};

export function dateClass(timeZone: string): Classify {
  return (f) => {
    if (f === MISSING) return undefined;
    const when = toTimestamp(f, timeZone);
    if (typeof when !== 'number') return undefined; // where.ts: no date, never newer nor older
    return Number.isFinite(when) ? when : OTHER_VALUE;
  };
}

/** First index whose (value, position) is not below (value, pos). */
function lowerBound(values: readonly number[], order: readonly number[], value: number, pos: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const v = values[mid]!;
    if (v < value || (v === value && order[mid]! < pos)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** First index whose value is >= value (strict: > value). */
function boundOf(values: readonly number[], value: number, strict: boolean): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const v = values[mid]!;
    if (v < value || (strict && v === value)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Builds a column from every position's classified value, sorted in steps (execute.ts) so no build
 * holds the event loop long.
 */
export function* buildColumn(count: number, classOf: (pos: number) => number | typeof OTHER_VALUE | undefined): Generator<void, RangeColumn, void> {
  const kind = new Uint8Array(count);
  const valueAt = new Float64Array(count);
  const others: number[] = [];
  const unsorted: number[] = [];
  for (let p = 0; p < count; p++) {
    if ((p & 4095) === 4095) yield;
    const c = classOf(p);
    if (c === undefined) continue;
    if (c === OTHER_VALUE) {
      kind[p] = OTHER;
      others.push(p);
      continue;
    }
    kind[p] = SORTED;
    valueAt[p] = c;
    unsorted.push(p);
  }
  // Every value is finite, so the comparator is a total order (no NaN, no Infinity - Infinity).
  const before = (a: number, b: number) => valueAt[a]! - valueAt[b]! || a - b;
  const sorted = yield* stableSortSteps(unsorted, before);
  return { kind, valueAt, values: sorted.map((p) => valueAt[p]!), order: sorted, others };
}

function insertAscending(list: number[], value: number): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! < value) low = mid + 1;
    else high = mid;
  }
  list.splice(low, 0, value);
}

function removeAscending(list: number[], value: number): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! < value) low = mid + 1;
    else high = mid;
  }
  if (list[low] === value) list.splice(low, 1);
}

/** Moves position `pos` to its new classified value. */
export function patchColumn(column: RangeColumn, pos: number, next: number | typeof OTHER_VALUE | undefined): void {
  const { kind, valueAt, values, order, others } = column;
  if (kind[pos] === SORTED) {
    const at = lowerBound(values, order, valueAt[pos]!, pos);
    values.splice(at, 1);
    order.splice(at, 1);
  } else if (kind[pos] === OTHER) removeAscending(others, pos);
  kind[pos] = ABSENT;
  if (next === undefined) return;
  if (next === OTHER_VALUE) {
    kind[pos] = OTHER;
    insertAscending(others, pos);
    return;
  }
  kind[pos] = SORTED;
  valueAt[pos] = next;
  const at = lowerBound(values, order, next, pos);
  values.splice(at, 0, next);
  order.splice(at, 0, pos);
}

/** `[start, end)` runs of a column's sorted order. */
export type Spans = [number, number][];

/**
 * The sorted-column runs that meet a range condition exactly, or undefined when the condition is
 * no range the column answers (non-numeric or infinite bounds: where.ts compares those as text).
 */
export function spansOf(column: RangeColumn, c: WhereCondition): Spans | undefined {
  const values = column.values;
  const n = values.length;
  const finite = (v: unknown): number | undefined => {
    const x = asNumber(v);
    return x !== undefined && Number.isFinite(x) ? x : undefined;
  };
  switch (c.operator) {
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      const b = finite(c.value);
      if (b === undefined) return undefined;
      if (c.operator === 'lt') return [[0, boundOf(values, b, false)]];
      if (c.operator === 'lte') return [[0, boundOf(values, b, true)]];
      if (c.operator === 'gt') return [[boundOf(values, b, true), n]];
      return [[boundOf(values, b, false), n]];
    }
    case 'between':
    case 'nbetween': {
      const low = finite(c.list![0]);
      const high = finite(c.list![1]);
      if (low === undefined || high === undefined) return undefined;
      const start = boundOf(values, low, false);
      const end = Math.max(start, boundOf(values, high, true));
      return c.operator === 'between' ? [[start, end]] : [[0, start], [end, n]];
    }
    case 'newer':
    case 'older': {
      const target = c.date!;
      if (!Number.isFinite(target)) return undefined;
      return c.operator === 'newer' ? [[boundOf(values, target, true), n]] : [[0, boundOf(values, target, false)]];
    }
    default:
      return undefined;
  }
}

/** Whether a sorted value lies in the spans (their first and last values bound each run). */
export function spanTest(column: RangeColumn, spans: Spans): (value: number) => boolean {
  const bounds = spans.filter(([start, end]) => end > start).map(([start, end]) => [column.values[start]!, column.values[end - 1]!] as const);
  if (bounds.length === 0) return () => false;
  if (bounds.length === 1) {
    const [low, high] = bounds[0]!;
    return (v) => v >= low && v <= high;
  }
  return (v) => bounds.some(([low, high]) => v >= low && v <= high);
}

export const spanSize = (spans: Spans): number => spans.reduce((sum, [start, end]) => sum + Math.max(0, end - start), 0);

/** Whether an operator can be answered by a column, and which kind. */
export function columnKindOf(c: WhereCondition): 'number' | 'date' | undefined {
  switch (c.operator) {
    case 'lt': case 'lte': case 'gt': case 'gte': case 'between': case 'nbetween':
      return 'number';
    case 'newer': case 'older':
      return 'date';
    default:
      return undefined;
  }
}
