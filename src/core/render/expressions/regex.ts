/**
 * PCRE-style patterns (`"/re/flags"`) of `matches` on the linear-time RE2 engine (SPEC §11.12):
 * no backtracking, so no pattern from content can stall the server. A pattern RE2 cannot run
 * (back-references, look-around) is an error.
 */
import { RE2JS } from 're2js';
import { runtimeError } from './errors.js';

const MAX_PATTERN_LENGTH = 4096;
const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}', '<': '>' };

export interface CompiledPattern {
  test(text: string): boolean;
  raw: RE2JS;
}

const cache = new Map<string, CompiledPattern>();

export function compilePattern(pattern: string): CompiledPattern {
  const cached = cache.get(pattern);
  if (cached) return cached;
  if (pattern.length > MAX_PATTERN_LENGTH) throw runtimeError(`the regular expression is longer than ${MAX_PATTERN_LENGTH} characters`);
  const trimmed = pattern.replace(/^\s+/, '');
  const open = trimmed[0];
  if (open === undefined || /[A-Za-z0-9\\\s]/.test(open)) throw runtimeError('a regular expression needs delimiters, e.g. "/abc/i"');
  const close = CLOSERS[open] ?? open;
  const end = trimmed.lastIndexOf(close);
  if (end <= 0) throw runtimeError(`no ending delimiter "${close}" in the regular expression`);
  const body = trimmed.slice(1, end);
  const modifiers = trimmed.slice(end + 1).trim();
  let flags = 0;
  for (const modifier of modifiers) {
    if (modifier === 'i') flags |= RE2JS.CASE_INSENSITIVE;
    else if (modifier === 'm') flags |= RE2JS.MULTILINE;
    else if (modifier === 's') flags |= RE2JS.DOTALL;
    else if (modifier === 'u' || modifier === 'D') continue;
    else throw runtimeError(`unsupported regular expression modifier "${modifier}"`);
  }
  let raw: RE2JS;
  try {
    raw = RE2JS.compile(body, flags);
  } catch (err) {
    throw runtimeError(`invalid regular expression: ${(err as Error).message}`);
  }
  const compiled = { raw, test: (text: string) => raw.matcher(text).find() };
  if (cache.size > 500) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}
