/** Entry ids: validation that keeps every read and write inside the entries folder. */
import { badRequest } from './errors.js';

export interface IdLimits {
  max_id_length: number;
  max_segment_length: number;
}

// Control characters (C0, DEL, C1) never belong in an id.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * Returns the normalized id (trailing slashes trimmed) or throws a 400 explaining the problem.
 * `allowRoot` admits the empty id, which names the root of a collection.
 */
// The common shape of ids (slug segments): nothing more to check when it matches.
const SIMPLE_ID = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

export function normalizeId(raw: unknown, limits: IdLimits, allowRoot = false, param = 'id'): string {
  if (typeof raw === 'string' && raw.length <= 255 && raw.length <= limits.max_id_length && SIMPLE_ID.test(raw)) return raw;
  if (typeof raw !== 'string') throw badRequest(`parameter "${param}" must be a string`);
  const id = raw.replace(/\/+$/, '');
  if (id === '') {
    if (allowRoot && raw === '') return '';
    throw badRequest(`parameter "${param}" must not be empty`);
  }
  if (id.length > limits.max_id_length) throw badRequest(`parameter "${param}" is longer than ${limits.max_id_length} characters`);
  if (CONTROL.test(id)) throw badRequest(`parameter "${param}" contains a control character`);
  if (id.includes('\\')) throw badRequest(`parameter "${param}" contains a backslash`);
  if (id.startsWith('/')) throw badRequest(`parameter "${param}" must be relative (no leading "/")`);
  if (/^[a-zA-Z]:/.test(id)) throw badRequest(`parameter "${param}" must be relative (no drive letter)`);
  for (const segment of id.split('/')) {
    if (segment === '') throw badRequest(`parameter "${param}" contains an empty segment`);
    if (segment === '.' || segment === '..') throw badRequest(`parameter "${param}" contains a "${segment}" segment`);
    if (segment.startsWith('.')) throw badRequest(`parameter "${param}" has a segment starting with "." (hidden names are not entries)`);
    if (Buffer.byteLength(segment) > limits.max_segment_length) {
      throw badRequest(`parameter "${param}" has a segment longer than ${limits.max_segment_length} bytes`);
    }
  }
  return id;
}

export function slugOf(id: string): string {
  const at = id.lastIndexOf('/');
  return at === -1 ? id : id.slice(at + 1);
}

export function parentOf(id: string): string {
  const at = id.lastIndexOf('/');
  return at === -1 ? '' : id.slice(0, at);
}

export function isWithin(id: string, ancestor: string): boolean {
  return ancestor === '' || id === ancestor || id.startsWith(ancestor + '/');
}
