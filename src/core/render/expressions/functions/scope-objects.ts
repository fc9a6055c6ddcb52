/** `field`/`fields`, `var`/`vars`, `actions`: the request-scoped state (SPEC §9.8, §10). */
import { deleteDot, getDot, setDot } from '../paths.js';
import type { FieldStore } from '../scope.js';
import { ExprObject, type PhpMap, type Value, type MethodTable } from '../values.js';
import { arg, functionTable, methodTable, textArg } from './common.js';

/** vars() and actions(): maps living for one request, read and written by dot path. */
export class RequestMapObject extends ExprObject {
  readonly kind = 'request map';
  protected readonly methods: MethodTable = REQUEST_MAP_METHODS;
  constructor(readonly map: PhpMap) {
    super();
  }
  override toData(): Value {
    return this.map;
  }
}

const REQUEST_MAP_METHODS = methodTable<RequestMapObject>({
  get: (self, args) => {
    const value = getDot(self.map, textArg(args, 0, 'get'));
    return value === undefined || value === null ? (arg(args, 1) ?? null) : value;
  },
  set: (self, args) => {
    setDot(self.map, textArg(args, 0, 'set'), arg(args, 1) ?? null);
    return self;
  },
  has: (self, args) => getDot(self.map, textArg(args, 0, 'has')) !== undefined,
  delete: (self, args) => {
    deleteDot(self.map, textArg(args, 0, 'delete'));
    return self;
  },
  all: (self) => self.map,
});

/** fields(): the entry being rendered (the Query API's is an empty scratch entry). */
export class FieldsObject extends ExprObject {
  readonly kind = 'fields';
  protected readonly methods: MethodTable = FIELDS_METHODS;
  constructor(readonly store: FieldStore) {
    super();
  }
}

const FIELDS_METHODS = methodTable<FieldsObject>({
  get: (self, args) => {
    const value = self.store.get(textArg(args, 0, 'get'));
    return value === undefined || value === null ? (arg(args, 1) ?? null) : value;
  },
  set: (self, args) => {
    self.store.set(textArg(args, 0, 'set'), arg(args, 1) ?? null);
    return null;
  },
  unset: (self, args) => {
    self.store.set(textArg(args, 0, 'unset'), null);
    return null;
  },
  delete: (self, args) => {
    self.store.delete(textArg(args, 0, 'delete'));
    return null;
  },
});

export const fieldFunctions = functionTable({
  field: (args, env) => env.scope.fields.get(textArg(args, 0, 'field')) ?? null,
  fields: (_args, env) => new FieldsObject(env.scope.fields),
});

export const varFunctions = functionTable({
  var: (args, env) => getDot(env.scope.vars, textArg(args, 0, 'var')) ?? null,
  vars: (_args, env) => new RequestMapObject(env.scope.vars),
});

export const actionsFunctions = functionTable({
  actions: (_args, env) => new RequestMapObject(env.scope.actions),
});
