/**
 * The Query API's operation (SPEC §10), shared by HTTP and the CLI: flatten the query map to dotted
 * leaves, evaluate each leaf as one expression (no variables), drop `_` leaves, expand the keys
 * again, and answer typed JSON text (§9.9).
 */
import { badRequest, CmsError } from '../errors.js';
import { isPlainObject } from '../util.js';
import type { RenderContext, RequestInfo } from './context.js';
import type { Renderer } from './renderer.js';
import { ExpressionError } from './expressions/errors.js';
import { ExpressionEngine } from './expressions/index.js';
import { setDot } from './expressions/paths.js';
import { Scope } from './expressions/scope.js';
import { ExprObject, isList, isMap, OPAQUE, toJsonText, type PhpMap, type Value } from './expressions/values.js';
import { LimitError } from './limits.js';

/** Dotted leaf keys of a map, as the reference's `dot()`: non-empty maps and lists recurse. */
function flatten(value: unknown, prefix: string, out: [string, unknown][]): void {
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as object);
  for (const [key, child] of entries) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const nested = (Array.isArray(child) && child.length > 0) || (isPlainObject(child) && Object.keys(child).length > 0);
    if (nested) flatten(child, path, out);
    else out.push([path, child]);
  }
}

/** Objects become their data (collections → lists/maps, text objects → text), inside lists/maps too. */
function typed(value: Value, depth = 0): Value {
  if (depth > 256) return null;
  if (value instanceof ExprObject) return typed(value.toData(), depth + 1);
  if (isList(value)) return value.map((item) => typed(item, depth + 1));
  if (value === OPAQUE) return value;
  if (isMap(value)) return new Map([...value].map(([k, v]) => [k, typed(v, depth + 1)] as [string, Value]));
  return value;
}

export async function evaluateQuery(query: unknown, ctx: RenderContext, engine: ExpressionEngine): Promise<string> {
  if (!isPlainObject(query)) throw badRequest('parameter "query" must be a map of names to expressions, e.g. {"sum": "1 + 1"}');
  const leaves: [string, unknown][] = [];
  flatten(query, '', leaves);
  // Every leaf is checked before any is evaluated: a bad request changes nothing, not even vars.
  for (const [key, source] of leaves) {
    if (typeof source !== 'string') throw badRequest(`query "${key}" must be an expression (text), not ${JSON.stringify(source)}`);
  }
  const scope = new Scope();
  const result: PhpMap = new Map();
  for (const [key, source] of leaves) {
    let value: Value;
    try {
      value = await engine.evaluate(source as string, ctx, scope);
    } catch (err) {
      if (err instanceof LimitError) throw badRequest(`query "${key}": rendering limit exceeded (${err.detail})`);
      if (err instanceof ExpressionError) throw badRequest(`query "${key}": ${err.message}`);
      if (err instanceof CmsError) throw badRequest(`query "${key}": ${err.detail}`);
      // Never a 500 for content (SPEC §11.10): e.g. data nested beyond the stack.
      throw badRequest(`query "${key}": the expression could not be evaluated`);
    }
    if (!key.startsWith('_')) setDot(result, key, typed(value));
  }
  ctx.budget.checkTime();
  return result.size === 0 ? '{}' : toJsonText(result);
}

/** Evaluates a query for a project (HTTP and CLI): a fresh budget and scope per call. */
export function runQuery(services: { renderer: Renderer }, query: unknown, request?: RequestInfo): Promise<string> {
  const { renderer } = services;
  // No entry is being rendered: field()/fields() act on an empty scratch entry (§10).
  const ctx = renderer.context(renderer.session(request), undefined);
  return evaluateQuery(query, ctx, renderer.expressions);
}
