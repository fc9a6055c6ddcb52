/**
 * `strings(text)`: the text object (SPEC §9.8). Its methods come from an operations table: a core
 * set here, the full §9.6 set plugged in by the rendering stage (`RenderContext.stringOps`, looked
 * up first). Text results of chainable operations become a new text object.
 */
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import { ExprObject, formatNumber, isNumericString, toText, type MethodImpl, type Value, type MethodTable } from '../values.js';
import { arg, functionTable, intArg, textArg } from './common.js';

export interface StringOperation {
  /** True when the operation answers text that further methods may chain on. */
  chain: boolean;
  run(text: string, args: Value[], env: Env): Value;
}

export type StringOpsTable = ReadonlyMap<string, StringOperation>;

const chars = (text: string) => [...text];
const textOp = (run: StringOperation['run']): StringOperation => ({ chain: true, run });
const valueOp = (run: StringOperation['run']): StringOperation => ({ chain: false, run });

/** Pads to `length` characters with `pad` on the chosen side(s), as PHP's mb_str_pad. */
function pad(text: string, args: Value[], env: Env, side: 'left' | 'right' | 'both'): string {
  const length = intArg(args, 0, 'pad');
  const padding = textArg(args, 1, 'pad', ' ');
  env.budget.textLength(length, 'a padded text');
  const missing = length - chars(text).length;
  if (missing <= 0 || padding === '') return text;
  const fill = (n: number) => {
    const p = chars(padding);
    let out = '';
    for (let i = 0; i < n; i++) out += p[i % p.length];
    return out;
  };
  if (side === 'left') return fill(missing) + text;
  if (side === 'right') return text + fill(missing);
  const left = Math.floor(missing / 2);
  return fill(left) + text + fill(missing - left);
}

export const CORE_STRING_OPS: StringOpsTable = new Map<string, StringOperation>([
  ['upper', textOp((text) => text.toUpperCase())],
  ['lower', textOp((text) => text.toLowerCase())],
  ['trim', textOp((text, args) => trimChars(text, arg(args, 0), 'both'))],
  ['trimLeft', textOp((text, args) => trimChars(text, arg(args, 0), 'left'))],
  ['trimRight', textOp((text, args) => trimChars(text, arg(args, 0), 'right'))],
  ['padLeft', textOp((text, args, env) => pad(text, args, env, 'left'))],
  ['padRight', textOp((text, args, env) => pad(text, args, env, 'right'))],
  ['padBoth', textOp((text, args, env) => pad(text, args, env, 'both'))],
  ['replace', textOp((text, args, env) => {
    const search = textArg(args, 0, 'replace');
    const replacement = textArg(args, 1, 'replace', '');
    if (search === '') return text;
    const count = text.split(search).length - 1;
    env.budget.textLength(text.length + count * (replacement.length - search.length), 'replace()');
    return text.split(search).join(replacement);
  })],
  ['repeat', textOp((text, args, env) => {
    const times = intArg(args, 0, 'repeat');
    if (times < 0) throw runtimeError('repeat(): the count must not be negative');
    env.budget.textLength(text.length * times, 'repeat()');
    return text.repeat(times);
  })],
  ['append', textOp((text, args, env) => env.budget.text(text + args.map(toText).join(''), 'append()'))],
  ['prepend', textOp((text, args, env) => env.budget.text(args.map(toText).join('') + text, 'prepend()'))],
  ['reverse', textOp((text) => chars(text).reverse().join(''))],
  ['ucfirst', textOp((text) => (text === '' ? text : chars(text)[0]!.toUpperCase() + chars(text).slice(1).join('')))],
  ['length', valueOp((text) => chars(text).length)],
  ['count', valueOp((text) => chars(text).length)],
  ['contains', valueOp((text, args) => {
    const needles = arg(args, 0);
    const caseSensitive = arg(args, 1) !== false;
    const list = Array.isArray(needles) ? needles.map(toText) : [textArg(args, 0, 'contains')];
    const haystack = caseSensitive ? text : text.toLowerCase();
    return list.some((needle) => needle !== '' && haystack.includes(caseSensitive ? needle : needle.toLowerCase()));
  })],
  ['startsWith', valueOp((text, args) => text.startsWith(textArg(args, 0, 'startsWith')))],
  ['endsWith', valueOp((text, args) => text.endsWith(textArg(args, 0, 'endsWith')))],
  ['isEmpty', valueOp((text) => text === '')],
  ['isNumeric', valueOp((text) => isNumericString(text))],
  ['toString', valueOp((text) => text)],
  ['toInteger', valueOp((text) => {
    const m = /^\s*[+-]?\d+/.exec(text);
    return m ? Number(m[0]) : 0;
  })],
  ['toFloat', valueOp((text) => {
    const m = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text);
    return m ? Number(m[0]) : 0;
  })],
  ['toBoolean', valueOp((text) => !['0', 'false', 'off', 'no', ''].includes(text.trim().toLowerCase()))],
  ['isNull', valueOp(() => false)],
]);

function trimChars(text: string, charList: Value | undefined, side: 'left' | 'right' | 'both'): string {
  const set = charList === undefined || charList === null ? ' \t\n\r\0\x0B' : toText(charList);
  const members = new Set(chars(set));
  const list = chars(text);
  let start = 0;
  let end = list.length;
  if (side !== 'right') while (start < end && members.has(list[start]!)) start++;
  if (side !== 'left') while (end > start && members.has(list[end - 1]!)) end--;
  return list.slice(start, end).join('');
}

function lookup(env: Env, name: string): StringOperation | undefined {
  return env.ctx.stringOps?.get(name) ?? CORE_STRING_OPS.get(name);
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
      const op = lookup(env, name);
      if (op) {
        const result = op.run(self.text, args, env);
        if (op.chain && typeof result === 'string') return new TextObject(env.budget.text(result, `${name}()`));
        return result;
      }
      const negated = /^isNot([A-Z].*)$/.exec(name);
      const positive = negated ? lookup(env, `is${negated[1]}`) : undefined;
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
