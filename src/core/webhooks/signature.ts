/**
 * Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the endpoint's secret, sent as
 * `X-Flextype-Signature: t=<unix seconds>,v1=<hex>`. The timestamp is signed too, so a receiver that
 * refuses old timestamps refuses replayed requests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-flextype-signature';
export const EVENT_HEADER = 'x-flextype-event';
export const DELIVERY_HEADER = 'x-flextype-delivery';
/** What a receiver should accept between our clock and its own, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function hmacOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value for `body` (the exact bytes sent) signed at `timestamp` (Unix seconds). */
export function signatureHeader(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmacOf(secret, timestamp, body)}`;
}

export interface VerifyInput {
  /** The X-Flextype-Signature header as received. */
  header: string | undefined;
  /** The raw request body, exactly as received (not re-serialized JSON). */
  body: string;
  secret: string;
  /** Oldest (and newest) timestamp accepted, in seconds from now; 300 by default. */
  toleranceSeconds?: number;
  /** The receiver's clock, Unix seconds (for tests). */
  now?: number;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

/** How a receiver checks a delivery: a valid v1 signature over a timestamp within the tolerance. */
export function verifySignature(input: VerifyInput): VerifyResult {
  if (input.header === undefined || input.header === '') return { ok: false, reason: 'missing' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of input.header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' };
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: 'expired' };
  const expected = Buffer.from(hmacOf(input.secret, timestamp, input.body), 'hex');
  const matches = signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
}
