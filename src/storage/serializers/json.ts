/** JSON and JSON5 entry files: the whole document is the field map. */
import { parse as parseTree } from '@humanwhocodes/momoa';
import JSON5 from 'json5';
import { editJson, type JsonDialect } from './json-edit.js';
import { asFieldMap, parseError, type Fields, type Serializer, type TextPosition } from './types.js';

/** Where JSON.parse failed: its message carries no line, so momoa (which reports one) looks again. */
function jsonErrorPosition(text: string): TextPosition | undefined {
  try {
    parseTree(text, { mode: 'json' });
  } catch (err) {
    const { line, column } = err as { line?: unknown; column?: unknown };
    if (typeof line === 'number' && typeof column === 'number') return { line, column };
  }
  return undefined;
}

const shiftLine = (position: TextPosition | undefined, firstLine: number) =>
  position && { line: position.line + firstLine - 1, column: position.column };

/** Parses JSON text; `firstLine` is the line number of its first line in the file (for messages). */
export function parseJson(text: string, firstLine = 1): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
    throw parseError('JSON', reason, shiftLine(jsonErrorPosition(text), firstLine));
  }
}

export function parseJson5(text: string, firstLine = 1): unknown {
  try {
    return JSON5.parse(text);
  } catch (err) {
    const { lineNumber, columnNumber, message } = err as SyntaxError & { lineNumber?: number; columnNumber?: number };
    const reason = message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
    const position = typeof lineNumber === 'number' && typeof columnNumber === 'number' ? { line: lineNumber, column: columnNumber } : undefined;
    throw parseError('JSON5', reason, shiftLine(position, firstLine));
  }
}

/** Multi-line values are indented like the line of their member. */
const indented = (text: string, indent: string) => text.split('\n').join(`\n${indent}`);

export const JSON_DIALECT: JsonDialect = {
  mode: 'json',
  stringify: (value, indent) => (indent === undefined ? JSON.stringify(value) : indented(JSON.stringify(value, null, 2), indent)),
};

export const JSON5_DIALECT: JsonDialect = {
  mode: 'json5',
  stringify: (value, indent) => (indent === undefined ? JSON5.stringify(value) : indented(JSON5.stringify(value, null, 2), indent)),
};

/**
 * The new text of a JSON(5) map document: an edit of `previousText` when it can be edited, else
 * written afresh. `decode` reads the previous text the way the serializer does.
 */
export function encodeJsonMap(fields: Fields, previousText: string | undefined, dialect: JsonDialect, decode: (text: string) => Fields): string | undefined {
  if (previousText === undefined) return undefined;
  let previous: Fields;
  try {
    previous = decode(previousText);
  } catch {
    return undefined; // a broken file is replaced as a whole
  }
  return editJson(previousText, previous, fields, dialect);
}

const decodeJson = (text: string) => asFieldMap(parseJson(text), 'a JSON entry');
const decodeJson5 = (text: string) => asFieldMap(parseJson5(text), 'a JSON5 entry');

export const jsonSerializer: Serializer = {
  name: 'json',
  decode: decodeJson,
  encode: (fields, previousText) =>
    encodeJsonMap(fields, previousText, JSON_DIALECT, decodeJson) ?? JSON.stringify(fields, null, 2) + '\n',
};

export const json5Serializer: Serializer = {
  name: 'json5',
  decode: decodeJson5,
  encode: (fields, previousText) =>
    encodeJsonMap(fields, previousText, JSON5_DIALECT, decodeJson5) ?? JSON5.stringify(fields, null, 2) + '\n',
};
