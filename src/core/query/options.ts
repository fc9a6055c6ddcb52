/** Reads a request's `options` (already decoded from brackets or JSON) into checked fetch options. */
import { badRequest } from '../errors.js';
import { isPlainObject, type PlainObject } from '../util.js';
import { asList } from './where.js';

export interface FetchOptions {
  collection: boolean;
  find: PlainObject;
  filter: PlainObject | undefined;
}

export function isTruthyFlag(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true' || value === 'on' || value === 'yes';
}

/** Field lists (`only`, `except`) arrive as a list, a single string, or a comma-separated string. */
export function fieldList(value: unknown, what: string): string[] {
  const list = asList(value) ?? (typeof value === 'string' ? value.split(',') : undefined);
  if (!list) throw badRequest(`${what} must be a list of field names`);
  return list.map((item) => {
    if (typeof item !== 'string') throw badRequest(`${what} must contain field names (strings)`);
    return item.trim();
  }).filter((name) => name !== '');
}

export function parseFetchOptions(raw: unknown): FetchOptions {
  if (raw === undefined || raw === null || raw === '') return { collection: false, find: {}, filter: undefined };
  if (!isPlainObject(raw)) throw badRequest('options must be a map (e.g. options[collection]=true)');
  const find = raw['find'] ?? {};
  if (!isPlainObject(find)) throw badRequest('options.find must be a map');
  const filter = raw['filter'];
  if (filter !== undefined && !isPlainObject(filter)) throw badRequest('options.filter must be a map');
  return { collection: isTruthyFlag(raw['collection']), find, filter };
}
