/**
 * The narrow capabilities the expression interpreter (and later the shortcodes) may use. The
 * rendering stage plugs in implementations that apply SPEC §11; the interpreter never reaches the
 * store, the file system or settings by any other way.
 */
import type { PlainObject } from '../util.js';
import type { RenderBudget } from './limits.js';

/** An entry or collection as content may see it: `_` keys already removed at every depth. */
export type FetchedData =
  | { kind: 'entry'; data: PlainObject }
  | { kind: 'collection'; items: { id: string; data: PlainObject }[] }
  | { kind: 'groups'; groups: { key: string; items: { id: string; data: PlainObject }[] }[] }
  | { kind: 'missing' };

export interface PathInfo {
  kind: 'file' | 'directory';
  size: number;
  mtimeMs: number;
  atimeMs: number;
}

export interface ContentAccess {
  /** A fetch as `GET /entries` with these options would answer it (rendered, §11 rules applied). */
  fetchEntry(id: string, options: PlainObject | undefined): Promise<FetchedData>;
  hasEntry(id: string): Promise<boolean>;
}

export interface ProjectFiles {
  /** The text of a regular file inside the project (§11.1); undefined for anything else. */
  readFile(relativePath: string): Promise<string | undefined>;
  stat(relativePath: string): Promise<PathInfo | undefined>;
  /** Paths (relative to the project) matching a glob, nothing outside the project. */
  glob(pattern: string): Promise<string[]>;
}

/** The request being answered, for the url functions. */
export interface RequestInfo {
  /** `http[s]://host[:port]` of the request. */
  origin: string;
  /** Path and query of the request (`/api/v1/query?x=1`). */
  uri: string;
}

/** Markup parsers the rendering stage provides; absent ones make their methods an error. */
export interface MarkupParsers {
  markdown?(text: string): string | Promise<string>;
  textile?(text: string): string | Promise<string>;
  shortcodes?(text: string): string | Promise<string>;
}

export interface RenderContext {
  budget: RenderBudget;
  /** Effective settings by dot path (frozen; read-only). */
  setting(path: string): unknown;
  /** Registry reads as clients see them (secret keys missing). */
  registry(key: string): { found: boolean; value: unknown };
  content: ContentAccess;
  files: ProjectFiles;
  request?: RequestInfo;
  parsers?: MarkupParsers;
  /** Translations: the dictionary entry of `key` for `locale`, if any. */
  translate?(key: string, locale: string): string | undefined;
}
