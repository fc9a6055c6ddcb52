/**
 * Regular expressions from clients run on RE2 (linear time, no backtracking), so a hostile pattern
 * cannot stall the server; patterns are also bounded in length.
 */
import { RE2JS } from 're2js';
import { badRequest } from '../errors.js';

export interface SafeRegex {
  test(text: string): boolean;
}

export function compileSafeRegex(pattern: unknown, maxLength: number, what: string): SafeRegex {
  if (typeof pattern !== 'string') throw badRequest(`${what}: the regular expression must be a string`);
  if (pattern.length > maxLength) throw badRequest(`${what}: the regular expression is longer than ${maxLength} characters`);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
  } catch (err) {
    throw badRequest(`${what}: invalid regular expression: ${(err as Error).message}`);
  }
  return { test: (text) => compiled.matcher(text).find() };
}

/**
 * A collection's `pattern` (from the settings) as a whole-id test, on RE2 too: it meets every
 * request's id. Throws on a pattern RE2 cannot compile (settings validation reports it).
 */
export function compileIdPattern(pattern: string): (id: string) => boolean {
  const compiled = RE2JS.compile(`^(?:${pattern})$`);
  return (id) => compiled.matcher(id).find();
}
