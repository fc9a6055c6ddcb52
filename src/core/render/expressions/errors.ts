/** The typed failures of an expression: each renders the tag raw, and is a 400 in the Query API. */

export type ExpressionErrorKind = 'syntax' | 'unknown_function' | 'unknown_variable' | 'runtime';

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  constructor(
    readonly kind: ExpressionErrorKind,
    message: string,
    /** Character offset in the expression, for syntax errors. */
    readonly position?: number,
  ) {
    super(position === undefined ? message : `${message} at position ${position}`);
  }
}

export const syntaxError = (message: string, position: number) => new ExpressionError('syntax', message, position);
export const runtimeError = (message: string) => new ExpressionError('runtime', message);
