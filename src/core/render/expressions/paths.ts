/** Dot paths (`a.b.0`) over maps and lists, as the reference's collections read and write them. */
import { isList, isMap, keyOf, readKey, type PhpMap, type Value } from './values.js';

export function getDot(source: Value, path: string): Value | undefined {
  if (path === '') return source;
  let current: Value | undefined = source;
  for (const part of path.split('.')) {
    if (!isMap(current) && !isList(current)) return undefined;
    current = readKey(current, part);
    if (current === undefined) return undefined;
  }
  return current;
}

/** Sets a dot path, creating maps on the way (a non-map in the way is replaced, as PHP's Arr::set). */
export function setDot(target: PhpMap, path: string, value: Value): void {
  const parts = path.split('.');
  let current: PhpMap = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    let next = current.get(part);
    if (isList(next)) next = new Map(next.map((v, j) => [String(j), v]));
    if (!isMap(next)) next = new Map();
    current.set(part, next);
    current = next;
  }
  current.set(parts[parts.length - 1]!, value);
}

export function deleteDot(target: PhpMap, path: string): void {
  const parts = path.split('.');
  let current: Value | undefined = target;
  for (let i = 0; i < parts.length - 1; i++) {
    current = isMap(current) || isList(current) ? readKey(current, parts[i]!) : undefined;
    if (current === undefined) return;
  }
  const last = parts[parts.length - 1]!;
  if (isMap(current)) current.delete(last);
  else if (isList(current) && /^\d+$/.test(last)) {
    // A list losing an item keeps its other indexes in PHP; as a map it stays faithful.
    const i = Number(last);
    if (i < current.length) current.splice(i, 1);
  }
}

/** A deep copy of maps and lists (objects are shared). */
export function cloneValue(value: Value): Value {
  if (isList(value)) return value.map(cloneValue);
  if (isMap(value)) return new Map([...value].map(([k, v]) => [k, cloneValue(v)]));
  return value;
}

/** A list or map as a map with PHP keys. */
export function asMap(value: PhpMap | Value[]): PhpMap {
  return isList(value) ? new Map(value.map((v, i) => [String(i), v])) : value;
}

export { keyOf };
