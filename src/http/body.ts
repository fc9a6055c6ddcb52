/**
 * Request decoding: bracket query strings and form bodies through `qs` (bounded depth and size,
 * no prototype keys), JSON bodies checked for valid UTF-8. Both give the same nested structure.
 */
import qs from 'qs';
import { badRequest } from '../core/errors.js';
import { sanitizeKeys } from '../core/util.js';

export interface DecodeLimits {
  depth: number;
  parameterLimit: number;
  arrayLimit: number;
}

/** Set on a decoded query that could not be read, reported as 400 once the route is known. */
export const QUERY_ERROR = Symbol('query-error');

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeBrackets(text: string, limits: DecodeLimits): Record<string, unknown> {
  try {
    return qs.parse(text, {
      depth: limits.depth,
      strictDepth: true,
      parameterLimit: limits.parameterLimit,
      throwOnLimitExceeded: true,
      arrayLimit: limits.arrayLimit,
      allowPrototypes: false,
      allowDots: false,
      charset: 'utf-8',
    }) as Record<string, unknown>;
  } catch (err) {
    throw badRequest(`cannot decode the parameters: ${(err as Error).message}`);
  }
}

// Plain `a=b&c=d` query strings (simple keys, no brackets) need none of qs's machinery.
const PLAIN_QUERY = /^(?:[A-Za-z0-9_.~-]+=[^&]*(?:&|$))*$/;

export function decodePlain(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const key = pair.slice(0, at);
    // Repeated or prototype-like keys take the general path (arrays, filtering).
    if (key in out) return undefined;
    try {
      out[key] = decodeURIComponent(pair.slice(at + 1).replace(/\+/g, ' '));
    } catch {
      return undefined; // malformed escapes: qs keeps them literally
    }
  }
  return out;
}

export function decodeQuery(text: string, limits: DecodeLimits): Record<string | symbol, unknown> {
  try {
    const plain = text.length < 4096 && PLAIN_QUERY.test(text) ? decodePlain(text) : undefined;
    return plain ?? decodeBrackets(text, limits);
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
