/**
 * Request-scoped state of expressions (SPEC §9.7, §9.8): the fields of the entry being rendered
 * (`field()`, `fields()`), and the request maps `vars()` and `actions()`.
 */
import { deleteDot, getDot, setDot } from './paths.js';
import type { PhpMap, Value } from './values.js';

export interface FieldStore {
  get(path: string): Value | undefined;
  set(path: string, value: Value): void;
  delete(path: string): void;
}

/** Fields kept in a map: the Query API's empty scratch entry, and a simple default for tests. */
export class MapFieldStore implements FieldStore {
  constructor(readonly map: PhpMap = new Map()) {}
  get(path: string): Value | undefined {
    return getDot(this.map, path);
  }
  set(path: string, value: Value): void {
    setDot(this.map, path, value);
  }
  delete(path: string): void {
    deleteDot(this.map, path);
  }
}

export class Scope {
  constructor(
    readonly fields: FieldStore = new MapFieldStore(),
    readonly vars: PhpMap = new Map(),
    readonly actions: PhpMap = new Map(),
    /** How many expressions evaluate each other right now (`expressions().eval` nesting). */
    public depth = 0,
  ) {}
}
