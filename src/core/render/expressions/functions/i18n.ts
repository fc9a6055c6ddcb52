/**
 * `tr`/`__`: the translation of a key with `values` placeholders replaced (PHP strtr), else the
 * key itself. Dictionaries come from the rendering stage (`RenderContext.translate`), if any.
 */
import type { Env } from '../env.js';
import { isMap, toText, type Value } from '../values.js';
import { arg, functionTable, textArg } from './common.js';

function translate(args: Value[], env: Env, what: string): string {
  const key = textArg(args, 0, what);
  const locale = arg(args, 2);
  const chosen = locale === undefined || locale === null ? String(env.ctx.setting('locale') ?? 'en_US') : toText(locale);
  const found = env.ctx.translate?.(key, chosen);
  if (found === undefined) return key;
  const values = arg(args, 1);
  if (!isMap(values) || values.size === 0) return found;
  // strtr: longest placeholders first, each position replaced once.
  const pairs = [...values].map(([k, v]) => [k, toText(v)] as const).filter(([k]) => k !== '').sort((a, b) => b[0].length - a[0].length);
  let out = '';
  for (let i = 0; i < found.length; ) {
    const hit = pairs.find(([k]) => found.startsWith(k, i));
    if (hit) {
      out += hit[1];
      i += hit[0].length;
    } else out += found[i++];
  }
  return env.budget.text(out, 'a translation');
}

export const i18nFunctions = functionTable({
  tr: (args, env) => translate(args, env, 'tr'),
  __: (args, env) => translate(args, env, '__'),
});
