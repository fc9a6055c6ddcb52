/**
 * Replaces shortcodes in a text: content first (inside out), then the handler; unknown names keep
 * their tags with their content processed; `raw` content is left alone. One pass: a handler's
 * answer is not scanned again.
 */
import { parseShortcodes, type ParsedShortcode, type ShortcodeSyntax } from './parser.js';

/** A shortcode as its handler sees it: content already processed (unless inside `raw`). */
export interface Shortcode {
  readonly name: string;
  readonly main: string | null;
  readonly parameters: ReadonlyMap<string, string | null>;
  /** Processed content; null for a self-closing or unclosed tag. */
  readonly content: string | null;
  /** The tag exactly as written. */
  readonly text: string;
  has(name: string): boolean;
  get(name: string): string | null | undefined;
}

/** What a handler answers: text as is, anything else converted by the caller's `toText`. */
export type ShortcodeHandler = (shortcode: Shortcode, process: (text: string) => Promise<string>) => Promise<unknown> | unknown;

export interface ProcessorOptions {
  syntax: ShortcodeSyntax;
  handlers: ReadonlyMap<string, ShortcodeHandler>;
  /** Names whose content is never processed (the reference's `raw`). */
  rawNames: ReadonlySet<string>;
  /** Deeper nesting renders the tags as written. */
  maxNesting: number;
  /** Converts a handler's answer to text (numbers, booleans, lists…). */
  toText(value: unknown): string;
  /** Called once per shortcode processed, so the caller's work budget sees every step. */
  step(): void;
  /** Gives way to other requests now and then (the render's budget decides when). */
  breathe(): Promise<void>;
  /** Errors that end the whole render (work limits); any other handler error leaves the tag as written. */
  isFatal(err: unknown): boolean;
}

function view(parsed: ParsedShortcode, content: string | null): Shortcode {
  return {
    name: parsed.name,
    main: parsed.main,
    parameters: parsed.parameters,
    content,
    text: parsed.text,
    has: (name) => parsed.parameters.has(name),
    get: (name) => parsed.parameters.get(name),
  };
}

export class ShortcodeProcessor {
  /** How often the nesting limit cut a text (raw tags were left in it). */
  private cuts = 0;

  constructor(private readonly options: ProcessorOptions) {}

  /** Processes `text`; `depth` counts the nesting levels already entered. */
  async process(text: string, depth = 0): Promise<string> {
    if (depth >= this.options.maxNesting) {
      this.cuts++;
      return text;
    }
    const found = parseShortcodes(text, this.options.syntax);
    if (found.length === 0) return text;
    const replacements: string[] = [];
    for (const parsed of found) {
      this.options.step();
      await this.options.breathe();
      replacements.push(await this.one(parsed, depth));
    }
    let out = '';
    let cursor = 0;
    found.forEach((parsed, i) => {
      out += text.slice(cursor, parsed.offset) + replacements[i]!;
      cursor = parsed.offset + parsed.text.length;
    });
    return out + text.slice(cursor);
  }

  private async one(parsed: ParsedShortcode, depth: number): Promise<string> {
    const raw = this.options.rawNames.has(parsed.name);
    let content = parsed.content;
    const cutsBefore = this.cuts;
    if (content !== null && !raw) content = await this.process(content, depth + 1);
    // Handlers that render their content again (strings, if, markdown) must not re-enter what the
    // nesting limit left raw: each level would double the work (2^64 for a deep enough text).
    const cut = this.cuts !== cutsBefore;
    const handler = this.options.handlers.get(parsed.name);
    if (!handler) {
      if (parsed.content === null || content === parsed.content) return parsed.text;
      // Unknown name: keep the tags as written, with the processed content in place of the old one.
      const at = parsed.text.lastIndexOf(parsed.content);
      return parsed.text.slice(0, at) + content + parsed.text.slice(at + parsed.content.length);
    }
    try {
      const answer = await handler(view(parsed, content), (inner) => (cut ? Promise.resolve(inner) : this.process(inner, depth + 1)));
      return typeof answer === 'string' ? answer : this.options.toText(answer);
    } catch (err) {
      if (this.options.isFatal(err)) throw err;
      if (process.env["FT_DEBUG_RENDER"]) console.error("shortcode failed", parsed.name, err);
      // A failing shortcode stays as written; the rest of the text still renders.
      return parsed.text;
    }
  }
}
