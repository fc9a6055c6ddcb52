/** Which file name, extension and serializer applies to an id: the last matching collection wins. */
import type { EntryFormat } from '../storage/engine.js';
import { getSerializer } from '../storage/serializers/index.js';
import { compileIdPattern } from './query/regex.js';
import type { CollectionSettings } from './settings.js';

export interface ResolvedCollection extends EntryFormat {
  name: string;
}

export function createCollectionResolver(collections: Record<string, CollectionSettings>): (id: string) => ResolvedCollection {
  const toResolved = (name: string, c: CollectionSettings): ResolvedCollection => {
    const serializer = getSerializer(c.serializer);
    if (!serializer) throw new Error(`collection ${name}: unknown serializer ${c.serializer}`);
    return { name, filename: c.filename, extension: c.extension, serializer };
  };
  const fallback = toResolved('default', collections['default']!);
  const patterned = Object.entries(collections)
    .filter(([name, c]) => name !== 'default' && typeof c.pattern === 'string')
    .map(([name, c]) => ({ matches: compileIdPattern(c.pattern!), resolved: toResolved(name, c) }));
  const memo = new Map<string, ResolvedCollection>();
  return (id: string) => {
    const known = memo.get(id);
    if (known) return known;
    let result = fallback;
    for (const { matches, resolved } of patterned) if (matches(id)) result = resolved;
    if (memo.size > 100_000) memo.clear();
    memo.set(id, result);
    return result;
  };
}

