/** The file watcher of the file-system driver: one inotify watch per folder, re-attached when entries/ is replaced. */
import { promises as fs, watch as watchFolder, type Dirent, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { StorageWatcher } from './driver.js';
import { isMissing, type Folder } from './safe-fs.js';

/**
 * One inotify watch per folder (Node's recursive mode costs several times more memory per
 * folder); folders appearing later are added, vanished ones dropped. The folder holding the
 * entries folder is watched too: when the entries folder (or the link naming it) is replaced,
 * e.g. by an atomic deploy, every watch is re-attached to the new one and '' is reported.
 * Watching is read-only: a path it follows through a swapped link only causes a re-read, and
 * every read goes through the driver's link-refusing operations.
 */
export async function watchTree(
  root: string,
  walk: (start: Folder, visit: (folder: Folder, dirents: Dirent[]) => Folder[]) => Promise<void>,
  listener: (relativePath: string) => void,
  onError: (err: Error) => void,
): Promise<StorageWatcher> {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  const drop = (relDir: string) => {
    for (const [key, watcher] of watchers) {
      if (key === relDir || key.startsWith(relDir + path.sep)) {
        watcher.close();
        watchers.delete(key);
      }
    }
  };
  /** Starts one folder's watch; false when the folder is gone. */
  const watchOne = (relDir: string): boolean => {
    try {
      const watcher = watchFolder(relDir === '' ? root : path.join(root, relDir), { persistent: false }, (_event, filename) => {
        const rel = filename ? (relDir === '' ? filename : path.join(relDir, filename)) : relDir;
        listener(rel);
        if (filename && !filename.startsWith('.')) void follow(rel);
      });
      watcher.on('error', () => drop(relDir));
      watchers.set(relDir, watcher);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  };
  /** Watches a folder and everything below it (reading a few folders at a time). */
  const add = async (relDir: string): Promise<void> => {
    if (closed || watchers.has(relDir) || !watchOne(relDir)) return;
    const parts = relDir === '' ? [] : relDir.split(path.sep);
    await walk({ parts, id: relDir }, ({ parts: at, id }, dirents) => {
      const next: Folder[] = [];
      for (const dirent of dirents) {
        if (!dirent.isDirectory() || dirent.name.startsWith('.')) continue;
        const rel = id === '' ? dirent.name : path.join(id, dirent.name);
        // Watched before it is read, so nothing created inside it meanwhile goes unseen.
        if (closed || watchers.has(rel) || !watchOne(rel)) continue;
        next.push({ parts: [...at, dirent.name], id: rel });
      }
      return next;
    });
  };
  // A name changed inside a watched folder: start watching a new folder, stop for a vanished one.
  const follow = async (rel: string) => {
    try {
      const stat = await fs.lstat(path.join(root, rel));
      if (stat.isDirectory()) await add(rel);
    } catch (err) {
      if (isMissing(err)) drop(rel);
      else onError(err as Error);
    }
  };
  const identity = async () => {
    const s = await fs.stat(root).catch(() => undefined);
    return s ? `${s.dev}:${s.ino}` : '';
  };
  let attached = await identity();
  let reattaching: Promise<void> | undefined;
  const reattach = async () => {
    const now = await identity();
    if (closed || now === attached || now === '') return;
    attached = now;
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
    await add('');
    listener('');
  };
  const parentWatcher = watchFolder(path.dirname(root), { persistent: false }, (_event, filename) => {
    if (filename !== path.basename(root) || closed) return;
    reattaching = (reattaching ?? Promise.resolve())
      .then(reattach)
      .catch((err: Error) => onError(err));
  });
  parentWatcher.on('error', (err) => onError(err));
  const close = () => {
    closed = true;
    parentWatcher.close();
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
  try {
    await add('');
  } catch (err) {
    close();
    throw err;
  }
  return { close };
}
