/** Runs a collection query: find (which entries) → load → filter (which items, in which order). */
import type { CachedEntry, ContentStore } from '../store/store.js';
import type { PlainObject } from '../util.js';
import { filterSteps, mapSteps, runSliced, Slice, SLICE_ITEMS, stableSortSteps, type FilterResult, type Item } from './execute.js';
import { findAccepts } from './find.js';
import { queryIndexesOf } from './indexes.js';
import { answerFromListing, listingIndexesOf } from './listing.js';
import { planQuery, type PlanLimits, type QueryPlan } from './plan.js';
import { answerByPushdown, type PushdownOptions } from './pushed.js';

export interface CollectionQuery {
  /** The id whose descendants are listed ('' for the root). */
  base: string;
  find: PlainObject;
  filter: PlainObject | undefined;
  /** Subtrees never listed (e.g. tokens in entry collections). */
  hidden?: (id: string) => boolean;
  /** True when `hidden` depends on the id alone (no side effects): its answer is kept per listing. */
  hiddenIsPure?: boolean;
  /** The key an item is answered under (entry id by default). */
  keyOf?: (id: string) => string;
  /** Awaited once the number of candidate entries is known, before any is loaded (admission control). */
  admit?: (candidates: number) => Promise<void>;
  /** Told of each entry left out because its file cannot be read or parsed. */
  onSkip?: (id: string, reason: string) => void;
  /** The item's fields as filters see them (rendered); the stored view by default. */
  viewOf?: (entry: CachedEntry) => PlainObject | Promise<PlainObject>;
  /**
   * True when `viewOf` answers the stored view unchanged for this entry (rendering cannot change
   * it): only such entries may be answered from an index. Without `viewOf`, every entry is.
   */
  isPlain?: (entry: CachedEntry) => boolean;
  /** Lets the storage engine answer where it equals the in-memory rules (pushed.ts); needs a pure `hidden`. */
  pushdown?: PushdownOptions;
}

export type QueryLimits = PlanLimits;

/** What `find.contains` searches in one entry: only what the API answers. */
interface PublicText {
  /** The answer's JSON text (keys, numbers, escaped strings), private keys removed at every depth. */
  json: string;
  /** Every public key and string value, verbatim (a plain substring of a value always matches). */
  strings: string[];
}

/** Per (immutable) entry view, built on the first content search that meets it. */
const publicTexts = new WeakMap<object, PublicText>();

function withoutPrivate(value: unknown, strings: string[]): unknown {
  if (typeof value === 'string') {
    strings.push(value);
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => withoutPrivate(item, strings));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: PlainObject = {};
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('_')) continue;
      strings.push(key);
      out[key] = withoutPrivate(child, strings);
    }
    return out;
  }
  return value;
}

function publicTextOf(view: PlainObject): PublicText {
  let text = publicTexts.get(view);
  if (!text) {
    const strings: string[] = [];
    const json = JSON.stringify(withoutPrivate(view, strings));
    publicTexts.set(view, (text = { json, strings }));
  }
  return text;
}

function publicTextIncludes(text: PublicText, needle: string): boolean {
  return text.json.includes(needle) || text.strings.some((s) => s.includes(needle));
}

/** Listings without their hidden ids, per listing (the store memoizes listings per tree version) and pure rule. */
const visibleMemo = new WeakMap<readonly { id: string }[], WeakMap<(id: string) => boolean, readonly { id: string; depth: number }[]>>();

function visibleOf(listed: readonly { id: string; depth: number }[], hidden: (id: string) => boolean, pure: boolean): readonly { id: string; depth: number }[] {
  if (!pure) return listed.filter((c) => !hidden(c.id));
  let perRule = visibleMemo.get(listed);
  if (!perRule) visibleMemo.set(listed, (perRule = new WeakMap()));
  let visible = perRule.get(hidden);
  if (!visible) perRule.set(hidden, (visible = listed.filter((c) => !hidden(c.id))));
  return visible;
}

export async function runCollectionQuery(store: ContentStore, query: CollectionQuery, limits: QueryLimits): Promise<FilterResult> {
  // Validated before any entry is read: a bad option costs nothing.
  const plan = planQuery(query.find, query.filter, limits);
  const find = plan.find;
  const prefixLength = query.base === '' ? 0 : query.base.length + 1;
  // Hidden ids are dropped before any file is read.
  const hidden = query.hidden;
  const listed = await store.descendants(query.base, find.maxDepth);
  const candidates = hidden ? visibleOf(listed, hidden, query.hiddenIsPure === true) : listed;
  await query.admit?.(candidates.length);
  const keyOf = query.keyOf;
  const isPlain = query.isPlain ?? (query.viewOf ? undefined : () => true);
  const indexes = queryIndexesOf(store);
  // The common case (every entry of a folder, filtered): answered from the listing's indexes.
  if (indexes.enabled && find.trivial && !find.content && !find.sort && candidates.length >= indexes.minCandidates) {
    const listing = await listingIndexesOf(store).listingOf(candidates, isPlain);
    if (listing) {
      let items: Item[];
      try {
        const answer = await runSliced(answerFromListing(listing, plan.filter, keyOf));
        if (answer) return answer;
        // only/except or group_by: the general steps, on the listing's entries (nothing to load).
        items = await runSliced(mapSteps(listing.entries, (entry) => ({ id: keyOf ? keyOf(entry.id) : entry.id, data: entry.view })));
      } finally {
        listing.release();
      }
      return runSliced(filterSteps(items, plan.filter));
    }
  }
  // An engine that answers in SQL (PostgreSQL, query.pushdown), when no listing answered.
  if (query.pushdown && (!hidden || query.hiddenIsPure)) {
    const pushed = await answerByPushdown(store, plan, { base: query.base, candidates, viewOf: query.viewOf, isPlain: query.isPlain, keyOf: query.keyOf }, query.pushdown);
    if (pushed) return pushed;
  }
  const accepted = await acceptedOf(store, query, candidates, find, prefixLength);
  return filterAccepted(store, query, plan, accepted, isPlain);
}

/** Loads the candidates and keeps those `find` accepts (its content search included), in find's order. */
async function acceptedOf(
  store: ContentStore,
  query: CollectionQuery,
  candidates: readonly { id: string; depth: number }[],
  find: QueryPlan['find'],
  prefixLength: number,
): Promise<CachedEntry[]> {
  const entries = await store.getMany(candidates, query.onSkip);
  // Entries are immutable: the loaded array is the snapshot every step below reads, pauses or not.
  const slice = new Slice();
  let accepted: CachedEntry[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (i % SLICE_ITEMS === SLICE_ITEMS - 1 && slice.due()) await slice.pause();
    const entry = entries[i];
    if (!entry) continue;
    if (!find.trivial && !findAccepts(find, { id: entry.id, depth: candidates[i]!.depth, meta: entry.meta }, entry.id.slice(prefixLength))) continue;
    accepted.push(entry);
  }
  if (find.content) {
    // Never the raw file: it holds private fields and comments that no answer shows.
    const { contains, notContains } = find.content;
    const found: CachedEntry[] = [];
    for (let i = 0; i < accepted.length; i++) {
      // Building an entry's search text costs far more than an id check: a pause point more often.
      if (i % 64 === 63 && slice.due()) await slice.pause();
      const text = publicTextOf(accepted[i]!.view);
      if (contains.every((s) => publicTextIncludes(text, s)) && notContains.every((s) => !publicTextIncludes(text, s))) found.push(accepted[i]!);
    }
    accepted = found;
  }
  if (find.sort) {
    const { key, descending } = find.sort;
    // File times are finite numbers: a total order, so the sliced merge sort equals Array.sort.
    accepted = await runSliced(stableSortSteps(accepted, (a, b) => (descending ? b.meta[key] - a.meta[key] : a.meta[key] - b.meta[key])));
  }
  return accepted;
}

/** Renders what needs it and runs the filter (through the field indexes when they apply). */
async function filterAccepted(
  store: ContentStore,
  query: CollectionQuery,
  plan: QueryPlan,
  accepted: CachedEntry[],
  isPlain: ((entry: CachedEntry) => boolean) | undefined,
): Promise<FilterResult> {
  const keyOf = query.keyOf;
  const indexed = plan.filter && !plan.find.sort ? await queryIndexesOf(store).answer(accepted, plan.filter, isPlain) : undefined;
  const rest = indexed ? indexed.rest : accepted;
  const items: Item[] = [];
  const slice = new Slice();
  for (let i = 0; i < rest.length; i++) {
    const entry = rest[i]!;
    const view = query.viewOf ? query.viewOf(entry) : entry.view;
    // Awaited only when rendering was needed: plain entries cost no extra turn of the event loop.
    items.push({ id: keyOf ? keyOf(entry.id) : entry.id, data: view instanceof Promise ? await view : view });
    if (i % 64 === 63 && slice.due()) await slice.pause();
  }
  if (!indexed) return runSliced(filterSteps(items, plan.filter));
  return runSliced(indexed.merge(items, keyOf));
}
