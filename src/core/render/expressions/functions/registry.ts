/** `registry()`: read-only (SPEC §11.4): get/has of what clients may see; set/delete are errors. */
import { runtimeError } from '../errors.js';
import { ExprObject, fromPlain, type MethodTable } from '../values.js';
import { arg, functionTable, methodTable, textArg } from './common.js';

class RegistryObject extends ExprObject {
  readonly kind = 'registry';
  protected readonly methods: MethodTable = REGISTRY_METHODS;
}

const readOnly = () => {
  throw runtimeError('the registry is read-only: content cannot change settings');
};

const REGISTRY_METHODS = methodTable<RegistryObject>({
  get: (_self, args, env) => {
    const found = env.ctx.registry(textArg(args, 0, 'get'));
    return found.found && found.value !== null ? fromPlain(found.value) : (arg(args, 1) ?? null);
  },
  has: (_self, args, env) => env.ctx.registry(textArg(args, 0, 'has')).found,
  set: readOnly,
  delete: readOnly,
});

export const registryFunctions = functionTable({
  registry: () => new RegistryObject(),
});
