/**
 * Changes the store learns of: its own writes, and outside changes from the engine's change feed
 * (a file watcher, LISTEN/NOTIFY). Subscribers (field indexes, webhooks, server-sent events, the
 * render cache) hear of each one through `onChange`; without a feed, revisions are re-checked.
 */
import type { ChangeFeed, EngineChange, StorageEngine } from '../../storage/engine.js';
import { isWithin } from '../ids.js';
import type { WriteLocks } from '../locks.js';
import type { CachedEntry, EntryCache } from './cache.js';
import { listAll, type IdTree } from './tree.js';

/**
 * What changed: one entry (written, deleted, edited on disk), a subtree (moved, copied, deleted,
 * or a folder changed outside), or everything (`clear`: caches dropped, or changes may have been
 * missed). `origin` says whether the change came through this store ('api') or from elsewhere.
 */
export type StoreChange =
  | { kind: 'entry'; id: string; origin: 'api' | 'outside' }
  | { kind: 'subtree'; id: string; origin: 'api' | 'outside' }
  | { kind: 'clear' };

export type StoreChangeListener = (change: StoreChange) => void;

export interface ChangeLog {
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

/** The subscribers; a listener that throws is logged and never breaks the change itself. */
export class ChangeListeners {
  private readonly listeners = new Set<StoreChangeListener>();

  constructor(private readonly log?: ChangeLog) {}

  add(listener: StoreChangeListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.log?.warn({ change, err: (err as Error).message }, 'a change listener failed');
      }
    }
  }
}

/** What the feed consumer may touch inside the store. */
export interface ChangeContext {
  readonly engine: StorageEngine;
  readonly cache: EntryCache;
  readonly tree: IdTree;
  readonly locks: WriteLocks;
  /** Marks an id (or, without one, everything) as changed for reads in flight. */
  bump(id?: string): void;
  /** Drops every cache (and tells the listeners). */
  clear(): void;
  emit(change: StoreChange): void;
}

/** Same stored version: compared by the engine's revision text only. */
export async function stillCurrent(engine: StorageEngine, cached: CachedEntry): Promise<boolean> {
  const meta = await engine.revision(cached.id);
  return meta !== undefined && meta.revision === cached.meta.revision;
}

/** Collects the engine's change reports for a moment and applies them to the cache and the tree. */
export class OutsideChanges {
  private feed: ChangeFeed | undefined;
  /** id → whether the whole subtree must be rescanned (else just the entry). */
  private readonly pending = new Map<string, boolean>();
  private resync = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ChangeContext,
    private readonly log?: ChangeLog,
  ) {}

  get active(): boolean {
    return this.feed !== undefined;
  }

  /** Starts the engine's feed; false when it has none or it fails (revisions are re-checked instead). */
  async start(): Promise<boolean> {
    if (!this.ctx.engine.changes) return false;
    try {
      this.feed = await this.ctx.engine.changes(
        (change) => this.onEngineChange(change),
        (err) => this.log?.warn({ err: err.message }, 'change feed problem'),
      );
      this.mode = 'watch';
      return true;
    } catch (err) {
      // E.g. the inotify watch limit: fall back to stat passes, or to checking revisions.
      this.log?.warn({ err: (err as Error).message }, 'change feed unavailable');
      this.feed = undefined;
      return false;
    }
  }

  /**
   * Starts the engine's stat passes (no watches): resolves after the first pass, so every later
   * change is reported, at most two passes plus `intervalMs` after it was made (passes pause at
   * least twice their own length, so they take at most a third of a core). False when the
   * engine has none or it fails.
   */
  async startScanning(intervalMs: number): Promise<boolean> {
    if (!this.ctx.engine.scanChanges) return false;
    try {
      this.feed = await this.ctx.engine.scanChanges(
        (change) => this.onEngineChange(change),
        (err) => this.log?.warn({ err: err.message }, 'change feed problem'),
        {
          intervalMs,
          onPass: (pass, ms) => {
            this.passes = pass;
            if (pass === 1) this.log?.info?.({ ms, interval: intervalMs }, 'stat passes started: outside changes are found by checking file stats');
          },
        },
      );
      this.mode = 'scan';
      return true;
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'stat passes unavailable; checking revisions instead');
      this.feed = undefined;
      return false;
    }
  }

  /** How outside changes are found: watches, stat passes, or none (revisions re-checked). */
  mode: 'watch' | 'scan' | undefined;
  /** Stat passes done so far (tests wait for a pass instead of for time). */
  passes = 0;

  async stop(): Promise<void> {
    const feed = this.feed;
    this.feed = undefined;
    this.mode = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await feed?.close();
  }

  private onEngineChange(change: EngineChange): void {
    if (change.kind === 'entry' && change.revision !== undefined && this.applyKnownRevision(change.id, change.revision)) return;
    if (change.kind === 'resync') this.resync = true;
    else this.pending.set(change.id, (this.pending.get(change.id) ?? false) || change.kind === 'subtree');
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.applyAll();
    }, 25);
  }

  private async applyAll(): Promise<void> {
    if (this.resync) {
      // Changes may have been missed: nothing cached can be trusted.
      this.resync = false;
      this.pending.clear();
      this.ctx.clear();
      return;
    }
    const batch = [...this.pending];
    this.pending.clear();
    for (const [id, deep] of batch) {
      try {
        if (deep) await this.resyncSubtree(id);
        else await this.reconcileEntry(id);
      } catch (err) {
        this.log?.warn({ id, err: (err as Error).message }, 'could not apply an outside change; clearing the cache');
        this.ctx.clear();
      }
    }
  }

  /**
   * An entry written elsewhere, with its new revision (PostgreSQL's notices): a cached copy of
   * another revision is dropped at once, with no settle delay and no database round trip. True
   * when that was all there is to do; false when the tree must learn of the entry (the usual path).
   */
  private applyKnownRevision(id: string, revision: string): boolean {
    const { cache, tree } = this.ctx;
    const cached = cache.get(id);
    // Our copy is that revision already (e.g. read after the commit, before the notice came).
    if (cached !== undefined && cached.meta.revision === revision) return true;
    this.ctx.bump(id);
    if (cached) cache.delete(id);
    if (id === '' || tree.hasEntry(id) !== true) return false;
    this.ctx.emit({ kind: 'entry', id, origin: 'outside' });
    return true;
  }

  /** An entry changed outside: drop a stale cached copy, keep the tree right. */
  private async reconcileEntry(id: string): Promise<void> {
    const { engine, cache, tree } = this.ctx;
    const meta = await engine.revision(id);
    const cached = cache.get(id);
    this.ctx.bump(id);
    // The echo of our own write (the cached copy is the stored one) is no news for the listeners.
    const same = cached !== undefined && meta !== undefined && meta.revision === cached.meta.revision;
    if (cached && !same) cache.delete(id);
    if (id !== '') {
      if (meta) tree.add(id);
      else tree.removeEntry(id);
    }
    if (!same) this.ctx.emit({ kind: 'entry', id, origin: 'outside' });
  }

  /**
   * A folder appeared, vanished or was renamed outside (by us or by someone else; the report does
   * not say): rescan that part of the tree. Cached entries below it are kept only while their
   * revision is still the same, so our own writes cost a rescan, never a stale answer.
   */
  private async resyncSubtree(id: string): Promise<void> {
    if (id === '') {
      this.ctx.clear();
      return;
    }
    const { engine, cache, tree, locks } = this.ctx;
    const news = await locks.withTree(async () => {
      // Reads in flight below `id` may hold entries that are gone now: they must not be cached.
      this.ctx.bump();
      const ids = await listAll(engine, id);
      const before = new Set<string>();
      if (tree.loaded) tree.subtree(id, before);
      else for (const key of cache.keys()) if (isWithin(key, id)) before.add(key);
      // Anything unknown to the tree, or a cached entry no longer current, is news; the echo of
      // our own folder operations (the tree and the cache already right) is not.
      const sameIds = tree.loaded && ids.length === before.size && ids.every((entryId) => before.has(entryId));
      let changed = !sameIds;
      for (const entryId of new Set([...ids, ...before])) {
        const cached = cache.get(entryId);
        if (cached && !(await stillCurrent(engine, cached))) {
          cache.delete(entryId);
          changed = true;
        }
      }
      // The same ids: the tree stays as it is (its version, and the listings keyed by it, too).
      if (!sameIds) tree.replaceSubtree(id, ids);
      return changed;
    });
    if (news) this.ctx.emit({ kind: 'subtree', id, origin: 'outside' });
  }
}
