/** `url` group: base URL, project URL, request URI and named routes (SPEC §9.5, §9.8). */
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import { isMap, toPlain, toText, type Value } from '../values.js';
import { arg, functionTable, textArg } from './common.js';
import { buildQuery } from './collection-object.js';
import { baseUrl, routeUrl, tidyUrl } from '../../urls.js';

const settingText = (env: Env, key: string) => {
  const value = env.ctx.setting(key);
  return typeof value === 'string' ? value : '';
};

export { tidyUrl };

export function baseUrlOf(env: Env): string {
  return baseUrl(settingText(env, 'base_url'), settingText(env, 'base_path'), env.ctx.request?.origin ?? '');
}

function urlFor(args: Value[], env: Env): string {
  const name = textArg(args, 0, 'urlFor');
  const query = arg(args, 2);
  const queryText = isMap(query) || Array.isArray(query) ? buildQuery(query).join('&') : '';
  try {
    return routeUrl(name, settingText(env, 'base_path'), queryText);
  } catch {
    throw runtimeError(`urlFor(): unknown route "${name}"`);
  }
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
