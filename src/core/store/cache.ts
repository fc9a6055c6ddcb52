/** The cache of decoded entries: a Map in LRU order, bounded by `maxEntries`. */
import type { Revision } from '../../storage/engine.js';
import type { Fields } from '../../storage/serializers/index.js';
import { isWithin } from '../ids.js';
import type { PlainObject } from '../util.js';

export interface CachedEntry {
  readonly id: string;
  /** The fields as stored. Never mutated: writes build a new object. */
  readonly fields: Fields;
  /** The stored version this entry was read from (revision, times, size). */
  readonly meta: Revision;
  /** The entry as the API answers it, before any filter. Never mutated. */
  readonly view: PlainObject;
  /** The ETag: the revision in quotes; changes whenever the stored entry changes (derived, not stored). */
  readonly etag: string;
  /** `view` as JSON, built on first use; dropped again beyond `cache.json_max_entries` (JsonTexts). */
  json?: string;
  /** Whether rendering cannot change this entry (decided by the renderer on first use). */
  plain?: boolean;
  checkedAt: number;
  /** The cache's LRU clock when the entry was last put at the young end of the order. */
  lruAt: number;
}

export class EntryCache {
  private readonly map = new Map<string, CachedEntry>();
  /** Counts moves to the young end of the LRU order. */
  private clock = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  get(id: string): CachedEntry | undefined {
    return this.map.get(id);
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  delete(id: string): boolean {
    return this.map.delete(id);
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  clear(): void {
    this.map.clear();
  }

  /** A fresh LRU stamp for a new entry object. */
  stamp(): number {
    return ++this.clock;
  }

  /** Puts the entry at the young end, dropping the oldest one beyond the bound. */
  set(entry: CachedEntry): void {
    this.map.delete(entry.id);
    this.map.set(entry.id, entry);
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  /**
   * Moves an entry to the young end of the LRU order, but only once it has drifted into the older
   * half: in V8, delete + set on a large Map rehashes the whole table (about 10 µs at 10,000
   * entries, 20 µs at 100,000), which made every cached GET slower the larger the project.
   */
  refresh(entry: CachedEntry): void {
    if (this.clock - entry.lruAt <= this.map.size >> 1) return;
    this.map.delete(entry.id);
    this.map.set(entry.id, entry);
    entry.lruAt = ++this.clock;
  }

  /** Drops `id` and everything cached below it. */
  deleteWithin(id: string): void {
    for (const key of [...this.map.keys()]) if (isWithin(key, id)) this.map.delete(key);
  }
}

/**
 * A cached entry. The ETag is derived from the revision on each use instead of being kept (a
 * few hundred bytes per entry at a million entries, for a concatenation per answer).
 */
export class StoredRecord implements CachedEntry {
  json?: string;
  plain?: boolean;
  constructor(
    readonly id: string,
    readonly fields: Fields,
    readonly meta: Revision,
    readonly view: PlainObject,
    public checkedAt: number,
    public lruAt: number,
  ) {}

  get etag(): string {
    return `"${this.meta.revision}"`;
  }
}

/**
 * Bounds the entries that keep their view's JSON text (the rendered-view cache of plain entries):
 * the text is the largest part of a cached entry, and only recently answered ones need it.
 */
export class JsonTexts {
  private readonly holders = new Set<CachedEntry>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.holders.size;
  }

  of(entry: CachedEntry): string {
    if (entry.json !== undefined) return entry.json;
    const json = JSON.stringify(entry.view);
    if (this.maxEntries <= 0) return json;
    entry.json = json;
    this.holders.add(entry);
    if (this.holders.size > this.maxEntries) {
      const oldest = this.holders.values().next().value!;
      this.holders.delete(oldest);
      oldest.json = undefined;
    }
    return json;
  }

  clear(): void {
    for (const entry of this.holders) entry.json = undefined;
    this.holders.clear();
  }
}
