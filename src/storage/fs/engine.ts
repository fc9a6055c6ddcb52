/**
 * The file engine: one folder per entry, one file per folder, atomic replace on every write.
 * Folders are held open on the way to a file (safe-fs.ts), so no link leads out of `entries/`.
 */
import { promises as fs, type Dirent } from 'node:fs';
import { BulkWorker } from './bulk.js';
import { revisionText, type ReadItem, type ScanChanges } from './bulk-worker.js';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { DecodeError, getSerializer, type Fields } from '../serializers/index.js';
import {
  StorageError,
  type ChangeFeed,
  type CopyTransform,
  type EngineChange,
  type EntryFormat,
  type BulkRead,
  type FormatResolver,
  type Revision,
  type StorageEngine,
  type StoredEntry,
  type WriteOptions,
} from '../engine.js';
import { assertTargetFree, copyTree } from './copy.js';
import { readFileIn, revisionOf, statIn, tempName, TEMP_PREFIX, writeNew } from './files.js';
import { decodeText, errnoOf, HELD_FOLDERS, HeldDir, isMissing, openPath, undoCreated, walkTree, type Folder } from './safe-fs.js';
import { watchTree } from './watch.js';

export { TEMP_PREFIX } from './files.js';

export interface EngineLog {
  warn(obj: object, msg?: string): void;
}

export interface FsEngineOptions {
  /** The entries folder (may be a link, e.g. switched atomically by a deploy: it is followed). */
  root: string;
  resolveFormat: FormatResolver;
  /** fsync files and folders so an acknowledged write survives a crash. */
  durable: boolean;
  /** File operations at once (each holds a few file handles); bounds handle use under any load. */
  maxParallelIo?: number;
  /** Where skipped folders and leftovers are reported. */
  log?: EngineLog;
}

/** Ids per batch of `list` (the id tree loads in such slices, memory flat). */
const LIST_BATCH = 1000;
/** A UTF-16 half without its other half (matched only alone in a u-mode pattern). */
const LONE_SURROGATE = /\p{Cs}/u;

export class FsEngine implements StorageEngine {
  readonly kind = 'files';
  readonly location: string;
  private readonly resolveFormat: FormatResolver;
  private readonly durable: boolean;
  private readonly io: LimitFunction;
  private readonly log: EngineLog | undefined;
  private created = false;
  private readonly feeds = new Set<ChangeFeed>();
  /** The write in flight per id (see `replace`). */
  private readonly replacing = new Map<string, Promise<void>>();
  /** Synchronous bulk walks and reads in a worker thread (Linux, held folders only). */
  private readonly bulk: BulkWorker | undefined = HELD_FOLDERS ? new BulkWorker() : undefined;
  /** Set by open({ deferRecovery }): the next full walk removes leftovers changed before this time. */
  private recoverBefore: number | undefined;

  constructor(options: FsEngineOptions) {
    this.location = path.resolve(options.root);
    this.resolveFormat = options.resolveFormat;
    this.durable = options.durable;
    this.io = pLimit(Math.max(1, options.maxParallelIo ?? 64));
    this.log = options.log;
  }

  private partsOf(id: string): string[] {
    return id === '' ? [] : id.split('/');
  }

  private fileName(format: EntryFormat): string {
    return format.extension ? `${format.filename}.${format.extension}` : format.filename;
  }

  /**
   * The root is opened afresh for every operation, so a deploy that swaps the entries link is
   * followed at once (no cached real path to go stale).
   */
  private async openRoot(): Promise<HeldDir> {
    if (!this.created) {
      await fs.mkdir(this.location, { recursive: true });
      this.created = true;
    }
    return HeldDir.openRoot(this.location);
  }

  /** Runs `fn` with the folder of `parts` held open (one slot of the I/O pool). */
  private inFolder<T>(parts: readonly string[], fn: (dir: HeldDir, root: HeldDir) => Promise<T>, create = false): Promise<T> {
    return this.io(async () => {
      const root = await this.openRoot();
      try {
        const { dir, created } = await openPath(root, parts, create);
        try {
          return await fn(dir, root);
        } catch (err) {
          if (created.length > 0) await undoCreated(root, created);
          throw err;
        } finally {
          if (dir !== root) await dir.close();
        }
      } finally {
        await root.close();
      }
    });
  }

  /** A folder named like its parent's entry file would make the two indistinguishable. */
  private assertNames(parts: readonly string[]): void {
    for (let i = 1; i < parts.length; i++) {
      const parentId = parts.slice(0, i).join('/');
      if (parts[i] === this.fileName(this.resolveFormat(parentId))) {
        throw new StorageError(`segment "${parts[i]}" is the name of the entry files of "${parentId}"`, 'bad_name');
      }
    }
    if (parts.length === 1 && parts[0] === this.fileName(this.resolveFormat(''))) {
      throw new StorageError(`segment "${parts[0]}" is the name of entry files`, 'bad_name');
    }
  }

  /** A missing folder (or a link, which is never followed) means: no entry. */
  private async orNothing<T>(op: Promise<T>): Promise<T | undefined> {
    try {
      return await op;
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'ELOOP' || (err instanceof StorageError && err.reason === 'unsafe')) return undefined;
      throw err;
    }
  }

  async revision(id: string): Promise<Revision | undefined> {
    const format = this.resolveFormat(id);
    const s = await this.orNothing(this.inFolder(this.partsOf(id), (dir) => statIn(dir, this.fileName(format))));
    return s ? revisionOf(s) : undefined;
  }

  async readSource(id: string): Promise<{ text: string; extension: string } | undefined> {
    const format = this.resolveFormat(id);
    const file = await this.orNothing(this.inFolder(this.partsOf(id), (dir) => readFileIn(dir, this.fileName(format))));
    return file ? { text: decodeText(file.bytes).text, extension: format.extension } : undefined;
  }

  private decode(id: string, format: EntryFormat, text: string): Fields {
    try {
      return format.serializer.decode(text);
    } catch (err) {
      if (err instanceof DecodeError) throw new StorageError(`entry "${id}" cannot be parsed: ${err.message}`, 'unreadable');
      throw err;
    }
  }

  async read(id: string): Promise<StoredEntry | undefined> {
    const format = this.resolveFormat(id);
    const file = await this.orNothing(this.inFolder(this.partsOf(id), (dir) => readFileIn(dir, this.fileName(format))));
    if (!file) return undefined;
    // Not UTF-8: served as decoded lossily; `write` refuses to replace it.
    const { text } = decodeText(file.bytes);
    return { id, fields: this.decode(id, format, text), meta: revisionOf(file.stat) };
  }

  write(id: string, fields: Fields, options: WriteOptions = {}): Promise<Revision> {
    const format = this.resolveFormat(id);
    return this.replace(id, options.expected, (previous) => format.serializer.encode(fields, previous), options.create === true);
  }

  async writeSource(id: string, text: string, extension: string, options: { expected?: string } = {}): Promise<Revision> {
    const format = this.resolveFormat(id);
    if (extension !== format.extension) {
      throw new StorageError(`entry "${id}" is kept in a ".${format.extension}" file, not ".${extension}"`, 'bad_name');
    }
    // A lone surrogate has no UTF-8 form: writing it would store something else than was given.
    if (LONE_SURROGATE.test(text)) throw new StorageError(`the text for entry "${id}" is not valid UTF-8`, 'not_utf8');
    return this.replace(id, options.expected, () => text);
  }

  /**
   * Replaces the entry file with `textOf(current text)`, atomically. With `expected`, the file's
   * revision is compared once more right before the rename (a writer in another process may have
   * replaced it meanwhile); a different one refuses with 'conflict' and nothing changes.
   */
  private async replace(id: string, expected: string | undefined, textOf: (previous: string | undefined) => string, create = false): Promise<Revision> {
    // One write per id at a time in this process: the revision check and the rename are two
    // steps, and two writers expecting the same revision must not both pass between them.
    const before = this.replacing.get(id);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.replacing.set(id, mine);
    try {
      if (before) await before;
      return await this.replaceNow(id, expected, textOf, create);
    } finally {
      release();
      if (this.replacing.get(id) === mine) this.replacing.delete(id);
    }
  }

  /** With `create`, only while there is no entry file (checked again right before the rename). */
  private replaceNow(id: string, expected: string | undefined, textOf: (previous: string | undefined) => string, create = false): Promise<Revision> {
    const parts = this.partsOf(id);
    this.assertNames(parts);
    const name = this.fileName(this.resolveFormat(id));
    const conflict = () => new StorageError(`entry "${id}" was changed meanwhile by another writer`, 'conflict');
    const exists = () => new StorageError(`entry "${id}" already exists`, 'exists');
    return this.inFolder(
      parts,
      async (dir) => {
        const current = await readFileIn(dir, name);
        if (expected !== undefined && (!current || revisionOf(current.stat).revision !== expected)) throw conflict();
        if (create && current) throw exists();
        let previous: string | undefined;
        if (current) {
          const decoded = decodeText(current.bytes);
          if (!decoded.valid) {
            throw new StorageError(`entry "${id}" is not valid UTF-8; it is served read-only and cannot be rewritten`, 'not_utf8');
          }
          previous = decoded.text;
        }
        const check =
          expected === undefined && !create
            ? undefined
            : async () => {
                const now = await statIn(dir, name);
                if (create && now) throw exists();
                if (expected !== undefined && (!now || revisionOf(now).revision !== expected)) throw conflict();
              };
        await writeNew(dir, name, textOf(previous), true, this.durable, check);
        if (this.durable) await dir.sync();
        return revisionOf(await fs.lstat(dir.at(name)));
      },
      true,
    );
  }

  /** A child folder that must exist: its absence is the caller's 'missing', not an I/O failure. */
  private async existingChild(dir: HeldDir, name: string, id: string): ReturnType<HeldDir['child']> {
    try {
      return await dir.child(name);
    } catch (err) {
      if (isMissing(err)) throw new StorageError(`entry "${id}" does not exist`, 'missing');
      throw err;
    }
  }

  /** The parent folder and own name of a non-root id. */
  private split(id: string): { parent: string[]; name: string } {
    const parts = this.partsOf(id);
    return { parent: parts.slice(0, -1), name: parts[parts.length - 1]! };
  }

  /** Holds the source's parent folder and the target's parent folder (created if needed) together. */
  private withTwo<T>(id: string, newId: string, fn: (from: HeldDir, to: HeldDir, root: HeldDir) => Promise<T>): Promise<T> {
    const from = this.split(id);
    const to = this.split(newId);
    this.assertNames(this.partsOf(newId));
    return this.inFolder(from.parent, async (fromDir, root) => {
      // The source must be a real folder (never a link) before anything is touched.
      await (await this.existingChild(fromDir, from.name, id)).dir.close();
      const { dir: toDir, created } = await openPath(root, to.parent, true);
      try {
        return await fn(fromDir, toDir, root);
      } catch (err) {
        if (toDir !== root) await toDir.close();
        await undoCreated(root, created);
        throw err;
      } finally {
        if (toDir !== root) await toDir.close();
      }
    });
  }

  async move(id: string, newId: string): Promise<void> {
    const from = this.split(id);
    const to = this.split(newId);
    await this.withTwo(id, newId, async (fromDir, toDir) => {
      await assertTargetFree(toDir, to.name);
      await fs.rename(fromDir.at(from.name), toDir.at(to.name));
      if (this.durable) {
        await fromDir.sync();
        await toDir.sync();
      }
    });
  }

  async copy(id: string, newId: string, transform: CopyTransform): Promise<void> {
    const from = this.split(id);
    const to = this.split(newId);
    await this.withTwo(id, newId, async (fromDir, toDir) => {
      await assertTargetFree(toDir, to.name);
      // Build the copy under a hidden name, then rename it into place in one step.
      const staging = tempName('copy');
      try {
        const source = (await fromDir.child(from.name)).dir;
        try {
          await copyTree(source, toDir, staging, id, newId, transform, {
            fileNameOf: (entryId) => this.fileName(this.resolveFormat(entryId)),
            formatOf: this.resolveFormat,
            decode: (entryId, text) => this.decode(entryId, this.resolveFormat(entryId), text),
            durable: this.durable,
          });
        } finally {
          await source.close();
        }
        await fs.rename(toDir.at(staging), toDir.at(to.name));
      } catch (err) {
        await toDir.removeTree(staging).catch(() => undefined);
        throw err;
      }
      if (this.durable) await toDir.sync();
    });
  }

  async remove(id: string): Promise<void> {
    const { parent, name } = this.split(id);
    await this.inFolder(parent, async (dir) => {
      await (await this.existingChild(dir, name, id)).dir.close();
      // Rename first so the entry and its children vanish in one step (the commit point): a
      // failure before it leaves the tree as it was; after it, what cannot be erased stays hidden.
      const trash = tempName('deleted');
      await fs.rename(dir.at(name), dir.at(trash));
      if (this.durable) await dir.sync();
      try {
        await dir.removeTree(trash);
      } catch (err) {
        this.log?.warn({ id, leftover: path.join(dir.path, trash), err: (err as Error).message }, 'deleted entry: some files could not be erased; retried at next start');
      }
    });
  }

  async ping(): Promise<void> {
    // A missing entries folder reads as "no entries" everywhere else: readiness must tell.
    const info = await fs.stat(this.location).catch(() => undefined);
    if (!info) throw new StorageError('the entries folder is missing', 'unavailable');
    if (!info.isDirectory()) throw new StorageError('the entries folder is not a folder', 'unavailable');
  }

  async open(options: { deferRecovery?: boolean } = {}): Promise<{ recovered: number }> {
    if (options.deferRecovery && this.bulk) {
      this.recoverBefore = Date.now();
      return { recovered: 0 };
    }
    return { recovered: await this.recover() };
  }

  async identity(): Promise<string> {
    await this.openRoot().then((root) => root.close());
    const s = await fs.stat(this.location);
    return `${s.dev}:${s.ino}`;
  }

  /** Leftovers found by a walk after open({ deferRecovery }): removed unless changed since the open (a write under way). */
  private async removeLeftovers(found: readonly string[][], before: number): Promise<number> {
    let removed = 0;
    for (const parts of found) {
      try {
        const done = await this.inFolder(parts.slice(0, -1), async (dir) => {
          const s = await fs.lstat(dir.at(parts[parts.length - 1]!)).catch(() => undefined);
          // A rename (the trash of a delete) changes ctime, not mtime: ctime tells when it was made so.
          if (!s || s.ctimeMs >= before) return false;
          await dir.removeTree(parts[parts.length - 1]!);
          return true;
        });
        if (done) removed++;
      } catch (err) {
        this.log?.warn({ leftover: path.join(this.location, ...parts), err: (err as Error).message }, 'could not remove a leftover temporary file; kept');
      }
    }
    if (removed > 0) this.log?.warn({ removed }, 'removed temporary files left by an interrupted write');
    return removed;
  }

  /** The walk of `list` in the worker: ids whose folder holds their entry file. */
  private async *listInWorker(under: string): AsyncGenerator<string[]> {
    const root = await this.io(() => this.openRoot());
    let realRoot: string;
    try {
      realRoot = await root.realPath();
    } finally {
      await root.close();
    }
    const recoverBefore = under === '' ? this.recoverBefore : undefined;
    if (recoverBefore !== undefined) this.recoverBefore = undefined;
    const leftovers: string[][] = [];
    for await (const reply of this.bulk!.walk(realRoot, this.partsOf(under), under, LIST_BATCH)) {
      for (const { folder, message } of reply.skipped) this.log?.warn({ folder: path.join(this.location, folder), err: message }, 'folder cannot be read; skipped');
      if (recoverBefore !== undefined) leftovers.push(...reply.leftovers);
      const ids: string[] = [];
      for (const [id, files] of reply.found) if (files.includes(this.fileName(this.resolveFormat(id)))) ids.push(id);
      if (ids.length > 0) yield ids;
    }
    if (recoverBefore !== undefined) await this.removeLeftovers(leftovers, recoverBefore);
  }

  async readMany(ids: readonly string[], known: readonly (string | undefined)[] = []): Promise<BulkRead[]> {
    if (!this.bulk) {
      return Promise.all(
        ids.map(async (id): Promise<BulkRead> => {
          try {
            const entry = await this.read(id);
            return entry ? { kind: 'entry', entry } : { kind: 'missing' };
          } catch (err) {
            return { kind: 'error', error: err as Error };
          }
        }),
      );
    }
    const formats = ids.map((id) => this.resolveFormat(id));
    const items: ReadItem[] = ids.map((id, i) => {
      const format = formats[i]!;
      const item: ReadItem = { parts: this.partsOf(id), file: this.fileName(format) };
      if (known[i] !== undefined) item.known = known[i]!;
      // Decoded in the worker when it knows this serializer by name (it is the registered one).
      if (getSerializer(format.serializer.name) === format.serializer) item.serializer = format.serializer.name;
      return item;
    });
    const root = await this.io(() => this.openRoot());
    let realRoot: string;
    try {
      realRoot = await root.realPath();
    } finally {
      await root.close();
    }
    const results = await this.bulk.read(realRoot, items);
    return results.map((result, i): BulkRead => {
      const id = ids[i]!;
      switch (result.kind) {
        case 'missing':
          return { kind: 'missing' };
        case 'error':
          return { kind: 'error', error: Object.assign(new Error(result.message), result.code ? { code: result.code } : {}) };
        case 'same':
          return { kind: 'same', meta: { revision: revisionText(result.stat), ...timesOf(result.stat) } };
        case 'fields':
          return { kind: 'entry', entry: { id, fields: result.fields, meta: { revision: result.revision, ...timesOf(result.stat) } } };
        case 'undecodable':
          return {
            kind: 'error',
            error: result.decode ? new StorageError(`entry "${id}" cannot be parsed: ${result.message}`, 'unreadable') : new Error(result.message),
          };
        case 'text':
          try {
            const meta = { revision: revisionText(result.stat), ...timesOf(result.stat) };
            return { kind: 'entry', entry: { id, fields: this.decode(id, formats[i]!, result.text), meta } };
          } catch (err) {
            return { kind: 'error', error: err as Error };
          }
      }
    });
  }

  /**
   * The change feed without watches: stat passes in a worker thread of their own (see
   * bulk-worker.ts TreeScanner), reported like the watcher's paths. Only entry files and folders
   * count: other files changing in a folder are not news.
   */
  async scanChanges(listener: (change: EngineChange) => void, onError: (err: Error) => void, options: { intervalMs: number; onPass?: (pass: number, ms: number) => void }): Promise<ChangeFeed> {
    if (!HELD_FOLDERS) throw new StorageError('stat passes need /proc/self/fd (Linux)', 'unavailable');
    const root = await this.io(() => this.openRoot());
    await root.close();
    const scanner = new BulkWorker();
    const report = (changed: ScanChanges, pass: number, ms: number) => {
      for (const rel of changed.folders) {
        const change = this.changeOfPath(rel.split('/').join(path.sep));
        if (change) listener(change.kind === 'entry' ? { kind: 'subtree', id: change.id } : change);
      }
      for (const rel of changed.files) {
        const change = this.changeOfPath(rel.split('/').join(path.sep));
        // A plain file that is not an entry's own file: nothing for the core.
        if (change?.kind === 'entry') listener(change);
      }
      options.onPass?.(pass, ms);
    };
    try {
      await scanner.scan(this.location, options.intervalMs, report, (err) => {
        listener({ kind: 'resync' });
        onError(err);
      });
    } catch (err) {
      await scanner.close();
      throw err;
    }
    const feed: ChangeFeed = {
      close: async () => {
        this.feeds.delete(feed);
        await scanner.close();
      },
    };
    this.feeds.add(feed);
    return feed;
  }

  /** Stops the change feeds and waits for the file operations in flight. */
  async close(): Promise<void> {
    for (const feed of [...this.feeds]) await feed.close();
    await this.bulk?.close();
    // Bounded by the operations already queued: nothing new is started by the engine itself.
    while (this.io.activeCount + this.io.pendingCount > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Removes what an interrupted write left behind (temporary files); never fails on a leftover it cannot remove (logs it). */
  private async recover(): Promise<number> {
    let removed = 0;
    const leftovers = this.walk<string[]>({ parts: [], id: '' }, ({ parts }, dirents) => {
      const next: Folder[] = [];
      const found: string[][] = [];
      for (const dirent of dirents) {
        // Left behind by a crash mid-write: never an entry, safe to remove.
        if (dirent.name.startsWith(TEMP_PREFIX)) found.push([...parts, dirent.name]);
        else if (dirent.isDirectory() && !dirent.name.startsWith('.')) next.push({ parts: [...parts, dirent.name], id: '' });
      }
      return { next, found };
    });
    // Collected first: removing while the walk runs would change the folders it reads.
    const all: string[][] = [];
    for await (const batch of leftovers) all.push(...batch);
    for (const parts of all) {
      try {
        await this.inFolder(parts.slice(0, -1), (dir) => dir.removeTree(parts[parts.length - 1]!));
        removed++;
      } catch (err) {
        this.log?.warn({ leftover: path.join(this.location, ...parts), err: (err as Error).message }, 'could not remove a leftover temporary file; kept');
      }
    }
    return removed;
  }

  private async *walk<T>(start: Folder, visit: (folder: Folder, dirents: Dirent[]) => { next: Folder[]; found: T[] }): AsyncGenerator<T[]> {
    const root = await this.io(() => this.openRoot());
    let realRoot: string;
    try {
      realRoot = await root.realPath();
    } finally {
      await root.close();
    }
    yield* walkTree(
      realRoot,
      start,
      this.io,
      visit,
      (folder, err) => this.log?.warn({ folder: path.join(this.location, ...folder.parts), err: (err as Error).message }, 'folder cannot be read; skipped'),
      LIST_BATCH,
    );
  }

  list(under = ''): AsyncIterable<string[]> {
    if (this.bulk) return this.listInWorker(under);
    return this.walk<string>({ parts: this.partsOf(under), id: under }, ({ parts, id }, dirents) => {
      const found: string[] = [];
      if (id !== '') {
        const expected = this.fileName(this.resolveFormat(id));
        if (dirents.some((d) => d.isFile() && d.name === expected)) found.push(id);
      }
      const next: Folder[] = [];
      for (const dirent of dirents) {
        if (dirent.name.startsWith('.') || !dirent.isDirectory()) continue;
        next.push({ parts: [...parts, dirent.name], id: id === '' ? dirent.name : `${id}/${dirent.name}` });
      }
      return { next, found };
    });
  }

  async children(id: string): Promise<string[]> {
    const parts = this.partsOf(id);
    const names = await this.orNothing(
      this.inFolder(parts, async (dir) =>
        (await dir.readdir()).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name),
      ),
    );
    const out: string[] = [];
    for (const name of names ?? []) {
      const child = id === '' ? name : `${id}/${name}`;
      // A folder counts once it holds an entry at any depth (the first batch tells).
      for await (const batch of this.list(child)) {
        if (batch.length > 0) {
          out.push(child);
          break;
        }
      }
    }
    return out;
  }

  /** The id a watcher's path touches, and whether it is that entry's own file (else a folder or another file). */
  private idOfPath(relativePath: string): { id: string; entryFile: boolean } | undefined {
    const parts = relativePath.split(path.sep).filter((p) => p !== '');
    // Hidden names and our own temporary files: the final rename reports the entry file itself.
    if (parts.some((p) => p.startsWith('.'))) return undefined;
    if (parts.length === 0) return { id: '', entryFile: false };
    const last = parts[parts.length - 1]!;
    const dirId = parts.slice(0, -1).join('/');
    if (dirId !== '' && last === this.fileName(this.resolveFormat(dirId))) return { id: dirId, entryFile: true };
    return { id: parts.join('/'), entryFile: false };
  }

  /** The change a watcher's path means for the core ('' is the entries folder itself: replaced). */
  changeOfPath(relativePath: string): EngineChange | undefined {
    const target = this.idOfPath(relativePath);
    if (!target) return undefined;
    if (target.id === '') return { kind: 'resync' };
    return target.entryFile ? { kind: 'entry', id: target.id } : { kind: 'subtree', id: target.id };
  }

  /** See watch.ts: one watch per folder, re-attached when a folder (or the entries folder) is replaced. */
  async changes(listener: (change: EngineChange) => void, onError: (err: Error) => void): Promise<ChangeFeed> {
    const watcher = await watchTree(
      this.location,
      (relativePath) => {
        const change = this.changeOfPath(relativePath);
        if (change) listener(change);
      },
      (err) => {
        // Events may have been missed: everything cached must be checked again.
        listener({ kind: 'resync' });
        onError(err);
      },
    );
    const feed: ChangeFeed = {
      close: () => {
        this.feeds.delete(feed);
        watcher.close();
      },
    };
    this.feeds.add(feed);
    return feed;
  }
}

function timesOf(s: { mtimeMs: number; ctimeMs: number; atimeMs: number; size: number }): Omit<Revision, 'revision'> {
  return { mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, atimeMs: s.atimeMs, size: s.size };
}
