/**
 * Front matter files: a header between `---` lines, then a body that becomes the `content` field.
 * The first line may name the header language: `---yaml` (default), `---json`, `---json5`; an
 * update keeps the header's language and edits it in place (untouched fields keep their text).
 */
import JSON5 from 'json5';
import { editJson } from './json-edit.js';
import { JSON5_DIALECT, JSON_DIALECT, parseJson, parseJson5 } from './json.js';
import { editYaml } from './yaml-edit.js';
import { parseYaml, stringifyYaml } from './yaml.js';
import { asFieldMap, DecodeError, type Fields, type Serializer } from './types.js';

interface HeaderLanguage {
  parse(text: string, firstLine: number): unknown;
  /** The header text for `fields`, editing `previous` (text and its fields) when given. */
  write(fields: Fields, previous?: { text: string; fields: Fields }): string;
}

const yamlHeader: HeaderLanguage = {
  parse: parseYaml,
  write: (fields, previous) =>
    (previous && editYaml(previous.text, previous.fields, fields, stringifyYaml)) ??
    (Object.keys(fields).length > 0 ? stringifyYaml(fields) : ''),
};

const headerLanguages: Record<string, HeaderLanguage> = {
  '': yamlHeader,
  yaml: yamlHeader,
  json: {
    parse: parseJson,
    write: (fields, previous) => (previous && editJson(previous.text, previous.fields, fields, JSON_DIALECT)) ?? JSON.stringify(fields, null, 2),
  },
  json5: {
    parse: parseJson5,
    write: (fields, previous) => (previous && editJson(previous.text, previous.fields, fields, JSON5_DIALECT)) ?? JSON5.stringify(fields, null, 2),
  },
};

// NEON (`---neon`, which the reference reads) is left out on purpose: the one npm NEON library
// (neon-js 1.1.2) misreads forms nette/neon accepts, and a wrong read is worse than a clear refusal.
const SUPPORTED_LANGUAGES = Object.keys(headerLanguages).filter((name) => name !== '').join(', ');

// Opening fence with an optional language, the header, then a closing fence on its own line
// (never a "---" at the end of a header line such as `title: Part ---`); the header may be empty.
const FRONT_MATTER =
  /^(?<open>\uFEFF?---(?<language>[a-z0-9]*)[ \t]*\r?\n)(?:(?<header>[\s\S]*?)(?<eol>\r?\n))??(?<close>---[ \t]*(?:\r?\n|$))/;

/** The header starts on the file's second line (the opening fence is one line). */
const HEADER_FIRST_LINE = 2;

interface Parts {
  open: string;
  language: HeaderLanguage;
  headerText: string;
  header: Fields;
  close: string;
  body: string;
}

function split(text: string): Parts | undefined {
  const match = FRONT_MATTER.exec(text);
  if (!match) return undefined;
  const groups = match.groups!;
  const name = groups['language'] ?? '';
  // Own keys only: `---constructor` must not find Object.prototype's member.
  const language = Object.hasOwn(headerLanguages, name) ? headerLanguages[name] : undefined;
  if (!language) throw new DecodeError(`front matter header language "${name}" is not supported (supported: ${SUPPORTED_LANGUAGES})`);
  const headerText = (groups['header'] ?? '') + (groups['eol'] ?? '');
  const header = asFieldMap(language.parse(groups['header'] ?? '', HEADER_FIRST_LINE), 'a front matter header');
  return { open: groups['open']!, language, headerText, header, close: groups['close']!, body: text.slice(match[0].length) };
}

function bodyOf(fields: Fields): { header: Fields; body: string } {
  const { content, ...header } = fields;
  return { header, body: content === undefined || content === null ? '' : String(content) };
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

function encodeAfresh(fields: Fields): string {
  const { header, body } = bodyOf(fields);
  return `---\n${yamlHeader.write(header)}---\n${body}`;
}

export const frontmatterSerializer: Serializer = {
  name: 'frontmatter',
  decode(text: string): Fields {
    const parts = split(text);
    if (!parts) return { content: text };
    return { ...parts.header, content: parts.body };
  },
  encode(fields: Fields, previousText?: string): string {
    let previous: Parts | undefined;
    try {
      previous = previousText === undefined ? undefined : split(previousText);
    } catch {
      previous = undefined; // a broken file is replaced as a whole
    }
    if (!previous) return encodeAfresh(fields);
    const { header, body } = bodyOf(fields);
    const headerText = withNewline(previous.language.write(header, { text: previous.headerText, fields: previous.header }));
    const close = body === '' ? previous.close : withNewline(previous.close);
    return previous.open + headerText + close + body;
  },
};
