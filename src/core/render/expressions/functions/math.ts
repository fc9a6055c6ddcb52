/** `math`: abs, ceil, floor, round, min, max (SPEC §9.8), as PHP computes them. */
import { runtimeError } from '../errors.js';
import { compareLoose, ExprObject, isList, isMap, type Value } from '../values.js';
import { functionTable, intArg, numberArg } from './common.js';

/** PHP round(): half away from zero, after correcting the binary representation error. */
export function phpRound(value: number, precision: number): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** precision;
  const scaled = Number((Math.abs(value) * factor).toPrecision(15));
  const rounded = Math.round(scaled) / factor;
  return value < 0 ? -rounded : rounded;
}

function extreme(args: Value[], what: string, pickLarger: boolean): Value {
  let values = args;
  if (args.length === 1) {
    const only = args[0] instanceof ExprObject ? args[0].toData() : args[0]!;
    if (isList(only)) values = only;
    else if (isMap(only)) values = [...only.values()];
    else throw runtimeError(`${what}() needs a list or at least two values`);
  }
  if (values.length === 0) throw runtimeError(`${what}() needs at least one value`);
  let best = values[0] as Value;
  for (const value of values.slice(1)) {
    const c = compareLoose(value, best);
    if (pickLarger ? c > 0 : c < 0) best = value;
  }
  return best;
}

export const mathFunctions = functionTable({
  abs: (args) => Math.abs(numberArg(args, 0, 'abs')),
  ceil: (args) => Math.ceil(numberArg(args, 0, 'ceil')),
  floor: (args) => Math.floor(numberArg(args, 0, 'floor')),
  round: (args) => phpRound(numberArg(args, 0, 'round'), intArg(args, 1, 'round', 0)),
  min: (args) => extreme(args, 'min', false),
  max: (args) => extreme(args, 'max', true),
});
