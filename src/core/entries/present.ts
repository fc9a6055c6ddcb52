/** What a stored entry looks like through the API: system fields added, dates as Unix seconds. */
import type { FileStat } from '../../storage/driver.js';
import type { Fields } from '../../storage/serializers/index.js';
import { toTimestamp } from '../dates.js';
import { slugOf } from '../ids.js';
import type { PlainObject } from '../util.js';

export const TOKENS_ROOT = 'tokens';

export function isTokenId(id: string): boolean {
  return id === TOKENS_ROOT || id.startsWith(TOKENS_ROOT + '/');
}

export interface PresentOptions {
  dateFields: readonly string[];
  timeZone: string;
}

function asBoolean(value: unknown): boolean {
  if (typeof value === 'string') return !['false', '0', '', 'no', 'off'].includes(value.trim().toLowerCase());
  return Boolean(value);
}

export function createPresenter(options: PresentOptions) {
  return (id: string, fields: Fields, stat: FileStat): PlainObject => {
    const modified = Math.floor(stat.mtimeMs / 1000);
    const view: PlainObject = {};
    for (const key of Object.keys(fields)) {
      // Private fields (leading "_") and the token's secret hash never leave the server.
      if (key.startsWith('_') || key === 'hashed_access_token') continue;
      view[key] = fields[key];
    }
    if (isTokenId(id)) {
      view['id'] = id.slice(TOKENS_ROOT.length + 1);
      if (view['modified_at'] === undefined) view['modified_at'] = modified;
    } else {
      if (view['id'] === undefined) view['id'] = id;
      if (view['slug'] === undefined) view['slug'] = slugOf(id);
      if (view['modified_at'] === undefined) view['modified_at'] = modified;
      if (view['created_at'] === undefined) view['created_at'] = modified;
      if (view['published_at'] === undefined) view['published_at'] = modified;
      view['routable'] = view['routable'] === undefined ? true : asBoolean(view['routable']);
    }
    for (const key of options.dateFields) {
      if (view[key] !== undefined) view[key] = toTimestamp(view[key], options.timeZone);
    }
    return view;
  };
}
