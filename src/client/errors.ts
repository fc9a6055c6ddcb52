/** The client's one error type: an answer that was not a success, with the server's JSON error body. */
import type { ErrorBody } from './types.js';

export class FlextypeError extends Error {
  override readonly name = 'FlextypeError';
  /** The HTTP status (400, 401, 404, 412, …). */
  readonly status: number;
  /** The JSON error body, when the server sent one. */
  readonly body: ErrorBody | undefined;
  readonly headers: Headers;
  readonly method: string;
  readonly path: string;

  constructor(init: { status: number; body: ErrorBody | undefined; headers: Headers; method: string; path: string }) {
    super(`${init.method} ${init.path}: ${init.status} ${init.body?.title ?? 'error'}${init.body?.detail ? ` (${init.body.detail})` : ''}`);
    this.status = init.status;
    this.body = init.body;
    this.headers = init.headers;
    this.method = init.method;
    this.path = init.path;
  }

  /** The server's precise reason (e.g. which parameter is missing), if any. */
  get detail(): string | undefined {
    return this.body?.detail;
  }

  /** True for a stale If-Match (the entry changed since it was read). */
  get isPreconditionFailed(): boolean {
    return this.status === 412;
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (value === null || typeof value !== 'object') return false;
  const body = value as Record<string, unknown>;
  return typeof body['title'] === 'string' && typeof body['message'] === 'string' && typeof body['http_status_code'] === 'number';
}
