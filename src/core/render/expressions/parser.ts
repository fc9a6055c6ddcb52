/**
 * A Pratt parser for Symfony ExpressionLanguage 6 (SPEC §9.7), hand-written: the npm port
 * `expression-language` compiles to JavaScript source and runs it (the opposite of a sandbox), and
 * its evaluator reaches JS properties by name. Ours builds a plain tree that interpreter.ts walks;
 * nothing here or there ever turns text into code.
 */
import { syntaxError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import type { Value } from './values.js';

export type Node =
  | { t: 'lit'; v: Value }
  | { t: 'name'; name: string; pos: number }
  | { t: 'call'; name: string; args: Node[]; pos: number }
  | { t: 'list'; items: Node[] }
  | { t: 'hash'; pairs: [Node, Node][] }
  | { t: 'unary'; op: string; operand: Node }
  | { t: 'binary'; op: string; left: Node; right: Node; pos: number }
  | { t: 'cond'; test: Node; then: Node | undefined; otherwise: Node | undefined }
  | { t: 'member'; object: Node; name: string; nullSafe: boolean; pos: number }
  | { t: 'method'; object: Node; name: string; args: Node[]; nullSafe: boolean; pos: number }
  | { t: 'index'; object: Node; key: Node; pos: number };

const UNARY: Record<string, number> = { not: 50, '!': 50, '-': 500, '+': 500 };

/** Binary operators: precedence (higher binds tighter) and whether they associate to the right. */
const BINARY: Record<string, { precedence: number; right?: boolean }> = {
  '??': { precedence: 5 },
  or: { precedence: 10 },
  '||': { precedence: 10 },
  and: { precedence: 15 },
  '&&': { precedence: 15 },
  '|': { precedence: 16 },
  '^': { precedence: 17 },
  '&': { precedence: 18 },
  '==': { precedence: 20 },
  '===': { precedence: 20 },
  '!=': { precedence: 20 },
  '!==': { precedence: 20 },
  '<': { precedence: 20 },
  '>': { precedence: 20 },
  '>=': { precedence: 20 },
  '<=': { precedence: 20 },
  'not in': { precedence: 20 },
  in: { precedence: 20 },
  matches: { precedence: 20 },
  contains: { precedence: 20 },
  'starts with': { precedence: 20 },
  'ends with': { precedence: 20 },
  '..': { precedence: 25 },
  '+': { precedence: 30 },
  '-': { precedence: 30 },
  '~': { precedence: 40 },
  '*': { precedence: 60 },
  '/': { precedence: 60 },
  '%': { precedence: 60 },
  '**': { precedence: 200, right: true },
};

const CONSTANTS: Record<string, Value> = { true: true, TRUE: true, false: false, FALSE: false, null: null, NULL: null };

/** Nesting deeper than this is refused (a stack-safe bound; SPEC §11.9 allows 64 levels of tags). */
const MAX_NESTING = 256;

class Parser {
  private at = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private get current(): Token {
    return this.tokens[this.at]!;
  }

  private next(): Token {
    return this.tokens[this.at++]!;
  }

  private is(type: Token['type'], value?: string): boolean {
    const token = this.current;
    return token.type === type && (value === undefined || token.value === value);
  }

  private expect(type: Token['type'], value?: string, what = value ?? type): Token {
    if (!this.is(type, value)) {
      const found = this.current.type === 'end' ? 'the end' : `"${this.current.value}"`;
      throw syntaxError(`expected ${what}, found ${found}`, this.current.position);
    }
    return this.next();
  }

  parseAll(): Node {
    const node = this.expression();
    if (!this.is('end')) throw syntaxError(`unexpected "${this.current.value}"`, this.current.position);
    return node;
  }

  expression(precedence = 0): Node {
    if (++this.depth > MAX_NESTING) throw syntaxError('expression nested too deeply', this.current.position);
    let node = this.primary();
    for (;;) {
      const token = this.current;
      const op = token.type === 'operator' ? BINARY[token.value] : undefined;
      if (!op || op.precedence < precedence) break;
      this.next();
      const right = this.expression(op.right ? op.precedence : op.precedence + 1);
      node = { t: 'binary', op: token.value, left: node, right, pos: token.position };
    }
    if (precedence === 0) node = this.conditional(node);
    this.depth--;
    return node;
  }

  private conditional(test: Node): Node {
    while (this.is('punctuation', '?')) {
      this.next();
      if (this.is('punctuation', ':')) {
        this.next();
        test = { t: 'cond', test, then: undefined, otherwise: this.expression() };
        continue;
      }
      const then = this.expression();
      let otherwise: Node | undefined = { t: 'lit', v: null };
      if (this.is('punctuation', ':')) {
        this.next();
        otherwise = this.expression();
      }
      test = { t: 'cond', test, then, otherwise };
    }
    return test;
  }

  private primary(): Node {
    const token = this.current;
    if (token.type === 'operator' && UNARY[token.value] !== undefined) {
      this.next();
      const operand = this.expression(UNARY[token.value]);
      return this.postfix({ t: 'unary', op: token.value, operand });
    }
    if (this.is('punctuation', '(')) {
      this.next();
      const inner = this.expression();
      this.expect('punctuation', ')');
      return this.postfix(inner);
    }
    return this.postfix(this.atom());
  }

  private atom(): Node {
    const token = this.next();
    switch (token.type) {
      case 'number':
        return { t: 'lit', v: token.number! };
      case 'string':
        return { t: 'lit', v: token.value };
      case 'name':
        if (Object.prototype.hasOwnProperty.call(CONSTANTS, token.value)) return { t: 'lit', v: CONSTANTS[token.value]! };
        if (this.is('punctuation', '(')) return { t: 'call', name: token.value, args: this.arguments(), pos: token.position };
        return { t: 'name', name: token.value, pos: token.position };
      case 'punctuation':
        if (token.value === '[') return { t: 'list', items: this.listItems() };
        if (token.value === '{') return { t: 'hash', pairs: this.hashPairs() };
    }
    const found = token.type === 'end' ? 'the end' : `"${token.value}"`;
    throw syntaxError(`unexpected ${found}`, token.position);
  }

  private arguments(): Node[] {
    this.expect('punctuation', '(');
    const args: Node[] = [];
    while (!this.is('punctuation', ')')) {
      if (args.length > 0) this.expect('punctuation', ',', '","');
      args.push(this.expression());
    }
    this.next();
    return args;
  }

  private listItems(): Node[] {
    const items: Node[] = [];
    while (!this.is('punctuation', ']')) {
      if (items.length > 0) {
        this.expect('punctuation', ',', '","');
        if (this.is('punctuation', ']')) break; // trailing comma
      }
      items.push(this.expression());
    }
    this.next();
    return items;
  }

  private hashPairs(): [Node, Node][] {
    const pairs: [Node, Node][] = [];
    while (!this.is('punctuation', '}')) {
      if (pairs.length > 0) {
        this.expect('punctuation', ',', '","');
        if (this.is('punctuation', '}')) break;
      }
      let key: Node;
      const token = this.current;
      if (token.type === 'name' || token.type === 'string') {
        this.next();
        key = { t: 'lit', v: token.value };
      } else if (token.type === 'number') {
        this.next();
        key = { t: 'lit', v: token.number! };
      } else if (this.is('punctuation', '(')) {
        this.next();
        key = this.expression();
        this.expect('punctuation', ')');
      } else {
        throw syntaxError('a hash key must be a name, a string, a number or a parenthesized expression', token.position);
      }
      this.expect('punctuation', ':', '":"');
      pairs.push([key, this.expression()]);
    }
    this.next();
    return pairs;
  }

  private postfix(node: Node): Node {
    for (;;) {
      const token = this.current;
      if (token.type === 'punctuation' && (token.value === '.' || token.value === '?.')) {
        this.next();
        const name = this.current;
        // Any word is a property or method name here, operator words included (`.contains()`).
        if (name.type !== 'name' && !(name.type === 'operator' && /^[a-z]+$/.test(name.value))) {
          throw syntaxError('expected a property or method name', name.position);
        }
        this.next();
        const nullSafe = token.value === '?.';
        if (this.is('punctuation', '(')) {
          node = { t: 'method', object: node, name: name.value, args: this.arguments(), nullSafe, pos: name.position };
        } else {
          node = { t: 'member', object: node, name: name.value, nullSafe, pos: name.position };
        }
      } else if (token.type === 'punctuation' && token.value === '[') {
        this.next();
        const key = this.expression();
        this.expect('punctuation', ']');
        node = { t: 'index', object: node, key, pos: token.position };
      } else {
        return node;
      }
    }
  }
}

export function parseExpression(source: string): Node {
  return new Parser(tokenize(source)).parseAll();
}
