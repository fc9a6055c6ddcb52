/**
 * Request ids: a client's (or proxy's) `X-Request-Id` is kept when it is a sane token, so one id
 * follows a request through several services; anything else gets a fresh id.
 */
import { randomBytes } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const SANE = /^[A-Za-z0-9._-]{1,128}$/;

// A random prefix per process and a counter: unique, cheap (no randomness per request), and
// says nothing about traffic volume to other processes.
const PREFIX = randomBytes(6).toString('base64url');
let counter = 0;

/** The id of a request carrying `given` as its X-Request-Id header (absent, repeated or odd: a new one). */
export function requestIdOf(given: string | string[] | undefined): string {
  if (typeof given === 'string' && SANE.test(given)) return given;
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}-${counter.toString(36)}`;
}
