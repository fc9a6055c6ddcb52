/**
 * `where` conditions compiled to predicates. A condition is `{key, operator, value}`; a group is
 * `{or: [...]}` or `{and: [...]}` of conditions or groups. An entry lacking the key never matches.
 */
import { parseDate, toTimestamp } from '../dates.js';
import { badRequest } from '../errors.js';
import { compilePath, isPlainObject, MISSING } from '../util.js';
import { asNumber, coerceTo, compareValues, looseEquals } from './compare.js';
import { compileSafeRegex } from './regex.js';

export type Predicate = (item: Record<string, unknown>) => boolean;

export interface WhereLimits {
  maxPatternLength: number;
  timeZone: string;
}

const ALIASES: Record<string, string> = {
  '=': 'eq', '==': 'eq', eq: 'eq',
  '!=': 'neq', '<>': 'neq', neq: 'neq',
  '<': 'lt', lt: 'lt', '<=': 'lte', lte: 'lte', '>': 'gt', gt: 'gt', '>=': 'gte', gte: 'gte',
  in: 'in', nin: 'nin',
  contains: 'contains', like: 'contains', ncontains: 'ncontains', nlike: 'ncontains',
  starts_with: 'starts_with', ends_with: 'ends_with',
  between: 'between', nbetween: 'nbetween',
  regexp: 'regexp', nregexp: 'nregexp',
  newer: 'newer', older: 'older',
};

export const OPERATORS = Object.keys(ALIASES);

/** qs turns `[0]`, `[1]` into arrays, but sparse or large indexes into objects: accept both. */
export function asList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (isPlainObject(value) && Object.keys(value).every((k) => /^\d+$/.test(k))) {
    return Object.keys(value).sort((a, b) => Number(a) - Number(b)).map((k) => value[k]);
  }
  return undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function dateOf(value: unknown, timeZone: string): number | undefined {
  const converted = toTimestamp(value, timeZone);
  return typeof converted === 'number' ? converted : undefined;
}

function compileCondition(raw: Record<string, unknown>, where: string, limits: WhereLimits): Predicate {
  const key = raw['key'];
  if (typeof key !== 'string' || key === '') throw badRequest(`${where}: "key" must be a non-empty string`);
  const rawOperator = raw['operator'] === undefined ? 'eq' : raw['operator'];
  if (typeof rawOperator !== 'string') throw badRequest(`${where}: "operator" must be a string`);
  const operator = ALIASES[rawOperator.trim().toLowerCase()];
  if (!operator) throw badRequest(`${where}: unknown operator "${rawOperator}" (known: ${OPERATORS.join(', ')})`);
  if (!('value' in raw)) throw badRequest(`${where}: "value" is missing`);
  const value = raw['value'];
  const lookup = compilePath(key);
  // Every operator sees only entries that have the key: a missing key never matches.
  const on = (test: (field: unknown) => boolean): Predicate => (item) => {
    const f = lookup(item);
    return f !== MISSING && test(f);
  };
  // The query value as a number, computed once: the common case (numeric field) skips coercion.
  const numericValue = asNumber(value);
  const order = (sign: (n: number) => boolean): Predicate =>
    on((f) => {
      if (typeof f === 'number' && numericValue !== undefined) return sign(f < numericValue ? -1 : f > numericValue ? 1 : 0);
      return f !== null && typeof f !== 'object' && sign(compareValues(f, coerceTo(f, value)));
    });
  switch (operator) {
    case 'eq': return on((f) => f === value || looseEquals(f, value));
    case 'neq': return on((f) => f !== value && !looseEquals(f, value));
    case 'lt': return order((n) => n < 0);
    case 'lte': return order((n) => n <= 0);
    case 'gt': return order((n) => n > 0);
    case 'gte': return order((n) => n >= 0);
    case 'in':
    case 'nin': {
      const list = asList(value);
      if (!list) throw badRequest(`${where}: "${rawOperator}" needs a list as value`);
      const positive = operator === 'in';
      return on((f) => list.some((v) => looseEquals(f, v)) === positive);
    }
    case 'contains':
    case 'ncontains': {
      const positive = operator === 'contains';
      const needle = text(value);
      return on((f) => (Array.isArray(f) ? f.some((v) => looseEquals(v, value)) : text(f).includes(needle)) === positive);
    }
    case 'starts_with': return on((f) => text(f).startsWith(text(value)));
    case 'ends_with': return on((f) => text(f).endsWith(text(value)));
    case 'between':
    case 'nbetween': {
      const list = asList(value);
      if (!list || list.length !== 2) throw badRequest(`${where}: "${rawOperator}" needs a list of two values`);
      const positive = operator === 'between';
      return on((f) => (compareValues(f, coerceTo(f, list[0])) >= 0 && compareValues(f, coerceTo(f, list[1])) <= 0) === positive);
    }
    case 'regexp':
    case 'nregexp': {
      const regex = compileSafeRegex(value, limits.maxPatternLength, where);
      const positive = operator === 'regexp';
      return on((f) => regex.test(text(f)) === positive);
    }
    case 'newer':
    case 'older': {
      const target = typeof value === 'number' ? value : typeof value === 'string' ? parseDate(value, limits.timeZone) : undefined;
      if (target === undefined) throw badRequest(`${where}: "${rawOperator}" needs a date as value`);
      const newer = operator === 'newer';
      return on((f) => {
        const when = dateOf(f, limits.timeZone);
        return when !== undefined && (newer ? when > target : when < target);
      });
    }
  }
  throw badRequest(`${where}: unknown operator "${rawOperator}"`);
}

function compileItem(raw: unknown, where: string, limits: WhereLimits, depth: number): Predicate {
  if (depth > 16) throw badRequest(`${where}: groups are nested too deeply`);
  if (!isPlainObject(raw)) throw badRequest(`${where}: each condition must be an object`);
  const groupKeys = ['or', 'and'].filter((k) => k in raw);
  if (groupKeys.length > 0) {
    if (groupKeys.length > 1 || Object.keys(raw).length > 1) throw badRequest(`${where}: a group has exactly one key, "or" or "and"`);
    const kind = groupKeys[0]!;
    const list = asList(raw[kind]);
    if (!list || list.length === 0) throw badRequest(`${where}.${kind}: must be a non-empty list`);
    const members = list.map((item, i) => compileItem(item, `${where}.${kind}[${i}]`, limits, depth + 1));
    return kind === 'or' ? (item) => members.some((p) => p(item)) : (item) => members.every((p) => p(item));
  }
  return compileCondition(raw, where, limits);
}

/** Compiles `options.filter.where` (a list meaning AND, or a single condition/group). */
export function compileWhere(raw: unknown, limits: WhereLimits): Predicate {
  const list = asList(raw) ?? [raw];
  if (list.length > 256) throw badRequest('options.filter.where: at most 256 conditions');
  const members = list.map((item, i) => compileItem(item, `options.filter.where[${i}]`, limits, 0));
  return (item) => members.every((p) => p(item));
}

