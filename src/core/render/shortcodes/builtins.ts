/**
 * The built-in shortcodes of SPEC §9.5, each a handler over the narrow ShortcodeEnv. A handler
 * answers text (or a value the processor turns into text); a thrown error leaves its tag as written.
 */
import { isPlainObject } from '../../util.js';
import { getPath } from '../../util.js';
import { parseStr, phpArrayToJson, typeOptionValues } from '../php.js';
import { buildQuery } from '../expressions/functions/collection-object.js';
import { fromPlain } from '../expressions/values.js';
import { baseUrl, routeUrl, tidyUrl } from '../urls.js';
import type { ShortcodeEnv } from './env.js';
import type { Shortcode, ShortcodeHandler } from './processor.js';

type Process = (text: string) => Promise<string>;
type Handler = (s: Shortcode, env: ShortcodeEnv, process: Process) => Promise<unknown> | unknown;

/** A parameter's value when it is given with one (PHP `isset`), else undefined. */
function param(s: Shortcode, name: string): string | undefined {
  return s.get(name) ?? undefined;
}

/** Renders a parameter's value when it is given, else undefined. */
async function rendered(s: Shortcode, name: string, process: Process): Promise<string | undefined> {
  const value = param(s, name);
  return value === undefined ? undefined : process(value);
}

/** The bare word `word` appears among the parameter names (`(entries fetch id:…)`). */
function hasWord(s: Shortcode, word: string): boolean {
  return s.has(word);
}

/** A sub-switch (`entries.fetch`…): on unless the settings turn it off (SPEC §12 defaults: true). */
function enabled(env: ShortcodeEnv, path: string): boolean {
  return env.setting(`parsers.shortcodes.shortcodes.${path}.enabled`) !== false;
}

/** `(entries …)`/`(fetch …)` options: a query string whose values are typed. */
function optionsOf(text: string): Record<string, unknown> {
  const options = typeOptionValues(phpArrayToJson(parseStr(text)));
  // An empty PHP array reads as a list; as options it means "none".
  return isPlainObject(options) ? options : {};
}

/** JSON text of a fetched value, or one field of it (a dot path). */
async function answerOf(s: Shortcode, value: unknown, process: Process): Promise<unknown> {
  const field = await rendered(s, 'field', process);
  if (field === undefined) return value;
  const found = getPath(value, field);
  if (found !== undefined && found !== null) return found;
  return (await rendered(s, 'default', process)) ?? '';
}

const entries: Handler = async (s, env, process) => {
  const id = hasWord(s, 'fetch') && enabled(env, 'entries.fetch') ? await rendered(s, 'id', process) : undefined;
  if (id === undefined) return '';
  const options = optionsOf((await rendered(s, 'options', process)) ?? '');
  const value = await env.fetchEntry(id, options);
  return answerOf(s, value ?? [], process);
};

const fetchResource: Handler = async (s, env, process) => {
  const source = param(s, 'resource') ?? s.main;
  if (source === null) return '';
  const resource = await process(source);
  const options = optionsOf((await rendered(s, 'options', process)) ?? '');
  let value: unknown;
  if (resource !== '' && (await env.hasEntry(resource))) value = await env.fetchEntry(resource, options);
  else value = await env.fetchFile(resource);
  // Nothing found answers '' even when a default is given (the reference's rule).
  if (value === undefined || (Array.isArray(value) && value.length === 0) || (isPlainObject(value) && Object.keys(value).length === 0)) return '';
  return answerOf(s, value, process);
};

const registry: Handler = async (s, env, process) => {
  const id = hasWord(s, 'get') && enabled(env, 'registry.get') ? await rendered(s, 'id', process) : undefined;
  if (id === undefined) return '';
  const value = env.registryGet(id);
  if (value !== undefined && value !== null) return value;
  return (await rendered(s, 'default', process)) ?? '';
};

/** `field` and `var` share their forms; only the scope differs. */
function scoped(scopeOf: (env: ShortcodeEnv) => ShortcodeEnv['field']): Handler {
  return async (s, env, process) => {
    const scope = scopeOf(env);
    const set = await rendered(s, 'set', process);
    if (set !== undefined) {
      scope.set(set, await process(param(s, 'value') ?? s.content ?? ''));
      return '';
    }
    const get = await rendered(s, 'get', process);
    if (get !== undefined) {
      const value = scope.get(get);
      if (value !== undefined && value !== null) return value;
      return param(s, 'default') ?? s.content ?? '';
    }
    if (s.main !== null) return scope.get(await process(s.main)) ?? '';
    const unset = await rendered(s, 'unset', process);
    if (unset !== undefined) {
      scope.set(unset, null);
      return '';
    }
    const remove = await rendered(s, 'delete', process);
    if (remove !== undefined) scope.delete(remove);
    return '';
  };
}

const condition =
  (want: boolean): Handler =>
  async (s, env, process) => {
    const result = await env.evaluate(await process(s.main ?? ''));
    return result === want ? process(s.content ?? '') : '';
  };

const calc: Handler = async (s, env, process) => {
  const expression = s.main ?? s.content;
  return expression === null ? '' : env.evaluate(await process(expression));
};

const evaluate: Handler = async (s, env, process) => {
  const expression = s.content ?? s.main;
  return expression === null ? '' : env.evaluate(await process(expression));
};

const markup =
  (kind: 'markdown' | 'textile'): Handler =>
  async (s, env, process) => {
    if (s.content === null) return `@${kind}`;
    const text = await process(s.content);
    return kind === 'markdown' ? env.markdown(text) : env.textile(text);
  };

const date: Handler = (s, env) => {
  env.markVolatile();
  return env.formatDate(s.main ?? String(env.setting('date_display_format') ?? 'd-m-Y H:i'));
};

const uuid: Handler = (_s, env) => {
  env.markVolatile();
  return env.randomUuid();
};

const constant: Handler = async (s, env, process) => (s.main === null ? '' : env.constant(await process(s.main)));

const type: Handler = (s) => (s.main === null ? '' : `@type[${s.main}]`);

const translate: Handler = async (s, env, process) => {
  if (s.main === null) return '';
  const key = await process(s.main);
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseStr((await rendered(s, 'values', process)) ?? ''))) {
    values[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const locale = (await rendered(s, 'locale', process)) ?? null;
  return env.translate(key, values, locale);
};

const filesystem: Handler = async (s, env, process) => {
  const file = hasWord(s, 'get') && enabled(env, 'filesystem.get') ? await rendered(s, 'file', process) : undefined;
  return file === undefined ? '' : ((await env.readProjectFile(file)) ?? '');
};

function baseUrlOf(env: ShortcodeEnv): string {
  return baseUrl(String(env.setting('base_url') ?? ''), String(env.setting('base_path') ?? ''), env.request.origin);
}

const joinUrl = (base: string, path: string) => tidyUrl(`${base}/${path}`);

const urls: Record<string, Handler> = {
  url: (s, env) => {
    const prefix = s.get('prefix') ?? 'base';
    const base = baseUrlOf(env);
    return joinUrl(prefix === 'project' ? `${base}/project` : base, s.main ?? '');
  },
  getBaseUrl: (_s, env) => baseUrlOf(env),
  getBasePath: (_s, env) => String(env.setting('base_path') ?? ''),
  getAbsoluteUrl: (_s, env) => (env.markVolatile(), joinUrl(baseUrlOf(env), env.request.uri)),
  getProjectUrl: (_s, env) => `${baseUrlOf(env)}/project`,
  getUriString: (_s, env) => (env.markVolatile(), env.request.uri),
  urlFor: async (s, env, process) => {
    const query: unknown = JSON.parse((await rendered(s, 'queryParams', process)) ?? '{}');
    return routeUrl(s.get('routeName') ?? '', String(env.setting('base_path') ?? ''), isPlainObject(query) ? buildQuery(fromPlain(query)).join('&') : '');
  },
};

const strings: Handler = async (s, env, process) => {
  let text = s.content !== null ? await process(s.content) : '';
  const separator = (await rendered(s, 'varsDelimeter', process)) ?? ',';
  for (const [name, value] of s.parameters) {
    if (name === 'varsDelimeter') continue;
    const pieces = value === null ? [] : separator !== '' && value.includes(separator) ? value.split(separator) : [value];
    const args: string[] = [];
    for (const piece of pieces) args.push(await process(piece));
    const next = env.stringsOperation(text, name, args);
    if (next !== undefined) text = next;
  }
  return text;
};

/** Every built-in by name, with the setting that switches it (`url` switches the url family). */
const BUILTINS: Array<[name: string, switchName: string, handler: Handler]> = [
  ['entries', 'entries', entries],
  ['fetch', 'fetch', fetchResource],
  ['registry', 'registry', registry],
  ['field', 'field', scoped((env) => env.field)],
  ['var', 'var', scoped((env) => env.vars)],
  ['if', 'if', condition(true)],
  ['when', 'when', condition(true)],
  ['unless', 'unless', condition(false)],
  ['calc', 'calc', calc],
  ['eval', 'eval', evaluate],
  ['markdown', 'markdown', markup('markdown')],
  ['textile', 'textile', markup('textile')],
  ['date', 'date', date],
  ['uuid', 'uuid', uuid],
  ['const', 'const', constant],
  ['type', 'type', type],
  ['tr', 'i18n', translate],
  ['filesystem', 'filesystem', filesystem],
  ['strings', 'strings', strings],
  ['raw', 'raw', (s) => s.content ?? ''],
  ...Object.entries(urls).map(([name, handler]): [string, string, Handler] => [name, 'url', handler]),
];

/**
 * The handlers enabled at start-up (a disabled shortcode is not registered, so its tags stay as
 * written). PHP is never registered, whatever the settings say.
 */
export function builtinHandlers(setting: (path: string) => unknown, env: () => ShortcodeEnv): Map<string, ShortcodeHandler> {
  const handlers = new Map<string, ShortcodeHandler>();
  for (const [name, switchName, handler] of BUILTINS) {
    if (setting(`parsers.shortcodes.shortcodes.${switchName}.enabled`) === false) continue;
    handlers.set(name, (s, process) => handler(s, env(), process));
  }
  return handlers;
}
