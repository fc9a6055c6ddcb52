/**
 * Query push-down for PostgreSQL: a PushdownQuery compiled to one SELECT whose result equals the
 * in-memory rules (src/core/query/compare.ts, where.ts, execute.ts) exactly, or nothing at all.
 *
 * Every comparison goes through the key functions of migration 4: a row's value has a class
 * (0 empty, 1 number, 2 ASCII text or boolean, 3 non-ASCII text, 4 object/array, 5 a number
 * outside the checked range), a number key and a case-folded text key. A condition is an OR of
 * one arm per class, each a plain btree-indexable comparison on (parent, class, number, text) or
 * on the raw jsonb value, with the answer for single values (booleans, '', null) computed here in
 * JS by the in-memory rules themselves. How exactness is kept:
 * - a row of a class whose key cannot be reproduced (3, 5, and 4 where JS compares JSON text)
 *   reaches flextype_decline() in its own arm, which raises, and the engine declines;
 * - numbers are float8 on both sides (PostgreSQL's float8 input and JS Number() both round
 *   correctly, so the same text gives the same double);
 * - a number compared as text is declined where JS would print it with an exponent;
 * - a sort over a class 3-5 key or over both numbers and texts is declined (the JS order is not
 *   a total order there), and ties are ordered by the caller's id order from rows fetched WITH TIES.
 * Operators or values outside these rules give `undefined` before any SQL runs.
 */
import pg from 'pg';
import type { PushdownQuery, PushdownWhere } from '../engine.js';
import { asNumberLike, isNumericLike } from './numbers.js';
import { subtreeBounds } from './rows.js';

/** The SQLSTATE flextype_decline() raises (see the migrations). */
export const DECLINE_STATE = 'FTPD0';

/** An expression index a query would use: on the raw value (eq) or on the sort key (key). */
export interface IndexUse {
  kind: 'eq' | 'key';
  path: string[];
}

export interface CompiledPushdown {
  /** One statement (after `SET jit = off`): a single row with the page, the total and the checks. */
  sql: string;
  sorted: boolean;
  descending: boolean;
  /** offset + limit (rows needed before ties), undefined for all. */
  keep: number | undefined;
  uses: IndexUse[];
}

class Decline extends Error {}

const lit = (text: string) => pg.escapeLiteral(text);
const jsonLit = (value: unknown) => `${lit(JSON.stringify(value))}::jsonb`;
/** A double as SQL: String(n) is the shortest text that reads back as the same double. */
const numLit = (n: number) => `${lit(String(n))}::float8`;

/** JS's boolean reading of a query string (compare.ts coerceTo), or undefined. */
function booleanOf(value: string): boolean | undefined {
  const lower = value.trim().toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0' || lower === '') return false;
  return undefined;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

function scalarValue(value: unknown): string | number | boolean {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value) || value.includes('\u0000')) throw new Decline();
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value;
  throw new Decline();
}

/** A numeric query value as JS reads it; declined where JS would get Infinity. */
function numberOf(value: string | number): number | undefined {
  const n = typeof value === 'number' ? value : isNumericLike(value) ? asNumberLike(value) : undefined;
  if (n !== undefined && !Number.isFinite(n)) throw new Decline();
  return n;
}

/**
 * A path as a chain of `->` with literal keys (so the planner matches expression indexes; object
 * keys only: `->` on an array with a text key is NULL, as JS finds no own key).
 */
export function fieldSql(path: readonly string[]): string {
  let expr = 'fields';
  for (const segment of path) {
    // JS finds array elements and `length` as own keys of arrays; jsonb's `->` with text does not.
    if (/^\d+$/.test(segment) || segment === 'length' || LONE_SURROGATE.test(segment) || segment.includes('\u0000')) throw new Decline();
    expr = `${expr} -> ${lit(segment)}::text`;
  }
  return `(${expr})`;
}

/** The sort key columns of a field, exactly as the expression indexes hold them (query-indexes.ts). */
export function keySql(path: readonly string[], S: string): { F: string; c: string; n: string; s: string } {
  const F = fieldSql(path);
  return { F, c: `${S}.flextype_key_c(${F})`, n: `${S}.flextype_key_n(${F})`, s: `(${S}.flextype_key_s(${F}) COLLATE "C")` };
}

type Op = '<' | '<=' | '>' | '>=';
const holds = (op: Op, c: number) => (op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0);
const textCmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface Comparison {
  op: Op;
  value: string | number;
}

class Compiler {
  readonly uses: IndexUse[] = [];
  constructor(private readonly S: string) {}

  private use(kind: IndexUse['kind'], path: string[]): void {
    if (!this.uses.some((u) => u.kind === kind && u.path.join('\u0000') === path.join('\u0000'))) this.uses.push({ kind, path });
  }

  private decline(): string {
    return `(${this.S}.flextype_decline() IS NOT NULL)`;
  }

  /** looseEquals(field, value) as an OR of indexable arms, never NULL for a present field. */
  equals(path: string[], raw: unknown): string {
    const value = scalarValue(raw);
    const k = keySql(path, this.S);
    if (typeof value === 'boolean') return `(${k.F} = ${jsonLit(value)})`;
    const vnum = numberOf(value);
    const arms: string[] = [];
    if (vnum !== undefined) {
      // Numbers and numeric strings compare as numbers (a string equal to the value is one of them).
      this.use('key', path);
      arms.push(`(${k.c} = 1 AND ${k.n} = ${numLit(vnum)})`, `(${k.c} = 5 AND ${this.decline()})`);
    } else {
      // Only the same string: objects' JSON text starts with { or [, a number's text is numeric.
      this.use('eq', path);
      arms.push(`(${k.F} = ${jsonLit(value)})`);
    }
    const vbool = typeof value === 'string' ? booleanOf(value) : undefined;
    if (vbool !== undefined) arms.push(`(${k.F} = ${jsonLit(vbool)})`);
    return arms.length === 1 ? arms[0]! : `(${arms.join(' OR ')})`;
  }

  /**
   * compareValues(field, coerceTo(field, value)) for every comparison at once, as an OR of one arm
   * per class. `order` (lt/lte/gt/gte): null, objects and arrays never match. `between`: null
   * compares as '', objects and arrays are declined (JSON.stringify's text is not jsonb's).
   */
  compare(path: string[], comparisons: Comparison[], mode: 'order' | 'between'): string {
    this.use('key', path);
    const k = keySql(path, this.S);
    const numberParts: string[] = [];
    const textParts: string[] = [];
    let emptyHolds = true;
    const boolHolds = { true: true, false: true };
    for (const { op, value } of comparisons) {
      const vnum = numberOf(value);
      const vtext = (typeof value === 'string' ? value : String(value)).toLowerCase();
      const vbool = typeof value === 'string' ? booleanOf(value) : undefined;
      if (vnum !== undefined) numberParts.push(`${k.n} ${op} ${numLit(vnum)}`);
      else {
        // A number meets a non-numeric text: compared as text (JS String(n); jsonb prints the same
        // digits unless JS would use an exponent), a numeric string as its lowercased self (ASCII).
        const numberText = `(CASE WHEN jsonb_typeof(${k.F}) = 'number' THEN (CASE WHEN abs(${k.n}) >= 1e21 OR (${k.n} <> 0 AND abs(${k.n}) < 1e-6) THEN ${this.S}.flextype_decline() ELSE ${k.F} #>> '{}' END) ELSE lower((${k.F} #>> '{}') COLLATE "C") END)`;
        numberParts.push(`(${numberText}) COLLATE "C" ${op} ${lit(vtext)}`);
      }
      textParts.push(`${k.s} ${op} ${lit(vtext)}`);
      emptyHolds &&= holds(op, textCmp('', vtext));
      for (const b of [true, false] as const) {
        const c = vbool === undefined ? textCmp(String(b), vtext) : Number(b) - Number(vbool);
        boolHolds[`${b}`] &&= holds(op, c);
      }
    }
    const arms = [
      `(${k.c} = 1 AND ${numberParts.join(' AND ')})`,
      `(${k.c} = 2 AND jsonb_typeof(${k.F}) = 'string' AND ${textParts.join(' AND ')})`,
      `(${k.c} IN (3, 5${mode === 'between' ? ', 4' : ''}) AND ${this.decline()})`,
    ];
    for (const b of [true, false] as const) if (boolHolds[`${b}`]) arms.push(`(${k.F} = ${jsonLit(b)})`);
    if (emptyHolds) arms.push(`(${k.F} = ${jsonLit('')})`, ...(mode === 'between' ? [`(${k.F} = 'null'::jsonb)`] : []));
    return `(${arms.join(' OR ')})`;
  }

  where(node: PushdownWhere): string {
    if ('and' in node) return node.and.length === 0 ? 'true' : `(${node.and.map((m) => this.where(m)).join(' AND ')})`;
    if ('or' in node) return node.or.length === 0 ? 'false' : `(${node.or.map((m) => this.where(m)).join(' OR ')})`;
    const path = node.path;
    const present = `(${fieldSql(path)} IS NOT NULL)`;
    const guard = (e: string) => `COALESCE(${e}, false)`;
    const order = (op: Op) => {
      const value = scalarValue(node.value);
      if (typeof value === 'boolean') throw new Decline();
      return this.compare(path, [{ op, value }], 'order');
    };
    switch (node.operator) {
      // A missing field is NULL in every arm: eq, in, lt... need no presence test.
      case 'eq': return this.equals(path, node.value);
      case 'neq': return guard(`${present} AND NOT ${this.equals(path, node.value)}`);
      case 'in':
      case 'nin': {
        const list = listOf(node.value);
        const any = list.length === 0 ? 'false' : `(${list.map((v) => this.equals(path, v)).join(' OR ')})`;
        return node.operator === 'in' ? any : guard(`${present} AND NOT ${any}`);
      }
      case 'lt': return order('<');
      case 'lte': return order('<=');
      case 'gt': return order('>');
      case 'gte': return order('>=');
      case 'between':
      case 'nbetween': {
        const list = listOf(node.value);
        if (list.length !== 2) throw new Decline();
        const bounds = list.map((v) => {
          const value = scalarValue(v);
          if (typeof value === 'boolean') throw new Decline();
          return value;
        });
        const inside = this.compare(path, [{ op: '>=', value: bounds[0]! }, { op: '<=', value: bounds[1]! }], 'between');
        return node.operator === 'between' ? inside : guard(`${present} AND NOT ${inside}`);
      }
      default:
        // contains/ncontains/starts_with/ends_with (arrays, JSON text of objects) and anything newer: in memory.
        throw new Decline();
    }
  }
}

function listOf(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new Decline();
  return value;
}

/** The entries the query ranges over; a collection's children as `parent = …` (every index leads with parent). */
function scopeSql(query: PushdownQuery): string {
  const parts: string[] = [];
  const baseDepth = query.base === '' ? 0 : query.base.split('/').length;
  if (query.minDepth === 1 && query.maxDepth === 1) parts.push(`parent = ${lit(query.base)}`);
  else {
    if (query.base !== '') {
      const { lo, hi } = subtreeBounds(query.base);
      parts.push(`id >= ${lit(lo)} AND id < ${lit(hi)}`);
    }
    parts.push(`depth BETWEEN ${baseDepth + query.minDepth} AND ${baseDepth + Math.min(query.maxDepth, 100_000)}`);
  }
  for (const excluded of query.excluded) {
    const { lo, hi } = subtreeBounds(excluded);
    parts.push(`NOT (id = ${lit(excluded)} OR (id >= ${lit(lo)} AND id < ${lit(hi)}))`);
  }
  return parts.join(' AND ');
}

/** Compiles a query, or undefined when any part of it is outside the exact rules. */
export function compilePushdown(query: PushdownQuery, table: string, S: string, maxRows: number): CompiledPushdown | undefined {
  if (!Number.isSafeInteger(query.offset) || query.offset < 0) return undefined;
  if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 0)) return undefined;
  try {
    const compiler = new Compiler(S);
    const scope = scopeSql(query);
    const where = query.where ? compiler.where(query.where) : 'true';
    const keep = query.limit === undefined ? undefined : query.offset + query.limit;
    const matches = `FROM ${table} WHERE ${scope} AND ${where}`;
    // Entries whose fields jsonb cannot hold exactly: found at once by a partial index.
    const checks = [`EXISTS (SELECT 1 FROM ${table} WHERE fields IS NULL AND ${scope}) AS inexact`];
    if (query.countScope) checks.push(`(SELECT count(*) FROM ${table} WHERE ${scope})::float8 AS scope`);
    // limit 0 with a sort: nothing to order (the in-memory executor selects none either).
    if (!query.sort || keep === 0) {
      // Order by id happens in the caller (its natural order); every match is needed for that,
      // except for limit 0, which needs the count only.
      const page = keep === 0 ? `'[]'::json` : `(SELECT coalesce(json_agg(id), '[]') FROM (SELECT id ${matches} LIMIT ${maxRows + 1}) AS m)`;
      const total = keep === 0 ? `(SELECT count(*) ${matches})::float8` : 'NULL::float8';
      const sql = `SELECT ${page} AS page, ${total} AS total, false AS bad, ${checks.join(', ')}`;
      return { sql, sorted: false, descending: false, keep, uses: compiler.uses };
    }
    const path = query.sort.path;
    const k = keySql(path, S);
    compiler.uses.push({ kind: 'key', path });
    const dir = query.sort.descending ? 'DESC' : 'ASC';
    // Index order (parent, c, n, s): within one class only n (numbers) or s (texts) differs.
    const fetch = keep === undefined ? `LIMIT ${maxRows + 1}` : `FETCH FIRST ${keep} ROWS WITH TIES`;
    const page = `(SELECT coalesce(json_agg(json_build_array(id, c, n, s)), '[]') FROM (SELECT id, ${k.c} AS c, ${k.n} AS n, ${k.s} AS s ${matches} ORDER BY ${k.c} ${dir}, ${k.n} ${dir}, ${k.s} ${dir} ${fetch}) AS m)`;
    const bad = `(EXISTS (SELECT 1 ${matches} AND ${k.c} >= 3) OR (EXISTS (SELECT 1 ${matches} AND ${k.c} = 1) AND EXISTS (SELECT 1 ${matches} AND ${k.c} = 2)))`;
    const sql = `SELECT ${page} AS page, (SELECT count(*) ${matches})::float8 AS total, ${bad} AS bad, ${checks.join(', ')}`;
    return { sql, sorted: true, descending: query.sort.descending, keep, uses: compiler.uses };
  } catch (err) {
    if (err instanceof Decline) return undefined;
    throw err;
  }
}

// A type, not an interface: row types must be indexable by column name.
export type SortedRow = {
  id: string;
  c: number;
  n: number | null;
  t: string | null;
};

/** The in-memory order of two sort keys of one class (numbers, or texts), empty first. */
export function compareRows(a: SortedRow, b: SortedRow): number {
  const ae = a.c === 0 ? 0 : 1;
  const be = b.c === 0 ? 0 : 1;
  if (ae !== be) return ae - be;
  if (a.c === 1 && b.c === 1) return a.n! < b.n! ? -1 : a.n! > b.n! ? 1 : 0;
  const s = a.t ?? '';
  const u = b.t ?? '';
  return s < u ? -1 : s > u ? 1 : 0;
}

/** Runs one SQL text (several statements allowed: no parameters) and gives the last statement's rows. */
export type RunSql = (sql: string) => Promise<Record<string, unknown>[]>;

/** True for the errors that mean "this statement met a row outside the exact rules". */
function isDecline(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  // FTPD0: flextype_decline(); 22xxx: data exceptions (a value outside what a cast can hold).
  return code === DECLINE_STATE || (typeof code === 'string' && code.startsWith('22'));
}

interface SummaryRow {
  page: unknown[];
  total: number | null;
  bad: boolean;
  inexact: boolean;
  scope?: number;
}

/**
 * Runs a push-down: the page's ids in the in-memory order (ties by `idOrder`, the caller's
 * natural id order) and the total, or undefined to let the caller answer in memory.
 * `onUses` hears which expression indexes the query would use (query-indexes.ts builds them).
 */
export async function runPushdown(
  query: PushdownQuery,
  run: RunSql,
  table: string,
  S: string,
  idOrder: (a: string, b: string) => number,
  maxRows: number,
  onUses?: (uses: IndexUse[]) => void,
): Promise<{ ids: string[]; total: number; scope?: number } | undefined> {
  const compiled = compilePushdown(query, table, S, maxRows);
  if (!compiled) return undefined;
  onUses?.(compiled.uses);
  let row: SummaryRow;
  try {
    // JIT compiles for a second what runs in milliseconds: off for these statements.
    const rows = await run(`SET jit = off; ${compiled.sql}`);
    row = rows[0] as unknown as SummaryRow;
  } catch (err) {
    if (isDecline(err)) return undefined;
    throw err;
  }
  if (!row || row.inexact || row.bad) return undefined;
  const scope = query.countScope ? { scope: Number(row.scope ?? 0) } : {};
  const end = (total: number) => (query.limit === undefined ? total : query.offset + query.limit);
  if (!compiled.sorted) {
    if (compiled.keep === 0) return { ids: [], total: Number(row.total), ...scope };
    if (row.page.length > maxRows) return undefined;
    const ids = (row.page as string[]).sort(idOrder);
    return { ids: ids.slice(query.offset, end(ids.length)), total: ids.length, ...scope };
  }
  if (row.page.length > maxRows) return undefined;
  const total = Number(row.total);
  const sorted = (row.page as [string, number, number | null, string | null][]).map(([id, c, n, t]) => ({ id, c, n, t }));
  const sign = compiled.descending ? -1 : 1;
  sorted.sort((a, b) => sign * compareRows(a, b) || idOrder(a.id, b.id));
  return { ids: sorted.slice(query.offset, end(total)).map((r) => r.id), total, ...scope };
}
