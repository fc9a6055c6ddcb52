/**
 * Content negotiation and compression, shared by the fast path and the Fastify routes: the content
 * coding of an answer (Accept-Encoding with q-values, `*`, `q=0` exclusions and `identity;q=0`, as
 * RFC 9110 §12.5.3 says), the Vary header that goes with it, and the compressors.
 */
import { promisify } from 'node:util';
import type { Transform } from 'node:stream';
import { brotliCompress, constants as zlibConstants, createBrotliCompress, createGzip, gzip } from 'node:zlib';
import Negotiator from 'negotiator';
import vary from 'vary';

/** negotiator 1.x takes a server preference for ties; @types/negotiator 0.6 does not know it yet. */
type EncodingWithPreference = (this: Negotiator, available: readonly string[], options: { preferred: readonly string[] }) => string | undefined;
const encodingOf = Negotiator.prototype.encoding as EncodingWithPreference;

export type ContentCoding = 'br' | 'gzip';

/** Ours, best first: brotli wins a tie (e.g. browsers' `gzip, deflate, br`), identity comes last. */
const CODINGS = ['br', 'gzip', 'identity'] as const;
const IDENTITY = ['identity'] as const;

interface Choice {
  /** The best coding the client accepts (undefined: none of ours, identity included). */
  best: ContentCoding | 'identity' | undefined;
  /** The client said `identity;q=0` (or `*;q=0` without identity): plain bytes are unwelcome. */
  identityRefused: boolean;
}

const NO_HEADER: Choice = { best: 'identity', identityRefused: false };
// Clients send few distinct Accept-Encoding values: remembered, so negotiator runs once per value.
const remembered = new Map<string, Choice>();
const REMEMBER_MAX = 256;

function choiceOf(acceptEncoding: string | string[] | undefined): Choice {
  if (acceptEncoding === undefined) return NO_HEADER;
  // Node joins repeated Accept-Encoding headers already; the type admits a list, so join it too.
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(', ') : acceptEncoding;
  let choice = remembered.get(header);
  if (choice === undefined) {
    const negotiator = new Negotiator({ headers: { 'accept-encoding': header } });
    const best = encodingOf.call(negotiator, CODINGS, { preferred: CODINGS }) as Choice['best'];
    choice = { best, identityRefused: encodingOf.call(negotiator, IDENTITY, { preferred: IDENTITY }) === undefined };
    if (remembered.size >= REMEMBER_MAX) remembered.clear();
    remembered.set(header, choice);
  }
  return choice;
}

/** The coding the client prefers among ours, ignoring body size (undefined: identity). */
export function chooseEncoding(acceptEncoding: string | string[] | undefined): ContentCoding | undefined {
  const best = choiceOf(acceptEncoding).best;
  return best === 'br' || best === 'gzip' ? best : undefined;
}

/**
 * How a body of `length` characters is answered: compressed when it reaches `threshold` and the
 * client accepts a coding of ours, or whatever its size when the client refuses identity. When
 * nothing is acceptable at all, plain bytes are sent (RFC 9110 §12.5.3 prefers that to a 406).
 */
export function codingFor(acceptEncoding: string | string[] | undefined, length: number, threshold: number): ContentCoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const choice = choiceOf(acceptEncoding);
  if (choice.best !== 'br' && choice.best !== 'gzip') return undefined;
  return length >= threshold || choice.identityRefused ? choice.best : undefined;
}

/** A Vary value with `fields` added to what it already names (each once). */
export function withVary(current: string | undefined, ...fields: string[]): string {
  let value = current ?? '';
  for (const field of fields) value = vary.append(value, field);
  return value;
}

const BROTLI_QUALITY = 4;
const GZIP_LEVEL = 6;
const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** The body compressed with `coding` (off the main thread, in libuv's pool). */
export function compress(body: string, coding: ContentCoding): Promise<Buffer> {
  return coding === 'br' ? brotliAsync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } }) : gzipAsync(body, { level: GZIP_LEVEL });
}

/** A compressing stream for streamed answers. */
export function compressor(coding: ContentCoding): Transform {
  return coding === 'br' ? createBrotliCompress({ params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } }) : createGzip({ level: GZIP_LEVEL });
}
