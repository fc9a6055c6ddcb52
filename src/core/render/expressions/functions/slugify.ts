/**
 * `slugify().slugify(text, separator?)` per the `slugify.*` settings (SPEC §12 defaults): transliterate,
 * lower-case, runs of the pattern's characters → separator, trimmed.
 */
import { RE2JS } from 're2js';
import type { Env } from '../env.js';
import { compilePattern } from '../regex.js';
import { ExprObject, type MethodTable } from '../values.js';
import { arg, functionTable, methodTable, textArg } from './common.js';

const SPECIAL: Record<string, string> = {
  ß: 'ss', æ: 'ae', Æ: 'AE', ø: 'o', Ø: 'O', œ: 'oe', Œ: 'OE', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L', þ: 'th', Þ: 'TH', ð: 'd', Ð: 'D',
  ä: 'ae', ö: 'oe', ü: 'ue', Ä: 'AE', Ö: 'OE', Ü: 'UE',
};

export function transliterate(text: string): string {
  return text
    .replace(/[ßæÆøØœŒđĐłŁþÞðÐäöüÄÖÜ]/g, (c) => SPECIAL[c] ?? c)
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
}

function setting(env: Env, key: string, fallback: unknown): unknown {
  const value = env.ctx.setting(`slugify.${key}`);
  return value === undefined ? fallback : value;
}

export function slugify(text: string, env: Env, separatorArg?: string): string {
  const separator = separatorArg ?? String(setting(env, 'separator', '-'));
  const lowercase = setting(env, 'lowercase', true) === true;
  const lowerAfter = setting(env, 'lowercase_after_regexp', false) === true;
  let out = setting(env, 'strip_tags', false) === true ? text.replace(/<[^>]*>/g, '') : text;
  out = transliterate(out);
  if (lowercase && !lowerAfter) out = out.toLowerCase();
  const pattern = compilePattern(String(setting(env, 'regexp', '/[^A-Za-z0-9]+/')));
  out = pattern.raw.matcher(out).replaceAll(RE2JS.quoteReplacement(separator));
  if (lowercase && lowerAfter) out = out.toLowerCase();
  if (setting(env, 'trim', true) === true && separator !== '') {
    while (out.startsWith(separator)) out = out.slice(separator.length);
    while (out.endsWith(separator)) out = out.slice(0, -separator.length);
  }
  return env.budget.text(out, 'a slug');
}

class SlugifyObject extends ExprObject {
  readonly kind = 'slugify';
  protected readonly methods: MethodTable = methodTable<SlugifyObject>({
    slugify: (_self, args, env) => {
      const separator = arg(args, 1);
      return slugify(textArg(args, 0, 'slugify'), env, typeof separator === 'string' ? separator : undefined);
    },
  });
}

export const slugifyFunctions = functionTable({
  slugify: () => new SlugifyObject(),
});
