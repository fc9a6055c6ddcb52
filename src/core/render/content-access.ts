/** Other entries' data as content sees it (SPEC §11.7): keys starting with `_` removed at every depth. */
import { CmsError } from '../errors.js';
import type { EntriesService } from '../entries/service.js';
import { isTokenId } from '../entries/present.js';
import { isPlainObject, type PlainObject } from '../util.js';
import type { ContentAccess, FetchedData } from './context.js';
import { runtimeError } from './expressions/errors.js';

/** A copy without `_` keys at any depth. */
export function withoutPrivate(value: unknown, depth = 0): unknown {
  if (depth > 256) return null;
  if (Array.isArray(value)) return value.map((item) => withoutPrivate(item, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: PlainObject = {};
  for (const key of Object.keys(value)) if (!key.startsWith('_')) out[key] = withoutPrivate(value[key], depth + 1);
  return out;
}
