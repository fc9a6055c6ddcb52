/**
 * The bulk side of the file engine, run in a worker thread: walking the whole tree and reading
 * many entry files with synchronous calls. An awaited fs call costs a promise round trip each
 * (about 28 CPU-µs); eleven of them per entry made start-up slow, parsing was not the bottleneck.
 * Here one entry costs a few plain syscalls, and the event loop of the server stays free.
 *
 * The safety model is the one of safe-fs.ts: folders are held open and every next step names
 * `/proc/self/fd/<fd>/<name>` (the fd table is shared by the threads of a process), each folder
 * is opened with O_DIRECTORY|O_NOFOLLOW and each file with O_NOFOLLOW, so no link is followed.
 * Only used where /proc/self/fd exists (HELD_FOLDERS); elsewhere the engine stays asynchronous.
 */
import { closeSync, constants as C, fstatSync, lstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { DecodeError, getSerializer, type Fields } from '../serializers/index.js';

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const FILE_FLAGS = C.O_RDONLY | C.O_NOFOLLOW;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface StatFields {
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
  atimeMs: number;
  size: number;
}

/** One entry to read: its path segments, its file name, and the revision already known (skip the read when equal). */
export interface ReadItem {
  parts: string[];
  file: string;
  known?: string;
  /**
   * The serializer to decode the text with, here (the worker has a core of its own; the fields
   * then arrive as fresh strings, not slices that keep the whole file text alive).
   */
  serializer?: string;
}

export type ReadResult =
  | { kind: 'missing' }
  | { kind: 'same'; stat: StatFields }
  | { kind: 'text'; stat: StatFields; text: string; valid: boolean }
  /** `revision`: revisionText(stat), made here (it arrives as one flat string, not a concatenation). */
  | { kind: 'fields'; stat: StatFields; revision: string; fields: Fields }
  /** `decode`: the serializer refused the text (a DecodeError), else decoding failed otherwise. */
  | { kind: 'undecodable'; stat: StatFields; message: string; decode: boolean }
  | { kind: 'error'; message: string; code?: string };

export interface WalkFolder {
  parts: string[];
  /** The entry file name of this folder's id ('' for the root: none). */
  file: string;
}

export type WorkerRequest =
  | { op: 'read'; seq: number; root: string; items: ReadItem[] }
  /** `cancel`: an Int32 the main thread sets to 1 when the consumer stops early (the walk is synchronous: no message gets in). */
  | { op: 'walk'; seq: number; root: string; start: string[]; prefix: string; batch: number; cancel: SharedArrayBuffer }
  /** Stat passes over the whole tree, one every `intervalMs` after the previous ended, until the worker stops. */
  | { op: 'scan'; seq: number; root: string; intervalMs: number };

export type WorkerReply =
  | { seq: number; op: 'read'; results: ReadResult[] }
  /** `found`: folders with plain files, as [id, file names] (the engine knows which name makes an entry). */
  | { seq: number; op: 'walk'; found: [string, string[]][]; leftovers: string[][]; done: boolean; skipped: { folder: string; message: string }[] }
  /**
   * One stat pass: folders that appeared, vanished or were replaced ('' : the root itself), and
   * plain files whose ctime changed, that appeared or vanished. `pass` counts passes (1: the baseline, which reports nothing).
   */
  | { seq: number; op: 'scan'; changed: ScanChanges; pass: number; ms: number }
  | { seq: number; op: 'fail'; message: string; code?: string };

/** Same text as files.ts revisionOf (the ETag must not depend on which path read the file). */
export function revisionText(s: StatFields): string {
  const micros = (ms: number) => Math.round(ms * 1000).toString(36);
  return `${s.ino.toString(36)}-${micros(s.mtimeMs)}-${micros(s.ctimeMs)}-${s.size.toString(36)}`;
}

const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;
const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Held folder fds along the path of the previous item, so neighbours share their opens. */
class HeldChain {
  private names: string[] = [];
  private fds: number[] = [];
  constructor(private readonly rootFd: number) {}

  /** The fd of the folder `parts`, or throws (ENOENT/ENOTDIR/ELOOP: not there, or a link). */
  open(parts: readonly string[]): number {
    let common = 0;
    while (common < this.names.length && common < parts.length && this.names[common] === parts[common]) common++;
    this.truncate(common);
    for (let i = common; i < parts.length; i++) {
      const parent = i === 0 ? this.rootFd : this.fds[i - 1]!;
      const fd = openSync(at(parent, parts[i]!), DIR_FLAGS);
      this.names.push(parts[i]!);
      this.fds.push(fd);
    }
    return parts.length === 0 ? this.rootFd : this.fds[parts.length - 1]!;
  }

  truncate(length: number): void {
    while (this.fds.length > length) {
      closeSync(this.fds.pop()!);
      this.names.pop();
    }
  }
}

function statOf(fd: number): { stat: StatFields; isFile: boolean } {
  const s = fstatSync(fd);
  return { stat: { ino: s.ino, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, atimeMs: s.atimeMs, size: s.size }, isFile: s.isFile() };
}

function readAll(fd: number, size: number): Buffer {
  // The size may change while reading (an editor writing in place): read until EOF.
  let buffer = Buffer.allocUnsafe(Math.max(size, 4096));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

function readOne(chain: HeldChain, item: ReadItem): ReadResult {
  let dirFd: number;
  try {
    dirFd = chain.open(item.parts);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return { kind: 'missing' };
    return { kind: 'error', message: (err as Error).message, ...(code ? { code } : {}) };
  }
  let fd: number;
  try {
    fd = openSync(at(dirFd, item.file), FILE_FLAGS);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EISDIR') return { kind: 'missing' };
    return { kind: 'error', message: (err as Error).message, ...(code ? { code } : {}) };
  }
  try {
    const { stat, isFile } = statOf(fd);
    if (!isFile) return { kind: 'missing' };
    if (item.known !== undefined && item.known === revisionText(stat)) return { kind: 'same', stat };
    const bytes = readAll(fd, stat.size);
    let text: string;
    let valid = true;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      text = bytes.toString('utf8');
      valid = false;
    }
    const serializer = item.serializer === undefined ? undefined : getSerializer(item.serializer);
    if (!serializer) return { kind: 'text', stat, text, valid };
    try {
      return { kind: 'fields', stat, revision: revisionText(stat), fields: serializer.decode(text) };
    } catch (err) {
      return { kind: 'undecodable', stat, message: (err as Error).message, decode: err instanceof DecodeError };
    }
  } catch (err) {
    const code = codeOf(err);
    return { kind: 'error', message: (err as Error).message, ...(code ? { code } : {}) };
  } finally {
    closeSync(fd);
  }
}

function read(request: Extract<WorkerRequest, { op: 'read' }>): WorkerReply {
  const rootFd = openSync(request.root, C.O_RDONLY | C.O_DIRECTORY);
  const chain = new HeldChain(rootFd);
  try {
    return { seq: request.seq, op: 'read', results: request.items.map((item) => readOne(chain, item)) };
  } finally {
    chain.truncate(0);
    closeSync(rootFd);
  }
}

/**
 * Walks the tree depth-first from `start`, holding each folder's fd while its children are read
 * (at most the tree's depth of fds at once). Posts ids in batches; temporary leftovers (names with
 * the `.ft-tmp-` prefix) are reported for the engine's recovery.
 */
function walk(request: Extract<WorkerRequest, { op: 'walk' }>, post: (reply: WorkerReply) => void): void {
  const rootFd = openSync(request.root, C.O_RDONLY | C.O_DIRECTORY);
  let found: [string, string[]][] = [];
  let leftovers: string[][] = [];
  let skipped: { folder: string; message: string }[] = [];
  const flush = (done: boolean) => {
    post({ seq: request.seq, op: 'walk', found, leftovers, done, skipped });
    found = [];
    leftovers = [];
    skipped = [];
  };
  const cancelled = new Int32Array(request.cancel);
  const visit = (fd: number, parts: string[], id: string) => {
    if (Atomics.load(cancelled, 0) !== 0) return;
    let dirents;
    try {
      dirents = readdirSync(`/proc/self/fd/${fd}`, { withFileTypes: true });
    } catch (err) {
      const code = codeOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') skipped.push({ folder: parts.join('/'), message: (err as Error).message });
      return;
    }
    if (id !== '') {
      const files = dirents.filter((d) => d.isFile() && !d.name.startsWith('.')).map((d) => d.name);
      if (files.length > 0) found.push([id, files]);
    }
    for (const dirent of dirents) {
      if (Atomics.load(cancelled, 0) !== 0) return;
      if (dirent.name.startsWith('.ft-tmp-')) {
        leftovers.push([...parts, dirent.name]);
        continue;
      }
      if (dirent.name.startsWith('.') || !dirent.isDirectory()) continue;
      let child: number;
      try {
        child = openSync(at(fd, dirent.name), DIR_FLAGS);
      } catch (err) {
        const code = codeOf(err);
        // Vanished meanwhile, or replaced by a link: skipped, as in the asynchronous walk.
        if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') skipped.push({ folder: [...parts, dirent.name].join('/'), message: (err as Error).message });
        continue;
      }
      try {
        visit(child, [...parts, dirent.name], id === '' ? dirent.name : `${id}/${dirent.name}`);
      } finally {
        closeSync(child);
      }
      if (found.length >= request.batch) flush(false);
    }
  };
  try {
    const chain = new HeldChain(rootFd);
    let startFd: number;
    try {
      startFd = chain.open(request.start);
    } catch {
      chain.truncate(0);
      flush(true);
      return;
    }
    try {
      visit(startFd, request.start, request.prefix);
    } finally {
      chain.truncate(0);
    }
    flush(true);
  } finally {
    closeSync(rootFd);
  }
}

/** What one pass found: paths ('/'-separated, relative) of folders and of plain files. */
export interface ScanChanges {
  folders: string[];
  files: string[];
}

/** What a scan pass remembers of one folder (kept small: a million of them may be held). */
interface ScannedFolder {
  /** ino and ctime of the folder: a name added, removed or renamed in it changes its ctime. */
  ino: number;
  ctimeMs: number;
  /** Child folders by name (undefined: none). */
  folders: Map<string, ScannedFolder> | undefined;
  /** Plain files and their ctimes: every change of a file (write, chmod, rename) sets its ctime. */
  files: string[];
  ctimes: number[];
}

/** One string per file name for the common names (every entry folder holds an `entry.md`). */
const fileNames = new Map<string, string>();
function internName(name: string): string {
  const known = fileNames.get(name);
  if (known !== undefined) return known;
  if (fileNames.size < 256) fileNames.set(name, name);
  return name;
}

/** lstat, or undefined when the path is gone or cannot be checked (the next pass tries again). */
function lstatOrNot(p: string) {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * The change feed of projects too large to watch (or where watching fails): every pass stats each
 * known folder and each plain file in it; only folders whose ctime or inode changed are read
 * again. Plain paths are used (the feed only says where to look: every read that follows goes
 * through the held-folder reads, which never follow a link), and links are never descended into.
 */
class TreeScanner {
  private top: ScannedFolder | undefined;
  private rootIno = -1;
  pass = 0;

  constructor(private readonly root: string) {}

  /** Reads a folder and everything below it (the baseline, or a folder that appeared or was replaced). */
  private load(abs: string, ino: number, ctimeMs: number): ScannedFolder {
    const folder: ScannedFolder = { ino, ctimeMs, folders: undefined, files: [], ctimes: [] };
    this.refill(folder, abs, '', undefined);
    return folder;
  }

  /** Lists `abs` into `folder`; with `changed`, reports what appeared or vanished since the last listing. */
  private refill(folder: ScannedFolder, abs: string, relPrefix: string, changed: ScanChanges | undefined): void {
    let dirents;
    try {
      dirents = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    const seenFolders = new Set<string>();
    const files: string[] = [];
    const ctimes: number[] = [];
    const before = new Map(folder.files.map((name, i) => [name, folder.ctimes[i]!]));
    for (const dirent of dirents) {
      if (dirent.name.startsWith('.')) continue;
      const childAbs = `${abs}/${dirent.name}`;
      if (dirent.isDirectory()) {
        seenFolders.add(dirent.name);
        if (folder.folders?.has(dirent.name)) continue;
        const s = lstatOrNot(childAbs);
        if (!s?.isDirectory()) continue;
        (folder.folders ??= new Map()).set(dirent.name, this.load(childAbs, s.ino, s.ctimeMs));
        changed?.folders.push(relPrefix + dirent.name);
      } else if (dirent.isFile()) {
        const known = before.get(dirent.name);
        before.delete(dirent.name);
        const s = lstatOrNot(childAbs);
        if (!s?.isFile()) continue;
        files.push(internName(dirent.name));
        ctimes.push(s.ctimeMs);
        if (known !== s.ctimeMs) changed?.files.push(relPrefix + dirent.name);
      }
    }
    folder.files = files;
    folder.ctimes = ctimes;
    for (const name of before.keys()) changed?.files.push(relPrefix + name);
    if (folder.folders) {
      for (const name of [...folder.folders.keys()]) {
        if (!seenFolders.has(name)) {
          folder.folders.delete(name);
          changed?.folders.push(relPrefix + name);
        }
      }
      if (folder.folders.size === 0) folder.folders = undefined;
    }
  }

  /** Compares a known folder with the disk, recursively; false when it is gone or replaced. */
  private check(folder: ScannedFolder, abs: string, rel: string, changed: ScanChanges): boolean {
    const s = lstatOrNot(abs);
    if (!s?.isDirectory() || s.ino !== folder.ino) return false;
    const prefix = rel === '' ? '' : `${rel}/`;
    if (s.ctimeMs !== folder.ctimeMs) {
      // Names changed: listed again (which also stats its files).
      folder.ctimeMs = s.ctimeMs;
      this.refill(folder, abs, prefix, changed);
    } else {
      for (let i = 0; i < folder.files.length; i++) {
        const f = lstatOrNot(`${abs}/${folder.files[i]}`);
        const now = f?.isFile() ? f.ctimeMs : -1;
        if (now !== folder.ctimes[i]) {
          folder.ctimes[i] = now;
          changed.files.push(prefix + folder.files[i]);
        }
      }
    }
    if (folder.folders) {
      for (const [name, child] of folder.folders) {
        const childAbs = `${abs}/${name}`;
        if (!this.check(child, childAbs, prefix + name, changed)) {
          // Gone, or replaced by another folder of the same name: re-read, reported as a whole.
          const now = lstatOrNot(childAbs);
          if (now?.isDirectory()) folder.folders.set(name, this.load(childAbs, now.ino, now.ctimeMs));
          else folder.folders.delete(name);
          changed.folders.push(prefix + name);
        }
      }
    }
    return true;
  }

  /** One pass; the first only records what is there. */
  run(): ScanChanges {
    this.pass++;
    const changed: ScanChanges = { folders: [], files: [] };
    // The entries folder may be a link (a deploy switching it): followed, and compared by inode.
    let s;
    try {
      s = statSync(this.root, { throwIfNoEntry: false });
    } catch {
      s = undefined;
    }
    const ino = s?.isDirectory() ? s.ino : -1;
    if (this.pass === 1 || ino !== this.rootIno) {
      this.rootIno = ino;
      this.top = ino === -1 ? undefined : this.load(this.root, s!.ino, s!.ctimeMs);
      if (this.pass > 1) changed.folders.push('');
      return changed;
    }
    if (this.top && !this.check(this.top, this.root, '', changed)) {
      this.rootIno = -1;
      changed.folders.push('');
    }
    return changed;
  }
}

function scan(request: Extract<WorkerRequest, { op: 'scan' }>, post: (reply: WorkerReply) => void): void {
  const scanner = new TreeScanner(request.root);
  const pass = () => {
    const started = performance.now();
    let changed: ScanChanges;
    try {
      changed = scanner.run();
    } catch {
      // Unexpected (e.g. out of file handles): everything may have changed.
      changed = { folders: [''], files: [] };
    }
    const ms = performance.now() - started;
    post({ seq: request.seq, op: 'scan', changed, pass: scanner.pass, ms: Math.round(ms) });
    // At most a third of a core: a pass over a million entries takes tens of seconds, and passes
    // back to back would take one of this machine's cores from the server for good.
    setTimeout(pass, Math.max(request.intervalMs, 2 * ms));
  };
  pass();
}

parentPort?.on('message', (request: WorkerRequest) => {
  const post = (reply: WorkerReply) => parentPort!.postMessage(reply);
  try {
    if (request.op === 'read') post(read(request));
    else if (request.op === 'scan') scan(request, post);
    else walk(request, post);
  } catch (err) {
    const code = codeOf(err);
    post({ seq: request.seq, op: 'fail', message: (err as Error).message, ...(code ? { code } : {}) });
  }
});
