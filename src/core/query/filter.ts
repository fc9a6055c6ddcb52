/**
 * `options[filter]`: only → except → where → group_by → sort_by → offset → limit → return,
 * applied to a collection's items or, for only/except, to a single entry's fields.
 */
import { badRequest } from '../errors.js';
import { compilePath, getPath, hasPath, isPlainObject, MISSING, setPath, type PlainObject } from '../util.js';
import { asNumber } from './compare.js';
import { fieldList } from './options.js';
import { compileWhere, type WhereLimits } from './where.js';

export interface Item {
  id: string;
  data: PlainObject;
}

export type FilterResult =
  | { kind: 'items'; items: Item[]; total: number }
  | { kind: 'single'; item: Item }
  | { kind: 'groups'; groups: { key: string; items: Item[] }[]; total: number }
  | { kind: 'none' };

export interface FilterLimits extends WhereLimits {
  maxItems: number;
}

function project(data: PlainObject, only: string[] | undefined, except: string[] | undefined): PlainObject {
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

/** Applies only/except to one entry's fields (the single-entry form of the filter). */
export function filterFields(data: PlainObject, filter: PlainObject | undefined): PlainObject {
  if (!filter) return data;
  const only = filter['only'] === undefined ? undefined : fieldList(filter['only'], 'options.filter.only');
  const except = filter['except'] === undefined ? undefined : fieldList(filter['except'], 'options.filter.except');
  return only || except ? project(data, only, except) : data;
}

function nonNegativeInt(value: unknown, what: string): number {
  const n = asNumber(value);
  if (n === undefined || !Number.isInteger(n) || n < 0) throw badRequest(`${what} must be a non-negative integer`);
  return n;
}

interface SortKey {
  num: number | undefined;
  text: string;
}

function sortKeyOf(value: unknown): SortKey {
  const num = asNumber(value);
  const text =
    value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return { num, text: text.toLowerCase() };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

function parseSort(raw: unknown): { key: string; descending: boolean } {
  if (typeof raw === 'string') return { key: raw, descending: false };
  if (!isPlainObject(raw) || typeof raw['key'] !== 'string' || raw['key'] === '') {
    throw badRequest('options.filter.sort_by needs a "key" (dot path)');
  }
  const direction = raw['direction'] === undefined ? 'ASC' : raw['direction'];
  if (typeof direction !== 'string' || !['ASC', 'DESC'].includes(direction.toUpperCase())) {
    throw badRequest('options.filter.sort_by.direction must be ASC or DESC');
  }
  return { key: raw['key'], descending: direction.toUpperCase() === 'DESC' };
}

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

/**
 * Stable sort on a dot path: numbers numerically, text case-insensitively, missing as empty.
 * With `keep` (offset + limit) far below the item count, only the first `keep` are selected.
 */
export function sortItems(items: Item[], key: string, descending: boolean, keep = Infinity): Item[] {
  const lookup = compilePath(key);
  const keyed = items.map((item, index) => ({ item, index, key: cachedSortKey(item.data, key, lookup) }));
  const order = (a: (typeof keyed)[number], b: (typeof keyed)[number]) => {
    const c = compareKeys(a.key, b.key);
    return (descending ? -c : c) || a.index - b.index;
  };
  if (keep * 8 < keyed.length) {
    // Partial selection: a small sorted buffer, binary insertion; O(n log keep).
    const best: typeof keyed = [];
    for (const candidate of keyed) {
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
    return best.map((k) => k.item);
  }
  keyed.sort(order);
  return keyed.map((k) => k.item);
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function parseReturn(filter: PlainObject, maxItems: number): { mode: string; count: number | undefined } {
  const raw = filter['return'] ?? 'all';
  if (typeof raw !== 'string') throw badRequest('options.filter.return must be a string');
  // Trimmed first: blanks on both sides of an optional group made the pattern quadratic.
  const match = /^(all|first|last|random|shuffle)(?:\s*[=:]\s*(\d+))?$/i.exec(raw.trim());
  if (!match) {
    const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
    throw badRequest(`options.filter.return must be all, first, last, random, random=N or shuffle (found "${shown}")`);
  }
  const mode = match[1]!.toLowerCase();
  let count = match[2] === undefined ? undefined : Number(match[2]);
  if (mode === 'random' && count === undefined && filter['random'] !== undefined) {
    count = nonNegativeInt(filter['random'], 'options.filter.random');
  }
  if (count !== undefined && mode !== 'random') throw badRequest('options.filter.return: only random takes a count');
  return { mode, count: count === undefined ? undefined : Math.min(count, maxItems) };
}

export function filterCollection(items: Item[], filter: PlainObject | undefined, limits: FilterLimits): FilterResult {
  if (!filter) return { kind: 'items', items, total: items.length };
  const only = filter['only'] === undefined ? undefined : fieldList(filter['only'], 'options.filter.only');
  const except = filter['except'] === undefined ? undefined : fieldList(filter['except'], 'options.filter.except');
  const where = filter['where'] === undefined ? undefined : compileWhere(filter['where'], limits);
  const groupBy = filter['group_by'];
  if (groupBy !== undefined && (typeof groupBy !== 'string' || groupBy === '')) {
    throw badRequest('options.filter.group_by must be a field name (dot path)');
  }
  const sort = filter['sort_by'] === undefined ? undefined : parseSort(filter['sort_by']);
  const offset = filter['offset'] === undefined ? 0 : nonNegativeInt(filter['offset'], 'options.filter.offset');
  const limit = filter['limit'] === undefined ? undefined : nonNegativeInt(filter['limit'], 'options.filter.limit');
  const { mode, count } = parseReturn(filter, limits.maxItems);

  let current = only || except ? items.map((item) => ({ id: item.id, data: project(item.data, only, except) })) : items;
  if (where) current = current.filter((item) => where(item.data));
  const total = current.length;
  if (sort) {
    // Without grouping, only offset + limit items can ever be answered: select just those.
    const keep = groupBy === undefined && limit !== undefined && mode === 'all' ? offset + limit : Infinity;
    current = sortItems(current, sort.key, sort.descending, keep);
  }

  if (groupBy !== undefined) {
    // Grouping keeps the sorted order inside each group; offset, limit and return act on groups.
    const groups = new Map<string, Item[]>();
    for (const item of current) {
      // A field name, not a dot path: the reference groups `specs.frame` all under "".
      const value = Object.prototype.hasOwnProperty.call(item.data, groupBy) ? item.data[groupBy] : undefined;
      // As PHP turns the value into an array key: booleans are "1" and "0".
      const key = value === undefined || value === null ? '' : typeof value === 'boolean' ? (value ? '1' : '0') : typeof value === 'object' ? JSON.stringify(value) : String(value);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = []));
      group.push(item);
    }
    let list = [...groups].map(([key, members]) => ({ key, items: members }));
    const total = list.length;
    list = list.slice(offset, limit === undefined ? undefined : offset + limit);
    return { kind: 'groups', groups: pick(list, mode, count), total };
  }

  current = current.slice(offset, limit === undefined ? undefined : offset + limit);
  if (mode === 'first' || mode === 'last' || (mode === 'random' && count === undefined)) {
    const chosen = mode === 'first' ? current[0] : mode === 'last' ? current[current.length - 1] : current[Math.floor(Math.random() * current.length)];
    return chosen ? { kind: 'single', item: chosen } : { kind: 'none' };
  }
  return { kind: 'items', items: pick(current, mode, count), total };
}

function pick<T>(list: T[], mode: string, count: number | undefined): T[] {
  if (mode === 'first') return list.slice(0, 1);
  if (mode === 'last') return list.slice(-1);
  if (mode === 'random') return shuffle(list).slice(0, count ?? 1);
  if (mode === 'shuffle') return shuffle(list);
  return list;
}
