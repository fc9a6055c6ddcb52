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
  compareKeys, finish, keepOf, keyClass, orderOf, sortAll, sortSteps, sortKeyOf, SLICE_ITEMS,
  type FilterResult, type Item, type Keyed, type SortKey, type Steps,
} from './execute.js';
import { ALWAYS, conditionKeys, hashKeyOf } from './index-keys.js';
import type { FilterPlan } from './plan.js';
import { predicateOf, type WhereNode } from './where.js';

type HashKey = string | typeof ALWAYS | undefined;

/** eq/in answers of one field: positions (ascending) per equality class. */
interface FieldHash {
  readonly keys: HashKey[];
  readonly buckets: Map<string, number[]>;
  readonly always: number[];
}

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
  /** Per-query marks of matches (walks of the sort order). */
  marks: Uint32Array = new Uint32Array(0);
  stamp = 0;
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

  /** The common parent when every candidate is a direct child of one folder, else undefined. */
  readonly flat: string | undefined;

  constructor(readonly candidates: readonly { id: string; depth: number }[]) {
    let flat: string | undefined = candidates.length > 0 ? parentOf(candidates[0]!.id) : undefined;
    for (let i = 0; i < candidates.length; i++) {
      this.posOf.set(candidates[i]!.id, i);
      if (flat !== undefined && (candidates[i]!.depth !== 1 || parentOf(candidates[i]!.id) !== flat)) flat = undefined;
    }
    this.flat = flat;
  }

  *hashOf(path: string): Steps<FieldHash> {
    const existing = this.hashes.get(path);
    if (existing) return existing;
    const lookup = compilePath(path);
    const field: FieldHash = { keys: new Array(this.entries.length), buckets: new Map(), always: [] };
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

  /** Replaces the entry at `pos` in every field index. */
  patch(pos: number, entry: CachedEntry): void {
    this.entries[pos] = entry;
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
    if (fresh) this.stats.built++;
    const positions = all || fresh ? null : [...listing.dirty];
    listing.dirty = new Set();
    const targets = positions ? positions.map((p) => listing.candidates[p]!) : listing.candidates;
    const loaded = await this.store.getMany(targets);
    await listing.idle();
    if (fresh) listing.entries = new Array(listing.candidates.length);
    let oldest = positions ? listing.oldest : Infinity;
    for (let i = 0; i < loaded.length; i++) {
      const entry = loaded[i];
      if (!entry || !isPlain(entry)) return false;
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

const itemsOf = (listing: Listing, positions: Iterable<number>, keyOf: ((id: string) => string) | undefined): Item[] => {
  const items: Item[] = [];
  for (const p of positions) {
    const entry = listing.entries[p]!;
    items.push({ id: keyOf ? keyOf(entry.id) : entry.id, data: entry.view });
  }
  return items;
};

/** The positions (ascending) that meet the top-level where, through a hash bucket when an eq/in is there. */
function* matchesOf(listing: Listing, where: WhereNode & { kind: 'and' }, timeZone: string): Steps<number[]> {
  let hashed: { path: string; keys: string[]; member: WhereNode } | undefined;
  for (const member of where.members) {
    if (member.kind !== 'condition') continue;
    const keys = conditionKeys(member);
    if (keys) {
      hashed = { path: member.key, keys: [...new Set(keys)], member };
      break;
    }
  }
  const entries = listing.entries;
  if (!hashed) {
    const check = predicateOf(where, timeZone);
    const out: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      if (check(entries[i]!.view)) out.push(i);
    }
    return out;
  }
  const field = yield* listing.hashOf(hashed.path);
  const others = where.members.filter((m) => m !== hashed!.member);
  const otherCheck = others.length > 0 ? predicateOf({ kind: 'and', members: others }, timeZone) : undefined;
  // Classes are disjoint: each position is in one bucket at most.
  let inBuckets: number[] = [];
  for (const key of hashed.keys) {
    const bucket = field.buckets.get(key);
    if (bucket) inBuckets = inBuckets.length === 0 ? bucket : inBuckets.concat(bucket);
  }
  if (hashed.keys.length > 1) inBuckets = Int32Array.from(inBuckets).sort() as unknown as number[];
  let out: number[] = inBuckets;
  if (otherCheck) {
    out = [];
    for (let i = 0; i < inBuckets.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      if (otherCheck(entries[inBuckets[i]!]!.view)) out.push(inBuckets[i]!);
    }
  }
  if (field.always.length > 0) {
    const check = predicateOf(where, timeZone);
    const extra = field.always.filter((p) => check(entries[p]!.view));
    if (extra.length > 0) out = Int32Array.from([...out, ...extra]).sort() as unknown as number[];
  }
  return out;
}

/**
 * The first `keep` matches in sort order, ties in candidate order, walking the field's order and
 * stopping early (descending: runs of equal keys from the end, each read in position order).
 */
function walkOrder(listing: Listing, field: FieldSort, matches: readonly number[] | undefined, descending: boolean, keep: number): number[] {
  const out: number[] = [];
  if (keep <= 0) return out;
  let isMatch: (p: number) => boolean = () => true;
  if (matches) {
    if (listing.marks.length < listing.entries.length) listing.marks = new Uint32Array(listing.entries.length);
    const stamp = (listing.stamp = (listing.stamp + 1) >>> 0 || 1);
    const marks = listing.marks;
    for (const p of matches) marks[p] = stamp;
    isMatch = (p) => marks[p] === stamp;
  }
  const { order, keys } = field;
  if (!descending) {
    for (let i = 0; i < order.length && out.length < keep; i++) if (isMatch(order[i]!)) out.push(order[i]!);
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
    for (let i = low; i <= end && out.length < keep; i++) if (isMatch(order[i]!)) out.push(order[i]!);
    end = low - 1;
  }
  return out;
}

/**
 * Answers a filter plan from a listing, exactly as the plain executor would over the same entries
 * in candidate order; undefined when it needs the general steps (only/except, group_by).
 */
export function* answerFromListing(listing: Listing, plan: FilterPlan | undefined, keyOf: ((id: string) => string) | undefined): Steps<FilterResult | undefined> {
  const n = listing.entries.length;
  if (!plan) return { kind: 'items', items: itemsOf(listing, listing.entries.keys(), keyOf), total: n };
  if (plan.only || plan.except || plan.groupBy !== undefined) return undefined;
  const matches = plan.where ? yield* matchesOf(listing, plan.where, plan.timeZone) : undefined;
  const total = matches ? matches.length : n;
  const sort = plan.sort;
  if (!sort) {
    const keep = keepOf(plan);
    const all = matches ?? [...listing.entries.keys()];
    return finish(itemsOf(listing, keep < all.length ? all.slice(0, keep) : all, keyOf), total, plan);
  }
  const keep = keepOf(plan);
  // Walking the sort order costs about keep × n / matches steps; sorting the matches about matches.
  if (keep !== Infinity && total > 0 && (keep * n) / total < total * 4) {
    const field = yield* listing.sortOf(sort.key);
    if (field) return finish(itemsOf(listing, walkOrder(listing, field, matches, sort.descending, keep), keyOf), total, plan);
  }
  const items = itemsOf(listing, matches ?? listing.entries.keys(), keyOf);
  return finish(yield* sortSteps(items, sort.key, sort.descending, keep), total, plan);
}

const perStore = new WeakMap<ContentStore, ListingIndexes>();

export function listingIndexesOf(store: ContentStore): ListingIndexes {
  let indexes = perStore.get(store);
  if (!indexes) perStore.set(store, (indexes = new ListingIndexes(store)));
  return indexes;
}
