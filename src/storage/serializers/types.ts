/** A serializer turns an entry file's text into its field map and back. */
export type Fields = Record<string, unknown>;

export interface Serializer {
  readonly name: string;
  decode(text: string): Fields;
  /** `previousText`: the file's current text when it exists (to keep what did not change). */
  encode(fields: Fields, previousText?: string): string;
}

/** Thrown when a file cannot be decoded; the store reports it as an unreadable entry. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export function asFieldMap(value: unknown, what: string): Fields {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DecodeError(`${what} must hold a map of fields`);
  }
  return value as Fields;
}
