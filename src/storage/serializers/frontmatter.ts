/**
 * Front matter files: a header between `---` lines, then a body that becomes the `content` field.
 * The first line may name the header language: `---yaml` (default), `---json`, `---json5`.
 */
import { parseJson, parseJson5 } from './json.js';
import { parseYaml, stringifyYaml } from './yaml.js';
import { asFieldMap, DecodeError, type Fields, type Serializer } from './types.js';

const headerParsers: Record<string, (text: string) => unknown> = {
  '': parseYaml,
  yaml: parseYaml,
  json: parseJson,
  json5: parseJson5,
};

// Opening fence with an optional language, the header, then a closing fence on its own line
// (never a "---" at the end of a header line such as `title: Part ---`); the header may be empty.
const FRONT_MATTER = /^\uFEFF?---([a-z0-9]*)[ \t]*\r?\n(?:([\s\S]*?)\r?\n)??---[ \t]*(?:\r?\n|$)/;

export const frontmatterSerializer: Serializer = {
  name: 'frontmatter',
  decode(text: string): Fields {
    const match = FRONT_MATTER.exec(text);
    if (!match) return { content: text };
    const language = match[1] ?? '';
    const parse = headerParsers[language];
    if (!parse) throw new DecodeError(`unknown front matter language "${language}"`);
    const header = asFieldMap(parse(match[2] ?? ''), 'a front matter header');
    const body = text.slice(match[0].length);
    return { ...header, content: body };
  },
  encode(fields: Fields): string {
    const { content, ...header } = fields;
    const body = content === undefined || content === null ? '' : String(content);
    const headerText = Object.keys(header).length > 0 ? stringifyYaml(header) : '';
    return `---\n${headerText}---\n${body}`;
  },
};
