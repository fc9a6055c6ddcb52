/**
 * Other entries as content and the Query API may read them (SPEC §11.6–11.8): tokens do not exist,
 * keys starting with `_` are removed at every depth, and nothing can be written.
 */
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

const strip = (data: PlainObject) => withoutPrivate(data) as PlainObject;

const isTokenPath = (id: string) => isTokenId(id.trim().replace(/^\/+/, '').replace(/\/+$/, ''));

export function createContentAccess(entries: EntriesService): ContentAccess {
  return {
    async fetchEntry(id, options): Promise<FetchedData> {
      if (isTokenPath(id)) return { kind: 'missing' };
      let result;
      try {
        result = await entries.fetch(id, options);
      } catch (err) {
        if (err instanceof CmsError && err.code === 'not_found') return { kind: 'missing' };
        if (err instanceof CmsError) throw runtimeError(`entries().fetch("${id}"): ${err.detail}`);
        throw err;
      }
      if (result.kind === 'entry') return { kind: 'entry', data: strip(result.data) };
      const r = result.result;
      switch (r.kind) {
        case 'items':
          return { kind: 'collection', items: r.items.map((item) => ({ id: item.id, data: strip(item.data) })) };
        case 'groups':
          return { kind: 'groups', groups: r.groups.map((g) => ({ key: g.key, items: g.items.map((item) => ({ id: item.id, data: strip(item.data) })) })) };
        case 'single':
          return { kind: 'entry', data: strip(r.item.data) };
        case 'none':
          return { kind: 'missing' };
      }
    },
    async hasEntry(id) {
      if (isTokenPath(id)) return false;
      try {
        return await entries.has(id);
      } catch {
        return false;
      }
    },
  };
}
