/** How ids map to rows: segments, parents, the key range of a subtree, and fields as exact jsonb. */
import { StorageError, type FormatResolver } from '../engine.js';

/** Longest id in bytes: btree keys must stay well under PostgreSQL's ~2700 bytes, NOTIFY payloads under 8000. */
export const MAX_ID_BYTES = 2000;

/**
 * The segments of a non-root id, refused ('bad_name') where the file engine could not hold it
 * either: empty or dot segments, and a segment named like its parent's entry file, so both
 * engines accept the same ids.
 */
export function idParts(id: string, resolveFormat: FormatResolver): string[] {
  if (id === '') throw new StorageError('the root is not an entry', 'bad_name');
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw new StorageError(`id is longer than ${MAX_ID_BYTES} bytes`, 'bad_name');
  const parts = id.split('/');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    // chr(1) stands for '/' in the tree key (see the migrations).
    if (part === '' || part === '.' || part === '..' || part.includes('\u0001')) throw new StorageError(`id "${id}" has an empty or dot segment or a U+0001 character`, 'bad_name');
    const parentId = parts.slice(0, i).join('/');
    const format = resolveFormat(parentId);
    const fileName = format.extension ? `${format.filename}.${format.extension}` : format.filename;
    if (part === fileName) throw new StorageError(`segment "${part}" is the name of the entry files of "${parentId}"`, 'bad_name');
  }
  return parts;
}

export function parentOf(id: string): string {
  const slash = id.lastIndexOf('/');
  return slash < 0 ? '' : id.slice(0, slash);
}

/**
 * The ids strictly below `id` are those in [id + '/', id + '0') in "C" (byte) order: '0' is the
 * byte right after '/'.
 */
export function subtreeBounds(id: string): { lo: string; hi: string } {
  return { lo: `${id}/`, hi: `${id}0` };
}

/** True when jsonb holds `value` exactly (JSON types only, finite numbers, no NUL, plain objects). */
function exact(value: unknown): boolean {
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value === 'string') return !value.includes('\u0000') && !/\p{Surrogate}/u.test(value);
  if (Array.isArray(value)) return value.every(exact);
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.entries(value).every(([key, item]) => !key.includes('\u0000') && !/\p{Surrogate}/u.test(key) && exact(item));
  }
  return false;
}

/** The fields as jsonb text, or null when jsonb would not hold them exactly (push-down then declines). */
export function exactJson(fields: Record<string, unknown>): string | null {
  return exact(fields) ? JSON.stringify(fields) : null;
}

/**
 * PostgreSQL text cannot hold NUL, which an entry file can (a front matter body is written as
 * sent). A text with a NUL, or one that starts with the marker U+FFFF (a noncharacter), is stored
 * as the marker followed by the text with U+FFFF as "\uFFFF1" and NUL as "\uFFFF0"; every other
 * text (all ordinary ones) is stored unchanged, so the column stays readable and searchable.
 */
const MARK = '\uFFFF';

export function toColumnText(text: string): string {
  if (!text.includes('\u0000') && !text.startsWith(MARK)) return text;
  return MARK + text.replace(/\uFFFF/g, `${MARK}1`).replace(/\u0000/g, `${MARK}0`);
}

export function fromColumnText(stored: string): string {
  if (!stored.startsWith(MARK)) return stored;
  return stored.slice(1).replace(/\uFFFF([01])/g, (_, code: string) => (code === '0' ? '\u0000' : MARK));
}
