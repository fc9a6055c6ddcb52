/**
 * The storage engine interface: what the content core needs from a place that keeps entries,
 * stated without files in mind. Two engines implement it (files under `entries/`, PostgreSQL) and
 * one conformance suite (`conformance.ts`) holds both to it; the core never asks which one it has.
 *
 * Ids are the core's normalized entry ids ('' is the root, never an entry). Every method that
 * changes entries is atomic: it happens completely or not at all, and readers never see a half.
 */
import type { Fields, Serializer } from './serializers/index.js';

export interface EntryFormat {
  filename: string;
  extension: string;
  serializer: Serializer;
}

/** Decides the file name and serializer of an id (from the collections in the settings). */
export type FormatResolver = (id: string) => EntryFormat;

/**
 * One version of one entry. `revision` changes with every change of the entry (by the API, by
 * another node, by an editor on disk) and never comes back to an earlier value for the same id;
 * the ETag is built from it. The times are what `modified_at` and `options.find` (date, sort by
 * mtime/ctime/atime) see; `size` is the stored text's length in bytes.
 */
export interface Revision {
  revision: string;
  mtimeMs: number;
  ctimeMs: number;
  atimeMs: number;
  size: number;
}

export interface WriteOptions {
  /** Only while the stored revision is still this one (else 'conflict'). */
  expected?: string;
  /** Only while the entry does not exist (else 'exists'). */
  create?: boolean;
}

export interface StoredEntry {
  id: string;
  fields: Fields;
  meta: Revision;
}

/** One entry as stored text, for bulk writes. */
export interface SourceItem {
  id: string;
  text: string;
  extension: string;
}

/** One answer of `readMany`. */
export type BulkRead =
  | { kind: 'missing' }
  | { kind: 'same'; meta: Revision }
  | { kind: 'entry'; entry: StoredEntry }
  | { kind: 'error'; error: Error };

/** Applied to each entry while a subtree is copied, before the copy becomes visible. */
export type CopyTransform = (id: string, fields: Fields) => Fields;

/**
 * A change the engine saw that the core did not make through this engine object: an editor or
 * `git pull` on disk, or another node writing to the same database. `subtree` means the id and
 * everything below it may have changed (a folder renamed, a subtree moved or deleted). `resync`
 * means changes may have been missed (a lost database connection, a watcher overflow): every cached
 * entry must be re-checked.
 */
export type EngineChange =
  // `revision`, when the engine knows it: the entry's revision after the change (the core then needs no re-read to compare).
  | { kind: 'entry'; id: string; revision?: string }
  | { kind: 'subtree'; id: string }
  | { kind: 'resync' };

export interface ChangeFeed {
  close(): Promise<void> | void;
}

export interface StorageEngine {
  /** 'files' or 'postgres': for messages, metrics and the CLI only, never for decisions in the core. */
  readonly kind: string;
  /** Where the entries are, for messages (a folder, or a database URL without its password). */
  readonly location: string;
  /**
   * Prepares the engine (database schema migrations, leftovers of an interrupted write); returns how
   * many leftovers were cleaned. With `deferRecovery`, an engine whose recovery needs a full walk
   * may do it during the next full `list()` instead (one walk at start-up, not two), removing only
   * leftovers older than this call, so writes that began meanwhile are never touched.
   */
  open(options?: { deferRecovery?: boolean }): Promise<{ recovered: number }>;
  /** Releases connections and watchers; pending writes finish first. */
  close(): Promise<void>;

  /** Throws (with a reason fit for a public readiness answer: no path, no URL) when the engine cannot serve now. */
  ping(): Promise<void>;

  /** The entry's fields and revision, or undefined when it does not exist. */
  read(id: string): Promise<StoredEntry | undefined>;
  /** The entry's current revision without its fields (a stat, a narrow SELECT), or undefined. */
  revision(id: string): Promise<Revision | undefined>;
  /**
   * The entry as stored text (its file's text; for the database, the text the file would hold),
   * or undefined. Used by exports, byte-for-byte round trips and raw editors.
   */
  readSource(id: string): Promise<{ text: string; extension: string } | undefined>;
  /**
   * Replaces (or creates) the entry atomically. The parent folder is created if needed. With
   * `expected`, the write happens only while the entry's revision is still that one (else a
   * StorageError 'conflict'), so a read-modify-write never overwrites a change made meanwhile by
   * another writer (another node, an editor). With `create`, only while the entry does not exist
   * (else StorageError 'exists'), checked and written in one step, so two writers creating the same
   * id never both succeed. A stored text that is not valid UTF-8 is refused ('not_utf8'), never
   * rewritten.
   */
  write(id: string, fields: Fields, options?: WriteOptions): Promise<Revision>;
  /**
   * Writes an entry from its stored text as is (imports, restores, raw editors): byte-for-byte
   * where the engine keeps text. With `expected`, only while the stored revision is still that
   * one (else StorageError 'conflict'; a missing entry is a conflict too).
   */
  writeSource(id: string, text: string, extension: string, options?: { expected?: string }): Promise<Revision>;
  /**
   * Optional, for bulk copies: `writeSource` for many entries in one step (one statement instead of
   * one per entry). Returns, per item, undefined when written or the StorageError that refused it
   * (the other items are written all the same).
   */
  writeSources?(items: readonly SourceItem[]): Promise<(StorageError | undefined)[]>;
  /** Optional, for bulk copies: the stored texts of many ids at once (ids without an entry are absent). */
  readSources?(ids: readonly string[]): Promise<Map<string, { text: string; extension: string }>>;
  /** Moves an entry with all its children in one step; the target must not exist ('exists'). */
  move(id: string, newId: string): Promise<void>;
  /** Copies an entry with all its children; the copy appears at once, complete. */
  copy(id: string, newId: string, transform: CopyTransform): Promise<void>;
  /** Deletes an entry with all its children; it disappears at once, or on failure nothing changes. */
  remove(id: string): Promise<void>;

  /** Ids of the direct children of `id` that are entries or lead to entries, in no particular order. */
  children(id: string): Promise<string[]>;
  /** Every entry id at or below `under` (default: all), streamed in batches (constant memory). */
  list(under?: string): AsyncIterable<string[]>;

  /**
   * Optional bulk read (start-up preload): many entries at once, far cheaper per entry than `read`.
   * Where `known[i]` is the revision the caller already holds the fields of, and it is still the
   * stored one, the entry is not read again ('same', with its current revision).
   */
  readMany?(ids: readonly string[], known?: readonly (string | undefined)[]): Promise<BulkRead[]>;
  /** Optional: what identifies the place behind the engine (the entries folder's device and inode), for persisted indexes. */
  identity?(): Promise<string>;

  /**
   * Starts reporting outside changes (see EngineChange). Optional: without it (or when it throws,
   * e.g. the inotify limit) the core re-checks revisions instead of trusting its cache.
   */
  changes?(listener: (change: EngineChange) => void, onError: (err: Error) => void): Promise<ChangeFeed>;

  /**
   * Optional: a change feed found by periodic stat passes instead of watches (projects too large
   * to watch, or where watching fails). Resolves once the first pass recorded the current state;
   * a change is then reported at most one pass plus `intervalMs` later.
   */
  scanChanges?(listener: (change: EngineChange) => void, onError: (err: Error) => void, options: { intervalMs: number; onPass?: (pass: number, ms: number) => void }): Promise<ChangeFeed>;

  /**
   * Optional query push-down: answers the part of a collection query the engine can answer with
   * exactly the in-memory rules (see PushdownQuery), or undefined to let the core run it in memory.
   * Entries that compare equal are answered in `idOrder` (the core's natural id order).
   */
  pushdown?(query: PushdownQuery, idOrder: (a: string, b: string) => number): Promise<PushdownAnswer | undefined>;

  /**
   * Optional counters shared by every node on the same store (PostgreSQL): token calls and the
   * failure brake, atomic in the database. Without it, one process is the only counter.
   */
  readonly coordination?: EngineCoordination;
}

/** Counters that stay exact when many server processes use them at once. */
export interface EngineCoordination {
  /**
   * Grants up to `want` calls of a token at once, never so many that the token's total passes
   * `limit` (0: no limit); the grant is counted immediately. Returns how many were granted (0..want).
   */
  reserveCalls(tokenId: string, want: number, limit: number): Promise<number>;
  /** Adds `count` calls (may be negative, to give back an unused reservation); returns the new total. */
  addCalls(tokenId: string, count: number): Promise<number>;
  /** The token's counted calls (0 when never counted). */
  readCalls(tokenId: string): Promise<number>;
  /** Creates the count with `calls` unless it exists (a token counted before it had one); changes nothing else. */
  seedCalls(tokenId: string, calls: number): Promise<void>;
  /** Sets the count (a token created, or its calls reset by an administrator). */
  setCalls(tokenId: string, calls: number): Promise<void>;
  /**
   * Counts one failure under `key` in a fixed window of `windowMs` that starts with the first
   * failure; returns the failures in the current window, this one included.
   */
  countFailure(key: string, windowMs: number): Promise<number>;
}

/**
 * A collection query as plain data, for engines that can answer it themselves (SQL). The core's
 * planner builds it from its typed plan only for the parts whose result equals the in-memory rules;
 * an engine answers undefined for anything it is not sure of, never an approximation.
 */
export interface PushdownQuery {
  /** Entries below this id ('' for all) at a depth in [minDepth, maxDepth] below it. */
  base: string;
  minDepth: number;
  maxDepth: number;
  /** Subtrees left out (the tokens folder in entry collections). */
  excluded: string[];
  /** A tree of conditions on stored fields (dot paths as segments); undefined means every entry. */
  where: PushdownWhere | undefined;
  sort: { path: string[]; descending: boolean } | undefined;
  offset: number;
  limit: number | undefined;
  /** Also answer `scope`: how many entries the base, depths and exclusions select (before where). */
  countScope?: boolean;
}

export type PushdownWhere =
  | { and: PushdownWhere[] }
  | { or: PushdownWhere[] }
  | { path: string[]; operator: string; value: unknown };

export interface PushdownAnswer {
  /** The ids of the answer's page, in answer order. */
  ids: string[];
  /** How many entries matched before offset and limit (`X-Total-Count`). */
  total: number;
  /** With `countScope`: the entries in scope, so the caller can check it sees the same set. */
  scope?: number;
}

/** A failure the core can explain to a client (target exists, id unsafe, …). */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    message: string,
    /**
     * unsafe: through a link or outside the folder; exists: target taken; missing: not there;
     * unreadable: the stored text cannot be parsed; not_utf8: not UTF-8 (read-only);
     * bad_name: a segment the engine cannot hold; conflict: the revision changed meanwhile;
     * unavailable: the engine cannot be reached now (the database is down): retry later.
     */
    readonly reason: 'unsafe' | 'exists' | 'missing' | 'unreadable' | 'not_utf8' | 'bad_name' | 'conflict' | 'unavailable',
  ) {
    super(message);
  }
}
