/**
 * `strings(text)`: the text object (SPEC §9.8). Its methods are the §9.6 operations shared with the
 * `strings` shortcode (src/core/render/strings/). Text results of chainable operations become a
 * new text object.
 */
import { expressionStringOps } from '../../strings/expression-ops.js';
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import { ExprObject, formatNumber, toText, type MethodImpl, type Value, type MethodTable } from '../values.js';
import { arg, functionTable } from './common.js';

export interface StringOperation {
  /** True when the operation answers text that further methods may chain on. */
  chain: boolean;
  run(text: string, args: Value[], env: Env): Value;
}

export type StringOpsTable = ReadonlyMap<string, StringOperation>;

function lookup(name: string): StringOperation | undefined {
  return expressionStringOps().get(name);
}

export class TextObject extends ExprObject {
  readonly kind = 'text object';
  protected readonly methods: MethodTable = new Map<string, MethodImpl<never>>();

  constructor(readonly text: string) {
    super();
  }

  /** Every name resolves at call time against the operations table of the request. */
  override method(name: string): MethodImpl<ExprObject> {
    return (object, args, env) => {
      const self = object as TextObject;
      const op = lookup(name);
      if (op) {
        const result = op.run(self.text, args, env);
        if (op.chain && typeof result === 'string') return new TextObject(env.budget.text(result, `${name}()`));
        return result;
      }
      const negated = /^isNot([A-Z].*)$/.exec(name);
      const positive = negated ? lookup(`is${negated[1]}`) : undefined;
      if (positive) return !positive.run(self.text, args, env);
      throw runtimeError(`method "${name}()" does not exist on the text object`);
    };
  }

  override toData(): Value {
    return this.text;
  }

  override toText(): string {
    return this.text;
  }
}

export const stringsFunctions = functionTable({
  strings: (args) => {
    const value = arg(args, 0) ?? '';
    return new TextObject(typeof value === 'number' ? formatNumber(value) : toText(value));
  },
});
