/** `serializers()`: json, json5, yaml, frontmatter encode/decode with the project's serializers. */
import JSON5 from 'json5';
import { frontmatterSerializer } from '../../../../storage/serializers/frontmatter.js';
import { parseJson, parseJson5 } from '../../../../storage/serializers/json.js';
import { parseYaml, stringifyYaml } from '../../../../storage/serializers/yaml.js';
import { runtimeError } from '../errors.js';
import { ExprObject, fromPlain, toJsonText, toPlain, type Value, type MethodTable } from '../values.js';
import { arg, functionTable, methodTable, textArg } from './common.js';

interface Format {
  encode(value: Value): string;
  decode(text: string): unknown;
}

const asFields = (value: Value): Record<string, unknown> => {
  const plain = toPlain(value);
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) throw runtimeError('frontmatter encode() needs a map of fields');
  return plain as Record<string, unknown>;
};

const FORMATS = new Map<string, Format>([
  ['json', { encode: (value) => toJsonText(value), decode: parseJson }],
  ['json5', { encode: (value) => JSON5.stringify(toPlain(value)) ?? 'null', decode: parseJson5 }],
  ['yaml', { encode: (value) => stringifyYaml(toPlain(value) as Record<string, unknown>), decode: parseYaml }],
  ['frontmatter', { encode: (value) => frontmatterSerializer.encode(asFields(value)), decode: (text) => frontmatterSerializer.decode(text) }],
]);

class SerializerObject extends ExprObject {
  readonly kind = 'serializer';
  protected readonly methods: MethodTable = SERIALIZER_METHODS;
  constructor(readonly format: Format, readonly name: string) {
    super();
  }
}

const SERIALIZER_METHODS = methodTable<SerializerObject>({
  encode: (self, args, env) => {
    try {
      return env.budget.text(self.format.encode(arg(args, 0) ?? null), `${self.name} encode()`);
    } catch (err) {
      if (err instanceof Error && err.name === 'LimitError') throw err;
      throw runtimeError(`${self.name} encode(): ${(err as Error).message}`);
    }
  },
  decode: (self, args) => {
    try {
      return fromPlain(self.format.decode(textArg(args, 0, 'decode')));
    } catch (err) {
      throw runtimeError(`${self.name} decode(): ${(err as Error).message}`);
    }
  },
});

class SerializersObject extends ExprObject {
  readonly kind = 'serializers';
  protected readonly methods: MethodTable = methodTable<SerializersObject>(
    Object.fromEntries([...FORMATS].map(([name, format]) => [name, () => new SerializerObject(format, name)])),
  );
}

export const serializersFunctions = functionTable({
  serializers: () => new SerializersObject(),
});
