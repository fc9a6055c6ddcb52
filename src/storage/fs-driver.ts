/** File-system storage: one folder per entry, one file per folder, atomic replace on every write. */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
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
import { watchTree } from './fs-watch.js';

/** Names of our own temporary files and folders; never taken for entries. */
export const TEMP_PREFIX = '.ft-tmp-';
/** Folders a tree walk (`scan`, `recover`) reads at the same time. */
const WALK_WIDTH = 16;

interface Folder {
  dir: string;
  id: string;
}

/**
 * Reads a folder tree, WALK_WIDTH folders at a time; `visit` gets each folder's entries and
 * returns the subfolders to read. One folder at a time waits on every read in turn (slow on a
 * cold disk); all at once (100,000 folders) raised peak memory by more than 100 MiB. A folder
 * that vanished meanwhile is skipped; any other error rejects.
 */
function walkTree(start: Folder, visit: (folder: Folder, dirents: Dirent[]) => Folder[]): Promise<void> {
  const queue: Folder[] = [start];
  let reading = 0;
  let settled = false;
  return new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    };
    const pump = (): void => {
      if (settled) return;
      if (queue.length === 0 && reading === 0) {
        settled = true;
        resolve();
        return;
      }
      while (reading < WALK_WIDTH && queue.length > 0) {
        const folder = queue.pop()!;
        reading++;
        fs.readdir(folder.dir, { withFileTypes: true }).then(
          (dirents) => {
            reading--;
            try {
              for (const next of visit(folder, dirents)) queue.push(next);
            } catch (err) {
              fail(err);
              return;
            }
            pump();
          },
          (err: unknown) => {
            reading--;
            if (isMissing(err)) pump();
            else fail(err);
          },
        );
      }
    };
    pump();
  });
}

export interface FsDriverOptions {
  /** The entries folder. */
  root: string;
  resolveFormat: FormatResolver;
  /** fsync files and folders so an acknowledged write survives a crash. */
  durable: boolean;
}

function tempName(label: string): string {
  return `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${label}`;
}

function toStat(s: import('node:fs').Stats): FileStat {
  return { mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, atimeMs: s.atimeMs, size: s.size, ino: s.ino };
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class FsDriver implements StorageDriver {
  readonly location: string;
  private readonly resolveFormat: FormatResolver;
  private readonly durable: boolean;
  private realRoot: string | undefined;

  constructor(options: FsDriverOptions) {
    this.location = path.resolve(options.root);
    this.resolveFormat = options.resolveFormat;
    this.durable = options.durable;
  }

  private dirOf(id: string): string {
    return id === '' ? this.location : path.join(this.location, ...id.split('/'));
  }

  private fileName(format: EntryFormat): string {
    return format.extension ? `${format.filename}.${format.extension}` : format.filename;
  }

  private fileOf(id: string): { file: string; format: EntryFormat } {
    const format = this.resolveFormat(id);
    return { file: path.join(this.dirOf(id), this.fileName(format)), format };
  }

  private async root(): Promise<string> {
    if (this.realRoot === undefined) {
      await fs.mkdir(this.location, { recursive: true });
      this.realRoot = await fs.realpath(this.location);
    }
    return this.realRoot;
  }

  /**
   * Refuses a path whose real location leaves the entries folder (a symlink pointing outside).
   * Checks the deepest existing ancestor, so it also guards folders about to be created.
   */
  private async assertInside(target: string): Promise<void> {
    const root = await this.root();
    let current = target;
    for (;;) {
      try {
        const real = await fs.realpath(current);
        if (real !== root && !real.startsWith(root + path.sep)) {
          throw new StorageError('the id resolves outside the entries folder', 'unsafe');
        }
        return;
      } catch (err) {
        if (err instanceof StorageError) throw err;
        if (!isMissing(err)) throw err;
        const parent = path.dirname(current);
        if (parent === current) return;
        current = parent;
      }
    }
  }

  async stat(id: string): Promise<FileStat | undefined> {
    const { file } = this.fileOf(id);
    try {
      const s = await fs.lstat(file);
      if (!s.isFile()) return undefined;
      // A folder link on the way may lead outside the entries folder: then there is no entry here.
      await this.assertInside(file);
      return toStat(s);
    } catch (err) {
      if (isMissing(err) || (err instanceof StorageError && err.reason === 'unsafe')) return undefined;
      throw err;
    }
  }

  async readRaw(id: string): Promise<string | undefined> {
    const { file } = this.fileOf(id);
    await this.assertInside(file);
    try {
      return await fs.readFile(file, 'utf8');
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw err;
    }
  }

  async read(id: string): Promise<StoredEntry | undefined> {
    const { file, format } = this.fileOf(id);
    await this.assertInside(file);
    let handle: fs.FileHandle;
    try {
      // O_NOFOLLOW: the entry file itself must not be a symlink.
      handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (isMissing(err) || code === 'ELOOP' || code === 'EISDIR') return undefined;
      throw err;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) return undefined;
      const text = await handle.readFile('utf8');
      let fields: Fields;
      try {
        fields = format.serializer.decode(text);
      } catch (err) {
        if (err instanceof DecodeError) {
          throw new StorageError(`entry "${id}" cannot be parsed: ${err.message}`, 'unreadable');
        }
        throw err;
      }
      return { id, fields, stat: toStat(stats) };
    } finally {
      await handle.close();
    }
  }

  async write(id: string, fields: Fields): Promise<FileStat> {
    const { file, format } = this.fileOf(id);
    const dir = path.dirname(file);
    await this.assertInside(dir);
    await fs.mkdir(dir, { recursive: true });
    const text = format.serializer.encode(fields);
    const temp = path.join(dir, tempName(path.basename(file)));
    try {
      const handle = await fs.open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(text, 'utf8');
        if (this.durable) await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, file);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    if (this.durable) await this.syncDir(dir);
    return toStat(await fs.stat(file));
  }

  private async syncDir(dir: string): Promise<void> {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(dir, 'r');
      await handle.sync();
    } catch {
      // Some file systems refuse fsync on folders; the rename is still atomic there.
    } finally {
      await handle?.close();
    }
  }

  private async assertTargetFree(target: string): Promise<void> {
    try {
      const entries = await fs.readdir(target);
      if (entries.length > 0) throw new StorageError('the target folder already exists', 'exists');
      await fs.rmdir(target);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (!isMissing(err)) throw err;
    }
  }

  async move(id: string, newId: string): Promise<void> {
    const from = this.dirOf(id);
    const to = this.dirOf(newId);
    await this.assertInside(from);
    await this.assertInside(to);
    await this.assertTargetFree(to);
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.rename(from, to);
    if (this.durable) {
      await this.syncDir(path.dirname(from));
      await this.syncDir(path.dirname(to));
    }
  }

  async copy(id: string, newId: string, transform: CopyTransform): Promise<void> {
    const from = this.dirOf(id);
    const to = this.dirOf(newId);
    await this.assertInside(from);
    await this.assertInside(to);
    await this.assertTargetFree(to);
    const parent = path.dirname(to);
    await fs.mkdir(parent, { recursive: true });
    // Build the copy under a hidden name, then rename it into place in one step.
    const staging = path.join(parent, tempName(path.basename(to)));
    try {
      await this.copyTree(from, staging, id, newId, transform);
      await fs.rename(staging, to);
    } catch (err) {
      await fs.rm(staging, { recursive: true, force: true });
      throw err;
    }
    if (this.durable) await this.syncDir(parent);
  }

  private async copyTree(
    fromDir: string,
    toDir: string,
    fromId: string,
    toId: string,
    transform: CopyTransform,
  ): Promise<void> {
    await fs.mkdir(toDir);
    const sourceFile = this.fileName(this.resolveFormat(fromId));
    const { file: targetPath, format: targetFormat } = this.fileOf(toId);
    const targetFile = path.basename(targetPath);
    for (const dirent of await fs.readdir(fromDir, { withFileTypes: true })) {
      if (dirent.name.startsWith('.') || dirent.isSymbolicLink()) continue;
      const src = path.join(fromDir, dirent.name);
      if (dirent.isDirectory()) {
        await this.copyTree(src, path.join(toDir, dirent.name), `${fromId}/${dirent.name}`, `${toId}/${dirent.name}`, transform);
      } else if (dirent.isFile() && dirent.name === sourceFile) {
        const stored = await this.read(fromId);
        const fields = transform(toId, stored ? stored.fields : {});
        await this.writePlain(path.join(toDir, targetFile), targetFormat.serializer.encode(fields));
      } else if (dirent.isFile()) {
        const target = path.join(toDir, dirent.name);
        await fs.copyFile(src, target);
        if (this.durable) await this.syncFile(target);
      }
    }
    // The copy becomes visible by one rename; every folder in it must be on disk before that.
    if (this.durable) await this.syncDir(toDir);
  }

  private async syncFile(file: string): Promise<void> {
    const handle = await fs.open(file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private async writePlain(file: string, text: string): Promise<void> {
    const handle = await fs.open(file, 'wx', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      if (this.durable) await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async remove(id: string): Promise<void> {
    const dir = this.dirOf(id);
    await this.assertInside(dir);
    // Rename first so the entry and its children vanish in one step, then clean up.
    const trash = path.join(path.dirname(dir), tempName('deleted'));
    await fs.rename(dir, trash);
    if (this.durable) await this.syncDir(path.dirname(dir));
    await fs.rm(trash, { recursive: true, force: true });
  }

  async recover(): Promise<number> {
    const leftovers: string[] = [];
    await walkTree({ dir: await this.root(), id: '' }, ({ dir }, dirents) => {
      const next: Folder[] = [];
      for (const dirent of dirents) {
        const full = path.join(dir, dirent.name);
        // Left behind by a crash mid-write: never an entry, safe to remove.
        if (dirent.name.startsWith(TEMP_PREFIX)) leftovers.push(full);
        else if (dirent.isDirectory() && !dirent.name.startsWith('.')) next.push({ dir: full, id: '' });
      }
      return next;
    });
    for (const full of leftovers) await fs.rm(full, { recursive: true, force: true });
    return leftovers.length;
  }

  async scan(under = ''): Promise<string[]> {
    const ids: string[] = [];
    await this.root();
    await walkTree({ dir: this.dirOf(under), id: under }, ({ dir, id }, dirents) => {
      if (id !== '') {
        const expected = this.fileName(this.resolveFormat(id));
        if (dirents.some((d) => d.isFile() && d.name === expected)) ids.push(id);
      }
      const next: Folder[] = [];
      for (const dirent of dirents) {
        if (dirent.name.startsWith('.') || !dirent.isDirectory()) continue;
        next.push({ dir: path.join(dir, dirent.name), id: id === '' ? dirent.name : `${id}/${dirent.name}` });
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

  /** See fs-watch.ts: one watch per folder, re-attached when a folder (or the root) is replaced. */
  async watch(listener: (relativePath: string) => void, onError: (err: Error) => void): Promise<StorageWatcher> {
    await this.root();
    return watchTree(this.location, listener, onError);
  }
}
