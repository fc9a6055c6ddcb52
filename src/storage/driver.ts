/**
 * The storage interface: everything the content core needs from a place that keeps entries.
 * The file-system driver is the first implementation; another engine only has to honour this.
 */
import type { Fields, Serializer } from './serializers/index.js';

export interface EntryFormat {
  filename: string;
  extension: string;
  serializer: Serializer;
}

/** Decides the file name and serializer of an id (from the collections in the settings). */
export type FormatResolver = (id: string) => EntryFormat;

export interface FileStat {
  mtimeMs: number;
  ctimeMs: number;
  atimeMs: number;
  size: number;
  ino: number;
}

export interface StoredEntry {
  id: string;
  fields: Fields;
  stat: FileStat;
}

/** Applied to each entry file while a subtree is copied, before the copy becomes visible. */
export type CopyTransform = (id: string, fields: Fields) => Fields;

export interface StorageDriver {
  /** Parsed fields and file facts of an entry, or undefined when it does not exist. */
  read(id: string): Promise<StoredEntry | undefined>;
  /** The raw text of an entry file (for content searches), or undefined. */
  readRaw(id: string): Promise<string | undefined>;
  stat(id: string): Promise<FileStat | undefined>;
  /**
   * Replaces (or creates) the entry file atomically; the entry's folder is created if needed (and
   * removed again if the write fails). The current file text, if any, goes to the serializer.
   * A file that is not valid UTF-8 is refused (reason 'not_utf8'), never rewritten.
   */
  write(id: string, fields: Fields): Promise<FileStat>;
  /** Moves an entry with all its children; the target must not exist. */
  move(id: string, newId: string): Promise<void>;
  /** Copies an entry with all its children; the copy appears at once, complete. */
  copy(id: string, newId: string, transform: CopyTransform): Promise<void>;
  /**
   * Deletes an entry with all its children; it disappears at once. Either it is gone (even if its
   * files could not all be erased: what is left is hidden, logged, and retried by `recover`) or,
   * on failure, the tree is as it was.
   */
  remove(id: string): Promise<void>;
  /** Removes what an interrupted write left behind (temporary files); run before serving; never fails on a leftover it cannot remove (logs it). */
  recover(): Promise<number>;
  /** Every entry id in the store below `under` (default: all; '' is never an entry). */
  scan(under?: string): Promise<string[]>;
  /**
   * Maps a path reported by a file watcher (relative to the entries folder) to the id it touches;
   * `entryFile` tells whether the path is that entry's own file (else a folder or another file).
   */
  idOfPath(relativePath: string): { id: string; entryFile: boolean } | undefined;
  /**
   * Reports changes made behind the store's back (an editor, `git pull`) as paths relative to the
   * location, for `idOfPath`. Optional: without it the store re-checks file stats instead.
   */
  watch?(listener: (relativePath: string) => void, onError: (err: Error) => void): Promise<StorageWatcher>;
  /** The folder (or other location) being served, for watchers and messages. */
  readonly location: string;
}

export interface StorageWatcher {
  close(): void;
}

/** A failure the store can explain to a client (target folder exists, id unsafe, …). */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    message: string,
    /**
     * unsafe: through a link or outside the folder; exists: target taken; missing: not there;
     * unreadable: the file cannot be parsed; not_utf8: the file is not UTF-8 (read-only);
     * bad_name: a segment the storage cannot hold (an entry file's name, too long).
     */
    readonly reason: 'unsafe' | 'exists' | 'missing' | 'unreadable' | 'not_utf8' | 'bad_name',
  ) {
    super(message);
  }
}
