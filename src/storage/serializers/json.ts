/** JSON and JSON5 entry files: the whole document is the field map. */
import JSON5 from 'json5';
import { asFieldMap, DecodeError, type Serializer } from './types.js';

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DecodeError(`invalid JSON: ${(err as Error).message}`);
  }
}

export function parseJson5(text: string): unknown {
  try {
    return JSON5.parse(text);
  } catch (err) {
    throw new DecodeError(`invalid JSON5: ${(err as Error).message}`);
  }
}

export const jsonSerializer: Serializer = {
  name: 'json',
  decode: (text) => asFieldMap(parseJson(text), 'a JSON entry'),
  encode: (fields) => JSON.stringify(fields, null, 2) + '\n',
};

export const json5Serializer: Serializer = {
  name: 'json5',
  decode: (text) => asFieldMap(parseJson5(text), 'a JSON5 entry'),
  encode: (fields) => JSON5.stringify(fields, null, 2) + '\n',
};
