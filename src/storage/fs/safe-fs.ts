/**
 * File-system primitives that never follow a link out of the entries folder, even while someone
 * swaps folders and links under us (check-then-use races).
 *
 * On Linux a folder is held open and every later step names `/proc/self/fd/<fd>/<name>`: the
 * kernel resolves that through the held folder itself, so renaming or replacing any ancestor
 * meanwhile changes nothing (Node has no openat). Each component is opened with
 * O_DIRECTORY|O_NOFOLLOW relative to the previous one, and a component that is a link is refused.
 * Elsewhere (no /proc) we fall back to per-component lstat plus a realpath check of the result:
 * links are still refused, but a swap between the check and the use is not excluded there.
 */
import { constants as C, existsSync, promises as fs, type Dirent } from 'node:fs';
import type { LimitFunction } from 'p-limit';
import path from 'node:path';
import { StorageError } from '../engine.js';

export const HELD_FOLDERS = process.platform === 'linux' && existsSync('/proc/self/fd');

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

export function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export function isMissing(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

const unsafe = () => new StorageError('the id passes through a link (links are never followed)', 'unsafe');

/** An open folder; `at(name)` names something inside it, resolved through the held handle. */
export class HeldDir {
  private constructor(
    private readonly handle: fs.FileHandle | undefined,
    /** Where the folder was when opened (messages, and the path-based fallback). */
    readonly path: string,
  ) {}

  /** Opens the configured entries folder, following it if it is a link (an operator's choice). */
  static async openRoot(location: string): Promise<HeldDir> {
    if (!HELD_FOLDERS) return new HeldDir(undefined, await fs.realpath(location));
    return new HeldDir(await fs.open(location, C.O_RDONLY | C.O_DIRECTORY), location);
  }

  /** Opens a folder by absolute path and checks it really is `expected` (no link on the way). */
  static async openVerified(expected: string): Promise<HeldDir> {
    if (!HELD_FOLDERS) {
      if ((await fs.realpath(expected)) !== expected) throw unsafe();
      return new HeldDir(undefined, expected);
    }
    const handle = await fs.open(expected, DIR_FLAGS);
    try {
      if ((await fs.readlink(`/proc/self/fd/${handle.fd}`)) !== expected) throw unsafe();
    } catch (err) {
      await handle.close();
      throw err;
    }
    return new HeldDir(handle, expected);
  }

  /** The folder's real path now (follows renames of the held folder). */
  async realPath(): Promise<string> {
    return this.handle ? fs.readlink(`/proc/self/fd/${this.handle.fd}`) : fs.realpath(this.path);
  }

  get self(): string {
    return this.handle ? `/proc/self/fd/${this.handle.fd}` : this.path;
  }

  at(name: string): string {
    return this.handle ? `/proc/self/fd/${this.handle.fd}/${name}` : path.join(this.path, name);
  }

  /**
   * Opens the subfolder `name`; refuses a link, reports a file or nothing there as ENOTDIR/ENOENT.
   * With `create`, a missing folder is made (and `created` is true).
   */
  async child(name: string, create = false): Promise<{ dir: HeldDir; created: boolean }> {
    let created = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return { dir: await this.openChild(name), created };
      } catch (err) {
        if (errnoOf(err) === 'ENOENT' && create && attempt < 3) {
          try {
            await fs.mkdir(this.at(name), 0o755);
            created = true;
          } catch (mkdirErr) {
            if (errnoOf(mkdirErr) !== 'EEXIST') throw mkdirErr;
          }
          continue;
        }
        throw err;
      }
    }
  }

  private async openChild(name: string): Promise<HeldDir> {
    const full = path.join(this.path, name);
    if (!HELD_FOLDERS) {
      const s = await fs.lstat(full);
      if (s.isSymbolicLink()) throw unsafe();
      if (!s.isDirectory()) throw Object.assign(new Error(`not a folder: ${full}`), { code: 'ENOTDIR' });
      const real = await fs.realpath(full);
      if (real !== path.join(await fs.realpath(this.path), name)) throw unsafe();
      return new HeldDir(undefined, full);
    }
    try {
      return new HeldDir(await fs.open(this.at(name), DIR_FLAGS), full);
    } catch (err) {
      // O_NOFOLLOW|O_DIRECTORY answers ENOTDIR for a link and for a file alike.
      if (errnoOf(err) === 'ENOTDIR' || errnoOf(err) === 'ELOOP') {
        const s = await fs.lstat(this.at(name)).catch(() => undefined);
        if (s?.isSymbolicLink()) throw unsafe();
      }
      throw err;
    }
  }

  /** Opens a file inside the folder; never through a link (ELOOP). */
  openFile(name: string, flags: number, mode?: number): Promise<fs.FileHandle> {
    return fs.open(this.at(name), flags | C.O_NOFOLLOW, mode);
  }

  readdir(): Promise<Dirent[]> {
    return fs.readdir(this.self, { withFileTypes: true });
  }

  /** fsync of the folder itself (some file systems refuse it; the rename is atomic anyway). */
  async sync(): Promise<void> {
    if (!this.handle) return;
    await this.handle.sync().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
  }

  /**
   * Removes `name` and everything below it, never leaving this folder: each subfolder is held
   * open while its contents go, and a link is unlinked, never entered.
   */
  async removeTree(name: string): Promise<void> {
    let sub: HeldDir;
    try {
      sub = (await this.child(name)).dir;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      if (errnoOf(err) === 'ENOTDIR' || (err instanceof StorageError && err.reason === 'unsafe')) {
        await fs.unlink(this.at(name));
        return;
      }
      throw err;
    }
    try {
      for (const dirent of await sub.readdir()) {
        if (dirent.isDirectory()) await sub.removeTree(dirent.name);
        else await fs.unlink(sub.at(dirent.name)).catch((err: unknown) => {
          if (errnoOf(err) !== 'ENOENT') throw err;
        });
      }
    } finally {
      await sub.close();
    }
    await fs.rmdir(this.at(name));
  }
}

/**
 * Opens the folder of `parts` below the root, one component at a time. With `create`, missing
 * folders are made; `created` lists them (outermost first) so a failed write can take them back.
 */
export async function openPath(
  root: HeldDir,
  parts: readonly string[],
  create = false,
): Promise<{ dir: HeldDir; created: { parent: string[]; name: string }[] }> {
  const created: { parent: string[]; name: string }[] = [];
  let current = root;
  try {
    for (let i = 0; i < parts.length; i++) {
      const next = await current.child(parts[i]!, create);
      if (next.created) created.push({ parent: parts.slice(0, i), name: parts[i]! });
      if (current !== root) await current.close();
      current = next.dir;
    }
  } catch (err) {
    if (current !== root) await current.close();
    if (created.length > 0) await undoCreated(root, created);
    throw err;
  }
  return { dir: current, created };
}

/** Removes folders made by `openPath` again (innermost first), if they are still empty. */
export async function undoCreated(root: HeldDir, created: readonly { parent: string[]; name: string }[]): Promise<void> {
  for (const { parent, name } of [...created].reverse()) {
    try {
      const { dir } = await openPath(root, parent);
      try {
        await fs.rmdir(dir.at(name));
      } finally {
        if (dir !== root) await dir.close();
      }
    } catch {
      // Not empty any more (someone else wrote there) or already gone: leave it.
    }
  }
}

/** Decodes UTF-8, or reports that the bytes are not valid UTF-8 (then decoded lossily). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export function decodeText(bytes: Uint8Array): { text: string; valid: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { text: Buffer.from(bytes).toString('utf8'), valid: false };
  }
}

/** Folders a tree walk (`scan`, `recover`, the watcher) reads at the same time. */
const WALK_WIDTH = 16;

export interface Folder {
  /** Path segments below the root. */
  parts: string[];
  id: string;
}

/**
 * Reads a folder tree, WALK_WIDTH folders at a time; `visit` gets each folder's entries and
 * returns the subfolders to read and what it found there, which is yielded in batches of about
 * `batch` items. One folder at a time waits on every read in turn (slow on a cold disk); all at
 * once (100,000 folders) raised peak memory by more than 100 MiB; and no folder is read while a
 * full batch waits for its consumer, so memory stays flat however large the tree. Each folder is
 * opened without following links and checked to be where expected; a folder that vanished or is
 * a link is skipped, one that cannot be read is skipped and reported to `skipped`.
 */
export async function* walkTree<T>(
  realRoot: string,
  start: Folder,
  io: LimitFunction,
  visit: (folder: Folder, dirents: Dirent[]) => { next: Folder[]; found: T[] },
  skipped: (folder: Folder, err: unknown) => void,
  batch = 1000,
): AsyncGenerator<T[]> {
  const queue: Folder[] = [start];
  const reading = new Set<Promise<void>>();
  let buffer: T[] = [];
  let failure: { err: unknown } | undefined;
  const readFolder = (folder: Folder) =>
    io(async () => {
      const dir = await HeldDir.openVerified(folder.parts.length === 0 ? realRoot : path.join(realRoot, ...folder.parts));
      try {
        return await dir.readdir();
      } finally {
        await dir.close();
      }
    });
  const startRead = (folder: Folder) => {
    const done: Promise<void> = readFolder(folder)
      .then(
        (dirents) => {
          const { next, found } = visit(folder, dirents);
          for (const sub of next) queue.push(sub);
          for (const item of found) buffer.push(item);
        },
        (err: unknown) => {
          if (!isMissing(err) && !(err instanceof StorageError && err.reason === 'unsafe')) skipped(folder, err);
        },
      )
      .catch((err: unknown) => void (failure ??= { err }))
      .finally(() => reading.delete(done));
    reading.add(done);
  };
  try {
    while (queue.length > 0 || reading.size > 0) {
      while (reading.size < WALK_WIDTH && queue.length > 0 && buffer.length < batch) startRead(queue.pop()!);
      if (reading.size > 0 && buffer.length < batch) await Promise.race(reading);
      if (failure) throw failure.err;
      if (buffer.length >= batch) {
        const out = buffer;
        buffer = [];
        yield out;
      }
    }
    if (buffer.length > 0) yield buffer;
  } finally {
    // A consumer that stops early (or a failure) still lets the reads in flight finish quietly.
    await Promise.allSettled(reading);
  }
}
