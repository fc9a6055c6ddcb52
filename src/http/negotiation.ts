/**
 * Content negotiation shared by the full path and the fast path: the content coding of an answer
 * (Accept-Encoding with q-values, `*` and `q=0` exclusions, as RFC 9110 §12.5.3 says) and the Vary
 * header that goes with it.
 */
import Negotiator from 'negotiator';
import vary from 'vary';

/** negotiator 1.x takes a server preference for ties; @types/negotiator 0.6 does not know it yet. */
type EncodingWithPreference = (this: Negotiator, available: readonly string[], options: { preferred: readonly string[] }) => string | undefined;
const encodingOf = Negotiator.prototype.encoding as EncodingWithPreference;

export type ContentCoding = 'br' | 'gzip';

/** Ours, best first: brotli wins a tie (e.g. browsers' `gzip, deflate, br`). */
const CODINGS: readonly ContentCoding[] = ['br', 'gzip'];

/** The coding to compress an answer with, or undefined for none (identity). */
export function chooseEncoding(acceptEncoding: string | string[] | undefined): ContentCoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  // Node joins repeated Accept-Encoding headers already; the type admits a list, so join it too.
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(', ') : acceptEncoding;
  const chosen = encodingOf.call(new Negotiator({ headers: { 'accept-encoding': header } }), CODINGS, { preferred: CODINGS });
  return chosen === 'br' || chosen === 'gzip' ? chosen : undefined;
}

/** A Vary value with `fields` added to what it already names (each once). */
export function withVary(current: string | undefined, ...fields: string[]): string {
  let value = current ?? '';
  for (const field of fields) value = vary.append(value, field);
  return value;
}
