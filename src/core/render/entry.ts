/**
 * One entry's render (SPEC §9.1): decoded fields → macros → system fields → directives on every
 * string leaf, in stored order. Private fields and `macros` are still present in the result (the
 * entry's own content may read them); the caller removes them for the answer.
 */
import type { Revision } from '../../storage/engine.js';
import { isPlainObject, type PlainObject } from '../util.js';
import { applyDirectives, mayRender, type DirectiveSwitches, type DirectiveWork } from './directives.js';
import { applyMacros, type MacroHost, type MacroSwitches } from './macros.js';
import type { RenderSession } from './session.js';

export interface StoredFields {
  id: string;
  fields: PlainObject;
  meta: Revision;
}

export interface EntryRenderHost extends MacroHost {
  /** System fields of §1 added or converted, in the reference's order (nothing removed). */
  present(id: string, fields: PlainObject, meta: Revision): PlainObject;
  /** The directive work for leaves of `fields` (the entry being rendered, mutable). */
  leafWork(fields: PlainObject, session: RenderSession): DirectiveWork;
}

export interface EntryRenderConfig {
  directives: DirectiveSwitches;
  macros: MacroSwitches;
  /** Expression opening tags, for the cheap "may render" test. */
  expressionTags: readonly string[];
}

type Key = string | number;

interface Leaf {
  path: Key[];
  value: unknown;
}

/** Every leaf in order with its value at listing time: scalars, and empty maps or lists. */
function listLeaves(value: unknown, prefix: Key[], out: Leaf[], budget: { step(): void }): void {
  budget.step();
  if (Array.isArray(value) && value.length > 0) {
    value.forEach((item, i) => listLeaves(item, [...prefix, i], out, budget));
  } else if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) listLeaves(child, [...prefix, key], out, budget);
  } else {
    out.push({ path: prefix, value });
  }
}

function readAt(root: PlainObject, path: Key[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isPlainObject(current) && typeof key === 'string' && Object.prototype.hasOwnProperty.call(current, key)) current = current[key];
    else return undefined;
  }
  return current;
}

function writeAt(root: PlainObject, path: Key[], value: unknown): void {
  let current: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    current = Array.isArray(current) ? current[key as number] : isPlainObject(current) ? current[key as string] : undefined;
    if (current === null || typeof current !== 'object') return;
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(current) && typeof last === 'number') current[last] = value;
  else if (isPlainObject(current) && typeof last === 'string') current[last] = value;
}

/** A deep copy of decoded fields (plain data only), so a render never touches the cached entry. */
export function copyFields<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyFields) as T;
  if (isPlainObject(value)) {
    const out: PlainObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = copyFields(v);
    return out as T;
  }
  return value;
}

/** True when nothing in these fields can change by rendering (no macros, no directive markers). */
export function isPlainEntry(fields: PlainObject, config: EntryRenderConfig): boolean {
  if (isPlainObject(fields['macros'])) return false;
  const stack: unknown[] = [fields];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (mayRender(value, config.directives, config.expressionTags)) return false;
    } else if (Array.isArray(value)) stack.push(...value);
    else if (isPlainObject(value)) stack.push(...Object.values(value));
  }
  return true;
}

export async function renderStoredEntry(
  entry: StoredFields,
  config: EntryRenderConfig,
  host: EntryRenderHost,
  session: RenderSession,
): Promise<PlainObject> {
  const working = copyFields(entry.fields);
  await applyMacros(working, config.macros, host);
  const fields = host.present(entry.id, working, entry.meta);
  const leaves: Leaf[] = [];
  listLeaves(fields, [], leaves, session.budget);
  const work = host.leafWork(fields, session);
  // As the reference: each leaf renders its value as listed before rendering began, so a field an
  // earlier `(field set:…)` replaced gets its own rendered value back when its turn comes (§9.1).
  for (const { path, value } of leaves) {
    if (path.length === 0) continue;
    if (typeof value !== 'string' || !mayRender(value, config.directives, config.expressionTags)) {
      if (readAt(fields, path) !== value) writeAt(fields, path, value);
      continue;
    }
    await session.budget.breathe();
    writeAt(fields, path, await applyDirectives(value, config.directives, work));
  }
  return fields;
}

/** The answer's view: `_` fields removed, `macros` unless debugging. */
export function publicView(fields: PlainObject, macrosDebug: boolean): PlainObject {
  const out: PlainObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith('_')) continue;
    if (key === 'macros' && !macrosDebug && !(isPlainObject(value) && (value['debug'] === true || value['debug'] === 'true'))) continue;
    out[key] = value;
  }
  return out;
}
