/**
 * Rendered views, kept only while everything they read is unchanged (SPEC §9.1 [ours]: never
 * stale). An entry is keyed by its own revision (ETag); a hit is re-validated against the current
 * revision of every entry it read and the version of every folder it listed. Renders that used
 * time, chance, files or request variables are never kept.
 */
import type { PlainObject } from '../util.js';
import type { Dependencies } from './session.js';

export interface RenderedView {
  /** The entry's own revision the view was rendered from. */
  etag: string;
  /** The ETag of this rendering (answered to clients). */
  tag: string;
  /** `fields` as JSON. */
  json: string;
  /** Fields after rendering, `_` fields and `macros` still present (see entry.ts). */
  fields: PlainObject;
  deps: Dependencies;
}

/** What validation asks of the store, answered from memory (never touching the disk). */
export interface RevisionSource {
  /** Current ETag; null when known to be missing; undefined when unknown without a disk read. */
  peekEtag(id: string): string | null | undefined;
  /** A number that changes whenever an entry below `folder` appears, vanishes or moves. */
  folderVersion(folder: string): number;
}

export class RenderCache {
  private readonly views = new Map<string, RenderedView>();
  /** Lookups that found a valid view, and those that did not (for metrics). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly source: RevisionSource,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.views.size;
  }

  /** The cached view of `id` at revision `etag`, if every dependency is still as it was read. */
  get(id: string, etag: string): RenderedView | undefined {
    const view = this.views.get(id);
    if (view === undefined) {
      this.misses++;
      return undefined;
    }
    if (view.etag !== etag || !this.valid(view.deps)) {
      this.views.delete(id);
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: the Map's order is the recency order for eviction.
    this.views.delete(id);
    this.views.set(id, view);
    return view;
  }

  private valid(deps: Dependencies): boolean {
    for (const [id, etag] of deps.entries) {
      const current = this.source.peekEtag(id);
      if (current === undefined || current !== etag) return false;
    }
    for (const [folder, version] of deps.folders) {
      if (this.source.folderVersion(folder) !== version) return false;
    }
    return true;
  }

  set(id: string, view: RenderedView): void {
    if (view.deps.volatile || this.maxEntries <= 0) return;
    this.views.delete(id);
    this.views.set(id, view);
    while (this.views.size > this.maxEntries) {
      const oldest = this.views.keys().next().value;
      if (oldest === undefined) break;
      this.views.delete(oldest);
    }
  }

  clear(): void {
    this.views.clear();
  }
}
