/**
 * Shortcode parser for the reference's syntax (`(name:main key:value …)content(/name)`), with the
 * same tokens, backtracking and "unclosed tag has no content" rules, so the same text yields the same
 * shortcodes. Hand-written: no npm package implements this syntax; the lexer and parser are linear in
 * the number of tokens except for backtracking over unclosed tags, which is bounded by the caller's
 * text size limit.
 */

export interface ShortcodeSyntax {
  open: string;
  close: string;
  marker: string;
  separator: string;
  delimiter: string;
}

export const DEFAULT_SYNTAX: ShortcodeSyntax = { open: '(', close: ')', marker: '/', separator: ':', delimiter: "'" };

export interface ParsedShortcode {
  name: string;
  /** In written order; a repeated name keeps its first position and its last value. */
  parameters: Map<string, string | null>;
  /** The main value (`(name:value)`), or null. */
  main: string | null;
  /** Text between the tags, or null for a self-closing or unclosed tag. */
  content: string | null;
  /** The shortcode exactly as written (opening tag to closing tag). */
  text: string;
  /** Position of `text` in the parsed string (UTF-16 units). */
  offset: number;
}

const enum T {
  Open,
  Close,
  Marker,
  Separator,
  Delimiter,
  String,
  Space,
}

interface Token {
  type: T;
  text: string;
  offset: number;
}

const NAME = /^[A-Za-z0-9_*-]+$/;
/** Nesting the parser follows; deeper tags are text (they would render raw anyway, §11.9). */
const MAX_PARSE_NESTING = 256;
const SPACE = /\s/u;

function tokenize(text: string, syntax: ShortcodeSyntax): Token[] {
  const fixed: Array<[string, T]> = (
    [
      [syntax.marker, T.Marker],
      [syntax.delimiter, T.Delimiter],
      [syntax.separator, T.Separator],
      [syntax.open, T.Open],
      [syntax.close, T.Close],
    ] as Array<[string, T]>
  ).filter(([s]) => s !== '');
  const tokens: Token[] = [];
  const fixedAt = (i: number): [string, T] | undefined => fixed.find(([s]) => text.startsWith(s, i));
  let i = 0;
  while (i < text.length) {
    const start = i;
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      // A backslash and the next character are one literal piece (the next may be a surrogate pair).
      const next = text.codePointAt(i + 1)!;
      i += 1 + (next > 0xffff ? 2 : 1);
      tokens.push({ type: T.String, text: text.slice(start, i), offset: start });
      continue;
    }
    if (SPACE.test(ch)) {
      while (i < text.length && SPACE.test(text[i]!)) i++;
      tokens.push({ type: T.Space, text: text.slice(start, i), offset: start });
      continue;
    }
    const hit = fixedAt(i);
    if (hit) {
      i += hit[0].length;
      tokens.push({ type: hit[1], text: hit[0], offset: start });
      continue;
    }
    // A run of ordinary characters: stops before whitespace, a backslash or any syntax token.
    while (i < text.length && text[i] !== '\\' && !SPACE.test(text[i]!) && !fixedAt(i)) i++;
    if (i === start) i++; // a lone trailing backslash
    tokens.push({ type: T.String, text: text.slice(start, i), offset: start });
  }
  return tokens;
}

/** The result of one tag: shortcodes found, the name of an outer tag whose closing tag was met, or no match. */
type Match = ParsedShortcode[] | { closes: string } | null;

/** The parser's work ran over its bound: the text is taken as plain text (no shortcodes). */
class ParseBudgetExceeded extends Error {}

class Parser {
  private pos = 0;
  /** Backtracking over unclosed tags can revisit tokens; the total work is bounded. */
  private steps = 0;
  private readonly maxSteps: number;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {
    this.maxSteps = 100_000 + tokens.length * 64;
  }

  private is(type: T): boolean {
    return this.pos < this.tokens.length && this.tokens[this.pos]!.type === type;
  }

  /** Consumes a token of `type` (any type when undefined); `skipSpace` also eats one following space. */
  private take(type: T | undefined, skipSpace: boolean): string | undefined {
    if (++this.steps > this.maxSteps) throw new ParseBudgetExceeded();
    if (this.pos >= this.tokens.length) return undefined;
    const token = this.tokens[this.pos]!;
    if (type !== undefined && token.type !== type) return undefined;
    this.pos++;
    if (skipSpace && this.is(T.Space)) this.pos++;
    return token.text;
  }

  private textBetween(from: number, to: number): string {
    if (from >= to) return '';
    const start = this.tokens[from]!.offset;
    const end = to < this.tokens.length ? this.tokens[to]!.offset : this.source.length;
    return this.source.slice(start, end);
  }

  parseAll(): ParsedShortcode[] {
    const found: ParsedShortcode[] = [];
    while (this.pos < this.tokens.length) {
      while (this.pos < this.tokens.length && !this.is(T.Open)) this.pos++;
      if (this.pos >= this.tokens.length) break;
      const start = this.pos;
      const match = this.shortcode([]);
      if (Array.isArray(match)) {
        found.push(...match);
        continue;
      }
      this.pos = start;
      this.take(undefined, true);
    }
    return found;
  }

  private value(): string | undefined {
    if (this.take(T.Delimiter, false) !== undefined) {
      let value = '';
      while (this.pos < this.tokens.length && !this.is(T.Delimiter)) value += this.take(undefined, false)!;
      return this.take(T.Delimiter, false) !== undefined ? value : undefined;
    }
    let value = '';
    let piece: string | undefined;
    while ((piece = this.take(T.String, false)) !== undefined) value += piece;
    return value === '' ? undefined : value;
  }

  private parameters(): Map<string, string | null> | undefined {
    const parameters = new Map<string, string | null>();
    for (;;) {
      this.take(T.Space, false);
      if (this.is(T.Marker) || this.is(T.Close)) return parameters;
      const name = this.take(T.String, true);
      // The reference's parser treats the name "0" as missing (PHP truthiness); kept for equal parses.
      if (name === undefined || name === '0') return undefined;
      if (this.take(T.Separator, true) === undefined) {
        parameters.set(name, null);
        continue;
      }
      const value = this.value();
      if (value === undefined) return undefined;
      this.take(T.Space, false);
      parameters.set(name, value);
    }
  }

  /** A closing tag of one of the open `names`; its name, or undefined. Moves past it. */
  private closing(names: readonly string[]): string | undefined {
    if (this.take(T.Open, true) === undefined) return undefined;
    if (this.take(T.Marker, true) === undefined) return undefined;
    const name = this.take(T.String, true);
    if (name === undefined || name === '' || name === '0') return undefined;
    if (this.take(T.Close, false) === undefined) return undefined;
    return names.includes(name) ? name : undefined;
  }

  private shortcode(names: string[]): Match {
    if (names.length >= MAX_PARSE_NESTING) return null;
    const start = this.pos;
    if (this.take(T.Open, false) === undefined) return null;
    const offset = this.tokens[start]!.offset;
    this.take(T.Space, false);
    const name = this.take(T.String, false);
    if (name === undefined || this.is(T.String) || !NAME.test(name)) return null;
    this.take(T.Space, false);
    let main: string | null = null;
    if (this.take(T.Separator, true) !== undefined) {
      const value = this.value();
      if (value === undefined) return null;
      main = value;
    }
    const parameters = this.parameters();
    if (parameters === undefined) return null;
    const make = (content: string | null, end: number): ParsedShortcode => ({
      name,
      parameters,
      main,
      content,
      text: this.textBetween(start, end),
      offset,
    });
    if (this.take(T.Marker, true) !== undefined) {
      if (this.take(T.Close, false) === undefined) return null;
      return [make(null, this.pos)];
    }
    if (this.take(T.Close, false) === undefined) return null;
    const contentStart = this.pos;
    names.push(name);
    const nested: ParsedShortcode[] = [];
    let closes: string | undefined;
    while (this.pos < this.tokens.length) {
      while (this.pos < this.tokens.length && !this.is(T.Open)) this.pos++;
      if (this.pos >= this.tokens.length) break;
      const at = this.pos;
      const inner = this.shortcode(names);
      if (inner !== null && !Array.isArray(inner)) {
        closes = inner.closes;
        break;
      }
      if (Array.isArray(inner)) {
        nested.push(...inner);
        continue;
      }
      this.pos = at;
      const closed = this.closing(names);
      this.pos = at;
      if (closed !== undefined) {
        closes = closed;
        break;
      }
      this.take(undefined, false);
    }
    names.pop();
    if (closes !== undefined && closes !== name) return { closes };
    if (closes === undefined) {
      // Never closed: a tag without content; what followed is ordinary text (its shortcodes count).
      return [make(null, contentStart), ...nested];
    }
    const contentEnd = this.pos;
    this.closing([name]);
    return [make(this.textBetween(contentStart, contentEnd), this.pos)];
  }
}

/** Every top-level shortcode of `text`, in order (nested ones are found when their parent's content is processed). */
export function parseShortcodes(text: string, syntax: ShortcodeSyntax = DEFAULT_SYNTAX): ParsedShortcode[] {
  if (!text.includes(syntax.open)) return [];
  try {
    return new Parser(tokenize(text, syntax), text).parseAll();
  } catch (err) {
    if (err instanceof ParseBudgetExceeded) return [];
    throw err;
  }
}
