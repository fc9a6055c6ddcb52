/**
 * The content store: the storage driver seen through an in-memory cache of parsed entries and a
 * tree of ids. API writes update both at once; edits made on disk by people or `git pull` are
 * picked up by a file watcher (or, where watching is unavailable, by re-checking file stats).
 */
import { createHash } from 'node:crypto';
import type { CopyTransform, FileStat, StorageDriver, StorageWatcher, StoredEntry } from '../storage/driver.js';
import type { Fields } from '../storage/serializers/index.js';
import { isWithin, parentOf } from './ids.js';
import { WriteLocks } from './locks.js';
import type { PlainObject } from './util.js';

/** Turns stored fields into what the API answers (system fields, dates, private fields hidden). */
export type Presenter = (id: string, fields: Fields, stat: FileStat) => PlainObject;

export interface CachedEntry {
  readonly id: string;
  /** The fields as stored in the file. Never mutated: writes build a new object. */
  readonly fields: Fields;
  readonly stat: FileStat;
  /** The entry as the API answers it, before any filter. Never mutated. */
  readonly view: PlainObject;
  /** Identifies this version of the entry; changes whenever the file changes. */
  readonly etag: string;
  /** `view` as JSON, built on first use. */
  json?: string;
  /** Whether rendering cannot change this entry (decided by the renderer on first use). */
  plain?: boolean;
  checkedAt: number;
  /** The store's LRU clock when the entry was last put at the young end of the order. */
  lruAt: number;
}

export interface StoreOptions {
  cacheEnabled: boolean;
  maxEntries: number;
  watch: boolean;
  /** Above this many entries, folders are not watched (memory); stats are checked instead. */
  watchMaxEntries: number;
  pollInterval: number;
  /** Ids listings may show (the core's id rules); others are left out of every listing. */
  listable?: (id: string) => boolean;
}

export interface Logger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Changes with any change of the file, also one that restores the mtime (`cp -p`, `tar`): ctime cannot be set back. */
export function etagOf(stat: FileStat): string {
  const micros = (ms: number) => Math.round(ms * 1000).toString(36);
  return `"${stat.ino.toString(36)}-${micros(stat.mtimeMs)}-${micros(stat.ctimeMs)}-${stat.size.toString(36)}"`;
}

/** True when an If-Match / If-None-Match list names `etag` (or `*`); weak tags compare by value. */
export function etagListIncludes(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

export function hashEtag(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`;
}

export class ContentStore {
  readonly locks = new WriteLocks();
  private readonly cache = new Map<string, CachedEntry>();
  /** Counts moves to the young end of the cache's LRU order. */
  private lruClock = 0;
  /** parent id → ids of its direct children that are entries or lead to entries. */
  private children: Map<string, Set<string>> | undefined;
  private entryIds: Set<string> | undefined;
  private treeBuilt = 0;
  private treeVersion = 0;
  private treeLoading: Promise<void> | undefined;
  private journal: TreeOp[] | undefined;
  private readonly descendantsMemo = new Map<string, { version: number; items: readonly { id: string; depth: number }[] }>();
  private watcher: StorageWatcher | undefined;
  private watching = false;
  private readonly pendingEvents = new Map<string, boolean>();
  private eventTimer: NodeJS.Timeout | undefined;
  private epoch = 0;
  /** Counts every change to any entry (renders that listed collections are checked against it). */
  private changes = 0;
  private readonly generation = new Map<string, number>();

  constructor(
    readonly driver: StorageDriver,
    private readonly present: Presenter,
    private readonly options: StoreOptions,
    private readonly log?: Logger,
  ) {}

  /** Changes whenever any entry changes, appears, vanishes or moves (validates cached renders). */
  get version(): number {
    return this.treeVersion + this.changes;
  }

  /** The current ETag of `id` known without the disk: null when known missing, undefined when unknown. */
  peekEtag(id: string): string | null | undefined {
    if (!this.watching) return undefined;
    const cached = this.cache.get(id);
    if (cached) return cached.etag;
    if (this.entryIds && !this.entryIds.has(id)) return null;
    return undefined;
  }

  /** True when edits on disk are seen through a watcher rather than by re-checking stats. */
  get isWatching(): boolean {
    return this.watching;
  }

  // ---- reading -------------------------------------------------------------------------------

  /** The cached entry when it can be trusted without touching the disk (watched), else undefined. */
  peek(id: string): CachedEntry | undefined {
    return this.watching ? this.cache.get(id) : undefined;
  }

  async get(id: string): Promise<CachedEntry | undefined> {
    const cached = this.cache.get(id);
    if (cached) {
      if (this.watching || Date.now() - cached.checkedAt < this.options.pollInterval) {
        this.refresh(cached);
        return cached;
      }
      const stat = await this.driver.stat(id);
      if (stat && sameFile(stat, cached.stat)) {
        cached.checkedAt = Date.now();
        return cached;
      }
      this.cache.delete(id);
    }
    const ticket = this.ticket(id);
    const stored = await this.driver.read(id);
    if (!stored) return undefined;
    return this.remember(stored, ticket);
  }

  /**
   * The entry as it is on disk right now, always read from the file (never the cache). Writers use
   * this for read-modify-write, so an edit made outside the API a moment ago is never overwritten
   * with an older cached copy, even one no stat field reveals (same size, mtime restored, and a
   * ctime within the clock's granularity).
   */
  async getFresh(id: string): Promise<CachedEntry | undefined> {
    const ticket = this.ticket(id);
    const stored = await this.driver.read(id);
    if (!stored) {
      if (this.cache.delete(id)) this.changed(id);
      return undefined;
    }
    return this.remember(stored, ticket);
  }

  /**
   * Reads race with writes: a read that began before a write (or a delete) and ends after it
   * holds the old file and must not replace the newer cached state. A ticket taken before the read
   * tells whether anything changed that id meanwhile.
   */
  private ticket(id: string): string {
    return `${this.epoch}:${this.generation.get(id) ?? 0}`;
  }

  /** Marks an id (or, without one, everything) as changed for reads in flight. */
  private changed(id?: string): void {
    this.changes++;
    if (id === undefined) this.epoch++;
    else this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
  }

  async has(id: string): Promise<boolean> {
    if (this.cache.has(id) && this.watching) return true;
    return (await this.driver.stat(id)) !== undefined;
  }

  /** The JSON text of an entry's unfiltered view (cached). */
  jsonOf(entry: CachedEntry): string {
    if (entry.json === undefined) entry.json = JSON.stringify(entry.view);
    return entry.json;
  }

  /**
   * Moves an entry to the young end of the LRU order, but only once it has drifted into the older
   * half: in V8, delete + set on a large Map rehashes the whole table (about 10 µs at 10,000
   * entries, 20 µs at 100,000), which made every cached GET slower the larger the project.
   */
  private refresh(entry: CachedEntry): void {
    if (this.lruClock - entry.lruAt <= this.cache.size >> 1) return;
    this.cache.delete(entry.id);
    this.cache.set(entry.id, entry);
    entry.lruAt = ++this.lruClock;
  }

  private remember(stored: StoredEntry, ticket?: string): CachedEntry {
    const entry: CachedEntry = {
      id: stored.id,
      fields: stored.fields,
      stat: stored.stat,
      view: this.present(stored.id, stored.fields, stored.stat),
      etag: etagOf(stored.stat),
      checkedAt: Date.now(),
      lruAt: ++this.lruClock,
    };
    if (this.options.cacheEnabled && (ticket === undefined || ticket === this.ticket(stored.id))) {
      this.cache.delete(stored.id);
      this.cache.set(stored.id, entry);
      if (this.cache.size > this.options.maxEntries) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    }
    return entry;
  }

  /** Entry ids below `id` within `maxDepth` levels, in natural id order, with their depth. */
  async descendants(id: string, maxDepth: number): Promise<readonly { id: string; depth: number }[]> {
    await this.ensureTree();
    const key = `${maxDepth}\u0000${id}`;
    const memo = this.descendantsMemo.get(key);
    if (memo && memo.version === this.treeVersion) return memo.items;
    const items: { id: string; depth: number }[] = [];
    const listable = this.options.listable;
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
    items.sort((a, b) => collator.compare(a.id, b.id));
    if (this.descendantsMemo.size > 256) this.descendantsMemo.clear();
    this.descendantsMemo.set(key, { version: this.treeVersion, items });
    return items;
  }

  /** True when `id` is an entry or a folder leading to entries (a collection can be listed). */
  async exists(id: string): Promise<boolean> {
    if (id === '') return true;
    await this.ensureTree();
    return this.entryIds!.has(id) || this.children!.has(id) || (await this.has(id));
  }

  /** Loads many entries (aligned with `targets`; undefined where unreadable), a bounded number of files at a time. */
  async getMany(targets: readonly { id: string }[], onSkip?: (id: string, reason: string) => void): Promise<(CachedEntry | undefined)[]> {
    const out: (CachedEntry | undefined)[] = new Array(targets.length);
    const missing: number[] = [];
    for (let i = 0; i < targets.length; i++) {
      const hit = this.watching ? this.cache.get(targets[i]!.id) : undefined;
      if (hit) out[i] = hit;
      else missing.push(i);
    }
    const width = 64;
    for (let start = 0; start < missing.length; start += width) {
      await Promise.all(
        missing.slice(start, start + width).map(async (i) => {
          const id = targets[i]!.id;
          try {
            out[i] = await this.get(id);
          } catch (err) {
            // An unparsable file is skipped in collections (logged, and counted for the caller), not fatal to the query.
            this.log?.warn({ id, err: (err as Error).message }, 'entry skipped: it cannot be read');
            onSkip?.(id, (err as Error).message);
          }
        }),
      );
    }
    return out;
  }

  private async ensureTree(): Promise<void> {
    if (this.children) {
      // Without a watcher, rescan in the background and answer from the current tree meanwhile.
      const stale = !this.watching && Date.now() - this.treeBuilt > this.options.pollInterval;
      if (stale && !this.treeLoading) void this.reloadTree().catch((err: Error) => this.log?.warn({ err: err.message }, 'rescan failed'));
      return;
    }
    await this.reloadTree();
  }

  private reloadTree(): Promise<void> {
    this.treeLoading ??= this.loadTree().finally(() => (this.treeLoading = undefined));
    return this.treeLoading;
  }

  private async loadTree(): Promise<void> {
    // Changes made while the scan runs are journaled and replayed on the new tree.
    this.journal = [];
    try {
      const ids = await this.driver.scan();
      const children = new Map<string, Set<string>>();
      const entryIds = new Set<string>();
      for (const id of ids) addToTree(children, entryIds, id);
      for (const op of this.journal) op(children, entryIds);
      this.children = children;
      this.entryIds = entryIds;
      this.treeBuilt = Date.now();
      this.treeVersion++;
    } finally {
      this.journal = undefined;
    }
  }

  /** Applies a change to the id tree now, and to a tree being rebuilt once it is ready. */
  private mutateTree(op: TreeOp): void {
    if (this.children) {
      op(this.children, this.entryIds!);
      this.treeVersion++;
    }
    this.journal?.push(op);
  }

  /**
   * Parses every entry into the cache, a slice at a time, yielding to requests in between, so the
   * first collection query does not pay for reading the whole tree. Stops early when closed.
   */
  async preload(): Promise<number> {
    if (!this.options.cacheEnabled) return 0;
    await this.ensureTree();
    const targets = [...this.entryIds!].slice(0, this.options.maxEntries).map((id) => ({ id }));
    let loaded = 0;
    for (let start = 0; start < targets.length && !this.preloadStopped; start += 256) {
      const slice = await this.getMany(targets.slice(start, start + 256));
      loaded += slice.filter((entry) => entry !== undefined).length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return loaded;
  }

  private preloadStopped = false;

  /** Builds the id tree now (e.g. at start-up), so the first collection query is fast. */
  async warm(): Promise<number> {
    await this.ensureTree();
    return this.entryIds!.size;
  }

  // ---- writing (callers hold the matching lock) -----------------------------------------------

  async write(id: string, fields: Fields): Promise<CachedEntry> {
    const stat = await this.driver.write(id, fields);
    this.changed(id);
    const entry = this.remember({ id, fields, stat });
    if (!this.entryIds?.has(id)) this.mutateTree((children, entryIds) => addToTree(children, entryIds, id));
    return entry;
  }

  async move(id: string, newId: string): Promise<void> {
    await this.driver.move(id, newId);
    this.forgetSubtree(id);
    this.forgetSubtree(newId);
    const moved = await this.driver.scan(newId);
    this.mutateTree((children, entryIds) => {
      removeSubtreeFromTree(children, entryIds, id);
      for (const found of moved) addToTree(children, entryIds, found);
    });
  }

  async copy(id: string, newId: string, transform: CopyTransform): Promise<void> {
    await this.driver.copy(id, newId, transform);
    this.forgetSubtree(newId);
    const copied = await this.driver.scan(newId);
    this.mutateTree((children, entryIds) => {
      for (const found of copied) addToTree(children, entryIds, found);
    });
  }

  async remove(id: string): Promise<void> {
    await this.driver.remove(id);
    this.forgetSubtree(id);
    this.mutateTree((children, entryIds) => removeSubtreeFromTree(children, entryIds, id));
  }

  private forgetSubtree(id: string): void {
    this.changed();
    for (const key of [...this.cache.keys()]) if (isWithin(key, id)) this.cache.delete(key);
  }

  /** Drops every cached entry and the id tree; content on disk is untouched. */
  clear(): void {
    this.changed();
    this.cache.clear();
    this.children = undefined;
    this.entryIds = undefined;
    this.descendantsMemo.clear();
    this.treeVersion++;
  }

  get cachedCount(): number {
    return this.cache.size;
  }

  /** Entries in the id tree; undefined while it is not built (before start-up, after clear()). */
  get entryCount(): number | undefined {
    return this.entryIds?.size;
  }

  // ---- watching for edits outside the API ---------------------------------------------------

  /** Starts watching for outside edits; returns false (stat checks instead) when unavailable. */
  async startWatching(): Promise<boolean> {
    if (!this.options.watch || !this.options.cacheEnabled || !this.driver.watch) return false;
    const size = this.entryIds?.size ?? 0;
    if (size > this.options.watchMaxEntries) {
      this.log?.info({ entries: size, limit: this.options.watchMaxEntries }, 'large project: checking file stats instead of watching');
      return false;
    }
    try {
      this.watcher = await this.driver.watch(
        (relativePath) => this.onFsEvent(relativePath),
        (err) => this.log?.warn({ err: err.message }, 'file watcher problem'),
      );
      this.watching = true;
    } catch (err) {
      // E.g. the inotify watch limit: fall back to checking stats.
      this.log?.warn({ err: (err as Error).message }, 'file watching unavailable; checking file stats instead');
      this.watcher = undefined;
      this.watching = false;
    }
    return this.watching;
  }

  stopWatching(): void {
    this.preloadStopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.watching = false;
    if (this.eventTimer) clearTimeout(this.eventTimer);
  }

  private onFsEvent(relativePath: string): void {
    const target = this.driver.idOfPath(relativePath);
    if (!target) return;
    const deep = this.pendingEvents.get(target.id) ?? false;
    this.pendingEvents.set(target.id, deep || !target.entryFile);
    if (!this.eventTimer) {
      this.eventTimer = setTimeout(() => {
        this.eventTimer = undefined;
        void this.reconcileAll();
      }, 25);
    }
  }

  private async reconcileAll(): Promise<void> {
    const batch = [...this.pendingEvents];
    this.pendingEvents.clear();
    for (const [id, deep] of batch) {
      try {
        if (deep) await this.resyncSubtree(id);
        else await this.reconcileEntry(id);
      } catch (err) {
        this.log?.warn({ id, err: (err as Error).message }, 'could not apply an outside change; clearing the cache');
        this.clear();
      }
    }
  }

  /** An entry file changed on disk: drop a stale cached copy, keep the tree right. */
  private async reconcileEntry(id: string): Promise<void> {
    const stat = await this.driver.stat(id);
    const cached = this.cache.get(id);
    this.changed(id);
    if (cached && !(stat && sameFile(stat, cached.stat))) this.cache.delete(id);
    if (id === '') return;
    if (stat && !this.entryIds?.has(id)) this.mutateTree((children, entryIds) => addToTree(children, entryIds, id));
    else if (!stat && this.entryIds?.has(id)) this.mutateTree((_children, entryIds) => entryIds.delete(id));
  }

  /**
   * A folder appeared, vanished or was renamed on disk (by us or by someone else; the event does
   * not say): rescan that part of the tree. Cached entries below it are kept only while their file
   * is still the same one (stat identity), so our own writes cost a rescan, never a stale answer.
   */
  private async resyncSubtree(id: string): Promise<void> {
    if (id === '') {
      this.clear();
      return;
    }
    await this.locks.withTree(async () => {
      // Reads in flight below `id` may hold files that are gone now: they must not be cached.
      this.changed();
      const ids = await this.driver.scan(id);
      const known = new Set(ids);
      if (this.children) collectSubtree(this.children, this.entryIds!, id, known);
      else for (const key of this.cache.keys()) if (isWithin(key, id)) known.add(key);
      for (const entryId of known) {
        const cached = this.cache.get(entryId);
        if (!cached) continue;
        const stat = await this.driver.stat(entryId);
        if (!stat || !sameFile(stat, cached.stat)) this.cache.delete(entryId);
      }
      this.mutateTree((children, entryIds) => {
        removeSubtreeFromTree(children, entryIds, id);
        for (const found of ids) addToTree(children, entryIds, found);
      });
    });
  }
}

type TreeOp = (children: Map<string, Set<string>>, entryIds: Set<string>) => void;

/** Same version of a file. ctime too: tools that keep the mtime (`cp -p`, `rsync -t`, `tar`) cannot keep it. */
function sameFile(a: FileStat, b: FileStat): boolean {
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size;
}

function addToTree(children: Map<string, Set<string>>, entryIds: Set<string>, id: string): void {
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
function collectSubtree(children: Map<string, Set<string>>, entryIds: Set<string>, id: string, into: Set<string>): void {
  if (entryIds.has(id)) into.add(id);
  const kids = children.get(id);
  if (kids) for (const kid of kids) collectSubtree(children, entryIds, kid, into);
}

function removeSubtreeFromTree(children: Map<string, Set<string>>, entryIds: Set<string>, id: string): void {
  const drop = (node: string) => {
    entryIds.delete(node);
    const kids = children.get(node);
    if (kids) for (const kid of kids) drop(kid);
    children.delete(node);
  };
  drop(id);
  children.get(parentOf(id))?.delete(id);
}
