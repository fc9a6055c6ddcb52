/**
 * Query push-down for PostgreSQL: a PushdownQuery compiled to one SELECT whose result equals the
 * in-memory rules (src/core/query/compare.ts, where.ts, execute.ts) exactly, or nothing at all.
 *
 * How exactness is kept:
 * - every comparison branches on jsonb_typeof, the way the JS rules branch on typeof;
 * - numbers are compared as float8 (PostgreSQL's float8 input and JS Number() both round
 *   correctly, so the same text gives the same double); a numeric string that float8 cannot hold
 *   (1e400, 1e-400: JS gives Infinity or 0) makes the statement fail, and the engine declines;
 * - text is compared lowercased only when it is ASCII (then PostgreSQL's lower() under "C" equals
 *   JS toLowerCase(), and byte order equals UTF-16 code unit order); any other text reached by a
 *   comparison calls flextype_decline(), which raises, and the engine declines;
 * - a number compared as text is declined where JS would print it with an exponent;
 * - a sort over both numbers and texts is declined (the JS order is not a total order there), and
 *   ties are ordered by the caller's id order from the rows SQL returns WITH TIES.
 * Operators or values outside these rules give `undefined` before any SQL runs.
 */
import { asNumberLike, isNumericLike } from './numbers.js';
import type { PushdownQuery, PushdownWhere } from '../engine.js';
import { subtreeBounds } from './rows.js';

/** PHP's numeric strings (compare.ts isNumericString) as a PostgreSQL regular expression. */
export const NUMERIC_RE = '^[ \\t\\n\\r\\v\\f]*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?[ \\t\\n\\r\\v\\f]*$';

/** The SQLSTATE flextype_decline() raises (see the migrations). */
export const DECLINE_STATE = 'FTPD0';

export interface CompiledPushdown {
  /** Checks first that no entry in scope lacks exact jsonb fields (push-down then declines). */
  inexactSql: string;
  inexactValues: unknown[];
  sql: string;
  values: unknown[];
  sorted: boolean;
  descending: boolean;
  /** offset + limit (rows needed before ties), undefined for all. */
  keep: number | undefined;
}

class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

class Decline extends Error {}

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

/** A path as a chain of `->` (object keys only: `->` on an array with a text key is NULL, as JS finds no own key). */
function fieldExpr(path: string[], p: Params): string {
  let expr = 'fields';
  for (const segment of path) {
    // JS finds array elements and `length` as own keys of arrays; jsonb's `->` with text does not.
    if (/^\d+$/.test(segment) || segment === 'length' || LONE_SURROGATE.test(segment) || segment.includes('\u0000')) throw new Decline();
    expr = `(${expr} -> ${p.add(segment)}::text)`;
  }
  return expr;
}

interface Field {
  F: string;
  typ: string;
  s: string;
  fnum: string;
}

function fieldOf(path: string[], p: Params): Field {
  const F = fieldExpr(path, p);
  return { F, typ: `jsonb_typeof(${F})`, s: `(${F} #>> '{}')`, fnum: `(${F})::float8` };
}

const isnum = (s: string) => `(${s} ~ '${NUMERIC_RE}')`;
const num = (s: string) => `(${s})::float8`;
/** Lowercased text, only for ASCII (else the statement declines). */
const lowered = (s: string, S: string) => `(CASE WHEN octet_length(${s}) = length(${s}) THEN lower(${s} COLLATE "C") ELSE ${S}.flextype_decline() END)`;
/** A JSON number's text as JS prints it (String(n)), declined where JS would use an exponent. */
const numText = (f: Field, S: string) => `(CASE WHEN abs(${f.fnum}) >= 1e21 OR (${f.fnum} <> 0 AND abs(${f.fnum}) < 1e-6) THEN ${S}.flextype_decline() ELSE ${f.s} END)`;
const ncmp = (a: string, b: string) => `(CASE WHEN ${a} < ${b} THEN -1 WHEN ${a} > ${b} THEN 1 ELSE 0 END)`;
const tcmp = (a: string, b: string) => `(CASE WHEN (${a}) COLLATE "C" < (${b}) COLLATE "C" THEN -1 WHEN (${a}) COLLATE "C" > (${b}) COLLATE "C" THEN 1 ELSE 0 END)`;

/** looseEquals(field, value) for every field type, as a boolean that is never NULL. */
function equalsExpr(f: Field, raw: unknown, p: Params): string {
  const value = scalarValue(raw);
  if (typeof value === 'boolean') return `(CASE ${f.typ} WHEN 'boolean' THEN ${f.s} = '${value}' ELSE false END)`;
  if (typeof value === 'number') {
    const n = p.add(String(value));
    return `(CASE ${f.typ} WHEN 'number' THEN ${f.fnum} = ${n}::float8 WHEN 'string' THEN (CASE WHEN ${isnum(f.s)} THEN ${num(f.s)} = ${n}::float8 ELSE false END) ELSE false END)`;
  }
  const vnum = isNumericLike(value) ? asNumberLike(value) : undefined;
  const vbool = booleanOf(value);
  const v = p.add(value);
  if (vnum === undefined && vbool === undefined) {
    // Only the same string matches: the containment test lets the GIN index find candidates.
    const contained = containment(f, value, p);
    return `(${contained ? `${contained} AND ` : ''}${f.typ} = 'string' AND ${f.s} = ${v}::text)`;
  }
  const n = vnum === undefined ? undefined : p.add(String(vnum));
  return `(CASE ${f.typ}
    WHEN 'number' THEN ${n ? `${f.fnum} = ${n}::float8` : 'false'}
    WHEN 'string' THEN (${f.s} = ${v}::text${n ? ` OR (CASE WHEN ${isnum(f.s)} THEN ${num(f.s)} = ${n}::float8 ELSE false END)` : ''})
    WHEN 'boolean' THEN ${vbool === undefined ? 'false' : `${f.s} = '${vbool}'`}
    ELSE false END)`;
}

/** `fields @> {"a":{"b":value}}` for a path of object keys: implied by the exact test, used by the GIN index. */
function containment(f: Field, value: string, p: Params): string | undefined {
  const path = /(?:-> \$(\d+)::text)/g;
  const segments: string[] = [];
  for (const match of f.F.matchAll(path)) segments.push(p.values[Number(match[1]) - 1] as string);
  if (segments.length === 0) return undefined;
  let doc: unknown = value;
  for (let i = segments.length - 1; i >= 0; i--) doc = { [segments[i]!]: doc };
  return `fields @> ${p.add(JSON.stringify(doc))}::jsonb`;
}

/**
 * compareValues(field, coerceTo(field, value)) as -1/0/1; NULL where the in-memory rule never
 * matches (null, objects and arrays for lt/lte/gt/gte). `between` compares null as '' and
 * declines objects and arrays (JSON.stringify's text is not jsonb's).
 */
function compareExpr(f: Field, raw: unknown, p: Params, S: string, mode: 'order' | 'between'): string {
  const value = scalarValue(raw);
  if (typeof value === 'boolean') throw new Decline();
  const vnum = typeof value === 'number' ? value : isNumericLike(value) ? asNumberLike(value) : undefined;
  const vtext = p.add((typeof value === 'string' ? value : String(value)).toLowerCase());
  const n = vnum === undefined ? undefined : p.add(String(vnum));
  const vbool = typeof value === 'string' ? booleanOf(value) : undefined;
  const others = mode === 'order' ? 'NULL' : `(CASE ${f.typ} WHEN 'null' THEN ${tcmp("''", `${vtext}::text`)} ELSE ${S}.flextype_decline()::int END)`;
  return `(CASE ${f.typ}
    WHEN 'number' THEN ${n ? ncmp(f.fnum, `${n}::float8`) : tcmp(numText(f, S), `${vtext}::text`)}
    WHEN 'string' THEN ${n ? `(CASE WHEN ${isnum(f.s)} THEN ${ncmp(num(f.s), `${n}::float8`)} ELSE ${tcmp(lowered(f.s, S), `${vtext}::text`)} END)` : tcmp(lowered(f.s, S), `${vtext}::text`)}
    WHEN 'boolean' THEN ${vbool === undefined ? tcmp(f.s, `${vtext}::text`) : ncmp(`(${f.s} = 'true')::int`, vbool ? '1' : '0')}
    ELSE ${others} END)`;
}

function listOf(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new Decline();
  return value;
}

function whereExpr(node: PushdownWhere, p: Params, S: string): string {
  if ('and' in node) return node.and.length === 0 ? 'true' : `(${node.and.map((m) => whereExpr(m, p, S)).join(' AND ')})`;
  if ('or' in node) return node.or.length === 0 ? 'false' : `(${node.or.map((m) => whereExpr(m, p, S)).join(' OR ')})`;
  const f = fieldOf(node.path, p);
  const present = `(${f.F} IS NOT NULL)`;
  const guard = (e: string) => `COALESCE(${e}, false)`;
  switch (node.operator) {
    case 'eq': {
      // A plain string (not numeric, not a boolean word) equals only itself: no COALESCE around it,
      // so the planner sees the containment test and uses the GIN index.
      const value = node.value;
      if (typeof value === 'string' && !isNumericLike(value) && booleanOf(value) === undefined && !LONE_SURROGATE.test(value) && !value.includes('\u0000')) {
        const contained = containment(f, value, p);
        return `(${contained ? `${contained} AND ` : ''}${f.typ} = 'string' AND ${f.s} = ${p.add(value)}::text)`;
      }
      return guard(`${present} AND ${equalsExpr(f, node.value, p)}`);
    }
    case 'neq': return guard(`${present} AND NOT ${equalsExpr(f, node.value, p)}`);
    case 'in':
    case 'nin': {
      const list = listOf(node.value);
      const any = list.length === 0 ? 'false' : `(${list.map((v) => equalsExpr(f, v, p)).join(' OR ')})`;
      return guard(`${present} AND ${node.operator === 'in' ? '' : 'NOT '}${any}`);
    }
    case 'lt': return guard(`${present} AND ${compareExpr(f, node.value, p, S, 'order')} < 0`);
    case 'lte': return guard(`${present} AND ${compareExpr(f, node.value, p, S, 'order')} <= 0`);
    case 'gt': return guard(`${present} AND ${compareExpr(f, node.value, p, S, 'order')} > 0`);
    case 'gte': return guard(`${present} AND ${compareExpr(f, node.value, p, S, 'order')} >= 0`);
    case 'between':
    case 'nbetween': {
      const list = listOf(node.value);
      if (list.length !== 2) throw new Decline();
      const inside = `(${compareExpr(f, list[0], p, S, 'between')} >= 0 AND ${compareExpr(f, list[1], p, S, 'between')} <= 0)`;
      return guard(`${present} AND ${node.operator === 'between' ? '' : 'NOT '}${inside}`);
    }
    default:
      // contains/ncontains/starts_with/ends_with (arrays, JSON text of objects) and anything newer: in memory.
      throw new Decline();
  }
}

/** Sort key columns: class (0 empty, 1 number, 2 text), number, lowered text (sortKeyOf in execute.ts). */
function sortColumns(path: string[], p: Params, S: string): string {
  const f = fieldOf(path, p);
  const cls = `(CASE WHEN ${f.F} IS NULL OR ${f.typ} = 'null' THEN 0 WHEN ${f.typ} = 'number' THEN 1
    WHEN ${f.typ} = 'string' THEN (CASE WHEN ${isnum(f.s)} THEN 1 WHEN ${f.s} = '' THEN 0 ELSE 2 END)
    WHEN ${f.typ} = 'boolean' THEN 2 ELSE ${S}.flextype_decline()::int END)`;
  const n = `(CASE WHEN ${f.typ} = 'number' THEN ${f.fnum} WHEN ${f.typ} = 'string' AND ${isnum(f.s)} THEN ${num(f.s)} END)`;
  const t = `(CASE WHEN ${f.typ} = 'boolean' THEN ${f.s} WHEN ${f.typ} = 'string' AND NOT ${isnum(f.s)} THEN ${lowered(f.s, S)} WHEN ${f.F} IS NULL OR ${f.typ} = 'null' THEN '' END)`;
  return `${cls} AS c, ${n} AS n, ${t} AS t`;
}

function scopeExpr(query: PushdownQuery, p: Params): string {
  const parts: string[] = [];
  const baseDepth = query.base === '' ? 0 : query.base.split('/').length;
  if (query.base !== '') {
    const { lo, hi } = subtreeBounds(query.base);
    parts.push(`id >= ${p.add(lo)}::text AND id < ${p.add(hi)}::text`);
  }
  parts.push(`depth BETWEEN ${p.add(baseDepth + query.minDepth)}::int AND ${p.add(baseDepth + Math.min(query.maxDepth, 100_000))}::int`);
  for (const excluded of query.excluded) {
    const { lo, hi } = subtreeBounds(excluded);
    parts.push(`NOT (id = ${p.add(excluded)}::text OR (id >= ${p.add(lo)}::text AND id < ${p.add(hi)}::text))`);
  }
  return parts.join(' AND ');
}

/** Compiles a query, or undefined when any part of it is outside the exact rules. */
export function compilePushdown(query: PushdownQuery, table: string, S: string, maxRows: number): CompiledPushdown | undefined {
  if (!Number.isSafeInteger(query.offset) || query.offset < 0) return undefined;
  if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 0)) return undefined;
  try {
    const scopeParams = new Params();
    const scopeOnly = scopeExpr(query, scopeParams);
    // The partial index on `fields IS NULL` answers the first; the count (when asked) scans the scope.
    const inexactSql = query.countScope
      ? `SELECT bool_or(fields IS NULL) AS inexact, count(*)::float8 AS scope FROM ${table} WHERE ${scopeOnly}`
      : `SELECT EXISTS (SELECT 1 FROM ${table} WHERE fields IS NULL AND ${scopeOnly}) AS inexact`;
    const p = new Params();
    const scope = scopeExpr(query, p);
    const where = query.where ? whereExpr(query.where, p, S) : 'true';
    const keep = query.limit === undefined ? undefined : query.offset + query.limit;
    if (!query.sort) {
      // Order by id happens in the caller (its natural order); every match is needed for that.
      const sql = `SELECT id, count(*) OVER () AS total FROM ${table} WHERE ${scope} AND ${where} LIMIT ${p.add(maxRows + 1)}::int`;
      return { inexactSql, inexactValues: scopeParams.values, sql, values: p.values, sorted: false, descending: false, keep };
    }
    const columns = sortColumns(query.sort.path, p, S);
    const dir = query.sort.descending ? 'DESC' : 'ASC';
    const order = `(c <> 0) ${dir}, n ${dir} NULLS LAST, t COLLATE "C" ${dir} NULLS LAST`;
    const fetch = keep === undefined ? `LIMIT ${p.add(maxRows + 1)}::int` : `FETCH FIRST (${p.add(Math.max(keep, 1))}::int) ROWS WITH TIES`;
    const sql = `SELECT id, c, n, t, count(*) OVER () AS total, (bool_or(c = 1) OVER () AND bool_or(c = 2) OVER ()) AS mixed
      FROM (SELECT id, ${columns} FROM ${table} WHERE ${scope} AND ${where}) AS m
      ORDER BY ${order} ${fetch}`;
    return { inexactSql, inexactValues: scopeParams.values, sql, values: p.values, sorted: true, descending: query.sort.descending, keep };
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

type Query = <R extends Record<string, unknown>>(sql: string, values: unknown[]) => Promise<{ rows: R[] }>;

/** True for the errors that mean "this statement met a row outside the exact rules". */
function isDecline(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  // FTPD0: flextype_decline(); 22xxx: data exceptions (a numeric string float8 cannot hold).
  return code === DECLINE_STATE || (typeof code === 'string' && code.startsWith('22'));
}

/**
 * Runs a push-down: the page's ids in the in-memory order (ties by `idOrder`, the caller's
 * natural id order) and the total, or undefined to let the caller answer in memory.
 */
export async function runPushdown(
  query: PushdownQuery,
  run: Query,
  table: string,
  S: string,
  idOrder: (a: string, b: string) => number,
  maxRows: number,
): Promise<{ ids: string[]; total: number } | undefined> {
  const compiled = compilePushdown(query, table, S, maxRows);
  if (!compiled) return undefined;
  try {
    const inexact = await run<{ inexact: boolean | null; scope?: number }>(compiled.inexactSql, compiled.inexactValues);
    if (inexact.rows[0]?.inexact) return undefined;
    const scope = query.countScope ? { scope: Number(inexact.rows[0]?.scope ?? 0) } : {};
    const end = (total: number) => (query.limit === undefined ? total : query.offset + query.limit);
    if (!compiled.sorted) {
      const { rows } = await run<{ id: string; total: string }>(compiled.sql, compiled.values);
      if (rows.length > maxRows) return undefined;
      const ids = rows.map((r) => r.id).sort(idOrder);
      return { ids: ids.slice(query.offset, end(ids.length)), total: ids.length, ...scope };
    }
    const { rows } = await run<SortedRow & { total: string; mixed: boolean | null }>(compiled.sql, compiled.values);
    if (rows.length > maxRows) return undefined;
    if (rows.length === 0) {
      if (compiled.keep !== 0) return { ids: [], total: 0, ...scope };
      // limit 0 fetched one row WITH TIES only to learn the total; nothing to answer.
    }
    if (rows[0]?.mixed) return undefined;
    const total = rows.length === 0 ? 0 : Number(rows[0]!.total);
    const sign = compiled.descending ? -1 : 1;
    rows.sort((a, b) => sign * compareRows(a, b) || idOrder(a.id, b.id));
    return { ids: rows.slice(query.offset, end(total)).map((r) => r.id), total, ...scope };
  } catch (err) {
    if (isDecline(err)) return undefined;
    throw err;
  }
}
