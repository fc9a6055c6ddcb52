/**
 * Query push-down for PostgreSQL: a PushdownQuery compiled to one SELECT whose result equals the
 * in-memory rules (src/core/query/compare.ts, where.ts, execute.ts) exactly, or nothing at all.
 *
 * Every comparison goes through the key functions of migrations 4 and 6: a row's value has a class
 * (0 empty, 1 number, 2 ASCII text or boolean, 3 non-ASCII text, 4 object/array, 5 a number
 * outside the checked range), a number key and a case-folded text key. A condition is an OR of
 * one arm per class, each a plain range of the key index (parent, class, number, text) or an
 * equality on the raw jsonb value, with the answer for single values (booleans, '', null)
 * computed here in JS by the in-memory rules themselves. How exactness is kept:
 * - a field compared where a row of a class whose key cannot be reproduced (3, 5, and 4 where JS
 *   compares JSON text) exists anywhere in the scope declines the query (one probe of the key
 *   index per field, so the arms stay index conditions);
 * - numbers are float8 on both sides (PostgreSQL's float8 input and JS Number() both round
 *   correctly, so the same text gives the same double);
 * - a number compared as text is declined where JS would print it with an exponent;
 * - a sort over a class 3-5 key or over both numbers and texts is declined (the JS order is not
 *   a total order there): the page is fetched per class, each part an ordered index range with the
 *   where specialised to that class, and ties are ordered by the caller's id order from rows
 *   fetched WITH TIES.
 * Counts are the expensive part (an expression index allows no index-only scan: each match is a
 * heap visit); they are reused while the engine knows nothing changed (CountCache).
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

/** A count the answer needs, by the column it is answered in; its SQL text is its cache key. */
export interface CountSql {
  name: 'total' | 'scope';
  sql: string;
}

export interface CompiledPushdown {
  /** A json array: ids (unsorted), or [id, c, n, s] rows (sorted). */
  page: string;
  counts: CountSql[];
  /** True when the engine must decline (rows outside the exact rules). */
  declined: string;
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

/** One disjunct of a condition and the key class of the field it can hold for (undefined: any). */
interface Arm {
  cls: number | undefined;
  sql: string;
}

/** Where a compiled where may assume the sort field's class (one part of a sorted page). */
interface Assumption {
  path: string;
  classes: ReadonlySet<number>;
}

const pathKey = (path: readonly string[]) => path.join('\u0000');
/** The class key_c gives a non-numeric string (migration 4): '' 0, ASCII 2, other 3. */
const stringClass = (text: string) => (text === '' ? 0 : /^[\x00-\x7f]*$/.test(text) ? 2 : 3);

class Compiler {
  readonly uses: IndexUse[] = [];
  /** Per field: the key classes whose presence anywhere in scope declines the query (rows outside the exact rules). */
  readonly declines = new Map<string, { path: string[]; classes: Set<number> }>();
  /** Set while compiling one class's part of a sorted page. */
  assume: Assumption | undefined;
  constructor(private readonly S: string) {}

  private use(kind: IndexUse['kind'], path: string[]): void {
    if (!this.uses.some((u) => u.kind === kind && pathKey(u.path) === pathKey(path))) this.uses.push({ kind, path });
  }

  private decline(): string {
    return `(${this.S}.flextype_decline() IS NOT NULL)`;
  }

  /**
   * Rows of these classes in this field are outside the exact rules: checked once per query in
   * the scope (an index range on the key index), not per row inside the condition, so that every
   * arm stays a plain index condition (and counts need no filter).
   */
  private declineOn(path: string[], ...classes: number[]): void {
    this.use('key', path);
    let entry = this.declines.get(pathKey(path));
    if (!entry) this.declines.set(pathKey(path), (entry = { path, classes: new Set() }));
    for (const c of classes) entry.classes.add(c);
  }

  /** The arms that can hold under the current assumption, OR'ed. */
  private any(path: string[], arms: Arm[]): string {
    const assumed = this.assume && this.assume.path === pathKey(path) ? this.assume.classes : undefined;
    const kept = assumed ? arms.filter((a) => a.cls === undefined || assumed.has(a.cls)) : arms;
    if (kept.length === 0) return 'false';
    return kept.length === 1 ? kept[0]!.sql : `(${kept.map((a) => a.sql).join(' OR ')})`;
  }

  /** looseEquals(field, value) as an OR of indexable arms, never NULL for a present field. */
  equals(path: string[], raw: unknown): string {
    const value = scalarValue(raw);
    const k = keySql(path, this.S);
    // A boolean as key: class 2 with its text; the raw value tells it from the string.
    const booleanArm = (b: boolean): Arm => {
      this.use('key', path);
      return { cls: 2, sql: `(${k.c} = 2 AND ${k.n} IS NULL AND ${k.s} = '${b}' AND ${k.F} = ${jsonLit(b)})` };
    };
    if (typeof value === 'boolean') return this.any(path, [booleanArm(value)]);
    const vnum = numberOf(value);
    const arms: Arm[] = [];
    if (vnum !== undefined) {
      // Numbers and numeric strings compare as numbers (a string equal to the value is one of them).
      this.use('key', path);
      this.declineOn(path, 5);
      arms.push({ cls: 1, sql: `(${k.c} = 1 AND ${k.n} = ${numLit(vnum)})` });
    } else {
      // Only the same string: objects' JSON text starts with { or [, a number's text is numeric.
      this.use('eq', path);
      arms.push({ cls: stringClass(value as string), sql: `(${k.F} = ${jsonLit(value)})` });
    }
    const vbool = typeof value === 'string' ? booleanOf(value) : undefined;
    if (vbool !== undefined) arms.push(vnum !== undefined ? booleanArm(vbool) : { cls: 2, sql: `(${k.F} = ${jsonLit(vbool)})` });
    return this.any(path, arms);
  }

  /**
   * compareValues(field, coerceTo(field, value)) for every comparison at once, as an OR of one arm
   * per class, each a range on the key index (parent, c, n, s). `order` (lt/lte/gt/gte): null,
   * objects and arrays never match. `between`: null compares as '', objects and arrays are
   * declined (JSON.stringify's text is not jsonb's).
   */
  compare(path: string[], comparisons: Comparison[], mode: 'order' | 'between'): string {
    this.use('key', path);
    this.declineOn(path, 3, 5, ...(mode === 'between' ? [4] : []));
    const k = keySql(path, this.S);
    const numberParts: string[] = [];
    let numbersNever = false;
    const textParts: string[] = [];
    let emptyHolds = true;
    const boolHolds = { true: true, false: true };
    let booleanLike = false;
    for (const { op, value } of comparisons) {
      const vnum = numberOf(value);
      const vtext = (typeof value === 'string' ? value : String(value)).toLowerCase();
      const vbool = typeof value === 'string' ? booleanOf(value) : undefined;
      if (vbool !== undefined) booleanLike = true;
      if (vnum !== undefined) numberParts.push(`${k.n} ${op} ${numLit(vnum)}`);
      else if (vtext === '' || vtext.charCodeAt(0) > 0x39) {
        // A number meets a non-numeric text: compared as text. Every class-1 text (JS String(n),
        // or a numeric string) starts with a blank, sign, point or digit, all at most '9', so
        // against '' or a text starting above '9' the answer is the same for every number.
        if (!holds(op, vtext === '' ? 1 : -1)) numbersNever = true;
      } else {
        // Otherwise as text: JS String(n) (jsonb prints the same digits unless JS would use an
        // exponent), a numeric string as its lowercased self (ASCII).
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
    const arms: Arm[] = [];
    if (!numbersNever) arms.push({ cls: 1, sql: `(${[`${k.c} = 1`, ...numberParts].join(' AND ')})` });
    // Class 2 holds ASCII strings and booleans as 'true'/'false'; a boolean compares as that text
    // unless a query value reads as a boolean (then it compares as a boolean: its own arms).
    if (booleanLike) {
      arms.push({ cls: 2, sql: `(${k.c} = 2 AND ${k.n} IS NULL AND ${textParts.join(' AND ')} AND jsonb_typeof(${k.F}) = 'string')` });
      for (const b of [true, false] as const) {
        if (boolHolds[`${b}`]) arms.push({ cls: 2, sql: `(${k.c} = 2 AND ${k.n} IS NULL AND ${k.s} = '${b}' AND ${k.F} = ${jsonLit(b)})` });
      }
    } else arms.push({ cls: 2, sql: `(${k.c} = 2 AND ${k.n} IS NULL AND ${textParts.join(' AND ')})` });
    if (emptyHolds) arms.push({ cls: 0, sql: mode === 'between' ? `(${k.c} = 0 AND ${k.F} IS NOT NULL)` : `(${k.c} = 0 AND ${k.F} = ${jsonLit('')})` });
    return this.any(path, arms);
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

/** Whether subtree `a` (the id and its descendants) and subtree `b` share an id. */
const overlaps = (a: string, b: string) => a === '' || b === '' || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

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
  // An excluded subtree outside the base's needs no test: a filter on id would make every count
  // visit the table instead of answering from the index's bitmap.
  for (const excluded of query.excluded) {
    if (!overlaps(excluded, query.base)) continue;
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
    const whereOf = () => (query.where ? compiler.where(query.where) : 'true');
    const where = whereOf();
    const keep = query.limit === undefined ? undefined : query.offset + query.limit;
    const matches = `FROM ${table} WHERE ${scope} AND ${where}`;
    const counts: CountSql[] = [];
    if (query.countScope) counts.push({ name: 'scope', sql: `(SELECT count(*) FROM ${table} WHERE ${scope})::float8` });
    let page: string;
    let sorted = false;
    // limit 0 with a sort: nothing to order (the in-memory executor selects none either).
    if (!query.sort || keep === 0) {
      // Order by id happens in the caller (its natural order); every match is needed for that,
      // except for limit 0, which needs the count only.
      page = keep === 0 ? `'[]'::json` : `(SELECT coalesce(json_agg(id), '[]') FROM (SELECT id ${matches} LIMIT ${maxRows + 1}) AS m)`;
      if (keep === 0) counts.push({ name: 'total', sql: `(SELECT count(*) ${matches})::float8` });
    } else {
      sorted = true;
      const path = query.sort.path;
      const k = keySql(path, S);
      compiler.uses.push({ kind: 'key', path });
      const dir = query.sort.descending ? 'DESC' : 'ASC';
      const columns = `id, ${k.c} AS c, ${k.n} AS n, ${k.s} AS s`;
      // One part per key class, each an ordered range of the key index (parent, c, n, s) with the
      // where specialised to that class, so a range on the sort field bounds the scan. A page
      // with rows of classes 1 and 2, or any of 3-5, is declined (the JS order is no total order
      // there): every part that has a match shows at least one row, which is all that needs.
      const part = (classes: number[], tail: string) => {
        compiler.assume = { path: pathKey(path), classes: new Set(classes) };
        const cls = classes.length === 1 ? `${k.c} = ${classes[0]}` : `${k.c} IN (${classes.join(', ')})`;
        const sql = `SELECT ${columns} FROM ${table} WHERE ${scope} AND ${cls} AND ${whereOf()} ${tail}`;
        compiler.assume = undefined;
        return sql;
      };
      const fetch = keep === undefined ? `LIMIT ${maxRows + 1}` : `ORDER BY ${k.n} ${dir}, ${k.s} ${dir} FETCH FIRST ${keep} ROWS WITH TIES`;
      // Ties can be many (a sort on a field of few values): each part stops after maxRows + 1.
      const ranked = (cls: number) => `(SELECT * FROM (${part([cls], fetch)}) AS p${cls} LIMIT ${maxRows + 1})`;
      // Class 0 (missing, null, '') ties as a whole; first ascending, last descending, where it
      // is needed only when the other classes have fewer than `keep` matches.
      const empty = keep === undefined || !query.sort.descending ? ranked(0) : `${part([0], `AND (SELECT count(*) FROM ranked) < ${keep} LIMIT ${maxRows + 1}`)}`;
      page = `(WITH ranked AS (${ranked(1)} UNION ALL ${ranked(2)}) SELECT coalesce(json_agg(json_build_array(id, c, n, s)), '[]') FROM (SELECT * FROM ranked UNION ALL (${empty}) UNION ALL (${part([3, 4, 5], 'LIMIT 1')})) AS m)`;
      counts.push({ name: 'total', sql: `(SELECT count(*) ${matches})::float8` });
    }
    // Entries whose fields jsonb cannot hold exactly (a partial index finds them at once), and
    // fields holding values outside the exact rules (a range of the key index).
    const declines = [`EXISTS (SELECT 1 FROM ${table} WHERE fields IS NULL AND ${scope})`];
    for (const { path, classes } of compiler.declines.values()) {
      declines.push(`EXISTS (SELECT 1 FROM ${table} WHERE ${scope} AND ${keySql(path, S).c} IN (${[...classes].sort().join(', ')}))`);
    }
    return { page, counts, declined: declines.join(' OR '), sorted, descending: query.sort?.descending ?? false, keep, uses: compiler.uses };
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

/**
 * Counts already answered, kept while nothing changed: a count visits every matching row (an
 * expression index allows no index-only scan), the page only a few. `generation` moves on every
 * change the engine makes or hears of; a count is kept under the generation read before its
 * statement started, so a change during the statement leaves it unused.
 */
export interface CountCache {
  generation(): number | undefined;
  get(sql: string, generation: number): number | undefined;
  set(sql: string, generation: number, value: number): void;
}

/** A bounded map of counts by SQL text, valid for one generation. */
export class Counts implements CountCache {
  private readonly map = new Map<string, { generation: number; value: number }>();
  constructor(
    /** The current generation, or undefined when changes may go unheard (no change feed): no caching then. */
    readonly generation: () => number | undefined,
    private readonly max = 256,
  ) {}
  get(sql: string, generation: number): number | undefined {
    const hit = this.map.get(sql);
    return hit && hit.generation === generation ? hit.value : undefined;
  }
  set(sql: string, generation: number, value: number): void {
    this.map.delete(sql);
    this.map.set(sql, { generation, value });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

type SummaryRow = {
  page: unknown[];
  declined: boolean;
  total?: number;
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
  countCache?: CountCache,
): Promise<{ ids: string[]; total: number; scope?: number } | undefined> {
  const compiled = compilePushdown(query, table, S, maxRows);
  if (!compiled) return undefined;
  onUses?.(compiled.uses);
  const generation = countCache?.generation();
  const known = new Map<string, number>();
  const columns = [`${compiled.page} AS page`, `(${compiled.declined}) AS declined`];
  for (const count of compiled.counts) {
    const cached = generation === undefined ? undefined : countCache!.get(count.sql, generation);
    if (cached === undefined) columns.push(`${count.sql} AS ${count.name}`);
    else known.set(count.name, cached);
  }
  let row: SummaryRow;
  try {
    // For this statement only: no JIT (it compiles for a second what runs in milliseconds), and
    // random reads priced as cached (a count would otherwise scan the table, 10x slower).
    const rows = await run(`SET LOCAL jit = off; SET LOCAL random_page_cost = 1.1; SELECT ${columns.join(', ')}`);
    row = rows[0] as unknown as SummaryRow;
  } catch (err) {
    if (isDecline(err)) return undefined;
    throw err;
  }
  if (!row || row.declined) return undefined;
  for (const count of compiled.counts) {
    const value = row[count.name];
    if (value === undefined || value === null) continue;
    known.set(count.name, Number(value));
    if (generation !== undefined) countCache!.set(count.sql, generation, Number(value));
  }
  const scope = query.countScope ? { scope: known.get('scope') ?? 0 } : {};
  const end = (total: number) => (query.limit === undefined ? total : query.offset + query.limit);
  if (!compiled.sorted) {
    if (compiled.keep === 0) return { ids: [], total: known.get('total') ?? 0, ...scope };
    if (row.page.length > maxRows) return undefined;
    const ids = (row.page as string[]).sort(idOrder);
    return { ids: ids.slice(query.offset, end(ids.length)), total: ids.length, ...scope };
  }
  const total = known.get('total') ?? 0;
  const rows = (row.page as [string, number, number | null, string | null][]).map(([id, c, n, t]) => ({ id, c, n, t }));
  const perClass = [0, 0, 0];
  for (const r of rows) {
    if (r.c >= 3) return undefined;
    perClass[r.c]!++;
  }
  // Numbers and texts together have no total JS order; a part cut at maxRows + 1 is too many rows.
  if ((perClass[1]! > 0 && perClass[2]! > 0) || perClass.some((n) => n > maxRows)) return undefined;
  if (query.limit === undefined && rows.length > maxRows) return undefined;
  const sign = compiled.descending ? -1 : 1;
  rows.sort((a, b) => sign * compareRows(a, b) || idOrder(a.id, b.id));
  return { ids: rows.slice(query.offset, end(total)).map((r) => r.id), total, ...scope };
}
