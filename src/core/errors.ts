/**
 * Errors the content core raises on purpose. Each has a stable code; the HTTP layer maps codes to
 * statuses and bodies (src/http/errors.ts), the CLI to a one-line reason and an exit code.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'not_found'
  | 'precondition_failed'
  | 'too_many_requests';

export class CmsError extends Error {
  override readonly name = 'CmsError';
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string) => new CmsError('bad_request', detail);
export const unauthorized = (detail: string) => new CmsError('unauthorized', detail);
export const notFound = (detail: string) => new CmsError('not_found', detail);
export const preconditionFailed = (detail: string) => new CmsError('precondition_failed', detail);
