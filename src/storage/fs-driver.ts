/** File-system storage: one folder per entry, one file per folder, atomic replace on every write. */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { DecodeError, type Fields } from './serializers/index.js';
import {
  StorageError,
  type CopyTransform,
  type EntryFormat,
  type FileStat,
  type FormatResolver,
  type StorageDriver,
  type StorageWatcher,
  type StoredEntry,
} from './driver.js';
import { decodeText, errnoOf, HeldDir, isMissing, openPath, undoCreated, walkTree, type Folder } from './safe-fs.js';
import { watchTree } from './fs-watch.js';

/** Names of our own temporary files and folders; never taken for entries. */
export const TEMP_PREFIX = '.ft-tmp-';
export interface DriverLog {
  warn(obj: object, msg?: string): void;
}

export interface FsDriverOptions {
  /** The entries folder (may be a link, e.g. switched atomically by a deploy: it is followed). */
  root: string;
  resolveFormat: FormatResolver;
  /** fsync files and folders so an acknowledged write survives a crash. */
  durable: boolean;
  /** File operations at once (each holds a few file handles); bounds handle use under any load. */
  maxParallelIo?: number;
  /** Where skipped folders and leftovers are reported. */
  log?: DriverLog;
}

/** Temporary names stay short whatever the entry's name, so a long segment still fits NAME_MAX. */
function tempName(label: string): string {
  return `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${label.slice(0, 12)}`;
}

function toStat(s: import('node:fs').Stats): FileStat {
  return { mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, atimeMs: s.atimeMs, size: s.size, ino: s.ino };
}

const READ = fsConstants.O_RDONLY;
const CREATE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;

export class FsDriver implements StorageDriver {
  readonly location: string;
  private readonly resolveFormat: FormatResolver;
  private readonly durable: boolean;
  private readonly io: LimitFunction;
  private readonly log: DriverLog | undefined;
  private created = false;

  constructor(options: FsDriverOptions) {
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

  async stat(id: string): Promise<FileStat | undefined> {
    const format = this.resolveFormat(id);
    return this.orNothing(
      this.inFolder(this.partsOf(id), async (dir) => {
        const s = await fs.lstat(dir.at(this.fileName(format)));
        return s.isFile() ? toStat(s) : undefined;
      }),
    );
  }

  /** The entry file's bytes and stat, or undefined (missing, a link, not a file). */
  private async readFileIn(dir: HeldDir, name: string): Promise<{ bytes: Buffer; stat: import('node:fs').Stats } | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await dir.openFile(name, READ);
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'ELOOP' || errnoOf(err) === 'EISDIR') return undefined;
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return undefined;
      return { bytes: await handle.readFile(), stat };
    } finally {
      await handle.close();
    }
  }

  async readRaw(id: string): Promise<string | undefined> {
    const format = this.resolveFormat(id);
    const file = await this.orNothing(this.inFolder(this.partsOf(id), (dir) => this.readFileIn(dir, this.fileName(format))));
    return file ? decodeText(file.bytes).text : undefined;
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
    const file = await this.orNothing(this.inFolder(this.partsOf(id), (dir) => this.readFileIn(dir, this.fileName(format))));
    if (!file) return undefined;
    // Not UTF-8: served as decoded lossily; `write` refuses to replace it.
    const { text } = decodeText(file.bytes);
    return { id, fields: this.decode(id, format, text), stat: toStat(file.stat) };
  }

  async write(id: string, fields: Fields): Promise<FileStat> {
    const parts = this.partsOf(id);
    this.assertNames(parts);
    const format = this.resolveFormat(id);
    const name = this.fileName(format);
    return this.inFolder(
      parts,
      async (dir) => {
        const current = await this.readFileIn(dir, name);
        let previous: string | undefined;
        if (current) {
          const decoded = decodeText(current.bytes);
          if (!decoded.valid) {
            throw new StorageError(`entry "${id}" is not valid UTF-8; it is served read-only and cannot be rewritten`, 'not_utf8');
          }
          previous = decoded.text;
        }
        await this.writeNew(dir, name, format.serializer.encode(fields, previous), true);
        if (this.durable) await dir.sync();
        return toStat(await fs.lstat(dir.at(name)));
      },
      true,
    );
  }

  /** Writes `text` as `name` in `dir`: through a temporary file and a rename when `replace`. */
  private async writeNew(dir: HeldDir, name: string, text: string, replace: boolean): Promise<void> {
    const target = replace ? tempName(name) : name;
    try {
      const handle = await dir.openFile(target, CREATE, 0o644);
      try {
        await handle.writeFile(text, 'utf8');
        if (this.durable) await handle.sync();
      } finally {
        await handle.close();
      }
      if (replace) await fs.rename(dir.at(target), dir.at(name));
    } catch (err) {
      await fs.unlink(dir.at(target)).catch(() => undefined);
      throw err;
    }
  }

  /** An empty folder at the target is taken over; anything else there refuses. */
  private async assertTargetFree(parent: HeldDir, name: string): Promise<void> {
    let target: HeldDir;
    try {
      target = (await parent.child(name)).dir;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      if (errnoOf(err) === 'ENOTDIR') throw new StorageError('the target already exists', 'exists');
      throw err;
    }
    try {
      if ((await target.readdir()).length > 0) throw new StorageError('the target folder already exists', 'exists');
    } finally {
      await target.close();
    }
    await fs.rmdir(parent.at(name));
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
      await (await fromDir.child(from.name)).dir.close();
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
      await this.assertTargetFree(toDir, to.name);
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
      await this.assertTargetFree(toDir, to.name);
      // Build the copy under a hidden name, then rename it into place in one step.
      const staging = tempName('copy');
      try {
        const source = (await fromDir.child(from.name)).dir;
        try {
          await this.copyTree(source, toDir, staging, id, newId, transform);
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

  private async copyTree(source: HeldDir, targetParent: HeldDir, targetName: string, fromId: string, toId: string, transform: CopyTransform): Promise<void> {
    const target = (await targetParent.child(targetName, true)).dir;
    try {
      const sourceFile = this.fileName(this.resolveFormat(fromId));
      const targetFormat = this.resolveFormat(toId);
      for (const dirent of await source.readdir()) {
        if (dirent.name.startsWith('.') || dirent.isSymbolicLink()) continue;
        if (dirent.isDirectory()) {
          const sub = await source.child(dirent.name).catch(() => undefined);
          if (!sub) continue;
          try {
            await this.copyTree(sub.dir, target, dirent.name, `${fromId}/${dirent.name}`, `${toId}/${dirent.name}`, transform);
          } finally {
            await sub.dir.close();
          }
        } else if (dirent.isFile() && dirent.name === sourceFile) {
          const file = await this.readFileIn(source, dirent.name);
          if (!file) continue;
          const decoded = decodeText(file.bytes);
          if (!decoded.valid) throw new StorageError(`entry "${fromId}" is not valid UTF-8; it cannot be copied (it would be rewritten)`, 'not_utf8');
          const fields = transform(toId, this.decode(fromId, this.resolveFormat(fromId), decoded.text));
          await this.writeNew(target, this.fileName(targetFormat), targetFormat.serializer.encode(fields, decoded.text), false);
        } else if (dirent.isFile()) {
          await this.copyPlain(source, dirent.name, target);
        }
      }
      // The copy becomes visible by one rename; every folder in it must be on disk before that.
      if (this.durable) await target.sync();
    } finally {
      await target.close();
    }
  }

  /** Copies a plain file (attachments) opened without following links. */
  private async copyPlain(source: HeldDir, name: string, target: HeldDir): Promise<void> {
    const handle = await source.openFile(name, READ).catch(() => undefined);
    if (!handle) return;
    try {
      // Through the held file itself, so a link swapped in meanwhile is not what gets copied.
      const from = process.platform === 'linux' ? `/proc/self/fd/${handle.fd}` : source.at(name);
      await fs.copyFile(from, target.at(name), fsConstants.COPYFILE_EXCL);
    } finally {
      await handle.close();
    }
    if (this.durable) {
      const copied = await target.openFile(name, READ);
      try {
        await copied.sync();
      } finally {
        await copied.close();
      }
    }
  }

  async remove(id: string): Promise<void> {
    const { parent, name } = this.split(id);
    await this.inFolder(parent, async (dir) => {
      await (await dir.child(name)).dir.close();
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

  async recover(): Promise<number> {
    const leftovers: Folder[] = [];
    await this.walk({ parts: [], id: '' }, ({ parts }, dirents) => {
      const next: Folder[] = [];
      for (const dirent of dirents) {
        // Left behind by a crash mid-write: never an entry, safe to remove.
        if (dirent.name.startsWith(TEMP_PREFIX)) leftovers.push({ parts: [...parts, dirent.name], id: '' });
        else if (dirent.isDirectory() && !dirent.name.startsWith('.')) next.push({ parts: [...parts, dirent.name], id: '' });
      }
      return next;
    });
    let removed = 0;
    for (const { parts } of leftovers) {
      try {
        await this.inFolder(parts.slice(0, -1), (dir) => dir.removeTree(parts[parts.length - 1]!));
        removed++;
      } catch (err) {
        this.log?.warn({ leftover: path.join(this.location, ...parts), err: (err as Error).message }, 'could not remove a leftover temporary file; kept');
      }
    }
    return removed;
  }

  private async walk(start: Folder, visit: (folder: Folder, dirents: Dirent[]) => Folder[]): Promise<void> {
    const root = await this.io(() => this.openRoot());
    let realRoot: string;
    try {
      realRoot = await root.realPath();
    } finally {
      await root.close();
    }
    await walkTree(realRoot, start, this.io, visit, (folder, err) =>
      this.log?.warn({ folder: path.join(this.location, ...folder.parts), err: (err as Error).message }, 'folder cannot be read; skipped'),
    );
  }

  async scan(under = ''): Promise<string[]> {
    const ids: string[] = [];
    await this.walk({ parts: this.partsOf(under), id: under }, ({ parts, id }, dirents) => {
      if (id !== '') {
        const expected = this.fileName(this.resolveFormat(id));
        if (dirents.some((d) => d.isFile() && d.name === expected)) ids.push(id);
      }
      const next: Folder[] = [];
      for (const dirent of dirents) {
        if (dirent.name.startsWith('.') || !dirent.isDirectory()) continue;
        next.push({ parts: [...parts, dirent.name], id: id === '' ? dirent.name : `${id}/${dirent.name}` });
      }
      return next;
    });
    return ids;
  }

  idOfPath(relativePath: string): { id: string; entryFile: boolean } | undefined {
    const parts = relativePath.split(path.sep).filter((p) => p !== '');
    // Hidden names and our own temporary files: the final rename reports the entry file itself.
    if (parts.some((p) => p.startsWith('.'))) return undefined;
    if (parts.length === 0) return { id: '', entryFile: false };
    const last = parts[parts.length - 1]!;
    const dirId = parts.slice(0, -1).join('/');
    if (dirId !== '' && last === this.fileName(this.resolveFormat(dirId))) return { id: dirId, entryFile: true };
    return { id: parts.join('/'), entryFile: false };
  }

  /** See fs-watch.ts: one watch per folder, re-attached when a folder (or the entries folder) is replaced. */
  watch(listener: (relativePath: string) => void, onError: (err: Error) => void): Promise<StorageWatcher> {
    return watchTree(this.location, listener, onError);
  }
}
