/**
 * Every error a client can receive, in one catalogue: status, title and message of the seed's
 * error body. Bodies are `{"title", "message", "http_status_code", "detail"?}`; never a stack trace.
 */
import type { FastifyReply } from 'fastify';
import { CmsError, storageFailure, type ErrorCode } from '../core/errors.js';

export interface ErrorKind {
  status: number;
  title: string;
  message: string;
}

export const ERRORS = {
  bad_request: { status: 400, title: 'Bad Request', message: 'Validation for this particular item failed' },
  unauthorized: { status: 401, title: 'Unauthorized', message: 'Token is wrong' },
  not_found: { status: 404, title: 'Not Found', message: 'The requested resource or endpoint could not be found' },
  method_not_allowed: { status: 405, title: 'Method Not Allowed', message: 'The method is not allowed for the requested endpoint' },
  precondition_failed: { status: 412, title: 'Precondition Failed', message: 'The resource has changed since it was last read' },
  payload_too_large: { status: 413, title: 'Payload Too Large', message: 'The request body is larger than allowed' },
  request_timeout: { status: 408, title: 'Request Timeout', message: 'The request took too long to arrive' },
  headers_too_large: { status: 431, title: 'Request Header Fields Too Large', message: 'The request line or headers are larger than allowed' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type', message: 'Send JSON or form-urlencoded bodies' },
  too_many_requests: { status: 429, title: 'Too Many Requests', message: 'Too many failed authentication attempts' },
  conflict: { status: 409, title: 'Conflict', message: 'The stored entry cannot be changed this way' },
  entry_unreadable: { status: 500, title: 'Entry Unreadable', message: 'The stored entry file cannot be parsed' },
  insufficient_storage: { status: 507, title: 'Insufficient Storage', message: 'The server has no room left to store this' },
  storage_error: { status: 500, title: 'Storage Error', message: 'The storage refused the operation' },
  storage_unavailable: { status: 503, title: 'Service Unavailable', message: 'The storage cannot be reached; retry later' },
  internal: { status: 500, title: 'Internal Server Error', message: 'Something went wrong on the server' },
  service_unavailable: { status: 503, title: 'Service Unavailable', message: 'The server is busy; retry later' },
} as const satisfies Record<ErrorCode | string, ErrorKind>;

export type HttpErrorCode = keyof typeof ERRORS;

/** An error raised by the HTTP layer itself (body too large, wrong method, …). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly code: HttpErrorCode,
    readonly detail?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? code);
  }
}

export function errorBody(code: HttpErrorCode, detail?: string): string {
  const kind = ERRORS[code];
  const body: Record<string, unknown> = { title: kind.title, message: kind.message, http_status_code: kind.status };
  if (detail) body['detail'] = detail;
  return JSON.stringify(body);
}

export function sendError(reply: FastifyReply, code: HttpErrorCode, detail?: string, headers: Record<string, string> = {}): FastifyReply {
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  return reply
    .code(ERRORS[code].status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(errorBody(code, detail));
}

/** Fastify's own errors (body parsing, limits) mapped onto the catalogue. */
function classifyFrameworkError(err: { code?: string; statusCode?: number; message: string }): { code: HttpErrorCode; detail: string } | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large', detail: 'the request body exceeds the configured limit (server.body_limit)' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', detail: 'unsupported Content-Type; use application/json or application/x-www-form-urlencoded' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'bad_request', detail: 'the JSON body is empty' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'bad_request', detail: 'the Content-Length does not match the body' };
  }
  if (err.statusCode === 413) return { code: 'payload_too_large', detail: 'the request body exceeds the configured limit' };
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return { code: 'bad_request', detail: err.message };
  }
  return undefined;
}

/** Seconds a client is asked to wait when the storage cannot be reached (a database reconnecting). */
const STORAGE_RETRY_AFTER = '2';

export function toHttpError(err: unknown): { code: HttpErrorCode; detail?: string; headers?: Record<string, string>; internal: boolean } {
  if (err instanceof CmsError && err.code === 'storage_unavailable') {
    return { code: err.code, detail: err.detail, headers: { 'retry-after': STORAGE_RETRY_AFTER }, internal: false };
  }
  if (err instanceof CmsError) return { code: err.code, detail: err.detail, internal: false };
  if (err instanceof HttpError) return { code: err.code, detail: err.detail, headers: err.headers, internal: false };
  const storage = storageFailure(err);
  if (storage?.code === 'storage_unavailable') return toHttpError(storage);
  if (storage) return { code: storage.code, detail: storage.detail, internal: ERRORS[storage.code].status >= 500 };
  if (err && typeof err === 'object' && 'message' in err) {
    const known = classifyFrameworkError(err as { code?: string; statusCode?: number; message: string });
    if (known) return { ...known, internal: false };
  }
  return { code: 'internal', internal: true };
}
