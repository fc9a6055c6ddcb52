/** The serializers a collection may name in its settings. */
import { frontmatterSerializer } from './frontmatter.js';
import { json5Serializer, jsonSerializer } from './json.js';
import type { Serializer } from './types.js';
import { yamlSerializer } from './yaml.js';

export { DecodeError, type Fields, type Serializer } from './types.js';

const serializers = new Map<string, Serializer>(
  [frontmatterSerializer, yamlSerializer, jsonSerializer, json5Serializer].map((s) => [s.name, s]),
);

export function getSerializer(name: string): Serializer | undefined {
  return serializers.get(name.toLowerCase());
}

export function serializerNames(): string[] {
  return [...serializers.keys()];
}
