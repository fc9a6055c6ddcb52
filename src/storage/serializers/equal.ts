/**
 * Data equality as the API sees it: plain objects, arrays and scalars; an undefined member is the
 * same as a missing one, -0 equals 0, NaN equals NaN. Iterative, so any nesting depth is safe.
 */
type Pair = { a: unknown; b: unknown; path: string };

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function definedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((key) => value[key] !== undefined);
}

const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);

/** The dot path of the first place where `a` and `b` differ ('' for the roots), or undefined when equal. */
export function firstDifference(a: unknown, b: unknown): string | undefined {
  const stack: Pair[] = [{ a, b, path: '' }];
  while (stack.length > 0) {
    const { a: x, b: y, path } = stack.pop()!;
    if (x === y || (typeof x === 'number' && typeof y === 'number' && Number.isNaN(x) && Number.isNaN(y))) continue;
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return path;
      for (let i = 0; i < x.length; i++) stack.push({ a: x[i], b: y[i], path: join(path, i) });
      continue;
    }
    if (isMap(x) && isMap(y)) {
      const keys = definedKeys(x);
      if (keys.length !== definedKeys(y).length) return path;
      for (const key of keys) {
        if (!Object.prototype.hasOwnProperty.call(y, key)) return join(path, key);
        stack.push({ a: x[key], b: y[key], path: join(path, key) });
      }
      continue;
    }
    return path;
  }
  return undefined;
}

export const sameData = (a: unknown, b: unknown): boolean => firstDifference(a, b) === undefined;
