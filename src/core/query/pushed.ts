/**
 * Collection queries answered by the storage engine (SQL push-down), only where the answer is
 * the in-memory one: every candidate is cached and plain (its filters see the stored fields; the
 * engine knows nothing else), the plan has an exact form (plan.ts toPushdown), and the engine
 * selects the same entries the core lists (its count of the scope equals the candidates',
 * checked once per store version). Anything else, or an engine that declines: undefined, and
 * the caller runs the query in memory.
 */
import type { CachedEntry, ContentStore } from '../store/store.js';
import { naturalIdOrder } from '../store/tree.js';
import type { PlainObject } from '../util.js';
import { project, type FilterResult, type Item } from './execute.js';
import { toPushdown, type QueryPlan } from './plan.js';

export interface PushdownOptions {
  /** The subtrees `hidden` leaves out (the engine gets them as ranges). */
  excluded: readonly string[];
  /** Top-level keys whose view differs from the stored field (system fields, dates): never pushed. */
  presented: (key: string) => boolean;
}

interface Scope {
  base: string;
  candidates: readonly { id: string }[];
  viewOf: ((entry: CachedEntry) => PlainObject | Promise<PlainObject>) | undefined;
  isPlain: ((entry: CachedEntry) => boolean) | undefined;
  keyOf: ((id: string) => string) | undefined;
}

/** Per candidate listing: the store version at which all its entries were cached and plain, and the scope count matched. */
const verified = new WeakMap<readonly { id: string }[], { version: number; plain: boolean; scopeChecked: boolean }>();

function allPlain(store: ContentStore, scope: Scope): boolean {
  const isPlain = scope.isPlain ?? (scope.viewOf ? undefined : () => true);
  if (!isPlain) return false;
  for (const { id } of scope.candidates) {
    const entry = store.peek(id);
    if (!entry || !isPlain(entry)) return false;
  }
  return true;
}

export async function answerByPushdown(store: ContentStore, plan: QueryPlan, scope: Scope, options: PushdownOptions): Promise<FilterResult | undefined> {
  const engine = store.engine;
  if (!engine.pushdown) return undefined;
  const version = store.version;
  let state = verified.get(scope.candidates);
  if (!state || state.version !== version) {
    state = { version, plain: allPlain(store, scope), scopeChecked: false };
    verified.set(scope.candidates, state);
  }
  if (!state.plain) return undefined;
  const query = toPushdown(plan, { base: scope.base, excluded: options.excluded, storedFieldsAreViews: true, presented: options.presented });
  if (!query) return undefined;
  if (!state.scopeChecked) query.countScope = true;
  const answer = await engine.pushdown(query, naturalIdOrder);
  // A change meanwhile (this node or another): the answer may describe other entries.
  if (!answer || store.version !== version) return undefined;
  if (query.countScope) {
    if (answer.scope !== scope.candidates.length) return undefined;
    state.scopeChecked = true;
  }
  const items: Item[] = [];
  for (const id of answer.ids) {
    const entry = store.peek(id);
    if (!entry) return undefined;
    const data = plan.filter ? project(entry.view, plan.filter.only, plan.filter.except) : entry.view;
    items.push({ id: scope.keyOf ? scope.keyOf(id) : id, data });
  }
  return { kind: 'items', items, total: answer.total };
}
