/**
 * One server per project: `serve` holds var/server.json (created exclusively, mode 0600) for as long
 * as it runs. The file names the process (pid and its start time, so a reused pid is not mistaken
 * for it), the server's URLs and the random secret of its local control requests, which is how
 * `cache:clear` reaches it: over HTTP, never by signalling a pid it cannot be sure of.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isPlainObject } from '../core/util.js';
import { CliFailure } from './output.js';
import { pidFileOf } from './project.js';

export interface ServerInfo {
  pid: number;
  /** When the process started (Linux: field 22 of /proc/<pid>/stat); null where unknown. */
  started: string | null;
  /** Tells this server's file from a later one's. */
  instance: string;
  control_secret: string;
  /** The server's base URL, once it listens. */
  url?: string;
  /** Where the CLI sends control requests (loopback when the server listens on every address). */
  control_url?: string;
}

/** Exit code of a `serve` refused because another server holds the project (EX_TEMPFAIL). */
export const EXIT_PROJECT_LOCKED = 75;

export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count after its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** The server info of a project, or undefined when there is none or it is unreadable. */
export function readServerInfo(projectDir: string): ServerInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(pidFileOf(projectDir), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isPlainObject(parsed) || !Number.isInteger(parsed['pid']) || typeof parsed['instance'] !== 'string') return undefined;
  if (typeof parsed['control_secret'] !== 'string') return undefined;
  return parsed as unknown as ServerInfo;
}

/** True when the process the file names still runs and is the same process (not a reused pid). */
export function isRunning(info: ServerInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartTime(info.pid);
  return info.started === null || started === null || started === info.started;
}

function readOrNothing(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function writePrivate(file: string, info: ServerInfo): void {
  writeFileSync(file, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
}

export interface ServerLock {
  readonly info: ServerInfo;
  /** Adds the URLs once the server listens (replacing the file atomically). */
  update(fields: Pick<ServerInfo, 'url' | 'control_url'>): void;
  /** Removes the file if it is still this server's. */
  release(): void;
}

/** Takes the project for this process, or refuses when another running server holds it. */
export function acquireServerLock(projectDir: string): ServerLock {
  const file = pidFileOf(projectDir);
  mkdirSync(path.dirname(file), { recursive: true });
  const info: ServerInfo = {
    pid: process.pid,
    started: processStartTime(process.pid),
    instance: randomBytes(8).toString('hex'),
    control_secret: randomBytes(32).toString('hex'),
  };
  const temp = `${file}.${info.instance}.tmp`;
  // Bounded: each round either takes the file or removes one stale file.
  for (let round = 0; round < 5; round++) {
    writePrivate(temp, info);
    try {
      // link() creates the file with its whole content or fails if one exists: no half-written lock.
      linkSync(temp, file);
      rmSync(temp, { force: true });
      return makeLock(file, info);
    } catch (err) {
      rmSync(temp, { force: true });
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = readOrNothing(file);
    if (held === undefined) continue; // released meanwhile: try again
    const holder = readServerInfo(projectDir);
    if (holder && isRunning(holder)) {
      const where = holder.url ? ` at ${holder.url}` : ' (still starting)';
      throw new CliFailure(
        `another server (pid ${holder.pid})${where} is already serving ${projectDir}; stop it first (one server per project)`,
        EXIT_PROJECT_LOCKED,
      );
    }
    // Stale (its process is gone): remove it unless another starter replaced it meanwhile.
    if (readOrNothing(file) === held) rmSync(file, { force: true });
  }
  throw new CliFailure(`could not take ${file}: other servers keep starting on this project`, EXIT_PROJECT_LOCKED);
}

function makeLock(file: string, info: ServerInfo): ServerLock {
  let current = info;
  const ours = () => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as ServerInfo).instance === info.instance;
    } catch {
      return false;
    }
  };
  return {
    get info() {
      return current;
    },
    update(fields) {
      current = { ...current, ...fields };
      const temp = `${file}.${info.instance}.tmp`;
      writePrivate(temp, current);
      renameSync(temp, file);
    },
    release() {
      if (ours()) rmSync(file, { force: true });
    },
  };
}
