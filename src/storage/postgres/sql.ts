/** Small shared pieces of the PostgreSQL engine: identifiers, URLs without passwords, connection failures. */
import { createHash } from 'node:crypto';
import { StorageError } from '../engine.js';

/** Schema names we accept: plain identifiers, so quoting them is enough and no one is surprised by case. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StorageError(`schema "${schema}" is not a plain identifier (letters, digits, _; at most 63)`, 'bad_name');
  }
  return `"${schema}"`;
}

/** The NOTIFY channel of one schema: NOTIFY is database-wide, and channel names are at most 63 bytes. */
export function channelOf(schema: string): string {
  return `flextype_${createHash('sha256').update(schema).digest('hex').slice(0, 24)}`;
}

/** The URL as it may appear in messages and logs: without its password (or a query string that may hold one). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return 'postgres://(an unparsable URL)';
  }
}

/** Node's and PostgreSQL's ways of saying "the server cannot be reached now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '08000', '08001', '08003', '08004', '08006', '08007', '08P01']);
const MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /not queryable/i, /connection (?:is )?closed/i, /server closed the connection/i, /Connection lost/i];

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.has(code))) return true;
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  return MESSAGES.some((re) => re.test(err.message));
}

/** A connection failure as StorageError 'unavailable' (the message names the server, never the password); other errors unchanged. */
export function asStorageError(err: unknown, location: string): unknown {
  if (err instanceof StorageError || !isUnavailable(err)) return err;
  const error = err as Error;
  const reason = error instanceof AggregateError && error.errors[0] instanceof Error ? error.errors[0].message : error.message;
  return new StorageError(`PostgreSQL at ${location} is unavailable: ${reason || 'connection failed'}`, 'unavailable');
}

export const UNIQUE_VIOLATION = '23505';

export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
