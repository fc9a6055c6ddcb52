/** Runs a collection query: find (which entries) → load → filter (which items, in which order). */
import type { CachedEntry, ContentStore } from '../store.js';
import type { PlainObject } from '../util.js';
import { filterCollection, type FilterLimits, type FilterResult, type Item } from './filter.js';
import { planFind, type FindLimits } from './find.js';

export interface CollectionQuery {
  /** The id whose descendants are listed ('' for the root). */
  base: string;
  find: PlainObject;
  filter: PlainObject | undefined;
  /** Subtrees never listed (e.g. tokens in entry collections). */
  hidden?: (id: string) => boolean;
  /** The key an item is answered under (entry id by default). */
  keyOf?: (id: string) => string;
  /** Awaited once the number of candidate entries is known, before any is loaded (admission control). */
  admit?: (candidates: number) => Promise<void>;
  /** Told of each entry left out because its file cannot be read or parsed. */
  onSkip?: (id: string, reason: string) => void;
  /** The item's fields as filters see them (rendered); the stored view by default. */
  viewOf?: (entry: CachedEntry) => PlainObject | Promise<PlainObject>;
}

export type QueryLimits = FindLimits & FilterLimits;

export async function runCollectionQuery(store: ContentStore, query: CollectionQuery, limits: QueryLimits): Promise<FilterResult> {
  const plan = planFind(query.find, limits);
  const prefixLength = query.base === '' ? 0 : query.base.length + 1;
  const candidates = await store.descendants(query.base, plan.maxDepth);
  await query.admit?.(candidates.length);
  const entries = await store.getMany(candidates, query.onSkip);
  const keyOf = query.keyOf;
  let accepted: CachedEntry[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const entry = entries[i];
    if (!entry || (query.hidden && query.hidden(entry.id))) continue;
    if (!plan.trivial && !plan.accept({ id: entry.id, depth: candidates[i]!.depth, stat: entry.stat }, entry.id.slice(prefixLength))) continue;
    accepted.push(entry);
  }
  if (plan.content) {
    const { contains, notContains } = plan.content;
    const keep = await Promise.all(
      accepted.map(async (entry) => {
        const raw = (await store.driver.readRaw(entry.id)) ?? '';
        return contains.every((s) => raw.includes(s)) && notContains.every((s) => !raw.includes(s));
      }),
    );
    accepted = accepted.filter((_, i) => keep[i]);
  }
  if (plan.sort) {
    const { key, descending } = plan.sort;
    accepted.sort((a, b) => (descending ? b.stat[key] - a.stat[key] : a.stat[key] - b.stat[key]));
  }
  const items: Item[] = [];
  for (const entry of accepted) {
    const view = query.viewOf ? query.viewOf(entry) : entry.view;
    // Awaited only when rendering was needed: plain entries cost no extra turn of the event loop.
    items.push({ id: keyOf ? keyOf(entry.id) : entry.id, data: view instanceof Promise ? await view : view });
  }
  return filterCollection(items, query.filter, limits);
}
