/**
 * YAML entry files: the whole document is the field map. js-yaml with the YAML 1.2 core schema:
 * dates stay strings (the API converts them), and it parses several times faster than `yaml`,
 * which matters when a large project is read at start-up.
 */
import jsyaml from 'js-yaml';
import { asFieldMap, DecodeError, type Fields, type Serializer } from './types.js';

export function parseYaml(text: string): unknown {
  try {
    return jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
  } catch (err) {
    throw new DecodeError(`invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function stringifyYaml(fields: Fields): string {
  // noRefs: repeated objects are written out, never as anchors/aliases.
  return jsyaml.dump(fields, { schema: jsyaml.CORE_SCHEMA, lineWidth: -1, noRefs: true });
}

export const yamlSerializer: Serializer = {
  name: 'yaml',
  decode: (text) => asFieldMap(parseYaml(text), 'a YAML entry'),
  encode: (fields) => stringifyYaml(fields),
};
