/**
 * Tokens of Symfony ExpressionLanguage 6 (SPEC §9.7): names, numbers, strings, operators and
 * punctuation, each with its offset for error messages.
 */
import { syntaxError } from './errors.js';

export type TokenType = 'name' | 'number' | 'string' | 'operator' | 'punctuation' | 'end';

export interface Token {
  type: TokenType;
  value: string;
  /** For numbers: the parsed value. */
  number?: number;
  position: number;
}

/** Word operators need a non-name character after them (`notice` is a name, `not x` an operator). */
const WORD_OPERATORS = ['not in', 'starts with', 'ends with', 'contains', 'matches', 'not', 'and', 'or', 'in'];
/** Longest first, so `===` wins over `==` and `**` over `*`. */
const SYMBOL_OPERATORS = ['===', '!==', '==', '!=', '<=', '>=', '&&', '||', '**', '..', '??', '<', '>', '+', '-', '*', '/', '%', '~', '!', '&', '|', '^'];
const PUNCTUATION = new Set(['(', ')', '[', ']', '{', '}', ',', ':', '.', '?']);

const NAME_START = /[A-Za-z_\x7f-\uffff]/;
const NAME_PART = /[A-Za-z0-9_\x7f-\uffff]/;
const NUMBER = /(?:\d[\d_]*(?:\.(?!\.)[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?/y;

/** PHP's stripcslashes, which Symfony applies to both quote styles. */
function unescape(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\' || i === body.length - 1) {
      out += ch;
      continue;
    }
    const next = body[++i]!;
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', v: '\v', f: '\f', e: '\x1b', a: '\x07', b: '\b' };
    if (Object.prototype.hasOwnProperty.call(simple, next)) out += simple[next];
    else if (next === 'x' && /^[0-9a-fA-F]/.test(body[i + 1] ?? '')) {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))![0];
      out += String.fromCharCode(parseInt(hex, 16));
      i += hex.length;
    } else if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCharCode(parseInt(octal, 8) & 0xff);
      i += octal.length - 1;
    } else out += next;
  }
  return out;
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const brackets: { char: string; position: number }[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (/\d/.test(ch) || (ch === '.' && /\d/.test(source[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(source)!;
      const text = match[0];
      tokens.push({ type: 'number', value: text, number: Number(text.replace(/_/g, '')), position: start });
      i += text.length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== ch) j += source[j] === '\\' ? 2 : 1;
      if (j >= source.length) throw syntaxError('unclosed string', start);
      tokens.push({ type: 'string', value: unescape(source.slice(i + 1, j)), position: start });
      i = j + 1;
      continue;
    }
    const word = NAME_START.test(ch) ? readWordOperator(source, i) : undefined;
    if (word) {
      tokens.push({ type: 'operator', value: word.operator, position: start });
      i = word.end;
      continue;
    }
    if (NAME_START.test(ch)) {
      let j = i + 1;
      while (j < source.length && NAME_PART.test(source[j]!)) j++;
      tokens.push({ type: 'name', value: source.slice(i, j), position: start });
      i = j;
      continue;
    }
    if (ch === '?' && source[i + 1] === '.' && !/\d/.test(source[i + 2] ?? '')) {
      tokens.push({ type: 'punctuation', value: '?.', position: start });
      i += 2;
      continue;
    }
    const symbol = SYMBOL_OPERATORS.find((op) => source.startsWith(op, i));
    if (symbol) {
      tokens.push({ type: 'operator', value: symbol, position: start });
      i += symbol.length;
      continue;
    }
    if (PUNCTUATION.has(ch)) {
      if ('([{'.includes(ch)) brackets.push({ char: ch, position: i });
      else if (')]}'.includes(ch)) {
        const open = brackets.pop();
        if (!open || '([{'.indexOf(open.char) !== ')]}'.indexOf(ch)) throw syntaxError(`unexpected "${ch}"`, i);
      }
      tokens.push({ type: 'punctuation', value: ch, position: start });
      i++;
      continue;
    }
    throw syntaxError(`unexpected character "${ch}"`, i);
  }
  const open = brackets.pop();
  if (open) throw syntaxError(`unclosed "${open.char}"`, open.position);
  tokens.push({ type: 'end', value: '', position: source.length });
  return tokens;
}

function readWordOperator(source: string, at: number): { operator: string; end: number } | undefined {
  // After a `.` a word is a property or method name (`obj.contains()`), never an operator.
  let before = at - 1;
  while (before >= 0 && /\s/.test(source[before]!)) before--;
  if (before >= 0 && source[before] === '.') return undefined;
  for (const operator of WORD_OPERATORS) {
    const pattern = operator.replace(' ', '\\s+');
    const match = new RegExp(`^${pattern}(?![A-Za-z0-9_\\x7f-\\uffff])`).exec(source.slice(at, at + 40));
    if (match) return { operator, end: at + match[0].length };
  }
  return undefined;
}
