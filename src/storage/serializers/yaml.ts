/**
 * YAML entry files: the whole document is the field map. js-yaml with the YAML 1.2 core schema:
 * dates stay strings (the API converts them), and it parses several times faster than `yaml`,
 * which matters when a large project is read at start-up. Edits of existing files go through
 * `yaml`'s lossless token tree instead (yaml-edit.ts).
 */
import jsyaml from 'js-yaml';
import { editYaml } from './yaml-edit.js';
import { asFieldMap, parseError, DecodeError, type Fields, type Serializer } from './types.js';

/**
 * Alias limits. js-yaml resolves an alias to the anchored object itself (no copy), so parsing a
 * "billion laughs" header is quick, but everything that walks the result afterwards (filters, JSON
 * answers) expands it. An alias-free document holds fewer values than it has characters, so the
 * expanded size is bounded by the length plus some room for legitimate aliases.
 */
export const MAX_ALIAS_EXPANSIONS = 1000;
export const ALIAS_VALUE_SLACK = 10_000;

/** Refuses a parsed document whose aliases expand beyond the limits; at most O(limit) work. */
function assertBoundedExpansion(root: unknown, textLength: number): void {
  const maxValues = textLength + ALIAS_VALUE_SLACK;
  let values = 1;
  let expansions = 0;
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (seen.has(value)) {
      if (++expansions > MAX_ALIAS_EXPANSIONS) {
        throw new DecodeError(`YAML error: more than ${MAX_ALIAS_EXPANSIONS} alias expansions (refused as a resource exhaustion attack)`);
      }
    } else {
      seen.add(value);
    }
    const children = Array.isArray(value) ? value : Object.values(value);
    values += children.length;
    if (values > maxValues) {
      throw new DecodeError(`YAML error: aliases expand the document to more than ${maxValues} values (refused as a resource exhaustion attack)`);
    }
    for (const child of children) stack.push(child);
  }
}

/** Parses YAML text; `firstLine` is the line number of its first line in the file (for messages). */
export function parseYaml(text: string, firstLine = 1): unknown {
  let value: unknown;
  try {
    value = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
  } catch (err) {
    if (err instanceof jsyaml.YAMLException) {
      const mark = (err as jsyaml.YAMLException & { mark?: { line: number; column: number } }).mark;
      const position = mark ? { line: mark.line + firstLine, column: mark.column + 1 } : undefined;
      throw parseError('YAML', err.reason, position);
    }
    throw parseError('YAML', (err as Error).message.split('\n')[0] ?? 'cannot be parsed', undefined);
  }
  // Only an alias (`*name`) can make a document larger than its text; most files have no `*` at all.
  if (text.includes('*')) assertBoundedExpansion(value, text.length);
  return value;
}

export function stringifyYaml(fields: Fields): string {
  // noRefs: repeated objects are written out, never as anchors/aliases.
  return jsyaml.dump(fields, { schema: jsyaml.CORE_SCHEMA, lineWidth: -1, noRefs: true });
}

export function decodeYamlMap(text: string, what: string, firstLine = 1): Fields {
  return asFieldMap(parseYaml(text, firstLine), what);
}

/** The new text of a YAML map document: an edit of `previousText` when it can be edited, else written afresh. */
export function encodeYamlMap(fields: Fields, previousText: string | undefined): string {
  if (previousText !== undefined) {
    let previousFields: Fields | undefined;
    try {
      previousFields = decodeYamlMap(previousText, 'the previous file');
    } catch {
      previousFields = undefined; // a broken file is replaced as a whole
    }
    const edited = previousFields && editYaml(previousText, previousFields, fields, stringifyYaml);
    if (edited !== undefined) return edited;
  }
  return stringifyYaml(fields);
}

export const yamlSerializer: Serializer = {
  name: 'yaml',
  decode: (text) => decodeYamlMap(text, 'a YAML entry'),
  encode: (fields, previousText) => encodeYamlMap(fields, previousText),
};
