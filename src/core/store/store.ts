/**
 * The content store: the storage engine seen through an in-memory cache of decoded entries and a
 * tree of ids. API writes update both at once; changes made elsewhere (people editing files,
 * `git pull`, another node) arrive through the engine's change feed, or, where it has none, are
 * noticed by re-checking revisions. It talks to the engine only through StorageEngine.
 */
import { createHash } from 'node:crypto';
import type { BulkRead, CopyTransform, Revision, StorageEngine, StoredEntry, WriteOptions } from '../../storage/engine.js';
import type { Fields } from '../../storage/serializers/index.js';
import { WriteLocks } from '../locks.js';
import type { PlainObject } from '../util.js';
import { EntryCache, JsonTexts, StoredRecord, type CachedEntry } from './cache.js';
import { ChangeListeners, OutsideChanges, stillCurrent, type StoreChange, type StoreChangeListener } from './changes.js';
import { indexStamp, PersistedIndex, type IndexRecord } from './persisted.js';
import { runSliced } from '../query/execute.js';
import { IdTree, listAll } from './tree.js';

export type { CachedEntry } from './cache.js';
export type { StoreChange, StoreChangeListener } from './changes.js';

/** Turns stored fields into what the API answers (system fields, dates, private fields hidden). */
export type Presenter = (id: string, fields: Fields, meta: Revision) => PlainObject;

export interface StoreOptions {
  cacheEnabled: boolean;
  maxEntries: number;
  /** How many entries keep their view's JSON text at once (0: none, built per answer). */
  jsonMaxEntries?: number;
  watch: boolean;
  /** Above this many entries, the change feed is not started (memory); revisions are checked instead. */
  watchMaxEntries: number;
  pollInterval: number;
  /** Ids listings may show (the core's id rules); others are left out of every listing. */
  listable?: (id: string) => boolean;
  /** The persisted index (see persisted.ts): its file, and the settings that change decoding. */
  index?: { file: string; settings: unknown };
}

export interface Logger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/** The ETag of a stored version: its revision in quotes. */
export function etagOf(meta: Revision): string {
  return `"${meta.revision}"`;
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

/**
 * The fields with long top-level strings copied out of the file text they were sliced from (the
 * body of a front-matter file is a slice that keeps the whole file text alive in V8).
 */
function ownStrings(fields: Fields): Fields {
  let out: Fields | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'string' && value.length >= 64) {
      out ??= { ...fields };
      out[key] = Buffer.from(value, 'utf8').toString('utf8');
    }
  }
  return out ?? fields;
}

/** Entries per bulk read while preloading. */
const PRELOAD_BATCH = 1024;
/** A getMany of at least this many ids waits for a running preload instead of reading them itself. */
const WAIT_FOR_PRELOAD = 1000;

interface PreloadBatch {
  wanted: string[];
  tickets: string[];
  results: BulkRead[];
}

export class ContentStore {
  readonly locks = new WriteLocks();
  private readonly cache: EntryCache;
  private readonly jsonTexts: JsonTexts;
  private readonly tree: IdTree;
  private readonly listeners: ChangeListeners;
  private readonly outside: OutsideChanges;
  private epoch = 0;
  /** Counts every change to any entry (renders that listed collections are checked against it). */
  private changes = 0;
  private readonly generation = new Map<string, number>();
  private preloadStopped = false;
  /** The stat passes started while the tree was walked (see warm). */
  private earlyScan: Promise<boolean> | undefined;
  /** Settles when the running preload ends (undefined: none runs). */
  private preloadRun: Promise<unknown> | undefined;
  /**
   * True from `beginStart` until the change feed runs (or is known not to): entries read then are
   * answered but not cached, since an edit made before the feed starts would go unnoticed.
   */
  private startingUp = false;
  private readonly persisted: PersistedIndex | undefined;
  /** `changes` when the persisted index was last written (undefined: never). */
  private savedAt: number | undefined;
  private saving: Promise<void> | undefined;
  /** What the last preload did (tests, logs): entries taken from the persisted index vs parsed. */
  lastPreload: { entries: number; reused: number; parsed: number; indexLoaded: boolean; ms: number } | undefined;

  constructor(
    readonly engine: StorageEngine,
    private readonly present: Presenter,
    private readonly options: StoreOptions,
    private readonly log?: Logger,
  ) {
    this.cache = new EntryCache(options.maxEntries);
    this.jsonTexts = new JsonTexts(options.jsonMaxEntries ?? options.maxEntries);
    this.persisted = options.index ? new PersistedIndex(options.index.file, log) : undefined;
    this.listeners = new ChangeListeners(log);
    this.tree = new IdTree(engine, options.listable, (changed) => {
      // A rescan without a feed found ids that appeared or vanished meanwhile.
      for (const id of changed) this.listeners.emit({ kind: 'entry', id, origin: 'outside' });
    });
    this.outside = new OutsideChanges(
      {
        engine,
        cache: this.cache,
        tree: this.tree,
        locks: this.locks,
        bump: (id) => this.changed(id),
        clear: () => this.clear(),
        emit: (change) => this.listeners.emit(change),
      },
      log,
    );
  }

  /**
   * Calls `listener` synchronously after every change the store learns of (its own writes, moves,
   * copies and removes; outside changes; clear). Returns the function that unsubscribes.
   */
  onChange(listener: StoreChangeListener): () => void {
    return this.listeners.add(listener);
  }

  /** Changes whenever any entry changes, appears, vanishes or moves (validates cached renders). */
  get version(): number {
    return this.tree.version + this.changes;
  }

  /** The current ETag of `id` known without the engine: null when known missing, undefined when unknown. */
  peekEtag(id: string): string | null | undefined {
    if (!this.outside.active) return undefined;
    const cached = this.cache.get(id);
    if (cached) return cached.etag;
    if (this.tree.hasEntry(id) === false) return null;
    return undefined;
  }

  /** How long a cached entry is trusted without a change feed (ms). */
  get pollInterval(): number {
    return this.options.pollInterval;
  }

  /** False when every read goes to the engine (nothing may be answered from memory). */
  get cacheEnabled(): boolean {
    return this.options.cacheEnabled;
  }

  /** True when outside changes are reported by the engine's feed rather than found by re-checking revisions. */
  get isWatching(): boolean {
    return this.outside.active;
  }

  // ---- reading -------------------------------------------------------------------------------

  /** The cached entry when it can be trusted without asking the engine (a feed runs), else undefined. */
  peek(id: string): CachedEntry | undefined {
    return this.outside.active ? this.cache.get(id) : undefined;
  }

  async get(id: string): Promise<CachedEntry | undefined> {
    const cached = this.cache.get(id);
    if (cached) {
      if (this.outside.active || Date.now() - cached.checkedAt < this.options.pollInterval) {
        this.cache.refresh(cached);
        return cached;
      }
      if (await stillCurrent(this.engine, cached)) {
        cached.checkedAt = Date.now();
        return cached;
      }
      this.cache.delete(id);
      this.listeners.emit({ kind: 'entry', id, origin: 'outside' });
    }
    const ticket = this.ticket(id);
    const stored = await this.engine.read(id);
    if (!stored) return undefined;
    return this.remember(stored, ticket);
  }

  /**
   * The entry as stored right now, always read from the engine (never the cache). Writers use
   * this for read-modify-write, so an outside edit made a moment ago is never overwritten with an
   * older cached copy; the write then names this revision as `expected`.
   */
  async getFresh(id: string): Promise<CachedEntry | undefined> {
    const ticket = this.ticket(id);
    const stored = await this.engine.read(id);
    const cached = this.cache.get(id);
    if (!stored) {
      if (this.cache.delete(id)) {
        this.changed(id);
        this.listeners.emit({ kind: 'entry', id, origin: 'outside' });
      }
      return undefined;
    }
    const entry = this.remember(stored, ticket);
    if (cached && cached.meta.revision !== stored.meta.revision) this.listeners.emit({ kind: 'entry', id, origin: 'outside' });
    return entry;
  }

  /** The stored revision of `id` (also of an entry that cannot be parsed), or undefined. */
  revision(id: string): Promise<Revision | undefined> {
    return this.engine.revision(id);
  }

  /**
   * Reads race with writes: a read that began before a write (or a delete) and ends after it
   * holds the old version and must not replace the newer cached state. A ticket taken before the
   * read tells whether anything changed that id meanwhile.
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
    if (this.cache.has(id) && this.outside.active) return true;
    return (await this.engine.revision(id)) !== undefined;
  }

  /** The JSON text of an entry's unfiltered view (cached). */
  jsonOf(entry: CachedEntry): string {
    return this.jsonTexts.of(entry);
  }

  /** How many entries hold their JSON text now (metrics, tests). */
  get jsonCount(): number {
    return this.jsonTexts.size;
  }

  private remember(stored: StoredEntry, ticket?: string): CachedEntry {
    const fields = ownStrings(stored.fields);
    const entry = new StoredRecord(stored.id, fields, stored.meta, this.present(stored.id, fields, stored.meta), Date.now(), this.cache.stamp());
    if (this.options.cacheEnabled && !this.startingUp && (ticket === undefined || ticket === this.ticket(stored.id))) this.cache.set(entry);
    return entry;
  }

  private ensureTree(): Promise<void> {
    return this.tree.ensure(
      (builtAt) => !this.outside.active && Date.now() - builtAt > this.options.pollInterval,
      (err) => this.log?.warn({ err: err.message }, 'rescan failed'),
    );
  }

  /** Entry ids below `id` within `maxDepth` levels, in natural id order, with their depth. */
  async descendants(id: string, maxDepth: number): Promise<readonly { id: string; depth: number }[]> {
    await this.ensureTree();
    return runSliced(this.tree.descendantsSteps(id, maxDepth));
  }

  /** True when `id` is an entry or leads to entries (a collection can be listed). */
  async exists(id: string): Promise<boolean> {
    if (id === '') return true;
    await this.ensureTree();
    return this.tree.hasNode(id) || (await this.has(id));
  }

  /** Loads many entries (aligned with `targets`; undefined where unreadable), a bounded number at a time. */
  async getMany(targets: readonly { id: string }[], onSkip?: (id: string, reason: string) => void): Promise<(CachedEntry | undefined)[]> {
    // A large listing (the first collection query at start-up) would read, parse and decode the
    // same files the preload is reading, at a fraction of its speed: it waits for the cache instead.
    if (this.preloadRun && targets.length >= WAIT_FOR_PRELOAD) await this.preloadRun;
    const out: (CachedEntry | undefined)[] = new Array(targets.length);
    const missing: number[] = [];
    const trusted = this.outside.active;
    let sliceStart = performance.now();
    for (let i = 0; i < targets.length; i++) {
      // 100k lookups take tens of ms on a busy machine: other requests go first now and then (issue 12).
      if ((i & 8191) === 8191 && performance.now() - sliceStart >= 10) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      const hit = trusted ? this.cache.get(targets[i]!.id) : undefined;
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
            // An unparsable entry is skipped in collections (logged, and counted for the caller), not fatal to the query.
            this.log?.warn({ id, err: (err as Error).message }, 'entry skipped: it cannot be read');
            onSkip?.(id, (err as Error).message);
          }
        }),
      );
    }
    return out;
  }

  /**
   * Decodes every entry into the cache, a slice at a time, yielding to requests in between, so
   * the first collection query does not pay for reading the whole tree. Stops early when closed.
   * With a bulk-reading engine, entries whose stored revision equals the persisted index's are
   * taken from it without reading or parsing their files again.
   */
  preload(): Promise<number> {
    return this.preloadWhen(Promise.resolve(true));
  }

  /**
   * Preloads once `ready` resolves true (start-up done: the id tree built, the change feed
   * running); large reads meanwhile already wait for it instead of reading the files themselves.
   */
  preloadWhen(ready: Promise<boolean>): Promise<number> {
    if (!this.options.cacheEnabled) return Promise.resolve(0);
    const run = ready.then((ok) => (ok ? this.preloadAll() : 0));
    const settled = run.catch(() => undefined).finally(() => {
      if (this.preloadRun === settled) this.preloadRun = undefined;
    });
    this.preloadRun = settled;
    return run;
  }

  private async preloadAll(): Promise<number> {
    const started = Date.now();
    await this.ensureTree();
    const ids = this.tree.entryIdList().slice(0, this.options.maxEntries);
    if (!this.engine.readMany) {
      let loaded = 0;
      for (let start = 0; start < ids.length && !this.preloadStopped; start += 256) {
        const slice = await this.getMany(ids.slice(start, start + 256).map((id) => ({ id })));
        loaded += slice.filter((entry) => entry !== undefined).length;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (!this.preloadStopped) this.preloaded(started, loaded, { reused: 0, parsed: loaded }, undefined);
      return loaded;
    }
    const records = await this.loadIndex();
    const counts = { reused: 0, parsed: 0 };
    // A change meanwhile (an outside subtree event, a clear) makes the reads of a batch in flight
    // unfit for the cache (tickets); such ids get one more pass, so the index comes out whole.
    let todo = ids;
    for (let pass = 0; pass < 2 && todo.length > 0 && !this.preloadStopped; pass++) {
      // Two batches in flight: the worker reads (and decodes) the next while this thread caches one.
      let next = this.readBatch(todo.slice(0, PRELOAD_BATCH), records);
      for (let start = 0; start < todo.length && !this.preloadStopped; start += PRELOAD_BATCH) {
        const current = await next;
        next = start + PRELOAD_BATCH < todo.length ? this.readBatch(todo.slice(start + PRELOAD_BATCH, start + 2 * PRELOAD_BATCH), records) : Promise.resolve(undefined);
        if (current) this.cacheBatch(current, records, counts);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await next.catch(() => undefined);
      todo = ids.filter((id) => !this.cache.has(id));
    }
    const loaded = ids.length - todo.length;
    if (!this.preloadStopped) this.preloaded(started, loaded, counts, records);
    return loaded;
  }

  /** Reads the ids not cached yet in one bulk call (tickets taken first); those the index holds at their current revision are not parsed. */
  private async readBatch(slice: readonly string[], records: Map<string, IndexRecord> | undefined): Promise<PreloadBatch | undefined> {
    if (this.preloadStopped) return undefined;
    const wanted = slice.filter((id) => !this.cache.has(id));
    const tickets = wanted.map((id) => this.ticket(id));
    const results = await this.engine.readMany!(wanted, records ? wanted.map((id) => records.get(id)?.revision) : undefined);
    return { wanted, tickets, results };
  }

  private cacheBatch(batch: PreloadBatch, records: Map<string, IndexRecord> | undefined, counts: { reused: number; parsed: number }): void {
    const { wanted, tickets, results } = batch;
    for (let i = 0; i < wanted.length; i++) {
      const id = wanted[i]!;
      const result = results[i]!;
      if (result.kind === 'same') {
        this.remember({ id, fields: records!.get(id)!.fields, meta: result.meta }, tickets[i]);
        counts.reused++;
      } else if (result.kind === 'entry') {
        this.remember(result.entry, tickets[i]);
        counts.parsed++;
      } else if (result.kind === 'error') {
        this.log?.warn({ id, err: result.error.message }, 'entry skipped: it cannot be read');
      }
    }
  }

  /** Logs the end of preloading ("fully indexed") and writes the persisted index when it differs. */
  private preloaded(started: number, loaded: number, counts: { reused: number; parsed: number }, records: Map<string, IndexRecord> | undefined): void {
    const ms = Date.now() - started;
    this.lastPreload = { entries: loaded, ...counts, indexLoaded: records !== undefined, ms };
    this.log?.info({ entries: loaded, ...counts, ms }, 'preload done: fully indexed');
    if (counts.parsed > 0 || records === undefined || records.size !== loaded) {
      void this.saveIndex().catch((err: Error) => this.log?.warn({ err: err.message }, 'could not write the persisted index'));
    } else {
      this.savedAt = this.changes;
    }
  }

  private async stampOfIndex(): Promise<string | undefined> {
    if (!this.persisted || !this.engine.identity) return undefined;
    return indexStamp({ identity: await this.engine.identity(), settings: this.options.index!.settings });
  }

  private async loadIndex(): Promise<Map<string, IndexRecord> | undefined> {
    const stamp = await this.stampOfIndex();
    if (!stamp) return undefined;
    const started = Date.now();
    const records = await this.persisted!.load(stamp);
    if (records) this.log?.info({ entries: records.size, ms: Date.now() - started }, 'persisted index loaded');
    return records;
  }

  /** Writes the cached entries to the persisted index (one write at a time; skipped when nothing changed). */
  saveIndex(): Promise<void> {
    this.saving ??= (async () => {
      try {
        const stamp = await this.stampOfIndex();
        if (!stamp || this.savedAt === this.changes) return;
        const at = this.changes;
        const started = Date.now();
        const cache = this.cache;
        function* records(): Generator<[string, IndexRecord]> {
          for (const id of [...cache.keys()]) {
            const entry = cache.get(id);
            if (entry) yield [id, { revision: entry.meta.revision, fields: entry.fields }];
          }
        }
        const count = await this.persisted!.save(stamp, records());
        this.savedAt = at;
        this.log?.info({ entries: count, ms: Date.now() - started, file: this.persisted!.file }, 'persisted index written');
      } finally {
        this.saving = undefined;
      }
    })();
    return this.saving;
  }

  /** Builds the id tree now (e.g. at start-up), so the first collection query is fast. */
  async warm(): Promise<number> {
    if (this.startingUp && this.options.watch && this.options.cacheEnabled && this.engine.scanChanges && !this.earlyScan) {
      // Too many entries to watch: the stat passes' first pass (tens of seconds at a million
      // entries) runs while the tree is still being walked instead of after it.
      this.tree.progress = (entries) => {
        if (this.earlyScan || entries <= this.options.watchMaxEntries) return;
        this.log?.info({ entries: `more than ${this.options.watchMaxEntries}`, limit: this.options.watchMaxEntries }, 'large project: stat passes instead of watching');
        this.earlyScan = this.outside.startScanning(this.options.pollInterval);
      };
    }
    try {
      await this.ensureTree();
    } finally {
      this.tree.progress = undefined;
    }
    return this.tree.size;
  }

  // ---- writing (callers hold the matching lock) -----------------------------------------------

  /**
   * Writes an entry; with `expected`, only while its stored revision is still that one (else
   * StorageError 'conflict'); with `create`, only while it does not exist (else 'exists').
   */
  async write(id: string, fields: Fields, options: WriteOptions = {}): Promise<CachedEntry> {
    const meta = await this.engine.write(id, fields, options.expected === undefined && !options.create ? undefined : options);
    this.changed(id);
    const entry = this.remember({ id, fields, meta });
    this.tree.add(id);
    this.listeners.emit({ kind: 'entry', id, origin: 'api' });
    return entry;
  }

  /**
   * Replaces an entry's stored text as given (the raw editor); with `expected`, only while its
   * revision is still that one. Answers the entry as read back.
   */
  async writeSource(id: string, text: string, extension: string, options: { expected?: string } = {}): Promise<CachedEntry | undefined> {
    await this.engine.writeSource(id, text, extension, options.expected === undefined ? undefined : { expected: options.expected });
    this.changed(id);
    this.cache.delete(id);
    this.tree.add(id);
    this.listeners.emit({ kind: 'entry', id, origin: 'api' });
    const stored = await this.engine.read(id);
    return stored ? this.remember(stored) : undefined;
  }

  /** The entry's stored text (for raw editing and exports), or undefined. */
  readSource(id: string): Promise<{ text: string; extension: string } | undefined> {
    return this.engine.readSource(id);
  }

  async move(id: string, newId: string): Promise<void> {
    await this.engine.move(id, newId);
    this.forgetSubtree(id);
    this.forgetSubtree(newId);
    const moved = await listAll(this.engine, newId);
    this.tree.replaceSubtree(id, moved);
    this.listeners.emit({ kind: 'subtree', id, origin: 'api' });
    this.listeners.emit({ kind: 'subtree', id: newId, origin: 'api' });
  }

  async copy(id: string, newId: string, transform: CopyTransform): Promise<void> {
    await this.engine.copy(id, newId, transform);
    this.forgetSubtree(newId);
    this.tree.addAll(await listAll(this.engine, newId));
    this.listeners.emit({ kind: 'subtree', id: newId, origin: 'api' });
  }

  async remove(id: string): Promise<void> {
    await this.engine.remove(id);
    this.forgetSubtree(id);
    this.tree.removeSubtree(id);
    this.listeners.emit({ kind: 'subtree', id, origin: 'api' });
  }

  private forgetSubtree(id: string): void {
    this.changed();
    this.cache.deleteWithin(id);
  }

  /** Drops every cached entry and the id tree; stored content is untouched. */
  clear(): void {
    this.changed();
    this.cache.clear();
    this.jsonTexts.clear();
    this.tree.clear();
    this.listeners.emit({ kind: 'clear' });
  }

  get cachedCount(): number {
    return this.cache.size;
  }

  /** Entries in the id tree; undefined while it is not built (before start-up, after clear()). */
  get entryCount(): number | undefined {
    return this.tree.loaded ? this.tree.size : undefined;
  }

  // ---- outside changes -----------------------------------------------------------------------

  /** Start-up begins: reads are answered but not cached until `startWatching` has decided. */
  beginStart(): void {
    this.startingUp = true;
  }

  /**
   * Starts the engine's change feed: watches up to `watchMaxEntries` entries, else (or when
   * watching fails, e.g. at the inotify limit) stat passes every `pollInterval`; returns false
   * (revisions re-checked instead) when neither is available or watching is off.
   */
  async startWatching(): Promise<boolean> {
    try {
      if (!this.options.watch || !this.options.cacheEnabled) return false;
      if (this.earlyScan) return await this.earlyScan;
      const size = this.tree.size;
      if (size <= this.options.watchMaxEntries && (await this.outside.start())) return true;
      if (size > this.options.watchMaxEntries) this.log?.info({ entries: size, limit: this.options.watchMaxEntries }, 'large project: stat passes instead of watching');
      return await this.outside.startScanning(this.options.pollInterval);
    } finally {
      this.startingUp = false;
    }
  }

  /** How outside changes are found now: 'watch', 'scan' (stat passes) or undefined (revisions re-checked). */
  get changeFeedMode(): 'watch' | 'scan' | undefined {
    return this.outside.mode;
  }

  /** Stat passes done so far (0 without them). */
  get scanPasses(): number {
    return this.outside.passes;
  }

  /** Stops preloading and the change feed; writes the persisted index when entries changed since. */
  async stopWatching(): Promise<void> {
    this.preloadStopped = true;
    await this.outside.stop();
    if (this.persisted && this.savedAt !== undefined && this.savedAt !== this.changes) {
      await this.saveIndex().catch((err: Error) => this.log?.warn({ err: err.message }, 'could not write the persisted index'));
    } else if (this.saving) {
      await this.saving.catch(() => undefined);
    }
  }
}
