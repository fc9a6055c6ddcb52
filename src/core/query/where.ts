/**
 * `where` conditions: parsed into a typed tree (part of the query plan), and that tree compiled to
 * predicates. A condition is `{key, operator, value}`; a group is `{or: [...]}` or `{and: [...]}`
 * of conditions or groups. An entry lacking the key never matches.
 */
import { parseDate, toTimestamp } from '../dates.js';
import { badRequest } from '../errors.js';
import { compilePath, isPlainObject, MISSING } from '../util.js';
import { asNumber, coerceTo, compareValues, looseEquals } from './compare.js';
import { compileSafeRegex, type SafeRegex } from './regex.js';

export type Predicate = (item: Record<string, unknown>) => boolean;

export interface WhereLimits {
  maxPatternLength: number;
  timeZone: string;
}

export type CanonicalOperator =
  | 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'in' | 'nin' | 'contains' | 'ncontains'
  | 'starts_with' | 'ends_with' | 'between' | 'nbetween' | 'regexp' | 'nregexp' | 'newer' | 'older';

const ALIASES: Record<string, CanonicalOperator> = {
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

/** One condition, validated: everything a predicate (or an index, or SQL) needs, computed once. */
export interface WhereCondition {
  readonly kind: 'condition';
  /** The dot path as given, and split into segments. */
  readonly key: string;
  readonly path: readonly string[];
  readonly operator: CanonicalOperator;
  /** The operator as the client spelled it (for messages). */
  readonly rawOperator: string;
  /** The value as given (not copied: the plan never changes it). */
  readonly value: unknown;
  /** `asNumber(value)`, once. */
  readonly numericValue: number | undefined;
  /** in/nin/between/nbetween: the value as a list. */
  readonly list: readonly unknown[] | undefined;
  /** regexp/nregexp: the compiled pattern. */
  readonly regex: SafeRegex | undefined;
  /** newer/older: the date as a Unix timestamp. */
  readonly date: number | undefined;
}

export type WhereNode =
  | { readonly kind: 'and'; readonly members: readonly WhereNode[] }
  | { readonly kind: 'or'; readonly members: readonly WhereNode[] }
  | WhereCondition;

/** qs turns `[0]`, `[1]` into arrays, but sparse or large indexes into objects: accept both. */
export function asList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (isPlainObject(value) && Object.keys(value).every((k) => /^\d+$/.test(k))) {
    return Object.keys(value).sort((a, b) => Number(a) - Number(b)).map((k) => value[k]);
  }
  return undefined;
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function dateOf(value: unknown, timeZone: string): number | undefined {
  const converted = toTimestamp(value, timeZone);
  return typeof converted === 'number' ? converted : undefined;
}

function parseCondition(raw: Record<string, unknown>, where: string, limits: WhereLimits): WhereCondition {
  const key = raw['key'];
  if (typeof key !== 'string' || key === '') throw badRequest(`${where}: "key" must be a non-empty string`);
  const rawOperator = raw['operator'] === undefined ? 'eq' : raw['operator'];
  if (typeof rawOperator !== 'string') throw badRequest(`${where}: "operator" must be a string`);
  const operator = ALIASES[rawOperator.trim().toLowerCase()];
  if (!operator) throw badRequest(`${where}: unknown operator "${rawOperator}" (known: ${OPERATORS.join(', ')})`);
  if (!('value' in raw)) throw badRequest(`${where}: "value" is missing`);
  const value = raw['value'];
  let list: unknown[] | undefined;
  let regex: SafeRegex | undefined;
  let date: number | undefined;
  switch (operator) {
    case 'in':
    case 'nin':
      list = asList(value);
      if (!list) throw badRequest(`${where}: "${rawOperator}" needs a list as value`);
      break;
    case 'between':
    case 'nbetween':
      list = asList(value);
      if (!list || list.length !== 2) throw badRequest(`${where}: "${rawOperator}" needs a list of two values`);
      break;
    case 'regexp':
    case 'nregexp':
      regex = compileSafeRegex(value, limits.maxPatternLength, where);
      break;
    case 'newer':
    case 'older':
      date = typeof value === 'number' ? value : typeof value === 'string' ? parseDate(value, limits.timeZone) : undefined;
      if (date === undefined) throw badRequest(`${where}: "${rawOperator}" needs a date as value`);
      break;
    default:
      break;
  }
  return Object.freeze({
    kind: 'condition',
    key,
    path: Object.freeze(key.split('.')),
    operator,
    rawOperator,
    value,
    numericValue: asNumber(value),
    list: list && Object.freeze(list),
    regex,
    date,
  });
}

function parseItem(raw: unknown, where: string, limits: WhereLimits, depth: number): WhereNode {
  if (depth > 16) throw badRequest(`${where}: groups are nested too deeply`);
  if (!isPlainObject(raw)) throw badRequest(`${where}: each condition must be an object`);
  const groupKeys = ['or', 'and'].filter((k) => k in raw);
  if (groupKeys.length > 0) {
    if (groupKeys.length > 1 || Object.keys(raw).length > 1) throw badRequest(`${where}: a group has exactly one key, "or" or "and"`);
    const kind = groupKeys[0] as 'or' | 'and';
    const list = asList(raw[kind]);
    if (!list || list.length === 0) throw badRequest(`${where}.${kind}: must be a non-empty list`);
    const members = list.map((item, i) => parseItem(item, `${where}.${kind}[${i}]`, limits, depth + 1));
    return Object.freeze({ kind, members: Object.freeze(members) });
  }
  return parseCondition(raw, where, limits);
}

/** Parses `options.filter.where` (a list meaning AND, or a single condition/group) into an `and` node. */
export function parseWhere(raw: unknown, limits: WhereLimits): WhereNode & { kind: 'and' } {
  const list = asList(raw) ?? [raw];
  if (list.length > 256) throw badRequest('options.filter.where: at most 256 conditions');
  const members = list.map((item, i) => parseItem(item, `options.filter.where[${i}]`, limits, 0));
  return Object.freeze({ kind: 'and', members: Object.freeze(members) });
}

function conditionPredicate(c: WhereCondition, timeZone: string): Predicate {
  const lookup = compilePath(c.key);
  const value = c.value;
  // Every operator sees only entries that have the key: a missing key never matches.
  const on = (test: (field: unknown) => boolean): Predicate => (item) => {
    const f = lookup(item);
    return f !== MISSING && test(f);
  };
  // The common case (numeric field, numeric value) skips coercion.
  const numericValue = c.numericValue;
  const order = (sign: (n: number) => boolean): Predicate =>
    on((f) => {
      if (typeof f === 'number' && numericValue !== undefined) return sign(f < numericValue ? -1 : f > numericValue ? 1 : 0);
      return f !== null && typeof f !== 'object' && sign(compareValues(f, coerceTo(f, value)));
    });
  switch (c.operator) {
    case 'eq': return on((f) => f === value || looseEquals(f, value));
    case 'neq': return on((f) => f !== value && !looseEquals(f, value));
    case 'lt': return order((n) => n < 0);
    case 'lte': return order((n) => n <= 0);
    case 'gt': return order((n) => n > 0);
    case 'gte': return order((n) => n >= 0);
    case 'in':
    case 'nin': {
      const list = c.list!;
      const positive = c.operator === 'in';
      return on((f) => list.some((v) => looseEquals(f, v)) === positive);
    }
    case 'contains':
    case 'ncontains': {
      const positive = c.operator === 'contains';
      const needle = text(value);
      return on((f) => (Array.isArray(f) ? f.some((v) => looseEquals(v, value)) : text(f).includes(needle)) === positive);
    }
    case 'starts_with': return on((f) => text(f).startsWith(text(value)));
    case 'ends_with': return on((f) => text(f).endsWith(text(value)));
    case 'between':
    case 'nbetween': {
      const [low, high] = c.list!;
      const positive = c.operator === 'between';
      return on((f) => (compareValues(f, coerceTo(f, low)) >= 0 && compareValues(f, coerceTo(f, high)) <= 0) === positive);
    }
    case 'regexp':
    case 'nregexp': {
      const regex = c.regex!;
      const positive = c.operator === 'regexp';
      return on((f) => regex.test(text(f)) === positive);
    }
    case 'newer':
    case 'older': {
      const target = c.date!;
      const newer = c.operator === 'newer';
      return on((f) => {
        const when = dateOf(f, timeZone);
        return when !== undefined && (newer ? when > target : when < target);
      });
    }
  }
}

/** Compiles a parsed where tree to a predicate over an item's fields. */
export function predicateOf(node: WhereNode, timeZone: string): Predicate {
  if (node.kind === 'condition') return conditionPredicate(node, timeZone);
  const members = node.members.map((m) => predicateOf(m, timeZone));
  if (node.kind === 'or') return (item) => members.some((p) => p(item));
  if (members.length === 1) return members[0]!;
  return (item) => members.every((p) => p(item));
}

/** Compiles `options.filter.where` straight to a predicate (expression functions). */
export function compileWhere(raw: unknown, limits: WhereLimits): Predicate {
  return predicateOf(parseWhere(raw, limits), limits.timeZone);
}
