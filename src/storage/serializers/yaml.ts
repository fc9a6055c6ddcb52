/** YAML entry files: the whole document is the field map. */
import YAML from 'yaml';
import { asFieldMap, DecodeError, type Fields, type Serializer } from './types.js';

export function parseYaml(text: string): unknown {
  try {
    // maxAliasCount bounds "billion laughs" style documents.
    return YAML.parse(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (err) {
    throw new DecodeError(`invalid YAML: ${(err as Error).message}`);
  }
}

export function stringifyYaml(fields: Fields): string {
  return YAML.stringify(fields, { lineWidth: 0 });
}

export const yamlSerializer: Serializer = {
  name: 'yaml',
  decode: (text) => asFieldMap(parseYaml(text), 'a YAML entry'),
  encode: (fields) => stringifyYaml(fields),
};
