/** CLI input: `data` arguments as JSON (`{"title":"Foo"}`) or a query string (`title=Foo&tags[]=a`). */
import { badRequest } from '../core/errors.js';
import { isPlainObject, sanitizeKeys, type PlainObject } from '../core/util.js';
import { decodeBrackets } from '../http/body.js';

const LIMITS = { depth: 12, parameterLimit: 1000, arrayLimit: 1000 };

export function parseDataArgument(text: string | undefined, what = 'data'): PlainObject | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw badRequest(`${what} is not valid JSON: ${(err as Error).message}`);
    }
    if (!isPlainObject(value)) throw badRequest(`${what} must be a JSON object`);
    return sanitizeKeys(value) as PlainObject;
  }
  if (!trimmed.includes('=')) throw badRequest(`${what} must be JSON or a query string like title=Foo&tags[]=a`);
  return decodeBrackets(trimmed, LIMITS);
}
