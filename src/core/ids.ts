/** Entry ids: validation that keeps every read and write inside the entries folder. */
import { badRequest } from './errors.js';

export interface IdLimits {
  max_id_length: number;
  max_segment_length: number;
}

// Characters refused anywhere in an id (single-character classes: linear on any input).
// Control characters (C0, DEL, C1) never belong in an id.
const CONTROL = /[\p{Cc}]/u;
// Invisible format characters (zero-width, joiners, bidi marks and overrides, BOM, soft hyphen, tags)
// and line/paragraph separators: two ids that look alike must not name two entries.
const INVISIBLE = /[\p{Cf}\u2028\u2029]/u;
// With the `u` flag a surrogate class matches only unpaired halves. A lone surrogate is written to
// disk as U+FFFD, so it would alias another name.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
// U+FFFD is what a folder name that is not valid UTF-8 reads as: such a name cannot be reached again.
const REPLACEMENT = '\uFFFD';

// The common shape of ids (slug segments): nothing more to check when it matches.
const SIMPLE_ID = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

function codePointLabel(text: string, pattern: RegExp): string {
  const found = pattern.exec(text)?.[0] ?? '';
  return `U+${(found.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `text` without its trailing slashes (a loop: a regex like `/\/+$/` is quadratic on long runs). */
function trimTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end--;
  return text.slice(0, end);
}

/**
 * Returns the normalized id (trailing slashes trimmed) or throws a 400 explaining the problem.
 * `allowRoot` admits the empty id, which names the root of a collection. Ids are taken exactly as
 * sent otherwise (no Unicode normalization): an id is the name of a folder.
 */
export function normalizeId(raw: unknown, limits: IdLimits, allowRoot = false, param = 'id'): string {
  if (typeof raw === 'string' && raw.length <= 255 && raw.length <= limits.max_id_length && SIMPLE_ID.test(raw)) return raw;
  if (typeof raw !== 'string') throw badRequest(`parameter "${param}" must be a string`);
  const id = trimTrailingSlashes(raw);
  if (id === '') {
    if (allowRoot && raw === '') return '';
    throw badRequest(`parameter "${param}" must not be empty`);
  }
  if (id.length > limits.max_id_length) throw badRequest(`parameter "${param}" is longer than ${limits.max_id_length} characters`);
  if (CONTROL.test(id)) throw badRequest(`parameter "${param}" contains a control character`);
  if (LONE_SURROGATE.test(id)) throw badRequest(`parameter "${param}" contains a lone surrogate (${codePointLabel(id, LONE_SURROGATE)}): not valid Unicode`);
  if (INVISIBLE.test(id)) throw badRequest(`parameter "${param}" contains an invisible format character (${codePointLabel(id, INVISIBLE)})`);
  if (id.includes(REPLACEMENT)) throw badRequest(`parameter "${param}" contains U+FFFD (a name that is not valid UTF-8)`);
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

/** True when `id` is exactly what `normalizeId` accepts and keeps (a name the single-entry API serves). */
export function isValidId(id: string, limits: IdLimits): boolean {
  try {
    return normalizeId(id, limits) === id;
  } catch {
    return false;
  }
}

/**
 * Could a folder named `segment` be the folder `name` on some file system? Case-insensitive ones
 * (macOS, Windows) fold case by Unicode rules (`K` KELVIN SIGN is `k`, `ſ` LONG S is `s`); Windows
 * also ignores trailing dots and spaces and reads `name:stream` as a stream of `name`.
 */
export function mayNameFolder(segment: string, name: string): boolean {
  let base = segment;
  const colon = base.indexOf(':');
  if (colon !== -1) base = base.slice(0, colon);
  let end = base.length;
  while (end > 0 && (base.charCodeAt(end - 1) === 0x2e || base.charCodeAt(end - 1) === 0x20)) end--;
  base = base.slice(0, end);
  // Plain ASCII names (nearly all of them) compare without building folded copies: listings ask
  // this for every candidate.
  if (/^[\x00-\x7f]*$/.test(base)) return base.length === name.length && base.toLowerCase() === name.toLowerCase();
  // Upper then lower case: the simple case folding JavaScript offers (covers KELVIN SIGN and LONG S).
  const fold = (text: string) => text.toUpperCase().toLowerCase();
  return base.length <= name.length * 3 && fold(base) === fold(name);
}

/** True when the first segment of `id` may name the folder `root` (see `mayNameFolder`). */
export function isUnderRoot(id: string, root: string): boolean {
  const slash = id.indexOf('/');
  return mayNameFolder(slash === -1 ? id : id.slice(0, slash), root);
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
