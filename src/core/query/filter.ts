/**
 * `options[filter]` as one call (the template function filterCollection() and the single-entry
 * form): plan (plan.ts), then run in memory (execute.ts).
 */
import type { PlainObject } from '../util.js';
import { filterSteps, project, runNow, type FilterResult, type Item } from './execute.js';
import { fieldList } from './options.js';
import { planFilter, type FilterLimits } from './plan.js';

export type { FilterResult, Item } from './execute.js';
export type { FilterLimits } from './plan.js';
export { sortItems } from './execute.js';

/** Applies only/except to one entry's fields (the single-entry form of the filter). */
export function filterFields(data: PlainObject, filter: PlainObject | undefined): PlainObject {
  if (!filter) return data;
  const only = filter['only'] === undefined ? undefined : fieldList(filter['only'], 'options.filter.only');
  const except = filter['except'] === undefined ? undefined : fieldList(filter['except'], 'options.filter.except');
  return only || except ? project(data, only, except) : data;
}

export function filterCollection(items: Item[], filter: PlainObject | undefined, limits: FilterLimits): FilterResult {
  return runNow(filterSteps(items, planFilter(filter, limits)));
}
