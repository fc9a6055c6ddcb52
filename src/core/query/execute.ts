/**
 * Runs a filter plan in memory over items (the fields filters see): only/except → where → sort →
 * group → slice → return, with today's exact rules (comparisons: compare.ts, where.ts). Long loops
 * are generators that pause every few hundred items, so a large query can give the event loop
 * back (`runSliced`) while template functions run the same steps synchronously (`runNow`).
 */
import { compilePath, getPath, hasPath, isPlainObject, MISSING, setPath, type PlainObject } from '../util.js';
import { asNumber } from './compare.js';
import type { FilterPlan } from './plan.js';
import { predicateOf, type Predicate } from './where.js';

export interface Item {
  id: string;
  data: PlainObject;
}

export type FilterResult =
  | { kind: 'items'; items: Item[]; total: number }
  | { kind: 'single'; item: Item }
  | { kind: 'groups'; groups: { key: string; items: Item[] }[]; total: number }
  | { kind: 'none' };

/** A step sequence: yields (nothing) where it may pause, returns its result. */
export type Steps<T> = Generator<void, T, void>;

/** Items between two pause points of a loop. */
export const SLICE_ITEMS = 512;

/**
 * How long a query may hold the event loop before it pauses (the rest of a request adds to it),
 * for the whole process (`query.slice_ms`; 0 pauses at every pause point, as tests do), and how
 * many pauses queries took so far (metrics, tests).
 */
export const slicing = { ms: 10, pauses: 0 };

export function runNow<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

export const pause = (): Promise<void> => {
  slicing.pauses++;
  return new Promise((resolve) => setImmediate(resolve));
};

/** Runs steps, pausing (setImmediate) whenever it has held the event loop for slicing.ms. */
export async function runSliced<T>(steps: Steps<T>): Promise<T> {
  let started = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - started >= slicing.ms) {
      await pause();
      started = performance.now();
    }
  }
}

/** The same budget for async loops: `due()` every few hundred items, then `await pause()`. */
export class Slice {
  private started = performance.now();

  due(): boolean {
    return performance.now() - this.started >= slicing.ms;
  }

  async pause(): Promise<void> {
    await pause();
    this.started = performance.now();
  }
}

/** Maps an array in steps (a pause point every SLICE_ITEMS items). */
export function* mapSteps<T, U>(items: readonly T[], map: (item: T, index: number) => U): Steps<U[]> {
  const out: U[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
    out[i] = map(items[i]!, i);
  }
  return out;
}

/**
 * A stable sort in steps: runs of 4096 sorted by Array.sort, then merged with pause points. Equal
 * to `items.sort(order)` only when `order` is a consistent total preorder (transitive): callers
 * decide that; the array is sorted in place when it is short, else a new one is returned.
 */
export function* stableSortSteps<T>(items: T[], order: (a: T, b: T) => number): Steps<T[]> {
  const run = 4096;
  if (items.length <= run) return items.sort(order);
  let runs: T[][] = [];
  for (let start = 0; start < items.length; start += run) {
    runs.push(items.slice(start, start + run).sort(order));
    yield;
  }
  while (runs.length > 1) {
    const next: T[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r]!;
      const b = runs[r + 1];
      if (!b) {
        next.push(a);
        continue;
      }
      const out: T[] = new Array(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length && j < b.length) {
        out[k++] = order(b[j]!, a[i]!) < 0 ? b[j++]! : a[i++]!;
        if (k % (SLICE_ITEMS * 8) === 0) yield;
      }
      while (i < a.length) out[k++] = a[i++]!;
      while (j < b.length) out[k++] = b[j++]!;
      next.push(out);
    }
    runs = next;
  }
  return runs[0] ?? [];
}

export function project(data: PlainObject, only: readonly string[] | undefined, except: readonly string[] | undefined): PlainObject {
  let out = data;
  if (only) {
    const picked: PlainObject = {};
    for (const path of only) if (hasPath(out, path)) setPath(picked, path, getPath(out, path));
    out = picked;
  }
  if (except) {
    out = { ...out };
    for (const path of except) removePath(out, path);
  }
  return out;
}

/** Removes a dot path, copying the objects on the way so shared cached data stays untouched. */
function removePath(target: PlainObject, path: string): void {
  const parts = path.split('.');
  let current = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = current[parts[i]!];
    if (!isPlainObject(next)) return;
    const copy = { ...next };
    current[parts[i]!] = copy;
    current = copy;
  }
  delete current[parts[parts.length - 1]!];
}

// ---- sorting ----------------------------------------------------------------------------------

/** The sort key of a value: its number when numeric, and its text lowercased (missing: ''). */
export interface SortKey {
  readonly num: number | undefined;
  readonly text: string;
}

export function sortKeyOf(value: unknown): SortKey {
  const num = asNumber(value);
  const text =
    value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return { num, text: text.toLowerCase() };
}

export function compareKeys(a: SortKey, b: SortKey): number {
  if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

/**
 * Keys of one class compare as a total order: all numeric, or all text (the empty text of a
 * missing value sorts first in both). A numeric key meeting a non-numeric text is compared as
 * text, which is not transitive (10 < "1a" < 9 < 10), so mixed keys keep the exact algorithm.
 */
export type KeyClass = 'empty' | 'number' | 'text';
export const keyClass = (key: SortKey): KeyClass => (key.num !== undefined ? 'number' : key.text === '' ? 'empty' : 'text');

/** Sort keys per (immutable) entry view and key path, so repeated queries skip the conversions. */
const sortKeyCache = new WeakMap<object, Map<string, SortKey>>();

function cachedSortKey(data: PlainObject, key: string, lookup: (source: unknown) => unknown): SortKey {
  let perView = sortKeyCache.get(data);
  if (!perView) sortKeyCache.set(data, (perView = new Map()));
  let sortKey = perView.get(key);
  if (!sortKey) {
    const value = lookup(data);
    perView.set(key, (sortKey = sortKeyOf(value === MISSING ? undefined : value)));
  }
  return sortKey;
}

export interface Keyed<T> {
  item: T;
  /** Position in the input (ties keep it). */
  index: number;
  key: SortKey;
}

export const orderOf = (descending: boolean) => <T>(a: Keyed<T>, b: Keyed<T>): number => {
  const c = compareKeys(a.key, b.key);
  return (descending ? -c : c) || a.index - b.index;
};

/** Keeps the first `keep` of `keyed` in `order`: a small sorted buffer, binary insertion; O(n log keep). */
export function* selectFirst<T>(keyed: readonly Keyed<T>[], keep: number, order: (a: Keyed<T>, b: Keyed<T>) => number): Steps<Keyed<T>[]> {
  const best: Keyed<T>[] = [];
  // limit=0 with sort_by: nothing to keep (this once failed on best[-1]).
  if (keep <= 0) return best;
  for (let i = 0; i < keyed.length; i++) {
    if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
    const candidate = keyed[i]!;
    if (best.length === keep && order(candidate, best[keep - 1]!) >= 0) continue;
    let low = 0;
    let high = best.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (order(candidate, best[mid]!) < 0) high = mid;
      else low = mid + 1;
    }
    best.splice(low, 0, candidate);
    if (best.length > keep) best.pop();
  }
  return best;
}

/** A full stable sort, in pieces with pauses when the order is total (else in one Array.sort, as always). */
export function* sortAll<T>(keyed: Keyed<T>[], order: (a: Keyed<T>, b: Keyed<T>) => number): Steps<Keyed<T>[]> {
  if (keyed.length <= 4096 || !oneClass(keyed)) return keyed.sort(order);
  return yield* stableSortSteps(keyed, order);
}

function oneClass<T>(keyed: readonly Keyed<T>[]): boolean {
  let numbers = false;
  let texts = false;
  for (const { key } of keyed) {
    const c = keyClass(key);
    if (c === 'number') numbers = true;
    else if (c === 'text') texts = true;
    if (numbers && texts) return false;
  }
  return true;
}

/**
 * Stable sort on a dot path: numbers numerically, text case-insensitively, missing as empty.
 * With `keep` (offset + limit) far below the item count, only the first `keep` are selected.
 */
export function* sortSteps(items: Item[], key: string, descending: boolean, keep = Infinity): Steps<Item[]> {
  const lookup = compilePath(key);
  const keyed: Keyed<Item>[] = new Array(items.length);
  for (let index = 0; index < items.length; index++) {
    if (index % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
    const item = items[index]!;
    keyed[index] = { item, index, key: cachedSortKey(item.data, key, lookup) };
  }
  const order = orderOf(descending);
  const sorted = keep * 8 < keyed.length ? yield* selectFirst(keyed, keep, order) : yield* sortAll(keyed, order);
  return sorted.map((k) => k.item);
}

export function sortItems(items: Item[], key: string, descending: boolean, keep = Infinity): Item[] {
  return runNow(sortSteps(items, key, descending, keep));
}

// ---- the whole filter -------------------------------------------------------------------------

function* whereSteps(items: readonly Item[], where: Predicate): Steps<Item[]> {
  const out: Item[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
    if (where(items[i]!.data)) out.push(items[i]!);
  }
  return out;
}

/** How many sorted items can ever be answered (offset + limit), when that is known. */
export function keepOf(plan: FilterPlan): number {
  return plan.groupBy === undefined && plan.limit !== undefined && plan.ret.mode === 'all' ? plan.offset + plan.limit : Infinity;
}

/** only/except → where → sort: the items (sorted; only the first keepOf(plan) when known) and how many matched. */
export function* selectSteps(items: Item[], plan: FilterPlan): Steps<{ items: Item[]; total: number }> {
  const { only, except } = plan;
  let current = only || except ? yield* mapSteps(items, (item) => ({ id: item.id, data: project(item.data, only, except) })) : items;
  if (plan.where) current = yield* whereSteps(current, predicateOf(plan.where, plan.timeZone));
  const total = current.length;
  // Without grouping, only offset + limit items can ever be answered: select just those.
  if (plan.sort) current = yield* sortSteps(current, plan.sort.key, plan.sort.descending, keepOf(plan));
  return { items: current, total };
}

/** group → offset/limit → return, on the selected items. */
export function finish(current: Item[], total: number, plan: FilterPlan): FilterResult {
  return runNow(finishSteps(current, total, plan));
}

export function* finishSteps(current: Item[], total: number, plan: FilterPlan): Steps<FilterResult> {
  const { groupBy, offset, limit } = plan;
  const { mode, count } = plan.ret;
  if (groupBy !== undefined) {
    // Grouping keeps the sorted order inside each group; offset, limit and return act on groups.
    const groups = new Map<string, Item[]>();
    for (let i = 0; i < current.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      const item = current[i]!;
      // A field name, not a dot path: the reference groups `specs.frame` all under "".
      const value = Object.prototype.hasOwnProperty.call(item.data, groupBy) ? item.data[groupBy] : undefined;
      // As PHP turns the value into an array key: booleans are "1" and "0".
      const key = value === undefined || value === null ? '' : typeof value === 'boolean' ? (value ? '1' : '0') : typeof value === 'object' ? JSON.stringify(value) : String(value);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = []));
      group.push(item);
    }
    let list = [...groups].map(([key, members]) => ({ key, items: members }));
    const groupTotal = list.length;
    list = list.slice(offset, limit === undefined ? undefined : offset + limit);
    return { kind: 'groups', groups: pick(list, mode, count), total: groupTotal };
  }
  current = current.slice(offset, limit === undefined ? undefined : offset + limit);
  if (mode === 'first' || mode === 'last' || (mode === 'random' && count === undefined)) {
    const chosen = mode === 'first' ? current[0] : mode === 'last' ? current[current.length - 1] : current[Math.floor(Math.random() * current.length)];
    return chosen ? { kind: 'single', item: chosen } : { kind: 'none' };
  }
  return { kind: 'items', items: pick(current, mode, count), total };
}

export function* filterSteps(items: Item[], plan: FilterPlan | undefined): Steps<FilterResult> {
  if (!plan) return { kind: 'items', items, total: items.length };
  const selected = yield* selectSteps(items, plan);
  return yield* finishSteps(selected.items, selected.total, plan);
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function pick<T>(list: T[], mode: string, count: number | undefined): T[] {
  if (mode === 'first') return list.slice(0, 1);
  if (mode === 'last') return list.slice(-1);
  if (mode === 'random') return shuffle(list).slice(0, count ?? 1);
  if (mode === 'shuffle') return shuffle(list);
  return list;
}
