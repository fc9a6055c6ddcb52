/**
 * Errors the content core raises on purpose. Each has a stable code; the HTTP layer maps codes to
 * statuses and bodies (src/http/errors.ts), the CLI to a one-line reason and an exit code.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'not_found'
  | 'precondition_failed'
  | 'too_many_requests'
  | 'conflict'
  | 'entry_unreadable'
  | 'insufficient_storage'
  | 'storage_error'
  | 'storage_unavailable';

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
export const conflict = (detail: string) => new CmsError('conflict', detail);

/** What the storage's own failures mean for a client; errno codes of file systems included. */
const ERRNO_REASONS: Record<string, { code: ErrorCode; reason: string }> = {
  ENOSPC: { code: 'insufficient_storage', reason: 'no space left on the device (ENOSPC)' },
  EDQUOT: { code: 'insufficient_storage', reason: 'the disk quota is exhausted (EDQUOT)' },
  EACCES: { code: 'storage_error', reason: 'the server may not access the file (EACCES)' },
  EPERM: { code: 'storage_error', reason: 'the file system does not permit it (EPERM)' },
  EROFS: { code: 'storage_error', reason: 'the file system is read-only (EROFS)' },
  EIO: { code: 'storage_error', reason: 'input/output error (EIO)' },
  EMFILE: { code: 'storage_error', reason: 'too many open files (EMFILE)' },
  ENFILE: { code: 'storage_error', reason: 'too many open files (ENFILE)' },
  ENAMETOOLONG: { code: 'bad_request', reason: 'a segment is too long for the file system (ENAMETOOLONG)' },
  ENOTDIR: { code: 'bad_request', reason: 'a file on disk is in the way of a folder the id needs' },
  EISDIR: { code: 'bad_request', reason: 'a folder on disk is in the way of the entry file' },
  EEXIST: { code: 'bad_request', reason: 'something on disk is in the way' },
  ENOTEMPTY: { code: 'bad_request', reason: 'the target folder is not empty' },
};

/**
 * Maps a failure of the storage to a client error (undefined when it is none we know): a
 * StorageError by its reason, a file-system error by its errno code. `what` names the operation
 * and entry for the message (paths on the server are never shown).
 */
export function storageFailure(err: unknown, what = 'storage'): CmsError | undefined {
  if (err instanceof CmsError) return err;
  if (err instanceof Error && err.name === 'StorageError') {
    const reason = (err as Error & { reason: string }).reason;
    if (reason === 'unreadable') return new CmsError('entry_unreadable', err.message);
    if (reason === 'not_utf8') return conflict(err.message);
    if (reason === 'missing') return notFound(err.message);
    if (reason === 'conflict') return conflict(err.message);
    if (reason === 'unavailable') return new CmsError('storage_unavailable', `${what}: ${err.message}`);
    return badRequest(reason === 'exists' ? `target: ${err.message}` : err.message);
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const known = errno ? ERRNO_REASONS[errno] : undefined;
  return known ? new CmsError(known.code, `${what}: ${known.reason}`) : undefined;
}
