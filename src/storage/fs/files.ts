/** Entry files inside held folders: reading, atomic writing, copying attachments, revisions. */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs, type Stats } from 'node:fs';
import type { Revision } from '../engine.js';
import { errnoOf, isMissing, type HeldDir } from './safe-fs.js';

/** Names of our own temporary files and folders; never taken for entries. */
export const TEMP_PREFIX = '.ft-tmp-';

const READ = fsConstants.O_RDONLY;
const CREATE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;

/** Temporary names stay short whatever the entry's name, so a long segment still fits NAME_MAX. */
export function tempName(label: string): string {
  return `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${label.slice(0, 12)}`;
}

/**
 * The revision of an entry file: changes with any change of the file, also one that restores the
 * mtime (`cp -p`, `tar`), because ctime cannot be set back. The text is the ETag's (in quotes),
 * unchanged since the first release, so clients' cached ETags stay valid across the upgrade.
 */
export function revisionOf(s: Stats): Revision {
  const micros = (ms: number) => Math.round(ms * 1000).toString(36);
  return {
    revision: `${s.ino.toString(36)}-${micros(s.mtimeMs)}-${micros(s.ctimeMs)}-${s.size.toString(36)}`,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
    atimeMs: s.atimeMs,
    size: s.size,
  };
}

/** A file's bytes and stat, or undefined (missing, a link, not a file). */
export async function readFileIn(dir: HeldDir, name: string): Promise<{ bytes: Buffer; stat: Stats } | undefined> {
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

/** The stat of a plain file in `dir` (never through a link), or undefined. */
export async function statIn(dir: HeldDir, name: string): Promise<Stats | undefined> {
  try {
    const s = await fs.lstat(dir.at(name));
    return s.isFile() ? s : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * Writes `text` as `name` in `dir`: through a temporary file and a rename when `replace`.
 * `beforeRename` runs after the text is on disk and right before it replaces the file (the last
 * moment a precondition can be checked); when it throws, nothing is replaced.
 */
export async function writeNew(
  dir: HeldDir,
  name: string,
  text: string,
  replace: boolean,
  durable: boolean,
  beforeRename?: () => Promise<void>,
): Promise<void> {
  const target = replace ? tempName(name) : name;
  try {
    const handle = await dir.openFile(target, CREATE, 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    if (beforeRename) await beforeRename();
    if (replace) await fs.rename(dir.at(target), dir.at(name));
  } catch (err) {
    await fs.unlink(dir.at(target)).catch(() => undefined);
    throw err;
  }
}

/** Copies a plain file (attachments) opened without following links. */
export async function copyPlain(source: HeldDir, name: string, target: HeldDir, durable: boolean): Promise<void> {
  const handle = await source.openFile(name, READ).catch(() => undefined);
  if (!handle) return;
  try {
    // Through the held file itself, so a link swapped in meanwhile is not what gets copied.
    const from = process.platform === 'linux' ? `/proc/self/fd/${handle.fd}` : source.at(name);
    await fs.copyFile(from, target.at(name), fsConstants.COPYFILE_EXCL);
  } finally {
    await handle.close();
  }
  if (durable) {
    const copied = await target.openFile(name, READ);
    try {
      await copied.sync();
    } finally {
      await copied.close();
    }
  }
}
