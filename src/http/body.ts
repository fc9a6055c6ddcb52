/**
 * Request decoding: bracket query strings and form bodies through `qs` (bounded depth and size),
 * JSON bodies checked for valid UTF-8. All give the same nested structure, with one rule for keys:
 * every key is kept as sent (`toString`, `valueOf`, … included) except `__proto__`, `constructor`
 * and `prototype`, which are dropped at every depth (they could reach an object's prototype).
 */
import qs from 'qs';
import { badRequest } from '../core/errors.js';
import type { Settings } from '../core/settings.js';
import { sanitizeKeys } from '../core/util.js';

export interface DecodeLimits {
  depth: number;
  parameterLimit: number;
  arrayLimit: number;
}

/** The one set of limits every decoder of a server uses (the fast path's included). */
export function decodeLimitsOf(settings: Settings): DecodeLimits {
  return {
    depth: settings.server.query_depth,
    parameterLimit: settings.server.query_parameter_limit,
    arrayLimit: settings.server.query_array_limit,
  };
}

// Dropped by `sanitizeKeys` too: the plain decoder leaves inputs with them to the general path.
const DROPPED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Set on a decoded query that could not be read, reported as 400 once the route is known. */
export const QUERY_ERROR = Symbol('query-error');

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeBrackets(text: string, limits: DecodeLimits): Record<string, unknown> {
  try {
    // Null-prototype objects keep keys named like Object.prototype members (qs would otherwise
    // drop `toString` or `valueOf`); sanitizeKeys then drops the three dangerous names and
    // returns ordinary objects.
    const parsed = qs.parse(text, {
      depth: limits.depth,
      strictDepth: true,
      parameterLimit: limits.parameterLimit,
      throwOnLimitExceeded: true,
      arrayLimit: limits.arrayLimit,
      plainObjects: true,
      allowPrototypes: true,
      allowDots: false,
      charset: 'utf-8',
    });
    return sanitizeKeys(parsed) as Record<string, unknown>;
  } catch (err) {
    throw badRequest(`cannot decode the parameters: ${(err as Error).message}`);
  }
}

// Plain `a=b&c=d` query strings (simple keys, no brackets) need none of qs's machinery.
const PLAIN_QUERY = /^(?:[A-Za-z0-9_.~-]+=[^&]*(?:&|$))*$/;
const PLAIN_MAX_LENGTH = 4096;

/**
 * The plain case of `decodeBrackets`, giving exactly what qs gives for it, else undefined (then qs
 * decides: repeated keys become lists, bare keys empty strings, bad escapes stay verbatim). Both
 * the fast path and the full path decode through here, so they cannot read a query differently.
 */
export function decodePlainQuery(text: string, limits: DecodeLimits): Record<string, unknown> | undefined {
  if (text.length >= PLAIN_MAX_LENGTH || !PLAIN_QUERY.test(text)) return undefined;
  const out: Record<string, unknown> = {};
  const pairs = text.split('&');
  if (pairs.length > limits.parameterLimit) return undefined;
  for (const pair of pairs) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    if (at <= 0) return undefined;
    const key = pair.slice(0, at);
    if (DROPPED_KEYS.has(key) || Object.hasOwn(out, key)) return undefined;
    try {
      out[key] = decodeURIComponent(pair.slice(at + 1).replace(/\+/g, ' '));
    } catch {
      return undefined; // malformed escapes: qs keeps them literally
    }
  }
  return out;
}

/** The querystring parser of every route: never throws; a failure is reported once the route is known. */
export function decodeQuery(text: string, limits: DecodeLimits): Record<string | symbol, unknown> {
  try {
    return decodePlainQuery(text, limits) ?? decodeBrackets(text, limits);
  } catch (err) {
    return { [QUERY_ERROR]: (err as Error).message };
  }
}

export function decodeUtf8(buffer: Buffer): string {
  try {
    return utf8.decode(buffer);
  } catch {
    throw badRequest('the request body is not valid UTF-8');
  }
}

export function decodeJson(buffer: Buffer): unknown {
  const text = decodeUtf8(buffer);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`malformed JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('the JSON body must be an object');
  }
  return sanitizeKeys(value);
}
