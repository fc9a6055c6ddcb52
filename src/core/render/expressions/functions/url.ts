/** `url` group: base URL, project URL, request URI and named routes (SPEC §9.5, §9.8). */
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import { isMap, toPlain, toText, type Value } from '../values.js';
import { arg, functionTable, textArg } from './common.js';
import { buildQuery } from './collection-object.js';

const ROUTES = new Map<string, string>([
  ['entries.fetch', '/api/v1/entries'], ['entries.create', '/api/v1/entries'], ['entries.update', '/api/v1/entries'],
  ['entries.move', '/api/v1/entries'], ['entries.delete', '/api/v1/entries'], ['entries.copy', '/api/v1/entries/copy'],
  ['tokens.fetch', '/api/v1/tokens'], ['tokens.create', '/api/v1/tokens'], ['tokens.update', '/api/v1/tokens'],
  ['tokens.delete', '/api/v1/tokens'], ['tokens.generate', '/api/v1/tokens/generate'],
  ['tokens.generate-hash', '/api/v1/tokens/generate-hash'], ['tokens.verify-hash', '/api/v1/tokens/verify-hash'],
  ['registry.get', '/api/v1/registry'], ['cache.clear', '/api/v1/cache/clear'], ['query.evaluate', '/api/v1/query'],
]);

const settingText = (env: Env, key: string) => {
  const value = env.ctx.setting(key);
  return typeof value === 'string' ? value : '';
};

/** Repeated `/` collapsed (not the `//` after a scheme's `:`), trailing `/` removed. */
export function tidyUrl(url: string): string {
  return url.replace(/(?<!:)\/{2,}/g, '/').replace(/\/+$/, '');
}

export function baseUrlOf(env: Env): string {
  const basePath = settingText(env, 'base_path');
  const base = settingText(env, 'base_url') || env.ctx.request?.origin || '';
  return tidyUrl(`${base}/${basePath}`);
}

function urlFor(args: Value[], env: Env): string {
  const name = textArg(args, 0, 'urlFor');
  const path = ROUTES.get(name);
  if (path === undefined) throw runtimeError(`urlFor(): unknown route "${name}"`);
  const basePath = settingText(env, 'base_path');
  const query = arg(args, 2);
  const queryText = isMap(query) || Array.isArray(query) ? buildQuery(query).join('&') : '';
  const prefixed = tidyUrl(`/${basePath}${path}`) || '/';
  return queryText === '' ? prefixed : `${prefixed}?${queryText}`;
}

export const urlFunctions = functionTable({
  url: (args, env) => {
    const prefix = textArg(args, 1, 'url', 'base');
    const base = prefix === 'project' ? `${baseUrlOf(env)}/project` : baseUrlOf(env);
    return env.budget.text(tidyUrl(`${base}/${textArg(args, 0, 'url', '')}`), 'a URL');
  },
  getBaseUrl: (_args, env) => baseUrlOf(env),
  getBasePath: (_args, env) => settingText(env, 'base_path'),
  getAbsoluteUrl: (_args, env) => tidyUrl(`${baseUrlOf(env)}/${env.ctx.request?.uri ?? ''}`),
  getProjectUrl: (_args, env) => `${baseUrlOf(env)}/project`,
  getUriString: (_args, env) => env.ctx.request?.uri ?? '',
  urlFor: (args, env) => urlFor(args, env),
});

export { toPlain, toText };
