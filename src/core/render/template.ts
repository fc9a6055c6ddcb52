/**
 * Expression tags in a text (SPEC §9.7): `[# … #]` removed, then `[% … %]` evaluated and removed,
 * then `[[ … ]]` replaced by its value as text, each over the whole text. The first closing tag
 * ends a tag. A tag that fails renders as written (§11.10); work limits end the whole render.
 * Scanned with indexOf rather than a lazy regex, so unclosed tags cannot make it quadratic.
 */

export interface TemplateTags {
  comment: [open: string, close: string];
  block: [open: string, close: string];
  variable: [open: string, close: string];
}

export const DEFAULT_TAGS: TemplateTags = { comment: ['[#', '#]'], block: ['[%', '%]'], variable: ['[[', ']]'] };

export interface TemplateWork {
  /** Evaluates one expression; answers its value as text (for `[[ ]]`). */
  evaluate(expression: string): Promise<string>;
  /** Errors that end the whole render (limits); others leave the tag as written. */
  isFatal(err: unknown): boolean;
  step(): void;
  /** Gives way to other requests now and then. */
  breathe(): Promise<void>;
}

async function replaceTags(
  text: string,
  [open, close]: [string, string],
  answer: (inner: string, whole: string) => Promise<string>,
  work: TemplateWork,
): Promise<string> {
  if (open === '' || close === '' || !text.includes(open)) return text;
  let out = '';
  let cursor = 0;
  for (;;) {
    const start = text.indexOf(open, cursor);
    if (start === -1) break;
    const end = text.indexOf(close, start + open.length);
    if (end === -1) break;
    work.step();
    await work.breathe();
    const whole = text.slice(start, end + close.length);
    out += text.slice(cursor, start) + (await answer(text.slice(start + open.length, end), whole));
    cursor = end + close.length;
  }
  return out + text.slice(cursor);
}

export async function renderTemplate(text: string, tags: TemplateTags, work: TemplateWork): Promise<string> {
  const guarded = async (whole: string, run: () => Promise<string>): Promise<string> => {
    try {
      return await run();
    } catch (err) {
      if (work.isFatal(err)) throw err;
      return whole;
    }
  };
  let result = await replaceTags(text, tags.comment, async () => '', work);
  result = await replaceTags(result, tags.block, (inner, whole) => guarded(whole, async () => (await work.evaluate(inner), '')), work);
  return replaceTags(result, tags.variable, (inner, whole) => guarded(whole, () => work.evaluate(inner)), work);
}
