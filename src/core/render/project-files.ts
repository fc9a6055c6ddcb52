/**
 * Project files as content may see them (SPEC §11.1): regular files inside the project folder only.
 * Absolute paths, `..`, dot-files, symlinks leading out, `entries/tokens/`, and the server's own
 * `config/` and `var/` folders (settings may hold secrets; var holds run-time state) read as missing.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PathInfo, ProjectFiles } from './context.js';

export interface ProjectFilesOptions {
  projectDir: string;
  /** The entries folder name (`entries.directory`): off limits to file reads (entries are read by id). */
  entriesDirectory: string;
  /** Largest file read (bytes). */
  maxFileBytes: number;
  /** Most names a glob lists. */
  maxListed: number;
}

const CLOSED_TOP_FOLDERS = new Set(['config', 'var', 'node_modules']);

export function createProjectFiles(options: ProjectFilesOptions): ProjectFiles {
  const root = path.resolve(options.projectDir);
  let realRoot: Promise<string> | undefined;
  const rootReal = () => (realRoot ??= fs.realpath(root).catch(() => root));
  // Entry files are read as entries (by id), where tokens and other entries' `_` fields are out of
  // reach; as raw files they would show both, so the whole entries folder is closed to file reads.
  const entriesPrefix = options.entriesDirectory.split('/').filter((s) => s !== '');

  /** The path's segments when it is acceptable at all (before looking at the disk). */
  function segmentsOf(relative: string): string[] | undefined {
    if (typeof relative !== 'string' || relative === '' || relative.includes('\0') || relative.includes('\\')) return undefined;
    if (path.isAbsolute(relative) || /^[A-Za-z]:/.test(relative) || /^[a-z][a-z0-9+.-]*:/i.test(relative)) return undefined;
    let segments = relative.split('/').filter((s) => s !== '' && s !== '.');
    if (segments[0] === 'project') segments = segments.slice(1); // the reference's base folder name
    return acceptable(segments) ? segments : undefined;
  }

  function acceptable(segments: string[]): boolean {
    if (segments.some((s) => s === '..' || s.startsWith('.'))) return false;
    if (segments.length > 0 && CLOSED_TOP_FOLDERS.has(segments[0]!)) return false;
    if (entriesPrefix.length > 0 && entriesPrefix.every((part, i) => segments[i] === part)) return false;
    return true;
  }

  /** The real location inside the project, or undefined (symlinks are followed, then checked again). */
  async function locate(relative: string): Promise<string | undefined> {
    const segments = segmentsOf(relative);
    if (!segments) return undefined;
    const real = await fs.realpath(path.join(root, ...segments)).catch(() => undefined);
    if (!real) return undefined;
    const base = await rootReal();
    const inside = path.relative(base, real);
    if (inside.startsWith('..') || path.isAbsolute(inside)) return undefined;
    if (inside !== '' && !acceptable(inside.split(path.sep))) return undefined;
    return real;
  }

  async function stat(relative: string): Promise<PathInfo | undefined> {
    const real = await locate(relative);
    if (!real) return undefined;
    const info = await fs.stat(real).catch(() => undefined);
    if (!info) return undefined;
    if (info.isFile()) return { kind: 'file', size: info.size, mtimeMs: info.mtimeMs, atimeMs: info.atimeMs };
    if (info.isDirectory()) return { kind: 'directory', size: await directorySize(real), mtimeMs: info.mtimeMs, atimeMs: info.atimeMs };
    return undefined;
  }

  /** Total size of the regular files directly inside (bounded; no recursion into huge trees). */
  async function directorySize(dir: string): Promise<number> {
    const names = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    let total = 0;
    for (const entry of names.slice(0, options.maxListed)) {
      if (entry.isFile() && !entry.name.startsWith('.')) total += (await fs.stat(path.join(dir, entry.name)).catch(() => undefined))?.size ?? 0;
    }
    return total;
  }

  return {
    stat,
    async readFile(relative) {
      const real = await locate(relative);
      if (!real) return undefined;
      const info = await fs.stat(real).catch(() => undefined);
      if (!info || !info.isFile() || info.size > options.maxFileBytes) return undefined;
      return fs.readFile(real, 'utf8').catch(() => undefined);
    },
    async glob(pattern) {
      // Wildcards in the last segment only (`entries/blog/*.md`); the folder part is confined as above.
      const slash = pattern.lastIndexOf('/');
      const folder = slash === -1 ? '' : pattern.slice(0, slash);
      const namePattern = slash === -1 ? pattern : pattern.slice(slash + 1);
      if (/[*?[]/.test(folder) || namePattern === '') return [];
      const folderSegments = folder === '' ? [] : segmentsOf(folder);
      if (!folderSegments) return [];
      const real = folder === '' ? await rootReal() : await locate(folder);
      if (!real) return [];
      const matcher = globToRegExp(namePattern);
      const names = await fs.readdir(real).catch(() => [] as string[]);
      const out: string[] = [];
      for (const name of names.sort()) {
        if (out.length >= options.maxListed) break;
        if (!matcher.test(name)) continue;
        const relativePath = [...folderSegments, name].join('/');
        if (await locate(relativePath)) out.push(relativePath);
      }
      return out;
    },
  };
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        source += `[${pattern.slice(i + 1, end).replace(/[\\\]^]/g, '\\$&').replace(/^!/, '^')}]`;
        i = end;
      }
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
