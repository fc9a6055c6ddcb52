/**
 * Field value indexes for collection queries, per store, built lazily for a field path once a
 * second query uses it: hashed (eq/in, keyed by the canonical loose-equality class of a value, see
 * hashKeyOf) and sorted (sort_by, the sort key of execute.ts). Only entries whose rendering cannot
 * change them (plain) and whose cached object is the one indexed are answered from an index; every
 * other candidate takes the normal path and the two are merged, so answers equal the plain executor's.
 * Exact under changes: an entry is covered only while its very CachedEntry object is indexed (a
 * change always makes a new one); store change events drop replaced entries to bound memory.
 */
import { isWithin } from '../ids.js';
import type { CachedEntry, ContentStore } from '../store/store.js';
import type { StoreChange } from '../store/changes.js';
import { compilePath, MISSING } from '../util.js';
import { ALWAYS, conditionKeys, hashKeyOf } from './index-keys.js';
import {
  compareKeys, filterSteps, finishSteps, keepOf, keyClass, orderOf, runSliced, selectSteps, sortKeyOf, SLICE_ITEMS, stableSortSteps,
  type FilterResult, type Item, type Keyed, type SortKey, type Steps,
} from './execute.js';
import type { FilterPlan } from './plan.js';
import { predicateOf, type Predicate, type WhereNode } from './where.js';

/** An indexed version of one entry. `stamp`/`pos` mark it as a candidate of the running query. */
interface Slot {
  readonly entry: CachedEntry;
  dead: boolean;
  stamp: number;
  pos: number;
  match: number;
}

interface SortedRow {
  slot: Slot;
  key: SortKey;
}

class FieldIndex {
  readonly lookup: (source: unknown) => unknown;
  hash: Map<string, Set<Slot>> | undefined;
  always: Set<Slot> | undefined;
  sorted: SortedRow[] | undefined;
  /** Rows added since the last sort, and rows of dead slots still in `sorted`. */
  private pending: SortedRow[] = [];
  private deadRows = 0;
  /** Live rows per key class: numeric and non-empty text keys together make no total order. */
  private numbers = 0;
  private texts = 0;
  private odd = 0;

  constructor(readonly path: string) {
    this.lookup = compilePath(path);
  }

  private valueOf(slot: Slot): unknown {
    return this.lookup(slot.entry.view);
  }

  private sortKey(slot: Slot): SortKey {
    const value = this.valueOf(slot);
    return sortKeyOf(value === MISSING ? undefined : value);
  }

  private count(key: SortKey, delta: number): void {
    if (key.num !== undefined && !Number.isFinite(key.num)) this.odd += delta;
    else if (keyClass(key) === 'number') this.numbers += delta;
    else if (keyClass(key) === 'text') this.texts += delta;
  }

  /**
   * Builds the hash part over the live slots in steps, detached: attached only when no slot was
   * dropped meanwhile (`stillExact`), so a drop never misses a half-built index.
   */
  *enableHash(slots: readonly Slot[], stillExact: () => boolean): Steps<boolean> {
    if (this.hash) return true;
    const hash = new Map<string, Set<Slot>>();
    const always = new Set<Slot>();
    for (let i = 0; i < slots.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      if (!slots[i]!.dead) this.addHashTo(hash, always, slots[i]!);
    }
    if (!stillExact()) return false;
    this.hash = hash;
    this.always = always;
    return true;
  }

  /** The sort part, built the same way (rows and key-class counts attached together). */
  *enableSort(slots: readonly Slot[], stillExact: () => boolean): Steps<boolean> {
    if (this.sorted) return true;
    const rows: SortedRow[] = [];
    let numbers = 0;
    let texts = 0;
    let odd = 0;
    for (let i = 0; i < slots.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      const slot = slots[i]!;
      if (slot.dead) continue;
      const key = this.sortKey(slot);
      if (key.num !== undefined && !Number.isFinite(key.num)) odd++;
      else if (keyClass(key) === 'number') numbers++;
      else if (keyClass(key) === 'text') texts++;
      rows.push({ slot, key });
    }
    if (!stillExact()) return false;
    this.sorted = [];
    this.pending = rows;
    this.numbers += numbers;
    this.texts += texts;
    this.odd += odd;
    return true;
  }

  private addHash(slot: Slot): void {
    this.addHashTo(this.hash!, this.always!, slot);
  }

  private addHashTo(hash: Map<string, Set<Slot>>, always: Set<Slot>, slot: Slot): void {
    const key = hashKeyOf(this.valueOf(slot));
    if (key === undefined) return;
    if (key === ALWAYS) {
      always.add(slot);
      return;
    }
    let bucket = hash.get(key);
    if (!bucket) hash.set(key, (bucket = new Set()));
    bucket.add(slot);
  }

  private addSorted(slot: Slot): void {
    const row = { slot, key: this.sortKey(slot) };
    this.count(row.key, 1);
    this.pending.push(row);
  }

  add(slot: Slot): void {
    if (this.hash) this.addHash(slot);
    if (this.sorted) this.addSorted(slot);
  }

  remove(slot: Slot): void {
    if (this.hash) {
      const key = hashKeyOf(this.valueOf(slot));
      if (key === ALWAYS) this.always!.delete(slot);
      else if (key !== undefined) this.hash.get(key)?.delete(slot);
    }
    if (this.sorted) {
      this.count(this.sortKey(slot), -1);
      this.deadRows++;
    }
  }

  get classes(): { numbers: boolean; texts: boolean } {
    return { numbers: this.numbers > 0, texts: this.texts > 0 };
  }

  /** True when the keys form a total order (see KeyClass), so a walk equals a sort. */
  get ordered(): boolean {
    return this.odd === 0 && !(this.numbers > 0 && this.texts > 0);
  }

  /**
   * The rows in key order (ties in no particular order), pending rows merged in, in steps. Only
   * called while the keys form a total order (`ordered`), so the sliced merge sort is exact.
   */
  *rows(): Steps<SortedRow[]> {
    const sorted = this.sorted!;
    if (this.pending.length === 0 && this.deadRows * 4 <= sorted.length) return sorted;
    const live = this.deadRows > 0 ? sorted.filter((row) => !row.slot.dead) : sorted;
    const pending = this.pending.filter((row) => !row.slot.dead);
    this.pending = [];
    const byKey = (a: SortedRow, b: SortedRow) => compareKeys(a.key, b.key);
    let out: SortedRow[];
    if (pending.length <= 32) {
      out = live;
      for (const row of pending) {
        let low = 0;
        let high = out.length;
        while (low < high) {
          const mid = (low + high) >> 1;
          if (byKey(row, out[mid]!) < 0) high = mid;
          else low = mid + 1;
        }
        out.splice(low, 0, row);
      }
    } else {
      out = yield* stableSortSteps(live.concat(pending), byKey);
    }
    this.sorted = out;
    // Rows of slots dropped while this ran stay (walks skip dead rows) until the next compaction.
    this.deadRows = 0;
    return out;
  }
}

/** What the index part of a query decided; `merge` finishes it with the rest, rendered. */
export interface IndexedAnswer {
  /** Candidates the index could not answer, in candidate order: they take the normal path. */
  rest: CachedEntry[];
  merge(restItems: Item[], keyOf: ((id: string) => string) | undefined): Steps<FilterResult>;
}

export class QueryIndexes {
  /** Below this many candidates a plain scan is as fast; tests set 0. */
  minCandidates = 256;
  /** Off: every query takes the plain path (the tests' oracle, the benchmark's "before"). */
  enabled = true;
  private readonly slots = new Map<string, Slot>();
  private readonly fields = new Map<string, FieldIndex>();
  private readonly uses = new Map<string, number>();
  private stampClock = 0;

  constructor(store: ContentStore) {
    store.onChange((change) => this.onChange(change));
  }

  /** How many field indexes exist and how many entries they cover (metrics, tests). */
  get stats(): { fields: number; entries: number } {
    return { fields: this.fields.size, entries: this.slots.size };
  }

  private onChange(change: StoreChange): void {
    if (change.kind === 'clear') {
      for (const slot of this.slots.values()) this.drop(slot, true);
      this.slots.clear();
      return;
    }
    if (change.kind === 'entry') {
      const slot = this.slots.get(change.id);
      if (slot) {
        this.drop(slot, true);
        this.slots.delete(change.id);
      }
      return;
    }
    for (const [id, slot] of this.slots) {
      if (isWithin(id, change.id)) {
        this.drop(slot, true);
        this.slots.delete(id);
      }
    }
  }

  private drop(slot: Slot, outside = false): void {
    if (slot.dead) return;
    slot.dead = true;
    if (outside) this.changedSlots++;
    for (const field of this.fields.values()) field.remove(slot);
  }

  /** Slots dropped by store changes so far: an answer that paused meanwhile is not trusted. */
  private changedSlots = 0;
  /** The answer running (answers mark shared slots and pause: one at a time). */
  private running: Promise<void> | undefined;

  /** Counts a use of a field for hashing or sorting; returns its index from the second use on. */
  private *use(path: string, kind: 'hash' | 'sort', stillExact: () => boolean): Steps<FieldIndex | undefined> {
    const name = `${kind}\u0000${path}`;
    const uses = (this.uses.get(name) ?? 0) + 1;
    if (this.uses.size > 1024) this.uses.clear();
    this.uses.set(name, uses);
    const existing = this.fields.get(path);
    if (existing && (kind === 'hash' ? existing.hash : existing.sorted)) return existing;
    if (uses < 2 || this.fields.size >= 64) return undefined;
    // Registered at once (its remove() is a no-op until a part is attached), built in steps.
    const field = existing ?? new FieldIndex(path);
    this.fields.set(path, field);
    const live = [...this.slots.values()];
    const built = kind === 'hash' ? yield* field.enableHash(live, stillExact) : yield* field.enableSort(live, stillExact);
    return built ? field : undefined;
  }

  /**
   * Answers the plain, indexed part of a filter in slices; undefined when no index applies (then
   * the caller runs the plan as always) or when a store change dropped an indexed entry while it
   * paused (the plain path then answers the same snapshot, `accepted`, exactly).
   */
  async answer(accepted: readonly CachedEntry[], plan: FilterPlan, isPlain: ((entry: CachedEntry) => boolean) | undefined): Promise<IndexedAnswer | undefined> {
    if (!this.applies(accepted, plan, isPlain)) return undefined;
    while (this.running) await this.running;
    let done!: () => void;
    this.running = new Promise((resolve) => (done = resolve));
    try {
      const changed = this.changedSlots;
      const stillExact = () => this.changedSlots === changed;
      const answer = await runSliced(this.answerSteps(accepted, plan, isPlain!, stillExact));
      return stillExact() ? answer : undefined;
    } finally {
      this.running = undefined;
      done();
    }
  }

  private applies(accepted: readonly CachedEntry[], plan: FilterPlan, isPlain: ((entry: CachedEntry) => boolean) | undefined): boolean {
    // only/except apply before where and sort; grouping needs every item sorted anyway.
    if (!this.enabled || !isPlain || plan.only || plan.except || plan.groupBy !== undefined) return false;
    return accepted.length >= this.minCandidates;
  }

  private *answerSteps(accepted: readonly CachedEntry[], plan: FilterPlan, isPlain: (entry: CachedEntry) => boolean, stillExact: () => boolean): Steps<IndexedAnswer | undefined> {
    let hashed: { field: FieldIndex; keys: string[]; member: WhereNode } | undefined;
    for (const member of plan.where?.members ?? []) {
      if (member.kind !== 'condition') continue;
      const keys = conditionKeys(member);
      if (!keys) continue;
      const field = yield* this.use(member.key, 'hash', stillExact);
      if (field && !hashed) hashed = { field, keys, member };
    }
    const sortField = plan.sort ? yield* this.use(plan.sort.key, 'sort', stillExact) : undefined;
    const ordered = sortField?.ordered === true;
    if (!hashed && !ordered) return undefined;

    // Mark the candidates the indexes cover; index plain ones they do not cover yet. Everything
    // that reads the marks runs before this returns (answers run one at a time): other queries
    // re-mark while this one renders.
    const stamp = ++this.stampClock;
    const rest: CachedEntry[] = [];
    const restPos: number[] = [];
    let covered = 0;
    for (let i = 0; i < accepted.length; i++) {
      if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
      const entry = accepted[i]!;
      if (!isPlain(entry)) {
        rest.push(entry);
        restPos.push(i);
        continue;
      }
      let slot = this.slots.get(entry.id);
      if (!slot || slot.entry !== entry) {
        if (slot) this.drop(slot);
        slot = { entry, dead: false, stamp: 0, pos: 0, match: 0 };
        this.slots.set(entry.id, slot);
        for (const field of this.fields.values()) field.add(slot);
      }
      slot.stamp = stamp;
      slot.pos = i;
      covered++;
    }
    const where = plan.where ? predicateOf(plan.where, plan.timeZone) : undefined;

    // Which covered candidates match, and how many: from the hash buckets when an eq/in drives it.
    let matched: Hit[] | undefined;
    let plainTotal = covered;
    if (hashed) {
      matched = [];
      // A bucket member meets the hashed condition by construction: only the others are checked.
      const others = plan.where!.members.filter((m) => m !== hashed!.member);
      const otherWhere = others.length > 0 ? predicateOf({ kind: 'and', members: others }, plan.timeZone) : undefined;
      const visit = (check: Predicate | undefined) => (slot: Slot) => {
        if (slot.stamp !== stamp || slot.match === stamp) return;
        slot.match = stamp;
        if (!check || check(slot.entry.view)) matched!.push({ slot, pos: slot.pos, key: undefined });
      };
      const inBucket = visit(otherWhere);
      const inAlways = visit(where);
      let seen = 0;
      // Set iteration survives drops while paused (and a drop makes the answer untrusted anyway).
      for (const key of hashed.keys) {
        for (const slot of hashed.field.hash!.get(key) ?? []) {
          if (++seen % SLICE_ITEMS === 0) yield;
          inBucket(slot);
        }
      }
      for (const slot of hashed.field.always!) {
        if (++seen % SLICE_ITEMS === 0) yield;
        inAlways(slot);
      }
      matched.sort((a, b) => a.pos - b.pos);
      plainTotal = matched.length;
      for (const hit of matched) hit.slot.match = -stamp;
    } else if (where) {
      plainTotal = 0;
      for (let i = 0; i < accepted.length; i++) {
        if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
        const slot = this.slots.get(accepted[i]!.id)!;
        if (slot !== undefined && slot.stamp === stamp && slot.entry === accepted[i] && where(slot.entry.view)) {
          slot.match = -stamp;
          plainTotal++;
        }
      }
    }
    const isMatch = where ? (slot: Slot) => slot.match === -stamp : (slot: Slot) => slot.stamp === stamp;

    // The first offset + limit plain matches in sort order, when the sort index gives a total order.
    let top: Hit[] | undefined;
    const sort = plan.sort;
    const keep = keepOf(plan);
    let plainClasses: { numbers: boolean; texts: boolean } | undefined;
    if (sort && sortField && ordered) {
      plainClasses = sortField.classes;
      const rows = yield* sortField.rows();
      if (matched && matched.length * 8 < rows.length) {
        const lookup = compilePath(sort.key);
        const keyed = matched.map((hit) => {
          const value = lookup(hit.slot.entry.view);
          return { item: hit, index: hit.pos, key: sortKeyOf(value === MISSING ? undefined : value) };
        });
        keyed.sort(orderOf(sort.descending));
        top = keyed.slice(0, keep).map((k) => ({ slot: k.item.slot, pos: k.index, key: k.key }));
      } else {
        top = (yield* walk(rows, sort.descending, keep, isMatch)).map((row) => ({ slot: row.slot, pos: row.slot.pos, key: row.key }));
      }
    }
    const itemOf = (slot: Slot, keyOf: ((id: string) => string) | undefined): Item => ({ id: keyOf ? keyOf(slot.entry.id) : slot.entry.id, data: slot.entry.view });

    return {
      rest,
      merge: function* (restItems, keyOf) {
        const restMatches: { item: Item; pos: number }[] = [];
        for (let i = 0; i < restItems.length; i++) {
          if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
          if (!where || where(restItems[i]!.data)) restMatches.push({ item: restItems[i]!, pos: restPos[i]! });
        }
        const total = plainTotal + restMatches.length;
        if (sort && top && plainClasses && restClassesFit(plainClasses, restMatches, sort.key)) {
          const keyed: Keyed<Item>[] = top.map((hit) => ({ item: itemOf(hit.slot, keyOf), index: hit.pos, key: hit.key! }));
          const lookup = compilePath(sort.key);
          for (const { item, pos } of restMatches) {
            const value = lookup(item.data);
            keyed.push({ item, index: pos, key: sortKeyOf(value === MISSING ? undefined : value) });
          }
          keyed.sort(orderOf(sort.descending));
          return yield* finishSteps(keyed.slice(0, keep).map((k) => k.item), total, plan);
        }
        if (matched) {
          // Every match in candidate order, then sorted by the usual steps (exactly as without an index).
          const all: Item[] = [];
          let r = 0;
          for (const hit of matched) {
            while (r < restMatches.length && restMatches[r]!.pos < hit.pos) all.push(restMatches[r++]!.item);
            all.push(itemOf(hit.slot, keyOf));
          }
          while (r < restMatches.length) all.push(restMatches[r++]!.item);
          const selected = yield* selectSteps(all, { ...plan, where: undefined });
          return yield* finishSteps(selected.items, total, plan);
        }
        // Rendered keys that break the total order: the plain executor over every candidate.
        const all: Item[] = new Array(accepted.length);
        let r = 0;
        for (let i = 0; i < accepted.length; i++) {
          if (r < restPos.length && restPos[r] === i) all[i] = restItems[r++]!;
          else all[i] = { id: keyOf ? keyOf(accepted[i]!.id) : accepted[i]!.id, data: accepted[i]!.view };
        }
        return yield* filterSteps(all, plan);
      },
    };
  }
}

interface Hit {
  slot: Slot;
  /** The candidate position, copied while the marks were this query's. */
  pos: number;
  key: SortKey | undefined;
}

/** The rendered matches' sort keys must keep the index's total order (no number meets a text). */
function restClassesFit(plain: { numbers: boolean; texts: boolean }, rest: { item: Item }[], key: string): boolean {
  let { numbers, texts } = plain;
  const lookup = compilePath(key);
  for (const { item } of rest) {
    const value = lookup(item.data);
    const k = sortKeyOf(value === MISSING ? undefined : value);
    if (k.num !== undefined && !Number.isFinite(k.num)) return false;
    const c = keyClass(k);
    if (c === 'number') numbers = true;
    if (c === 'text') texts = true;
  }
  return !(numbers && texts);
}

/**
 * The first `keep` matching rows in sort order, ties in candidate order: walks the sorted rows
 * from the chosen end and stops once `keep` are found and the run of equal keys has ended.
 */
function* walk(rows: SortedRow[], descending: boolean, keep: number, isMatch: (slot: Slot) => boolean): Steps<SortedRow[]> {
  const out: SortedRow[] = [];
  const step = descending ? -1 : 1;
  let i = descending ? rows.length - 1 : 0;
  let seen = 0;
  while (i >= 0 && i < rows.length && out.length < keep) {
    const head = rows[i]!.key;
    const run: SortedRow[] = [];
    while (i >= 0 && i < rows.length && compareKeys(rows[i]!.key, head) === 0) {
      if (++seen % (SLICE_ITEMS * 4) === 0) yield;
      const row = rows[i]!;
      if (!row.slot.dead && isMatch(row.slot)) run.push(row);
      i += step;
    }
    run.sort((a, b) => a.slot.pos - b.slot.pos);
    out.push(...run);
  }
  return out.length > keep ? out.slice(0, keep) : out;
}

const perStore = new WeakMap<ContentStore, QueryIndexes>();

export function queryIndexesOf(store: ContentStore): QueryIndexes {
  let indexes = perStore.get(store);
  if (!indexes) perStore.set(store, (indexes = new QueryIndexes(store)));
  return indexes;
}
