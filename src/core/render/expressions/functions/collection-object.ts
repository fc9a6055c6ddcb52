/**
 * The collection object (SPEC §9.8): an ordered PHP-style array with the reference's read and
 * chainable methods. Chainable methods change this collection and return it. Methods that would
 * take a function (`map`, `filter`, …) do not exist: content is never called as code (§11.5).
 */
import { randomInt } from 'node:crypto';
import { compileWhere } from '../../../query/where.js';
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import { asMap, cloneValue, deleteDot, getDot, setDot } from '../paths.js';
import {
  compareLoose,
  ExprObject,
  formatNumber,
  isList,
  isListLike,
  isMap,
  keyOf,
  looseEquals,
  toJsonText,
  toNumber,
  toPlain,
  toBool,
  toText,
  fromPlain,
  type PhpMap,
  type Value,
  type MethodTable,
} from '../values.js';
import { arg, arrayArg, intArg, methodTable, textArg } from './common.js';

const isIntKey = (key: string) => /^(0|-?[1-9]\d*)$/.test(key);
/** A key as PHP gives it back: integer keys as numbers. */
const keyValue = (key: string): Value => (isIntKey(key) ? Number(key) : key);

/** Renumbers integer keys 0, 1, 2… and keeps string keys, as most PHP array functions do. */
function renumber(pairs: [string, Value][]): PhpMap {
  const out: PhpMap = new Map();
  let next = 0;
  for (const [key, value] of pairs) {
    if (isIntKey(key)) out.set(String(next++), value);
    else out.set(key, value);
  }
  return out;
}

function nextIndex(map: PhpMap): number {
  let next = 0;
  for (const key of map.keys()) if (isIntKey(key) && Number(key) >= next) next = Number(key) + 1;
  return next;
}

/** Keys given as one list argument, or as separate arguments. */
function keysArg(args: Value[]): string[] {
  const value = arg(args, 0);
  if (isList(value) || isMap(value)) return [...(isList(value) ? value : value.values())].map(keyOf);
  return args.map(keyOf);
}

function dotted(map: PhpMap, prefix: string, out: PhpMap): void {
  for (const [key, value] of map) {
    const path = prefix + key;
    const nested = isList(value) ? asMap(value) : isMap(value) ? value : undefined;
    if (nested && nested.size > 0) dotted(nested, path + '.', out);
    else out.set(path, value);
  }
}

function undotted(map: PhpMap): PhpMap {
  const out: PhpMap = new Map();
  for (const [key, value] of map) setDot(out, key, value);
  return out;
}

/** http_build_query: nested keys in brackets, RFC 1738 encoding (space as `+`). */
export function buildQuery(value: Value, prefix = ''): string[] {
  const parts: string[] = [];
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+').replace(/[!'()*~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  for (const [key, item] of asMap(isList(value) || isMap(value) ? value : [value])) {
    const name = prefix === '' ? key : `${prefix}[${key}]`;
    if (isList(item) || isMap(item)) parts.push(...buildQuery(item, name));
    else if (item !== null) parts.push(`${encode(name)}=${encode(item === true ? '1' : item === false ? '0' : toText(item))}`);
  }
  return parts;
}

function mergeMaps(a: PhpMap, b: PhpMap, recursive: boolean): PhpMap {
  const out = renumber([...a]);
  let next = nextIndex(out);
  for (const [key, value] of b) {
    if (isIntKey(key)) out.set(String(next++), value);
    else if (recursive && out.has(key)) {
      const existing = out.get(key)!;
      if ((isMap(existing) || isList(existing)) && (isMap(value) || isList(value))) out.set(key, mergeMaps(asMap(existing), asMap(value), true));
      else out.set(key, [...(isList(existing) ? existing : [existing]), ...(isList(value) ? value : [value])]);
    } else out.set(key, value);
  }
  return out;
}

/**
 * `toString(glue=',', includeKeys=false, trimAll=true)` as the reference: the leaves of nested lists
 * and maps (array_walk_recursive), each optionally after its key, joined by glue; then, unless
 * `trimAll` is false, every ASCII whitespace character is removed (`["a b", "c"]` → `ab,c`).
 */
function glued(items: PhpMap, args: Value[]): string {
  const glue = textArg(args, 0, 'toString', ',');
  const includeKeys = toBool(arg(args, 1) ?? false);
  const trimAll = toBool(arg(args, 2) ?? true);
  const pieces: string[] = [];
  const walk = (map: PhpMap | Value[]): void => {
    for (const [key, value] of asMap(map)) {
      if (isList(value) || isMap(value)) walk(value);
      else {
        if (includeKeys) pieces.push(key);
        pieces.push(toText(value));
      }
    }
  };
  walk(items);
  const text = pieces.join(glue);
  // PCRE's \s without the u flag: ASCII whitespace only (a no-break space stays).
  return trimAll ? text.replace(/[ \t\n\v\f\r]/g, '') : text;
}

/** `sort`/`sortKeys` take exactly `DESC` (the reference's switch is case-sensitive); `sortBy` any case. */
function strictDirection(value: Value | undefined): number {
  return value === 'DESC' ? -1 : 1;
}

function sortDirection(value: Value | undefined): number {
  return typeof value === 'string' && value.toUpperCase() === 'DESC' ? -1 : 1;
}

type Self = CollectionObject;

export class CollectionObject extends ExprObject {
  readonly kind = 'collection';
  protected readonly methods: MethodTable = COLLECTION_METHODS;

  constructor(public items: PhpMap) {
    super();
  }

  static of(value: Value): CollectionObject {
    if (value instanceof CollectionObject) return new CollectionObject(new Map(value.items));
    if (value instanceof ExprObject) value = value.toData();
    if (isList(value)) return new CollectionObject(asMap(value));
    if (isMap(value)) return new CollectionObject(new Map(value));
    if (value === null) return new CollectionObject(new Map());
    return new CollectionObject(new Map([['0', value]]));
  }

  /** The data: a list when the keys are 0…n-1, else a map. */
  override toData(): Value {
    return isListLike(this.items) ? [...this.items.values()] : this.items;
  }

  override toText(): string {
    return toJsonText(this.toData());
  }

  replaceWith(items: PhpMap): this {
    this.items = items;
    return this;
  }
}

const read = <T>(fn: (self: Self, args: Value[], env: Env) => T) => fn;

const COLLECTION_METHODS = methodTable<Self>({
  get: read((self, args) => {
    const value = getDot(self.items, textArg(args, 0, 'get'));
    return value === undefined || value === null ? (arg(args, 1) ?? null) : value;
  }),
  has: (self, args) => getDot(self.items, textArg(args, 0, 'has')) !== undefined,
  offsetGet: (self, args) => self.items.get(keyOf(arg(args, 0) ?? null)) ?? null,
  offsetExists: (self, args) => self.items.has(keyOf(arg(args, 0) ?? null)),
  first: (self) => (self.items.size === 0 ? null : self.items.values().next().value!),
  last: (self) => (self.items.size === 0 ? null : [...self.items.values()].pop()!),
  firstKey: (self) => (self.items.size === 0 ? null : keyValue(self.items.keys().next().value!)),
  lastKey: (self) => (self.items.size === 0 ? null : keyValue([...self.items.keys()].pop()!)),
  count: (self) => self.items.size,
  isEmpty: (self) => self.items.size === 0,
  isAssoc: (self) => self.items.size > 0 && !isListLike(self.items),
  all: (self) => self.toData(),
  toArray: (self) => self.toData(),
  getValues: (self) => [...self.items.values()],
  search: (self, args) => {
    const needle = arg(args, 0) ?? null;
    for (const [key, value] of self.items) if (looseEquals(value, needle)) return keyValue(key);
    return false;
  },
  random: (self, args) => {
    const values = [...self.items.values()];
    if (args.length === 0 || arg(args, 0) === null) {
      if (values.length === 0) throw runtimeError('random() of an empty collection');
      return values[randomInt(values.length)]!;
    }
    const n = intArg(args, 0, 'random');
    if (n < 0 || n > values.length) throw runtimeError(`random(): ${n} items requested, the collection has ${values.length}`);
    for (let i = values.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [values[i], values[j]] = [values[j]!, values[i]!];
    }
    return values.slice(0, n);
  },
  sum: (self) => [...self.items.values()].reduce<number>((sum, v) => sum + toNumber(v, 'in sum()'), 0),
  product: (self) => [...self.items.values()].reduce<number>((p, v) => p * toNumber(v, 'in product()'), 1),
  toJson: (self, _args, env) => env.budget.text(toJsonText(self.toData()), 'toJson()'),
  toQuery: (self, _args, env) => env.budget.text(buildQuery(self.items).join('&'), 'toQuery()'),
  toString: (self: Self, args: Value[], env: Env) => env.budget.text(glued(self.items, args), 'toString()'),

  set: (self, args) => {
    setDot(self.items, textArg(args, 0, 'set'), arg(args, 1) ?? null);
    return self;
  },
  delete: (self, args) => {
    for (const path of args) deleteDot(self.items, keyOf(path));
    return self;
  },
  extract: (self, args) => {
    const value = getDot(self.items, textArg(args, 0, 'extract'));
    return self.replaceWith(isList(value) || isMap(value) ? new Map(asMap(value)) : new Map());
  },
  append: (self, args) => {
    self.items.set(String(nextIndex(self.items)), arg(args, 0) ?? null);
    return self;
  },
  prepend: (self, args) => {
    const key = arg(args, 1);
    const value = arg(args, 0) ?? null;
    if (key !== undefined && key !== null) return self.replaceWith(new Map([[keyOf(key), value], ...[...self.items].filter(([k]) => k !== keyOf(key))]));
    return self.replaceWith(renumber([['0', value], ...self.items]));
  },
  dot: (self, _args, env) => {
    const out: PhpMap = new Map();
    dotted(self.items, '', out);
    env.budget.items(out.size);
    return self.replaceWith(out);
  },
  undot: (self) => self.replaceWith(undotted(self.items)),
  only: (self, args) => {
    const out: PhpMap = new Map();
    for (const key of keysArg(args)) {
      const value = getDot(self.items, key);
      if (value !== undefined) setDot(out, key, value);
    }
    return self.replaceWith(out);
  },
  except: (self, args) => {
    const out = cloneValue(self.items) as PhpMap;
    for (const key of keysArg(args)) deleteDot(out, key);
    return self.replaceWith(out);
  },
  merge: (self, args, env) => {
    const other = asMap(arrayArg(args, 0, 'merge'));
    env.budget.items(self.items.size + other.size);
    return self.replaceWith(mergeMaps(self.items, other, arg(args, 1) === true));
  },
  replace: (self, args) => {
    const out = new Map(self.items);
    for (const [key, value] of asMap(arrayArg(args, 0, 'replace'))) out.set(key, value);
    return self.replaceWith(out);
  },
  combine: (self, args) => {
    const values = [...asMap(arrayArg(args, 0, 'combine')).values()];
    const keys = [...self.items.values()];
    if (keys.length !== values.length) throw runtimeError('combine(): both lists must have the same number of items');
    return self.replaceWith(new Map(keys.map((k, i) => [keyOf(k), values[i]!])));
  },
  diff: (self, args) => {
    const others = new Set([...asMap(arrayArg(args, 0, 'diff')).values()].map(toText));
    return self.replaceWith(new Map([...self.items].filter(([, v]) => !others.has(toText(v)))));
  },
  intersect: (self, args) => {
    const others = new Set([...asMap(arrayArg(args, 0, 'intersect')).values()].map(toText));
    return self.replaceWith(new Map([...self.items].filter(([, v]) => others.has(toText(v)))));
  },
  intersectKey: (self, args) => {
    const others = asMap(arrayArg(args, 0, 'intersectKey'));
    return self.replaceWith(new Map([...self.items].filter(([k]) => others.has(k))));
  },
  flip: (self) => self.replaceWith(new Map([...self.items].map(([k, v]) => [keyOf(v), keyValue(k)] as [string, Value]))),
  pad: (self, args, env) => {
    const size = intArg(args, 0, 'pad');
    const value = arg(args, 1) ?? null;
    env.budget.items(Math.abs(size), 'pad()');
    const missing = Math.abs(size) - self.items.size;
    if (missing <= 0) return self;
    const fill: [string, Value][] = Array.from({ length: missing }, () => ['0', value]);
    return self.replaceWith(renumber(size > 0 ? [...self.items, ...fill] : [...fill, ...self.items]));
  },
  reindex: (self) => self.replaceWith(asMap([...self.items.values()])),
  reverse: (self, args) => {
    const pairs = [...self.items].reverse();
    return self.replaceWith(arg(args, 0) === true ? new Map(pairs) : renumber(pairs));
  },
  slice: (self, args) => self.replaceWith(slice(self.items, intArg(args, 0, 'slice'), arg(args, 1) === undefined || arg(args, 1) === null ? undefined : intArg(args, 1, 'slice'))),
  skip: (self, args) => self.replaceWith(slice(self.items, intArg(args, 0, 'skip'), undefined)),
  offset: (self, args) => self.replaceWith(slice(self.items, intArg(args, 0, 'offset'), undefined)),
  limit: (self, args) => self.replaceWith(slice(self.items, 0, intArg(args, 0, 'limit'))),
  chunk: (self, args) => {
    const size = intArg(args, 0, 'chunk');
    if (size < 1) throw runtimeError('chunk(): the size must be at least 1');
    const preserve = arg(args, 1) === true;
    const pairs = [...self.items];
    const chunks: Value[] = [];
    for (let i = 0; i < pairs.length; i += size) {
      const part = pairs.slice(i, i + size);
      chunks.push(preserve ? new Map(part) : part.map(([, v]) => v));
    }
    return self.replaceWith(asMap(chunks));
  },
  column: (self, args) => {
    const column = arg(args, 0) ?? null;
    const indexKey = arg(args, 1);
    const out: PhpMap = new Map();
    let next = 0;
    for (const row of self.items.values()) {
      if (!isMap(row) && !isList(row)) continue;
      const rowMap = asMap(row);
      const value = column === null ? row : rowMap.get(keyOf(column));
      if (value === undefined) continue;
      const index = indexKey === undefined || indexKey === null ? undefined : rowMap.get(keyOf(indexKey));
      out.set(index === undefined ? String(next++) : keyOf(index), value);
    }
    return self.replaceWith(out);
  },
  unique: (self) => {
    const seen = new Set<string>();
    return self.replaceWith(new Map([...self.items].filter(([, v]) => {
      const key = toText(v);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })));
  },
  nth: (self, args) => {
    const step = intArg(args, 0, 'nth');
    const offset = intArg(args, 1, 'nth', 0);
    if (step < 1) throw runtimeError('nth(): the step must be at least 1');
    const values = [...self.items.values()].filter((_, i) => i >= offset && (i - offset) % step === 0);
    return self.replaceWith(asMap(values));
  },
  shuffle: (self) => {
    const pairs = [...self.items.values()];
    for (let i = pairs.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
    }
    return self.replaceWith(asMap(pairs));
  },
  sort: (self, args) => {
    // sort()/rsort() renumber the keys; asort()/arsort() (preserveKeys, the third argument) keep them.
    const direction = strictDirection(arg(args, 0));
    const sorted = [...self.items].sort(([, a], [, b]) => direction * (compareLoose(a, b) || 0));
    return self.replaceWith(toBool(arg(args, 2) ?? false) ? new Map(sorted) : asMap(sorted.map(([, value]) => value)));
  },
  sortKeys: (self, args) => {
    const direction = strictDirection(arg(args, 0));
    return self.replaceWith(new Map([...self.items].sort(([a], [b]) => direction * (compareLoose(keyValue(a), keyValue(b)) || 0))));
  },
  sortBy: (self, args) => {
    const key = textArg(args, 0, 'sortBy');
    const direction = sortDirection(arg(args, 1));
    const valueOf = (v: Value) => getDot(v, key) ?? null;
    return self.replaceWith(new Map([...self.items].sort(([, a], [, b]) => direction * (compareLoose(valueOf(a), valueOf(b)) || 0))));
  },
  groupBy: (self, args) => {
    const key = textArg(args, 0, 'groupBy');
    const groups: PhpMap = new Map();
    for (const item of self.items.values()) {
      const group = keyOf(((v) => (isList(v) || isMap(v) || v instanceof ExprObject ? toJsonText(v) : v))(getDot(item, key) ?? null));
      const members = (groups.get(group) as Value[] | undefined) ?? [];
      members.push(item);
      groups.set(group, members);
    }
    return self.replaceWith(groups);
  },
  where: (self, args, env) => {
    const condition = { key: textArg(args, 0, 'where'), operator: textArg(args, 1, 'where', '='), value: toPlain(arg(args, 2) ?? null) };
    let predicate: (item: Record<string, unknown>) => boolean;
    try {
      predicate = compileWhere(condition, { maxPatternLength: 256, timeZone: String(env.ctx.setting('timezone') ?? 'UTC') });
    } catch (err) {
      throw runtimeError(`where(): ${(err as Error).message}`);
    }
    const out: PhpMap = new Map();
    for (const [k, item] of self.items) {
      env.budget.step();
      const plain = toPlain(item);
      if (plain !== null && typeof plain === 'object' && !Array.isArray(plain) && predicate(plain as Record<string, unknown>)) out.set(k, item);
    }
    return self.replaceWith(out);
  },
  copy: (self) => new CollectionObject(cloneValue(self.items) as PhpMap),
});

function slice(items: PhpMap, offset: number, length: number | undefined): PhpMap {
  const pairs = [...items];
  const start = offset < 0 ? Math.max(0, pairs.length + offset) : offset;
  const end = length === undefined ? pairs.length : length < 0 ? pairs.length + length : start + length;
  return renumber(pairs.slice(start, Math.max(start, end)));
}

export { formatNumber, fromPlain };
