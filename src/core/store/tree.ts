/**
 * The id tree: which ids are entries and which lead to entries, loaded from the engine's `list`
 * in batches. Changes made while a load runs are journaled and replayed on the new tree.
 */
import type { StorageEngine } from '../../storage/engine.js';
import { parentOf } from '../ids.js';
import { runNow, stableSortSteps } from '../query/execute.js';

type Children = Map<string, Set<string>>;
export type TreeOp = (children: Children, entryIds: Set<string>) => void;

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** The natural id order of listings (ties of a sort keep it); engines answering push-down use it too. */
export const naturalIdOrder = (a: string, b: string): number => collator.compare(a, b);

export class IdTree {
  /** parent id → ids of its direct children that are entries or lead to entries. */
  private children: Children | undefined;
  private entryIds: Set<string> | undefined;
  private built = 0;
  private loading: Promise<void> | undefined;
  private journal: TreeOp[] | undefined;
  private readonly descendantsMemo = new Map<string, { version: number; items: readonly { id: string; depth: number }[] }>();
  /** Changes with every change of the tree. */
  version = 0;
  /** Told the number of entries found so far, after each batch of a load. */
  progress: ((entries: number) => void) | undefined;

  constructor(
    private readonly engine: StorageEngine,
    /** Ids listings may show (the core's id rules). */
    private readonly listable: ((id: string) => boolean) | undefined,
    /** Called after a rescan replaced a loaded tree, with the ids that appeared or vanished. */
    private readonly onRescan: (changed: string[]) => void,
  ) {}

  get loaded(): boolean {
    return this.children !== undefined;
  }

  /** Whether `id` is known to be an entry; undefined when the tree is not loaded. */
  hasEntry(id: string): boolean | undefined {
    return this.entryIds?.has(id);
  }

  /** Whether `id` is an entry or leads to entries (loaded tree only). */
  hasNode(id: string): boolean {
    return this.entryIds!.has(id) || this.children!.has(id);
  }

  get size(): number {
    return this.entryIds?.size ?? 0;
  }

  entryIdList(): string[] {
    return [...(this.entryIds ?? [])];
  }

  /** Loads the tree once; when `stale` (no change feed, poll interval over) rescans in the background. */
  async ensure(stale: (builtAt: number) => boolean, onError: (err: Error) => void): Promise<void> {
    if (this.children) {
      // Answer from the current tree meanwhile.
      if (stale(this.built) && !this.loading) void this.reload().catch(onError);
      return;
    }
    await this.reload();
  }

  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    this.journal = [];
    try {
      const children: Children = new Map();
      const entryIds = new Set<string>();
      for await (const batch of this.engine.list()) {
        for (const id of batch) addToTree(children, entryIds, id);
        this.progress?.(entryIds.size);
      }
      for (const op of this.journal) op(children, entryIds);
      const previous = this.entryIds;
      this.children = children;
      this.entryIds = entryIds;
      this.built = Date.now();
      this.version++;
      if (previous) {
        const changed: string[] = [];
        for (const id of entryIds) if (!previous.has(id)) changed.push(id);
        for (const id of previous) if (!entryIds.has(id)) changed.push(id);
        if (changed.length > 0) this.onRescan(changed);
      }
    } finally {
      this.journal = undefined;
    }
  }

  /** Applies a change to the tree now, and to a tree being rebuilt once it is ready. */
  mutate(op: TreeOp): void {
    if (this.children) {
      op(this.children, this.entryIds!);
      this.version++;
    }
    this.journal?.push(op);
  }

  add(id: string): void {
    if (!this.entryIds?.has(id)) this.mutate((children, entryIds) => addToTree(children, entryIds, id));
  }

  /** Replaces the subtree at `id` with `found` (ids listed there now). */
  replaceSubtree(id: string, found: readonly string[]): void {
    this.mutate((children, entryIds) => {
      removeSubtreeFromTree(children, entryIds, id);
      for (const entry of found) addToTree(children, entryIds, entry);
    });
  }

  addAll(found: readonly string[]): void {
    this.mutate((children, entryIds) => {
      for (const entry of found) addToTree(children, entryIds, entry);
    });
  }

  removeSubtree(id: string): void {
    this.mutate((children, entryIds) => removeSubtreeFromTree(children, entryIds, id));
  }

  /** Forgets that `id` is an entry (its folder may still lead to others). */
  removeEntry(id: string): void {
    if (this.entryIds?.has(id)) this.mutate((_children, entryIds) => entryIds.delete(id));
  }

  /** The entry ids at and below `id` (loaded tree only; else nothing). */
  subtree(id: string, into: Set<string>): void {
    if (this.children) collectSubtree(this.children, this.entryIds!, id, into);
  }

  clear(): void {
    this.children = undefined;
    this.entryIds = undefined;
    this.descendantsMemo.clear();
    this.version++;
  }

  /** Entry ids below `id` within `maxDepth` levels, in natural id order, with their depth (loaded tree only). */
  descendants(id: string, maxDepth: number): readonly { id: string; depth: number }[] {
    return runNow(this.descendantsSteps(id, maxDepth));
  }

  /**
   * The same in steps: the ids are collected at once (one version of the tree), then sorted with
   * pause points (100,000 collator comparisons per id take well over 100 ms; issue 12). A tree change
   * meanwhile only means the next call lists again: the memo keeps the version it was listed at.
   */
  *descendantsSteps(id: string, maxDepth: number): Generator<void, readonly { id: string; depth: number }[], void> {
    const key = `${maxDepth}\u0000${id}`;
    const memo = this.descendantsMemo.get(key);
    if (memo && memo.version === this.version) return memo.items;
    const version = this.version;
    const items: { id: string; depth: number }[] = [];
    const listable = this.listable;
    const walk = (parent: string, depth: number) => {
      const kids = this.children!.get(parent);
      if (!kids || depth > maxDepth) return;
      for (const child of kids) {
        // Decided once per tree version here, not for every candidate of every query.
        if (this.entryIds!.has(child) && (!listable || listable(child))) items.push({ id: child, depth });
        walk(child, depth + 1);
      }
    };
    walk(id, 1);
    // A collation is a total preorder: the stable merge sort in steps equals Array.sort's order.
    const sorted = yield* stableSortSteps(items, (a, b) => collator.compare(a.id, b.id));
    if (this.descendantsMemo.size > 256) this.descendantsMemo.clear();
    this.descendantsMemo.set(key, { version, items: sorted });
    return sorted;
  }
}

function addToTree(children: Children, entryIds: Set<string>, id: string): void {
  entryIds.add(id);
  let child = id;
  while (child !== '') {
    const parent = parentOf(child);
    let set = children.get(parent);
    if (!set) {
      set = new Set();
      children.set(parent, set);
    }
    if (set.has(child)) break;
    set.add(child);
    child = parent;
  }
}

/** Adds the entry ids of the tree at and below `id` to `into`. */
function collectSubtree(children: Children, entryIds: Set<string>, id: string, into: Set<string>): void {
  if (entryIds.has(id)) into.add(id);
  const kids = children.get(id);
  if (kids) for (const kid of kids) collectSubtree(children, entryIds, kid, into);
}

function removeSubtreeFromTree(children: Children, entryIds: Set<string>, id: string): void {
  const drop = (node: string) => {
    entryIds.delete(node);
    const kids = children.get(node);
    if (kids) for (const kid of kids) drop(kid);
    children.delete(node);
  };
  drop(id);
  children.get(parentOf(id))?.delete(id);
}

/** Every id the engine lists at or below `under`, collected (a moved or copied subtree). */
export async function listAll(engine: StorageEngine, under: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of engine.list(under)) for (const id of batch) ids.push(id);
  return ids;
}
