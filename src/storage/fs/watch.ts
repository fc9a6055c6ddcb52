/**
 * Watches an entries folder tree for changes made behind the API's back: one watch per folder
 * (Node's recursive mode costs several times more memory per folder). A watch follows an inode,
 * not a name, so every folder's identity is recorded and compared: a folder replaced under the
 * same name (`mv blog blog.old && cp -a blog.old blog`) is watched again, and so is the entries
 * folder itself, noticed through a watch on its parent folder and a periodic check.
 */
import { lstatSync, promises as fs, statSync, watch as watchFolder, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';
import type { ChangeFeed } from '../engine.js';

/** How often (ms) the entries folder's identity is checked, besides the watch on its parent. */
const ROOT_CHECK_INTERVAL = 1000;
/** Folders read at the same time while a tree is being watched. */
const WALK_WIDTH = 16;

interface Watched {
  watcher: FSWatcher;
  identity: string;
}

const identityOf = (s: Stats): string => `${s.dev}:${s.ino}`;

function isDenied(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Reports paths relative to `root` ('' for "everything may have changed": the folder was replaced,
 * rescan it all). Names starting with a dot are not followed (ours are temporary files).
 */
export async function watchTree(
  root: string,
  listener: (relativePath: string) => void,
  onError: (err: Error) => void,
): Promise<ChangeFeed> {
  const folders = new Map<string, Watched>();
  let closed = false;

  const drop = (relDir: string) => {
    for (const [key, watched] of folders) {
      if (relDir === '' || key === relDir || key.startsWith(relDir + path.sep)) {
        watched.watcher.close();
        folders.delete(key);
      }
    }
  };

  /** Starts one folder's watch; false when it is gone or no folder. Identity first, watch second:
   * if the folder is replaced in between, the recorded identity is the old one and the next check
   * re-watches (the other order could record the new folder while watching the old). */
  const watchOne = (relDir: string): boolean => {
    const dir = relDir === '' ? root : path.join(root, relDir);
    try {
      // The entries folder may be a link (a symlink deploy); folders below it are never followed.
      const stat = relDir === '' ? statSync(dir) : lstatSync(dir);
      if (!stat.isDirectory()) return false;
      const watcher = watchFolder(dir, { persistent: false }, (_event, filename) => {
        const rel = filename ? (relDir === '' ? filename : path.join(relDir, filename)) : relDir;
        listener(rel);
        if (filename && !filename.startsWith('.')) void follow(rel);
        // The entries folder itself may have been moved away (its watch then follows it).
        if (relDir === '') checkRoot();
      });
      watcher.on('error', () => drop(relDir));
      folders.set(relDir, { watcher, identity: identityOf(stat) });
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  };

  /** Watches a folder and everything below it, each folder before it is read. */
  const add = async (relDir: string): Promise<void> => {
    if (closed || folders.has(relDir) || !watchOne(relDir)) return;
    const queue = [relDir];
    const worker = async (): Promise<void> => {
      for (let rel = queue.pop(); rel !== undefined && !closed; rel = queue.pop()) {
        let dirents;
        try {
          dirents = await fs.readdir(rel === '' ? root : path.join(root, rel), { withFileTypes: true });
        } catch (err) {
          // A folder that vanished, or one we may not read (the engine skips and logs those too).
          if (isMissing(err) || isDenied(err)) continue;
          throw err;
        }
        for (const dirent of dirents) {
          if (!dirent.isDirectory() || dirent.name.startsWith('.')) continue;
          const child = rel === '' ? dirent.name : path.join(rel, dirent.name);
          if (!closed && !folders.has(child) && watchOne(child)) queue.push(child);
        }
      }
    };
    // Workers end when the queue is momentarily empty; loop until no folder is left to read.
    while (queue.length > 0 && !closed) await Promise.all(Array.from({ length: Math.min(WALK_WIDTH, queue.length) }, worker));
  };

  /** A name changed inside a watched folder: watch a new or replaced folder, stop for a vanished one. */
  const follow = async (rel: string): Promise<void> => {
    try {
      const stat = await fs.lstat(path.join(root, rel));
      const watched = folders.get(rel);
      if (!stat.isDirectory()) {
        if (watched) drop(rel);
        return;
      }
      if (watched?.identity === identityOf(stat)) return;
      drop(rel);
      await add(rel);
      // Anything created in it before its folders were watched: the store rescans it now.
      listener(rel);
    } catch (err) {
      if (isMissing(err)) drop(rel);
      else onError(err as Error);
    }
  };

  let started = false;
  let rootIdentity: string | undefined;
  let checking: Promise<void> | undefined;
  let checkAgain = false;
  /** Compares the entries folder with the one watched; re-watches it all when it was replaced. */
  const checkRoot = (): void => {
    if (!started || closed) return;
    if (checking) {
      checkAgain = true;
      return;
    }
    checking = (async () => {
      let current: string | undefined;
      try {
        current = identityOf(await fs.stat(root));
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      if (closed || current === rootIdentity) return;
      drop('');
      rootIdentity = current;
      // A missing folder is not created here (that would turn a following `cp -a x entries` into
      // `entries/x`): it is watched again once it is back.
      if (current !== undefined) {
        await add('');
        rootIdentity = folders.get('')?.identity;
      }
      listener('');
    })()
      .catch((err: Error) => onError(err))
      .finally(() => {
        checking = undefined;
        if (checkAgain && !closed) {
          checkAgain = false;
          checkRoot();
        }
      });
  };

  let parentWatcher: FSWatcher | undefined;
  const timer = setInterval(checkRoot, ROOT_CHECK_INTERVAL);
  timer.unref();
  const close = () => {
    closed = true;
    clearInterval(timer);
    parentWatcher?.close();
    drop('');
  };

  try {
    const name = path.basename(root);
    parentWatcher = watchFolder(path.dirname(root), { persistent: false }, (_event, filename) => {
      if (filename === null || filename === name) checkRoot();
    });
    parentWatcher.on('error', () => {
      parentWatcher?.close();
      parentWatcher = undefined;
    });
  } catch {
    // An unwatchable parent folder: the periodic check still notices a replaced entries folder.
  }
  try {
    await add('');
  } catch (err) {
    close();
    throw err;
  }
  rootIdentity = folders.get('')?.identity;
  started = true;
  return { close };
}
