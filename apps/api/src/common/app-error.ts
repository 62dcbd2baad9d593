/**
 * Domain errors with stable codes. Services throw these; {@link toErrorResponse} maps each code to
 * HTTP in one place, exhaustively, so a new code fails to compile until it has a status.
 */
export type AppErrorCode =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'model_rejected'
  | 'model_bad_response'
  | 'model_unavailable'
  | 'model_timeout'
  | 'dependency_unavailable';

export interface AppErrorDetails {
  /** Seconds a client should wait before trying again (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  /** Extra fields added to the error body (e.g. the id of the user message that was kept). */
  body?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details: AppErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AppError';
  }

  /** A copy with more body fields, e.g. to say which user message was stored before a model failed. */
  withBody(extra: Record<string, unknown>): AppError {
    return new AppError(this.code, this.message, { ...this.details, body: { ...this.details.body, ...extra } });
  }
}

export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} not found`);
}

export function invalidInput(message: string): AppError {
  return new AppError('invalid_input', message);
}

export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
