/**
 * The query plan: a request's `options` (find + filter) parsed and validated once into typed,
 * frozen data, in the order and with the messages the API has always used. Executors (in memory:
 * execute.ts, with indexes: indexes.ts; an engine's push-down) run a plan, never raw options.
 */
import { badRequest } from '../errors.js';
import { isPlainObject, type PlainObject } from '../util.js';
import { asNumber } from './compare.js';
import { planFind, type FindLimits, type FindPlan } from './find.js';
import { fieldList } from './options.js';
import { parseWhere, type CanonicalOperator, type WhereCondition, type WhereLimits, type WhereNode } from './where.js';
import type { PushdownQuery, PushdownWhere } from '../../storage/engine.js';

export type { FindPlan } from './find.js';
export type { CanonicalOperator, WhereCondition, WhereNode } from './where.js';

export type ReturnMode = 'all' | 'first' | 'last' | 'random' | 'shuffle';

/** `options.filter`, validated: applied in the order only → except → where → group_by → sort_by → offset → limit → return. */
export interface FilterPlan {
  readonly only: readonly string[] | undefined;
  readonly except: readonly string[] | undefined;
  /** The top-level list as an `and` node. */
  readonly where: (WhereNode & { kind: 'and' }) | undefined;
  /** A field name (not a dot path: the reference groups by a top-level key). */
  readonly groupBy: string | undefined;
  readonly sort: { readonly key: string; readonly path: readonly string[]; readonly descending: boolean } | undefined;
  readonly offset: number;
  readonly limit: number | undefined;
  readonly ret: { readonly mode: ReturnMode; readonly count: number | undefined };
  readonly timeZone: string;
}

export interface QueryPlan {
  readonly find: FindPlan;
  readonly filter: FilterPlan | undefined;
}

export interface FilterLimits extends WhereLimits {
  maxItems: number;
}

export type PlanLimits = FindLimits & FilterLimits;

function nonNegativeInt(value: unknown, what: string): number {
  const n = asNumber(value);
  if (n === undefined || !Number.isInteger(n) || n < 0) throw badRequest(`${what} must be a non-negative integer`);
  return n;
}

function parseSort(raw: unknown): { key: string; descending: boolean } {
  if (typeof raw === 'string') return { key: raw, descending: false };
  if (!isPlainObject(raw) || typeof raw['key'] !== 'string' || raw['key'] === '') {
    throw badRequest('options.filter.sort_by needs a "key" (dot path)');
  }
  const direction = raw['direction'] === undefined ? 'ASC' : raw['direction'];
  if (typeof direction !== 'string' || !['ASC', 'DESC'].includes(direction.toUpperCase())) {
    throw badRequest('options.filter.sort_by.direction must be ASC or DESC');
  }
  return { key: raw['key'], descending: direction.toUpperCase() === 'DESC' };
}

function parseReturn(filter: PlainObject, maxItems: number): { mode: ReturnMode; count: number | undefined } {
  const raw = filter['return'] ?? 'all';
  if (typeof raw !== 'string') throw badRequest('options.filter.return must be a string');
  // Trimmed first: blanks on both sides of an optional group made the pattern quadratic.
  const match = /^(all|first|last|random|shuffle)(?:\s*[=:]\s*(\d+))?$/i.exec(raw.trim());
  if (!match) {
    const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
    throw badRequest(`options.filter.return must be all, first, last, random, random=N or shuffle (found "${shown}")`);
  }
  const mode = match[1]!.toLowerCase() as ReturnMode;
  let count = match[2] === undefined ? undefined : Number(match[2]);
  if (mode === 'random' && count === undefined && filter['random'] !== undefined) {
    count = nonNegativeInt(filter['random'], 'options.filter.random');
  }
  if (count !== undefined && mode !== 'random') throw badRequest('options.filter.return: only random takes a count');
  return { mode, count: count === undefined ? undefined : Math.min(count, maxItems) };
}

/** Parses `options.filter` (the collection form); undefined when there is none. */
export function planFilter(filter: PlainObject | undefined, limits: FilterLimits): FilterPlan | undefined {
  if (!filter) return undefined;
  const only = filter['only'] === undefined ? undefined : fieldList(filter['only'], 'options.filter.only');
  const except = filter['except'] === undefined ? undefined : fieldList(filter['except'], 'options.filter.except');
  const where = filter['where'] === undefined ? undefined : parseWhere(filter['where'], limits);
  const groupBy = filter['group_by'];
  if (groupBy !== undefined && (typeof groupBy !== 'string' || groupBy === '')) {
    throw badRequest('options.filter.group_by must be a field name (dot path)');
  }
  const sort = filter['sort_by'] === undefined ? undefined : parseSort(filter['sort_by']);
  const offset = filter['offset'] === undefined ? 0 : nonNegativeInt(filter['offset'], 'options.filter.offset');
  const limit = filter['limit'] === undefined ? undefined : nonNegativeInt(filter['limit'], 'options.filter.limit');
  const ret = parseReturn(filter, limits.maxItems);
  return Object.freeze({
    only: only && Object.freeze(only),
    except: except && Object.freeze(except),
    where,
    groupBy,
    sort: sort && Object.freeze({ key: sort.key, path: Object.freeze(sort.key.split('.')), descending: sort.descending }),
    offset,
    limit,
    ret: Object.freeze(ret),
    timeZone: limits.timeZone,
  });
}

/** The whole plan of a collection query: find first (its errors win), then the filter. */
export function planQuery(find: PlainObject, filter: PlainObject | undefined, limits: PlanLimits): QueryPlan {
  const findPlan = planFind(find, limits);
  return Object.freeze({ find: findPlan, filter: planFilter(filter, limits) });
}

// ---- push-down --------------------------------------------------------------------------------

/**
 * The operators an engine is given (their in-memory rules are compare.ts and where.ts; an engine
 * that cannot reproduce one exactly answers undefined). Left out: regexp/nregexp (RE2 syntax and
 * case folding), newer/older (date parsing of field values in the configured time zone).
 */
export const PUSHED_OPERATORS: readonly CanonicalOperator[] = Object.freeze([
  'eq', 'neq', 'in', 'nin', 'lt', 'lte', 'gt', 'gte', 'between', 'nbetween', 'contains', 'ncontains', 'starts_with', 'ends_with',
]);

export interface PushdownContext {
  /** The collection's id ('' for the root) and the subtrees it never lists (tokens). */
  base: string;
  excluded: readonly string[];
  /**
   * True only when the filters see the stored fields as they are: no entry of the collection can
   * render differently (directives, shortcodes, expressions). The engine only knows stored fields.
   */
  storedFieldsAreViews: boolean;
  /** Top-level keys the presenter adds or changes (system fields, dates, private keys): never pushed. */
  presented: (key: string) => boolean;
}

/** `[min, max]` of a list of depth comparisons, or undefined when `!=` (or nothing) makes it no range. */
function depthRange(plan: FindPlan): { min: number; max: number } | undefined {
  let min = 1;
  let max = plan.maxDepth;
  for (const { op, target } of plan.depth) {
    if (op === '!=') return undefined;
    if (op === '>=' || op === '==') min = Math.max(min, target);
    if (op === '>') min = Math.max(min, target + 1);
  }
  return min <= max ? { min, max } : undefined;
}

function pushWhere(node: WhereNode, context: PushdownContext): PushdownWhere | undefined {
  if (node.kind !== 'condition') {
    const members: PushdownWhere[] = [];
    for (const member of node.members) {
      const pushed = pushWhere(member, context);
      if (!pushed) return undefined;
      members.push(pushed);
    }
    return node.kind === 'and' ? { and: members } : { or: members };
  }
  if (!pushablePath(node.path, context) || !PUSHED_OPERATORS.includes(node.operator)) return undefined;
  return { path: [...node.path], operator: node.operator, value: node.list ? [...node.list] : node.value };
}

function pushablePath(path: readonly string[], context: PushdownContext): boolean {
  return path.length > 0 && path.every((p) => p !== '' && p !== '__proto__' && p !== 'constructor' && p !== 'prototype') && !context.presented(path[0]!) && !path[0]!.startsWith('_');
}

/**
 * The part of a plan an engine may answer itself, as data; undefined when anything in the plan
 * is not expressible there, so the core runs it in memory: find date/size/exclude/path/contains/
 * sort, a depth `!=`, only/except together with where or sort_by (they apply before both),
 * group_by, a return other than all, a where operator outside PUSHED_OPERATORS, a key the presenter
 * touches, or entries that may render.
 */
export function toPushdown(plan: QueryPlan, context: PushdownContext): PushdownQuery | undefined {
  const find = plan.find;
  if (!context.storedFieldsAreViews) return undefined;
  if (find.date || find.size || find.exclude.length > 0 || find.paths.length > 0 || find.content || find.sort) return undefined;
  const depth = depthRange(find);
  if (!depth) return undefined;
  const filter = plan.filter;
  let where: PushdownWhere | undefined;
  let sort: PushdownQuery['sort'];
  if (filter) {
    if (filter.groupBy !== undefined || filter.ret.mode !== 'all') return undefined;
    if ((filter.only || filter.except) && (filter.where || filter.sort)) return undefined;
    if (filter.where) {
      where = pushWhere(filter.where, context);
      if (!where) return undefined;
    }
    if (filter.sort) {
      if (!pushablePath(filter.sort.path, context)) return undefined;
      sort = { path: [...filter.sort.path], descending: filter.sort.descending };
    }
  }
  return {
    base: context.base,
    minDepth: depth.min,
    maxDepth: depth.max,
    excluded: [...context.excluded],
    where,
    sort,
    offset: filter?.offset ?? 0,
    limit: filter?.limit,
  };
}
