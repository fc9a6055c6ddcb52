/**
 * Listing indexes: per candidate listing (the store memoizes a folder's listing per tree version,
 * so its array is the key), the loaded entries in candidate order plus, per field, hash buckets of
 * positions (eq/in) and the positions in sort order (sort_by). A query then costs O(matches) (or
 * a short walk of the sort order) instead of loading, checking and marking every candidate.
 * Exact: an entry change marks its position dirty and is patched in before the next answer; a
 * subtree change or clear drops every listing; without a change feed the whole listing is
 * re-checked once its oldest entry is older than the poll interval (as the store's reads would).
 * Listings with an entry that renders or cannot be read are not indexed (the normal path runs).
 */
import { isWithin, parentOf } from '../ids.js';
import type { CachedEntry, ContentStore } from '../store/store.js';
import type { StoreChange } from '../store/changes.js';
import { compilePath, MISSING } from '../util.js';
import {
  compareKeys, finishSteps, keepOf, keyClass, orderOf, runSliced, Slice, sortAll, sortSteps, sortKeyOf, SLICE_ITEMS,
  type FilterResult, type Item, type Keyed, type SortKey, type Steps,
} from './execute.js';
import { ALWAYS, conditionKeys, hashKeyOf } from './index-keys.js';
import type { FilterPlan } from './plan.js';
import { buildColumn, columnKindOf, dateClass, numericClass, OTHER, OTHER_VALUE, patchColumn, spanSize, spansOf, spanTest, SORTED, type Classify, type RangeColumn } from './ranges.js';
import { predicateOf, type Predicate, type WhereCondition, type WhereNode } from './where.js';

type HashKey = string | typeof ALWAYS | undefined;

/** eq/in answers of one field: positions (ascending) per equality class. */
interface FieldHash {
  readonly keys: HashKey[];
  /** Per position, its key as a small number (NO_KEY, ALWAYS_CODE or codeOf's): a test is an array read. */
  readonly codes: Int32Array;
  /** Codes given out so far (never taken back: a bucket that empties keeps its code). */
  readonly codeOf: Map<string, number>;
  readonly buckets: Map<string, number[]>;
  readonly always: number[];
}

const NO_KEY = -1;
const ALWAYS_CODE = -2;

/** sort_by of one field: every position, ordered by (sort key, position); only for a total order. */
interface FieldSort {
  readonly keys: SortKey[];
  readonly order: number[];
  numbers: number;
  texts: number;
}

/** The sort orders a field can never have (mixed numbers and text, non-finite numbers). */
const UNSORTABLE = Symbol('unsortable');

/** Inserts `value` into an ascending array; removes it (when present). */
function insertSorted(list: number[], value: number): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (list[mid]! < value) low = mid + 1;
    else high = mid;
  }
  list.splice(low, 0, value);
}

function removeSorted(list: number[], value: number): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (list[mid]! < value) low = mid + 1;
    else high = mid;
  }
  if (list[low] === value) list.splice(low, 1);
}

const keyOfValue = (value: unknown): SortKey => sortKeyOf(value === MISSING ? undefined : value);

function codeFor(field: FieldHash, key: string): number {
  let code = field.codeOf.get(key);
  if (code === undefined) field.codeOf.set(key, (code = field.codeOf.size));
  return code;
}

class Listing {
  entries: CachedEntry[] = [];
  /** False until the first refresh has loaded every candidate. */
  loaded = false;
  readonly posOf = new Map<string, number>();
  dirty = new Set<number>();
  /** The oldest check time of an entry (trusted until it is older than the poll interval). */
  oldest = Infinity;
  readonly hashes = new Map<string, FieldHash>();
  readonly sorts = new Map<string, FieldSort | typeof UNSORTABLE>();
  /** Range columns per (kind, time zone, path), with how each classifies a field value. */
  readonly ranges = new Map<string, { column: RangeColumn; lookup: (source: unknown) => unknown; classify: Classify }>();
  /** Serializes refreshes: an answer never runs on a half-patched listing. */
  refreshing: Promise<boolean> | undefined;
  /** Answers running (they may pause); patches wait until none is. */
  private readers = 0;
  private waiting: (() => void)[] = [];

  lease(): void {
    this.readers++;
  }

  release(): void {
    if (--this.readers === 0) for (const wake of this.waiting.splice(0)) wake();
  }

  idle(): Promise<void> {
    return this.readers === 0 ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The common parent when every candidate is a direct child of one folder, else undefined (also until positions are known). */
  flat: string | undefined;

  constructor(readonly candidates: readonly { id: string; depth: number }[]) {}

  /**
   * Fills posOf and flat in steps, before the first load: a change meanwhile to an id not placed
   * yet marks nothing, but the load that follows reads that entry as it is after the change.
   */
  *placeCandidates(): Steps<void> {
    const candidates = this.candidates;
    let flat: string | undefined = candidates.length > 0 ? parentOf(candidates[0]!.id) : undefined;
    for (let i = 0; i < candidates.length; i++) {
      if ((i & 4095) === 4095) yield;
      this.posOf.set(candidates[i]!.id, i);
      if (flat !== undefined && (candidates[i]!.depth !== 1 || parentOf(candidates[i]!.id) !== flat)) flat = undefined;
    }
    this.flat = flat;
  }

  *hashOf(path: string): Steps<FieldHash> {
    const existing = this.hashes.get(path);
    if (existing) return existing;
    const lookup = compilePath(path);
    const field: FieldHash = { keys: new Array(this.entries.length), codes: new Int32Array(this.entries.length), codeOf: new Map(), buckets: new Map(), always: [] };
    for (let i = 0; i < this.entries.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      const key = hashKeyOf(lookup(this.entries[i]!.view));
      field.keys[i] = key;
      this.addHash(field, key, i, false);
    }
    this.hashes.set(path, field);
    return field;
  }

  private addHash(field: FieldHash, key: HashKey, pos: number, sorted: boolean): void {
    field.codes[pos] = key === undefined ? NO_KEY : key === ALWAYS ? ALWAYS_CODE : codeFor(field, key);
    if (key === undefined) return;
    let list = key === ALWAYS ? field.always : field.buckets.get(key);
    if (!list) field.buckets.set(key as string, (list = []));
    if (sorted) insertSorted(list, pos);
    else list.push(pos);
  }

  *sortOf(path: string): Steps<FieldSort | undefined> {
    const existing = this.sorts.get(path);
    if (existing) return existing === UNSORTABLE ? undefined : existing;
    const lookup = compilePath(path);
    const keys: SortKey[] = new Array(this.entries.length);
    let numbers = 0;
    let texts = 0;
    for (let i = 0; i < this.entries.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      const key = keyOfValue(lookup(this.entries[i]!.view));
      if (key.num !== undefined && !Number.isFinite(key.num)) {
        this.sorts.set(path, UNSORTABLE);
        return undefined;
      }
      const c = keyClass(key);
      if (c === 'number') numbers++;
      else if (c === 'text') texts++;
      keys[i] = key;
    }
    if (numbers > 0 && texts > 0) {
      this.sorts.set(path, UNSORTABLE);
      return undefined;
    }
    const keyed: Keyed<number>[] = keys.map((key, index) => ({ item: index, index, key }));
    const sorted = yield* sortAll(keyed, orderOf(false));
    const field: FieldSort = { keys, order: sorted.map((k) => k.item), numbers, texts };
    this.sorts.set(path, field);
    return field;
  }

  /** Where `pos` stands in the sort order, by binary search on (key, position). */
  private static orderIndex(field: FieldSort, key: SortKey, pos: number): number {
    let low = 0;
    let high = field.order.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const other = field.order[mid]!;
      const c = compareKeys(field.keys[other]!, key) || other - pos;
      if (c < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** The range column of a field (numbers, or dates in a time zone), built on first use in slices. */
  *rangeOf(path: string, kind: 'number' | 'date', timeZone: string): Steps<RangeColumn> {
    const name = kind === 'number' ? `n\u0000${path}` : `d\u0000${timeZone}\u0000${path}`;
    const existing = this.ranges.get(name);
    if (existing) return existing.column;
    const lookup = compilePath(path);
    const classify = kind === 'number' ? numericClass : dateClass(timeZone);
    const classes: (number | typeof OTHER_VALUE | undefined)[] = new Array(this.entries.length);
    for (let i = 0; i < this.entries.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      classes[i] = classify(lookup(this.entries[i]!.view));
    }
    const column = yield* buildColumn(this.entries.length, (p) => classes[p]);
    this.ranges.set(name, { column, lookup, classify });
    return column;
  }

  /** Replaces the entry at `pos` in every field index. */
  patch(pos: number, entry: CachedEntry): void {
    this.entries[pos] = entry;
    for (const range of this.ranges.values()) patchColumn(range.column, pos, range.classify(range.lookup(entry.view)));
    for (const [path, field] of this.hashes) {
      const old = field.keys[pos];
      const key = hashKeyOf(compilePath(path)(entry.view));
      if (old === key) continue;
      if (old === ALWAYS) removeSorted(field.always, pos);
      else if (old !== undefined) {
        const bucket = field.buckets.get(old)!;
        removeSorted(bucket, pos);
        if (bucket.length === 0) field.buckets.delete(old);
      }
      field.keys[pos] = key;
      this.addHash(field, key, pos, true);
    }
    for (const [path, field] of this.sorts) {
      if (field === UNSORTABLE) continue;
      const old = field.keys[pos]!;
      const key = keyOfValue(compilePath(path)(entry.view));
      field.order.splice(Listing.orderIndex(field, old, pos), 1);
      const before = keyClass(old);
      if (before === 'number') field.numbers--;
      else if (before === 'text') field.texts--;
      const after = keyClass(key);
      if (after === 'number') field.numbers++;
      else if (after === 'text') field.texts++;
      if ((key.num !== undefined && !Number.isFinite(key.num)) || (field.numbers > 0 && field.texts > 0)) {
        // No total order any more: rebuilt (and checked again) on the next use.
        this.sorts.delete(path);
        continue;
      }
      field.keys[pos] = key;
      field.order.splice(Listing.orderIndex(field, key, pos), 0, pos);
    }
  }
}

export interface ListingQuery {
  isPlain: ((entry: CachedEntry) => boolean) | undefined;
  keyOf: ((id: string) => string) | undefined;
}

export class ListingIndexes {
  /** Listings kept at once (each holds its candidates' entries and their field indexes). */
  maxListings = 4;
  private readonly listings = new Map<readonly { id: string; depth: number }[], Listing>();
  /** Listings that could not be indexed, with the store version they were tried at. */
  private readonly refused = new WeakMap<readonly { id: string; depth: number }[], number>();

  constructor(private readonly store: ContentStore) {
    store.onChange((change) => this.onChange(change));
  }

  /** Queries answered from a listing, and listings (re)built (metrics, tests). */
  readonly stats = { answered: 0, built: 0, patched: 0 };

  private onChange(change: StoreChange): void {
    if (change.kind === 'clear') {
      this.listings.clear();
      return;
    }
    for (const [key, listing] of this.listings) {
      const pos = listing.posOf.get(change.id);
      if (pos !== undefined) listing.dirty.add(pos);
      if (change.kind === 'entry') continue;
      // A subtree changed (an id set change also changes the listing's array): re-check what is in it.
      if (listing.flat !== undefined) {
        if (isWithin(listing.flat, change.id)) this.listings.delete(key);
        continue;
      }
      for (const [id, p] of listing.posOf) if (isWithin(id, change.id)) listing.dirty.add(p);
    }
  }

  /**
   * The listing of `candidates`, current and fully plain, leased (the caller releases it once its
   * answer is built), or undefined (then the normal path runs).
   */
  async listingOf(candidates: readonly { id: string; depth: number }[], isPlain: ((entry: CachedEntry) => boolean) | undefined): Promise<Listing | undefined> {
    if (!isPlain || !this.store.cacheEnabled) return undefined;
    if (this.refused.get(candidates) === this.store.version) return undefined;
    let listing = this.listings.get(candidates);
    if (!listing) {
      listing = new Listing(candidates);
      this.listings.set(candidates, listing);
      while (this.listings.size > this.maxListings) this.listings.delete(this.listings.keys().next().value!);
    }
    while (listing.refreshing) await listing.refreshing;
    if (this.listings.get(candidates) !== listing) return undefined;
    const stale = !listing.loaded || (!this.store.isWatching && Date.now() - listing.oldest >= this.store.pollInterval);
    if (!stale && listing.dirty.size === 0) {
      this.stats.answered++;
      listing.lease();
      return listing;
    }
    const current = listing;
    const run = this.refresh(current, stale, isPlain).finally(() => (current.refreshing = undefined));
    current.refreshing = run;
    if (await run) {
      // Leased at once: no other refresh can start between here and the caller's answer.
      if (!current.refreshing) {
        this.stats.answered++;
        current.lease();
        return current;
      }
      return this.listingOf(candidates, isPlain);
    }
    this.listings.delete(candidates);
    this.refused.set(candidates, this.store.version);
    return undefined;
  }

  /** Re-reads the dirty positions (or all, when stale) and patches what changed; false when not indexable. */
  private async refresh(listing: Listing, all: boolean, isPlain: (entry: CachedEntry) => boolean): Promise<boolean> {
    const fresh = !listing.loaded;
    if (fresh) {
      this.stats.built++;
      if (listing.posOf.size === 0) await runSliced(listing.placeCandidates());
    }
    const positions = all || fresh ? null : [...listing.dirty];
    listing.dirty = new Set();
    const targets = positions ? positions.map((p) => listing.candidates[p]!) : listing.candidates;
    const loaded = await this.store.getMany(targets);
    // Whether each entry is plain (a scan of its strings the first time): decided before any
    // patch, in slices; no reader can lease the listing while it refreshes.
    const slice = new Slice();
    for (let i = 0; i < loaded.length; i++) {
      if ((i & 255) === 255 && slice.due()) await slice.pause();
      const entry = loaded[i];
      if (!entry || !isPlain(entry)) return false;
    }
    await listing.idle();
    if (fresh) listing.entries = new Array(listing.candidates.length);
    let oldest = positions ? listing.oldest : Infinity;
    for (let i = 0; i < loaded.length; i++) {
      // Each patch moves a position in every field index (array splices): a pause point every few.
      if ((i & 63) === 63 && slice.due()) await slice.pause();
      const entry = loaded[i]!;
      const pos = positions ? positions[i]! : i;
      if (entry.checkedAt < oldest) oldest = entry.checkedAt;
      if (fresh) listing.entries[pos] = entry;
      else if (listing.entries[pos] !== entry) {
        listing.patch(pos, entry);
        this.stats.patched++;
      }
    }
    listing.oldest = oldest;
    listing.loaded = true;
    return true;
  }
}

function* itemsOf(listing: Listing, positions: Iterable<number>, keyOf: ((id: string) => string) | undefined): Steps<Item[]> {
  const items: Item[] = [];
  for (const p of positions) {
    if (items.length % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
    const entry = listing.entries[p]!;
    items.push({ id: keyOf ? keyOf(entry.id) : entry.id, data: entry.view });
  }
  return items;
}

/** The matches of a where: how many, and per position (a per-query array: answers may interleave). */
interface Matches {
  total: number;
  isMatch: (p: number) => boolean;
  /** The matching positions ascending, when already known. */
  list: number[] | undefined;
  /** The matching positions in any order, when they can be listed without a scan. */
  collect: (() => number[]) | undefined;
}

/**
 * How a top-level condition can drive: `exact` positions meet it by construction (index order),
 * `residue` positions must be checked with the whole where; `size` estimates the work; `testAt`
 * decides the condition for one position from the index (exactly as its predicate).
 */
interface Driver {
  member: WhereNode;
  size: number;
  /** How many positions `exact` visits (known from the index sizes, no visit needed). */
  exactCount: number;
  exact: (visit: (p: number) => void) => void;
  residue: readonly number[];
  testAt: (p: number) => boolean;
}

function* hashDriver(listing: Listing, member: WhereCondition, keys: string[], timeZone: string): Steps<Driver> {
  const field = yield* listing.hashOf(member.key);
  const unique = [...new Set(keys)];
  const buckets = unique.map((k) => field.buckets.get(k)).filter((b): b is number[] => b !== undefined);
  // The wanted codes as a table: no string hashing per tested position (a walk tests thousands).
  const wanted = new Uint8Array(field.codeOf.size);
  for (const k of unique) {
    const code = field.codeOf.get(k);
    if (code !== undefined) wanted[code] = 1;
  }
  const codes = field.codes;
  const check = predicateOf(member, timeZone);
  const entries = listing.entries;
  const exactCount = buckets.reduce((sum, b) => sum + b.length, 0);
  return {
    member,
    size: exactCount + field.always.length,
    exactCount,
    exact: (visit) => {
      for (const bucket of buckets) for (let i = 0; i < bucket.length; i++) visit(bucket[i]!);
    },
    residue: field.always,
    testAt: (p) => {
      const code = codes[p]!;
      return code >= 0 ? wanted[code] === 1 : code === ALWAYS_CODE && check(entries[p]!.view);
    },
  };
}

function* rangeDriver(listing: Listing, member: WhereCondition, kind: 'number' | 'date', timeZone: string): Steps<Driver | undefined> {
  const column = yield* listing.rangeOf(member.key, kind, timeZone);
  const spans = spansOf(column, member);
  if (!spans) return undefined;
  const inSpans = spanTest(column, spans);
  const check = predicateOf(member, timeZone);
  const entries = listing.entries;
  const { order, kind: kinds, valueAt } = column;
  return {
    member,
    size: spanSize(spans) + column.others.length,
    exactCount: spanSize(spans),
    exact: (visit) => {
      for (const [start, end] of spans) for (let i = start; i < end; i++) visit(order[i]!);
    },
    residue: column.others,
    testAt: (p) => (kinds[p] === SORTED ? inSpans(valueAt[p]!) : kinds[p] === OTHER ? check(entries[p]!.view) : false),
  };
}

/** The indexes a condition can use, built on first use. */
function* driverOf(listing: Listing, member: WhereNode, timeZone: string): Steps<Driver | undefined> {
  if (member.kind !== 'condition') return undefined;
  const keys = conditionKeys(member);
  if (keys) return yield* hashDriver(listing, member, keys, timeZone);
  const kind = columnKindOf(member);
  if (kind) return yield* rangeDriver(listing, member, kind, timeZone);
  return undefined;
}

/**
 * The positions that meet the top-level where. The most selective indexed condition (the fewest
 * positions to look at) drives; the other conditions are decided on its positions only, from their
 * indexes when they have one. Without an indexed condition, every entry is checked.
 */
function* matchesOf(listing: Listing, where: WhereNode & { kind: 'and' }, timeZone: string): Steps<Matches> {
  const entries = listing.entries;
  const n = entries.length;
  const drivers: Driver[] = [];
  for (const member of where.members) {
    const driver = yield* driverOf(listing, member, timeZone);
    if (driver) drivers.push(driver);
  }
  let best: Driver | undefined;
  for (const d of drivers) if (!best || d.size < best.size) best = d;
  const check = predicateOf(where, timeZone);
  if (best && best.size < n && where.members.length === 1) {
    // One indexed condition: its count comes from the index sizes (O(log n) for a range, O(1) for
    // a group); only the residue (values the index cannot order or hash) is checked one by one.
    const driver = best;
    const hits: number[] = [];
    for (let i = 0; i < driver.residue.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      if (check(entries[driver.residue[i]!]!.view)) hits.push(driver.residue[i]!);
    }
    const collect = () => {
      const out: number[] = [];
      driver.exact((p) => {
        out.push(p);
      });
      return out.concat(hits);
    };
    return { total: driver.exactCount + hits.length, isMatch: driver.testAt, list: undefined, collect };
  }
  // Allocated only here: the one-condition answer above needs no per-position marks.
  const marks = new Uint8Array(n);
  const isMarked = (p: number) => marks[p] === 1;
  if (!best || best.size >= n) {
    const list: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      if (check(entries[i]!.view)) {
        marks[i] = 1;
        list.push(i);
      }
    }
    return { total: list.length, isMatch: isMarked, list, collect: undefined };
  }
  // The other conditions, each decided from its index where it has one (all must hold).
  const tests: ((p: number) => boolean)[] = [];
  for (const member of where.members) {
    if (member === best.member) continue;
    const indexed = drivers.find((d) => d.member === member);
    if (indexed) tests.push(indexed.testAt);
    else {
      const predicate: Predicate = predicateOf(member, timeZone);
      tests.push((p) => predicate(entries[p]!.view));
    }
  }
  let total = 0;
  let seen = 0;
  const pending: number[] = [];
  // Collected first (index order, no pause inside the index's own loops), then decided in slices.
  best.exact((p) => {
    pending.push(p);
  });
  for (let i = 0; i < pending.length; i++) {
    if (++seen % (SLICE_ITEMS * 4) === 0) yield;
    const p = pending[i]!;
    if (marks[p]) continue;
    let ok = true;
    for (let t = 0; t < tests.length && ok; t++) ok = tests[t]!(p);
    if (ok) {
      marks[p] = 1;
      total++;
    }
  }
  for (const p of best.residue) {
    if (++seen % SLICE_ITEMS === 0) yield;
    if (!marks[p] && check(entries[p]!.view)) {
      marks[p] = 1;
      total++;
    }
  }
  return { total, isMatch: isMarked, list: undefined, collect: undefined };
}

/** The matching positions in ascending order: a sort of few listed positions, or a scan. */
function* ascendingOf(matches: Matches, n: number): Steps<number[]> {
  if (matches.list) return matches.list;
  const { isMatch, total } = matches;
  let out: number[] = [];
  if (total === 0) return out;
  if (matches.collect && total * 16 < n) out = Array.from(Int32Array.from(matches.collect()).sort());
  else {
    for (let i = 0; i < n; i++) {
      if ((i & 8191) === 8191) yield;
      if (isMatch(i)) out.push(i);
    }
  }
  matches.list = out;
  return out;
}

/** The first `keep` matches in position order, by a scan that stops early. */
function* firstMatches(matches: Matches, keep: number, n: number): Steps<number[]> {
  if (matches.list) return keep < matches.list.length ? matches.list.slice(0, keep) : matches.list;
  const out: number[] = [];
  const isMatch = matches.isMatch;
  for (let i = 0; i < n && out.length < keep; i++) {
    if ((i & 8191) === 8191) yield;
    if (isMatch(i)) out.push(i);
  }
  return out;
}

/**
 * The first `keep` matches in sort order, ties in candidate order, walking the field's order and
 * stopping early (descending: runs of equal keys from the end, each read in position order).
 */
function* walkOrder(field: FieldSort, matches: Matches | undefined, descending: boolean, keep: number): Steps<number[]> {
  const out: number[] = [];
  if (keep <= 0) return out;
  const isMatch: (p: number) => boolean = matches ? matches.isMatch : () => true;
  const { order, keys } = field;
  if (!descending) {
    for (let i = 0; i < order.length && out.length < keep; i++) {
      if ((i & 4095) === 4095) yield;
      if (isMatch(order[i]!)) out.push(order[i]!);
    }
    return out;
  }
  let end = order.length - 1;
  while (end >= 0 && out.length < keep) {
    const head = keys[order[end]!]!;
    let low = 0;
    let high = end;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareKeys(keys[order[mid]!]!, head) < 0) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i <= end && out.length < keep; i++) {
      if (((i - low) & 4095) === 4095) yield;
      if (isMatch(order[i]!)) out.push(order[i]!);
    }
    end = low - 1;
    yield;
  }
  return out;
}

/**
 * Answers a filter plan from a listing, exactly as the plain executor would over the same entries
 * in candidate order; undefined when it needs the general steps (only/except, group_by).
 */
export function* answerFromListing(listing: Listing, plan: FilterPlan | undefined, keyOf: ((id: string) => string) | undefined): Steps<FilterResult | undefined> {
  const n = listing.entries.length;
  if (!plan) return { kind: 'items', items: yield* itemsOf(listing, listing.entries.keys(), keyOf), total: n };
  if (plan.only || plan.except || plan.groupBy !== undefined) return undefined;
  const matches = plan.where ? yield* matchesOf(listing, plan.where, plan.timeZone) : undefined;
  const total = matches ? matches.total : n;
  const sort = plan.sort;
  const keep = keepOf(plan);
  if (!sort) {
    if (!matches) return yield* finishSteps(yield* itemsOf(listing, keep < n ? [...Array(keep).keys()] : listing.entries.keys(), keyOf), total, plan);
    // With a limit, the first matches in position order only (a scan that stops early).
    const first = keep < total ? yield* firstMatches(matches, keep, n) : yield* ascendingOf(matches, n);
    return yield* finishSteps(yield* itemsOf(listing, first, keyOf), total, plan);
  }
  // Walking the sort order costs about keep × n / matches steps; sorting the matches about matches.
  if (keep !== Infinity && total > 0 && (keep * n) / total < total * 4) {
    const field = yield* listing.sortOf(sort.key);
    if (field) return yield* finishSteps(yield* itemsOf(listing, yield* walkOrder(field, matches, sort.descending, keep), keyOf), total, plan);
  }
  const items = yield* itemsOf(listing, matches ? yield* ascendingOf(matches, n) : listing.entries.keys(), keyOf);
  return yield* finishSteps(yield* sortSteps(items, sort.key, sort.descending, keep), total, plan);
}

const perStore = new WeakMap<ContentStore, ListingIndexes>();

export function listingIndexesOf(store: ContentStore): ListingIndexes {
  let indexes = perStore.get(store);
  if (!indexes) perStore.set(store, (indexes = new ListingIndexes(store)));
  return indexes;
}
