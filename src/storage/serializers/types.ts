/** A serializer turns an entry file's text into its field map and back. */
export type Fields = Record<string, unknown>;

export interface Serializer {
  readonly name: string;
  decode(text: string): Fields;
  /**
   * The file text for `fields`. With `previousText` (the file as it is now), only what changed is
   * edited in it: untouched fields keep their source text (comments, number notation, anchors).
   */
  encode(fields: Fields, previousText?: string): string;
}

/** Where a parse error was found: 1-based line and column from the start of the file. */
export interface TextPosition {
  line: number;
  column: number;
}

/** Thrown when a file cannot be decoded; the store reports it as an unreadable entry. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly position?: TextPosition,
  ) {
    super(message);
  }
}

/** `LANGUAGE error at line L, column C: reason` (or without a position when none is known). */
export function parseError(language: string, reason: string, position: TextPosition | undefined): DecodeError {
  const where = position ? ` at line ${position.line}, column ${position.column}` : '';
  return new DecodeError(`${language} error${where}: ${reason}`, position);
}

/** Thrown when fields cannot be written so that reading the file gives them back exactly. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}

export function asFieldMap(value: unknown, what: string): Fields {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DecodeError(`${what} must hold a map of fields`);
  }
  return value as Fields;
}
