/**
 * `entries()` and `fetch()`: other entries (and project files) through the rendering stage's
 * narrow ContentAccess / ProjectFiles (SPEC §11: tokens invisible, `_` keys stripped, no writes).
 */
import type { FetchedData } from '../../context.js';
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import { ExprObject, fromPlain, isMap, toPlain, type PhpMap, type Value, type MethodTable } from '../values.js';
import { arg, enabled, functionTable, methodTable, textArg } from './common.js';
import { CollectionObject } from './collection-object.js';
import { decodeFileData } from './filesystem.js';

export function collectionOfFetched(fetched: FetchedData): CollectionObject {
  switch (fetched.kind) {
    case 'entry':
      return CollectionObject.of(fromPlain(fetched.data));
    case 'collection':
      return new CollectionObject(new Map(fetched.items.map((item) => [item.id, fromPlain(item.data)])));
    case 'groups':
      return new CollectionObject(new Map(fetched.groups.map((g) => [g.key, g.items.map((item) => fromPlain(item.data))])));
    case 'missing':
      return new CollectionObject(new Map());
  }
}

function optionsArg(args: Value[], i: number, what: string): Record<string, unknown> | undefined {
  const value = arg(args, i);
  if (value === undefined || value === null) return undefined;
  const options = value instanceof ExprObject ? value.toData() : value;
  if (!isMap(options) && !(Array.isArray(options) && options.length === 0)) throw runtimeError(`${what}: the options must be a map`);
  return toPlain(options) as Record<string, unknown>;
}

const SETTING = 'parsers.expressions.expressions.entries';

async function fetchEntry(args: Value[], env: Env): Promise<CollectionObject> {
  const id = textArg(args, 0, 'fetch');
  const options = optionsArg(args, 1, 'fetch');
  if (!enabled(env, `${SETTING}.fetch.enabled`)) return new CollectionObject(new Map());
  return collectionOfFetched(await env.ctx.content.fetchEntry(id, options));
}

class EntriesObject extends ExprObject {
  readonly kind = 'entries';
  protected readonly methods: MethodTable = ENTRIES_METHODS;
}

/** Writes through content are refused whatever the settings say (SPEC §11.8). */
const noWrite = () => false;

const ENTRIES_METHODS = methodTable<EntriesObject>({
  fetch: (_self, args, env) => fetchEntry(args, env),
  has: async (_self, args, env) => {
    const id = textArg(args, 0, 'has');
    if (!enabled(env, `${SETTING}.has.enabled`)) return false;
    return env.ctx.content.hasEntry(id);
  },
  create: noWrite,
  update: noWrite,
  delete: noWrite,
  move: noWrite,
  copy: noWrite,
  registry: () => new CollectionObject(new Map()),
});

const looksLikeUrl = (resource: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(resource);

export const entriesFunctions = functionTable({
  entries: () => new EntriesObject(),
});

export const fetchFunctions = functionTable({
  fetch: async (args, env) => {
    const resource = textArg(args, 0, 'fetch');
    optionsArg(args, 1, 'fetch');
    if (!looksLikeUrl(resource) && (await env.ctx.content.hasEntry(resource))) return fetchEntry(args, env);
    if (looksLikeUrl(resource)) return new CollectionObject(new Map()); // remote fetching is off (§11.2)
    const text = await env.ctx.files.readFile(resource);
    if (text === undefined) return new CollectionObject(new Map());
    const data = decodeFileData(resource, text);
    return CollectionObject.of(data);
  },
});

export type { PhpMap };
