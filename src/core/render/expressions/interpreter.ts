/**
 * A tree-walking interpreter over parser.ts's nodes. Sandboxed by construction: variables and
 * functions come from Maps we fill, properties are read only from our maps, methods only from
 * each object's explicit table; no JS property of any value is ever looked up by a name from the
 * text. Every node costs one budget step, so no expression can run unbounded.
 */
import type { Env } from './env.js';
import { ExpressionError, runtimeError } from './errors.js';
import type { Node } from './parser.js';
import { compilePattern } from './regex.js';
import {
  compareLoose,
  entriesOf,
  ExprObject,
  isList,
  isMap,
  looseEquals,
  readKey,
  strictEquals,
  toBool,
  toInteger,
  toNumber,
  toText,
  typeName,
  type Value,
} from './values.js';

export type FunctionImpl = (args: Value[], env: Env) => Value | Promise<Value>;

/** Marks a null-safe chain that met null: the rest of the chain is skipped (Symfony 6 semantics). */
const SHORT: unique symbol = Symbol('short-circuit');
type Chained = Value | typeof SHORT;

export class Interpreter {
  constructor(
    private readonly functions: ReadonlyMap<string, FunctionImpl>,
    private readonly variables: ReadonlyMap<string, Value>,
    private readonly env: Env,
  ) {}

  async evaluate(node: Node): Promise<Value> {
    const value = await this.eval(node, false);
    return value === SHORT ? null : value;
  }

  /** `lenient`: inside the left side of `??`, where missing properties read as null. */
  private async eval(node: Node, lenient: boolean): Promise<Chained> {
    this.env.budget.step();
    switch (node.t) {
      case 'lit':
        return node.v;
      case 'name': {
        const value = this.variables.get(node.name);
        if (value === undefined) throw new ExpressionError('unknown_variable', `variable "${node.name}" is not valid`, node.pos);
        return value;
      }
      case 'call': {
        const fn = this.functions.get(node.name);
        if (!fn) throw new ExpressionError('unknown_function', `function "${node.name}" does not exist`, node.pos);
        return fn(await this.all(node.args), this.env);
      }
      case 'list': {
        this.env.budget.items(node.items.length);
        return this.all(node.items);
      }
      case 'hash': {
        const map = new Map<string, Value>();
        for (const [keyNode, valueNode] of node.pairs) {
          const key = await this.evaluate(keyNode);
          map.set(hashKey(key), await this.evaluate(valueNode));
        }
        return map;
      }
      case 'unary':
        return this.unary(node.op, await this.evaluate(node.operand));
      case 'binary':
        return this.binary(node);
      case 'cond': {
        const test = await this.evaluate(node.test);
        if (node.then === undefined) return toBool(test) ? test : this.evaluate(node.otherwise!);
        return toBool(test) ? this.evaluate(node.then) : node.otherwise ? this.evaluate(node.otherwise) : null;
      }
      case 'member':
      case 'method':
      case 'index':
        return this.access(node, lenient);
    }
  }

  private async all(nodes: Node[]): Promise<Value[]> {
    const values: Value[] = [];
    for (const node of nodes) values.push(await this.evaluate(node));
    return values;
  }

  private async access(node: Extract<Node, { t: 'member' | 'method' | 'index' }>, lenient: boolean): Promise<Chained> {
    const object = await this.eval(node.object, lenient);
    if (object === SHORT) return SHORT;
    if (node.t !== 'index' && node.nullSafe && object === null) return SHORT;
    if (node.t === 'method') {
      if (!(object instanceof ExprObject)) {
        if (lenient && object === null) return null;
        throw runtimeError(`cannot call method "${node.name}()" of ${typeName(object)}`);
      }
      const method = object.method(node.name);
      if (!method) throw runtimeError(`method "${node.name}()" does not exist on ${object.kind}`);
      return method(object, await this.all(node.args), this.env);
    }
    if (node.t === 'member') {
      if (isMap(object)) return object.get(node.name) ?? null;
      if (isList(object)) return null;
      if (lenient) return null;
      if (object instanceof ExprObject) throw runtimeError(`property "${node.name}" does not exist on ${object.kind}`);
      throw runtimeError(`cannot read property "${node.name}" of ${typeName(object)}`);
    }
    const key = await this.evaluate(node.key);
    if (isMap(object) || isList(object)) return readKey(object, key) ?? null;
    if (typeof object === 'string' && typeof key === 'number' && Number.isInteger(key)) {
      const chars = [...object];
      const i = key < 0 ? chars.length + key : key;
      return chars[i] ?? null;
    }
    if (object instanceof ExprObject) {
      const offsetGet = object.method('offsetGet');
      if (offsetGet) return offsetGet(object, [key], this.env);
    }
    if (lenient) return null;
    throw runtimeError(`cannot read an index of ${typeName(object)}`);
  }

  private unary(op: string, value: Value): Value {
    switch (op) {
      case 'not':
      case '!':
        return !toBool(value);
      case '-':
        return -toNumber(value, 'unary -');
      default:
        return toNumber(value, 'unary +');
    }
  }

  private async binary(node: Extract<Node, { t: 'binary' }>): Promise<Value> {
    const { op } = node;
    // Short-circuit and coalescing operators evaluate their right side only when needed.
    if (op === 'and' || op === '&&') return toBool(await this.evaluate(node.left)) && toBool(await this.evaluate(node.right));
    if (op === 'or' || op === '||') return toBool(await this.evaluate(node.left)) || toBool(await this.evaluate(node.right));
    if (op === '??') {
      const left = await this.eval(node.left, true);
      return left === null || left === SHORT ? this.evaluate(node.right) : left;
    }
    const left = await this.evaluate(node.left);
    const right = await this.evaluate(node.right);
    switch (op) {
      case '+':
        return toNumber(left, '+') + toNumber(right, '+');
      case '-':
        return toNumber(left, '-') - toNumber(right, '-');
      case '*':
        return toNumber(left, '*') * toNumber(right, '*');
      case '/': {
        const divisor = toNumber(right, '/');
        if (divisor === 0) throw runtimeError('division by zero');
        return toNumber(left, '/') / divisor;
      }
      case '%': {
        const divisor = toInteger(right, '%');
        if (divisor === 0) throw runtimeError('modulo by zero');
        const r = toInteger(left, '%') % divisor;
        return r === 0 ? 0 : r; // no -0
      }
      case '**':
        return toNumber(left, '**') ** toNumber(right, '**');
      case '~': {
        const a = toText(left);
        const b = toText(right);
        this.env.budget.textLength(a.length + b.length, 'a concatenation');
        return this.env.budget.text(a + b, 'a concatenation');
      }
      case '..':
        return this.range(left, right);
      case '==':
        return looseEquals(left, right);
      case '!=':
        return !looseEquals(left, right);
      case '===':
        return strictEquals(left, right);
      case '!==':
        return !strictEquals(left, right);
      case '<':
        return compareLoose(left, right) < 0;
      case '>':
        return compareLoose(left, right) > 0;
      case '<=':
        return compareLoose(left, right) <= 0;
      case '>=':
        return compareLoose(left, right) >= 0;
      case 'in':
        return this.member(left, right);
      case 'not in':
        return !this.member(left, right);
      case 'contains':
        return toText(left).includes(toText(right));
      case 'starts with':
        return toText(left).startsWith(toText(right));
      case 'ends with':
        return toText(left).endsWith(toText(right));
      case 'matches': {
        const text = toText(left);
        this.env.budget.step(Math.ceil(text.length / 256));
        return compilePattern(toText(right)).test(text) ? 1 : 0;
      }
      case '&':
        return toInteger(left, '&') & toInteger(right, '&');
      case '|':
        return toInteger(left, '|') | toInteger(right, '|');
      case '^':
        return toInteger(left, '^') ^ toInteger(right, '^');
    }
    throw runtimeError(`unknown operator "${op}"`);
  }

  private member(needle: Value, haystack: Value): boolean {
    const container = haystack instanceof ExprObject ? haystack.toData() : haystack;
    if (!isList(container) && !isMap(container)) throw runtimeError(`"in" needs a list or map on its right side, not ${typeName(haystack)}`);
    const values = isList(container) ? container : [...container.values()];
    this.env.budget.step(Math.ceil(values.length / 64));
    return values.some((value) => looseEquals(needle, value));
  }

  /** `low..high` as PHP's range(): integers either way, or single letters (`'a'..'e'`). */
  private range(low: Value, high: Value): Value[] {
    if (typeof low === 'string' && typeof high === 'string' && low.length === 1 && high.length === 1 && !/\d/.test(low + high)) {
      const a = low.charCodeAt(0);
      const b = high.charCodeAt(0);
      const out: Value[] = [];
      for (let c = a; a <= b ? c <= b : c >= b; c += a <= b ? 1 : -1) out.push(String.fromCharCode(c));
      return out;
    }
    const a = toNumber(low, '..');
    const b = toNumber(high, '..');
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw runtimeError('a range needs finite numbers');
    const count = Math.floor(Math.abs(b - a)) + 1;
    this.env.budget.items(count, 'a range');
    const step = a <= b ? 1 : -1;
    const out: Value[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = a + i * step;
    return out;
  }
}

function hashKey(key: Value): string {
  if (isList(key) || isMap(key) || key instanceof ExprObject) throw runtimeError('a hash key must be a name, text or number');
  if (typeof key === 'number') return Number.isInteger(key) ? String(key) : String(Math.trunc(key));
  if (key === null) return '';
  if (typeof key === 'boolean') return key ? '1' : '0';
  return key;
}

export { entriesOf };
