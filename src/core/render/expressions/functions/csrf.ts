/** `csrf`: a hidden input with a fresh 128-hex-character token, as the reference renders it. */
import { randomBytes } from 'node:crypto';
import { functionTable } from './common.js';

export const csrfFunctions = functionTable({
  csrf: () => `<input type="hidden" name="__csrf_token" value="${randomBytes(64).toString('hex')}">`,
});
