/** `collection`: the constructors of the collection object, and filterCollection() (SPEC §9.8). */
import qs from 'qs';
import { filterCollection as runFilter, type Item } from '../../../query/filter.js';
import { CmsError } from '../../../errors.js';
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import { asMap } from '../paths.js';
import { fromPlain, isList, isMap, toPlain, type PhpMap, type Value } from '../values.js';
import { arg, arrayArg, functionTable, numberArg, textArg } from './common.js';
import { CollectionObject } from './collection-object.js';

/** PHP parse_str: `+` and %XX decoded, values are text, brackets nest. */
export function parseQueryString(text: string): Value {
  const parsed = qs.parse(text, { depth: 12, arrayLimit: 1000, parameterLimit: 1000, allowPrototypes: false, plainObjects: true });
  return fromPlain(JSON.parse(JSON.stringify(parsed)));
}

function range(low: number, high: number, step: number, env: Env): Value[] {
  if (step === 0) throw runtimeError('collectionWithRange(): the step must not be 0');
  const size = Math.abs(step);
  const count = Math.floor(Math.abs(high - low) / size) + 1;
  env.budget.items(count, 'a range');
  const direction = low <= high ? 1 : -1;
  return Array.from({ length: count }, (_, i) => low + direction * i * size);
}

export const collectionFunctions = functionTable({
  collection: (args) => CollectionObject.of(arg(args, 0) ?? null),
  collectionFromJson: (args) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(textArg(args, 0, 'collectionFromJson'));
    } catch (err) {
      throw runtimeError(`collectionFromJson(): invalid JSON: ${(err as Error).message}`);
    }
    return CollectionObject.of(fromPlain(parsed));
  },
  collectionFromString: (args, env) => {
    const text = textArg(args, 0, 'collectionFromString');
    const separator = textArg(args, 1, 'collectionFromString', ',');
    if (separator === '') throw runtimeError('collectionFromString(): the separator must not be empty');
    const parts = text.split(separator);
    env.budget.items(parts.length);
    return CollectionObject.of(parts);
  },
  collectionFromQueryString: (args) => CollectionObject.of(parseQueryString(textArg(args, 0, 'collectionFromQueryString'))),
  collectionWithRange: (args, env) =>
    CollectionObject.of(range(numberArg(args, 0, 'collectionWithRange'), numberArg(args, 1, 'collectionWithRange'), numberArg(args, 2, 'collectionWithRange', 1), env)),
  filterCollection: (args, env) => {
    const items = asMap(arrayArg(args, 0, 'filterCollection'));
    const options = arg(args, 1);
    const filter = options === undefined || options === null ? undefined : toPlain(options);
    if (filter !== undefined && (filter === null || typeof filter !== 'object' || Array.isArray(filter))) {
      throw runtimeError('filterCollection(): the options must be a map');
    }
    const list: Item[] = [];
    for (const [id, data] of items) {
      if (!isMap(data) && !isList(data)) continue;
      list.push({ id, data: toPlain(data) as Record<string, unknown> });
    }
    env.budget.step(list.length);
    let result;
    try {
      result = runFilter(list, filter as Record<string, unknown> | undefined, {
        maxItems: env.budget.limits.maxItems,
        maxPatternLength: 256,
        timeZone: String(env.ctx.setting('timezone') ?? 'UTC'),
      });
    } catch (err) {
      if (err instanceof CmsError) throw runtimeError(`filterCollection(): ${err.detail}`);
      throw err;
    }
    const asItems = (entries: Item[]): PhpMap => new Map(entries.map((item) => [item.id, fromPlain(item.data)]));
    switch (result.kind) {
      case 'items':
        return asItems(result.items);
      case 'groups':
        return new Map(result.groups.map((g) => [g.key, [...asItems(g.items).values()]]));
      case 'single':
        return fromPlain(result.item.data);
      case 'none':
        return null;
    }
  },
});
