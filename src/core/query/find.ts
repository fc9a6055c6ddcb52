/**
 * `options[find]`: which entries below an id a collection visits (depth, file date and size,
 * excluded folders, path fragments, raw content) and in which file-time order.
 */
import type { Revision } from '../../storage/engine.js';
import { badRequest } from '../errors.js';
import { isPlainObject, type PlainObject } from '../util.js';
import { dateReader, holds, maxDepthOf, parseComparisons, readInteger, readSize, type Comparison } from './comparisons.js';
import { asList } from './where.js';
import { compileSafeRegex, type SafeRegex } from './regex.js';

export interface FindCandidate {
  id: string;
  depth: number;
  meta: Revision;
}

/** `options.find`, validated: plain data (plus compiled patterns), frozen. */
export interface FindPlan {
  /** Depth comparisons (default `== 1`), and whether the client gave any. */
  readonly depth: readonly Comparison[];
  readonly explicitDepth: boolean;
  /** The largest depth `depth` admits (bounds the tree walk). */
  readonly maxDepth: number;
  /** File mtime (Unix seconds) and size comparisons. */
  readonly date: readonly Comparison[] | undefined;
  readonly size: readonly Comparison[] | undefined;
  /** Folder names (any segment) and subtrees below the collection left out, slashes trimmed. */
  readonly exclude: readonly string[];
  /** Every one must hold on the id below the collection: a fragment it contains, or a pattern. */
  readonly paths: readonly ({ readonly fragment: string } | { readonly pattern: string; readonly regex: SafeRegex })[];
  /** True when only the depth bound matters (nothing to check per entry). */
  readonly trivial: boolean;
  /** Raw-content checks, when asked for (on the public JSON of the entry). */
  readonly content: { readonly contains: readonly string[]; readonly notContains: readonly string[] } | undefined;
  readonly sort: { readonly key: 'mtimeMs' | 'ctimeMs' | 'atimeMs'; readonly descending: boolean } | undefined;
}

export interface FindLimits {
  maxDepth: number;
  maxPatternLength: number;
  timeZone: string;
}

function strings(value: unknown, what: string): string[] {
  const list = asList(value) ?? [value];
  return list.map((item) => {
    if (typeof item !== 'string' && typeof item !== 'number') throw badRequest(`${what} must be a string or a list of strings`);
    return String(item);
  });
}

/** Leading and trailing slashes removed (loops: `/^\/+|\/+$/g` is quadratic on long slash runs). */
function trimSlashes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 0x2f) start++;
  while (end > start && text.charCodeAt(end - 1) === 0x2f) end--;
  return text.slice(start, end);
}

/** The pattern of a `/pattern/flags` path (flags: lowercase letters, ignored), else undefined. */
function delimitedPattern(text: string): string | undefined {
  const close = text.lastIndexOf('/');
  if (!text.startsWith('/') || close < 1) return undefined;
  for (let i = close + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 97 || c > 122) return undefined;
  }
  return text.slice(1, close);
}

export function planFind(find: PlainObject, limits: FindLimits): FindPlan {
  const depth: Comparison[] = find['depth'] === undefined
    ? [{ op: '==', target: 1 }]
    : parseComparisons(find['depth'], 'options.find.depth', readInteger);
  for (const { target } of depth) {
    if (target > limits.maxDepth) throw badRequest(`options.find.depth: at most ${limits.maxDepth}`);
  }
  const maxDepth = maxDepthOf(depth, limits.maxDepth);
  const date = find['date'] === undefined ? undefined : parseComparisons(find['date'], 'options.find.date', dateReader(limits.timeZone));
  const size = find['size'] === undefined ? undefined : parseComparisons(find['size'], 'options.find.size', readSize);
  const exclude = find['exclude'] === undefined ? [] : strings(find['exclude'], 'options.find.exclude').map(trimSlashes);
  const paths: FindPlan['paths'][number][] = find['path'] === undefined
    ? []
    : strings(find['path'], 'options.find.path').map((p) => {
      const pattern = delimitedPattern(p);
      return pattern !== undefined ? { pattern, regex: compileSafeRegex(pattern, limits.maxPatternLength, 'options.find.path') } : { fragment: p };
    });
  const contains = find['contains'] === undefined ? [] : strings(find['contains'], 'options.find.contains');
  const notContains = find['not_contains'] === undefined ? [] : strings(find['not_contains'], 'options.find.not_contains');
  let sort: { key: 'mtimeMs' | 'ctimeMs' | 'atimeMs'; descending: boolean } | undefined;
  if (find['sort_by'] !== undefined) {
    const raw = find['sort_by'];
    const key = isPlainObject(raw) ? raw['key'] : raw;
    const direction = isPlainObject(raw) ? raw['direction'] : find['direction'];
    if (key !== 'mtime' && key !== 'ctime' && key !== 'atime') throw badRequest('options.find.sort_by must be mtime, ctime or atime');
    if (direction !== undefined && (typeof direction !== 'string' || !['asc', 'desc'].includes(direction.toLowerCase()))) {
      throw badRequest('options.find direction must be ASC or DESC');
    }
    sort = { key: `${key}Ms`, descending: typeof direction === 'string' && direction.toLowerCase() === 'desc' };
  }

  const trivial = find['depth'] === undefined && !date && !size && exclude.length === 0 && paths.length === 0;
  return Object.freeze({
    depth: Object.freeze(depth),
    explicitDepth: find['depth'] !== undefined,
    maxDepth,
    date: date && Object.freeze(date),
    size: size && Object.freeze(size),
    exclude: Object.freeze(exclude),
    paths: Object.freeze(paths),
    trivial,
    content: contains.length + notContains.length > 0 ? Object.freeze({ contains: Object.freeze(contains), notContains: Object.freeze(notContains) }) : undefined,
    sort: sort && Object.freeze(sort),
  });
}

/** Cheap checks on ids and file facts; `relativeId` is the id below the collection's id. */
export function findAccepts(plan: FindPlan, candidate: FindCandidate, relativeId: string): boolean {
  if (!holds(candidate.depth, plan.depth)) return false;
  if (plan.date && !holds(Math.floor(candidate.meta.mtimeMs / 1000), plan.date)) return false;
  if (plan.size && !holds(candidate.meta.size, plan.size)) return false;
  if (plan.exclude.length > 0) {
    const segments = relativeId.split('/');
    for (const excluded of plan.exclude) {
      if (segments.includes(excluded) || relativeId === excluded || relativeId.startsWith(excluded + '/')) return false;
    }
  }
  for (const check of plan.paths) {
    if ('fragment' in check ? !relativeId.includes(check.fragment) : !check.regex.test(relativeId)) return false;
  }
  return true;
}
