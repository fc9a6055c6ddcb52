/** One view of a request's parameters: query and body merged, credentials from headers too. */
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../core/errors.js';
import { isPlainObject } from '../core/util.js';
import { QUERY_ERROR } from './body.js';

export type Params = Record<string, unknown>;

export function paramsOf(request: FastifyRequest): Params {
  const query = (request.query ?? {}) as Record<string | symbol, unknown>;
  if (query[QUERY_ERROR]) throw badRequest(String(query[QUERY_ERROR]));
  const body = isPlainObject(request.body) ? request.body : {};
  return { ...(query as Params), ...body };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The public token: `token` parameter, else `Authorization: Bearer <token>`. */
export function tokenOf(request: FastifyRequest, params: Params): unknown {
  if (params['token'] !== undefined && params['token'] !== '') return params['token'];
  const auth = header(request, 'authorization');
  const match = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return match ? match[1] : undefined;
}

/** The secret: `access_token` parameter, else the `X-Access-Token` header. */
export function accessTokenOf(request: FastifyRequest, params: Params): unknown {
  if (params['access_token'] !== undefined && params['access_token'] !== '') return params['access_token'];
  return header(request, 'x-access-token');
}

/** Step 1 of the validation order: every required parameter is present. */
export function requireParams(params: Params, names: string[]): void {
  const missing = names.filter((name) => params[name] === undefined || (name !== 'id' && params[name] === ''));
  if (missing.length > 0) {
    throw badRequest(`missing required parameter${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  }
}

export function ifMatchOf(request: FastifyRequest): string | undefined {
  return header(request, 'if-match');
}

/**
 * A request URL's path as routes are known: no query, no trailing slashes, no doubled slashes.
 * Trailing slashes by a loop: `/\/+$/` is quadratic on a long run of slashes inside the path.
 */
export function routePathOf(url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end).replace(/\/{2,}/g, '/');
}
