/** The serializers a collection may name in its settings. */
import { firstDifference } from './equal.js';
import { frontmatterSerializer } from './frontmatter.js';
import { json5Serializer, jsonSerializer } from './json.js';
import { EncodeError, type Fields, type Serializer } from './types.js';
import { yamlSerializer } from './yaml.js';

export { DecodeError, EncodeError, type Fields, type Serializer } from './types.js';

/** Where reading `text` back does not give `fields` ('' for the whole map), or undefined when it does. */
function mismatch(serializer: Serializer, expected: Fields, text: string): string | undefined {
  let decoded: Fields;
  try {
    decoded = serializer.decode(text);
  } catch {
    return '';
  }
  return firstDifference(expected, decoded);
}

/**
 * Every write is read back before it is stored: a file never holds something other than what the
 * API acknowledged. An in-place edit that does not read back exactly is replaced by a fresh file;
 * when that fails too, the write is refused. `readsBackAs` gives the equivalent form a format
 * always reads (a front matter file without body has content '').
 */
function verified(serializer: Serializer, readsBackAs: (fields: Fields) => Fields = (fields) => fields): Serializer {
  return {
    name: serializer.name,
    decode: (text) => serializer.decode(text),
    encode(fields, previousText) {
      if (previousText !== undefined) {
        const edited = serializer.encode(fields, previousText);
        if (mismatch(serializer, readsBackAs(fields), edited) === undefined) return edited;
      }
      const text = serializer.encode(fields);
      const where = mismatch(serializer, readsBackAs(fields), text);
      if (where !== undefined) {
        const what = where === '' ? 'the data' : `field "${where}"`;
        throw new EncodeError(`${what} cannot be stored exactly in a ${serializer.name} file (it would read back differently)`);
      }
      return text;
    },
  };
}

const withBody = (fields: Fields): Fields =>
  fields['content'] === undefined || fields['content'] === null ? { ...fields, content: '' } : fields;

const serializers = new Map<string, Serializer>(
  [verified(frontmatterSerializer, withBody), verified(yamlSerializer), verified(jsonSerializer), verified(json5Serializer)].map((s) => [s.name, s]),
);

export function getSerializer(name: string): Serializer | undefined {
  return serializers.get(name.toLowerCase());
}

export function serializerNames(): string[] {
  return [...serializers.keys()];
}
