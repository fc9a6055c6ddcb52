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

export interface FindPlan {
  maxDepth: number;
  /** True when `accept` admits every candidate within `maxDepth` (nothing to check per entry). */
  trivial: boolean;
  /** Cheap checks on ids and file facts; `relativeId` is the id below the collection's id. */
  accept(candidate: FindCandidate, relativeId: string): boolean;
  /** Raw-content checks, when asked for (need the file text). */
  content: { contains: string[]; notContains: string[] } | undefined;
  sort: { key: 'mtimeMs' | 'ctimeMs' | 'atimeMs'; descending: boolean } | undefined;
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
  const paths: ({ fragment: string } | { regex: SafeRegex })[] = find['path'] === undefined
    ? []
    : strings(find['path'], 'options.find.path').map((p) => {
      const pattern = delimitedPattern(p);
      return pattern !== undefined ? { regex: compileSafeRegex(pattern, limits.maxPatternLength, 'options.find.path') } : { fragment: p };
    });
  const contains = find['contains'] === undefined ? [] : strings(find['contains'], 'options.find.contains');
  const notContains = find['not_contains'] === undefined ? [] : strings(find['not_contains'], 'options.find.not_contains');
  let sort: FindPlan['sort'];
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

  const accepts = (candidate: FindCandidate, relativeId: string): boolean => {
    if (!holds(candidate.depth, depth)) return false;
    if (date && !holds(Math.floor(candidate.meta.mtimeMs / 1000), date)) return false;
    if (size && !holds(candidate.meta.size, size)) return false;
    if (exclude.length > 0) {
      const segments = relativeId.split('/');
      for (const excluded of exclude) {
        if (segments.includes(excluded) || relativeId === excluded || relativeId.startsWith(excluded + '/')) return false;
      }
    }
    for (const check of paths) {
      if ('fragment' in check ? !relativeId.includes(check.fragment) : !check.regex.test(relativeId)) return false;
    }
    return true;
  };
  const trivial = find['depth'] === undefined && !date && !size && exclude.length === 0 && paths.length === 0;
  return {
    maxDepth,
    trivial,
    content: contains.length + notContains.length > 0 ? { contains, notContains } : undefined,
    sort,
    accept: accepts,
  };
}
