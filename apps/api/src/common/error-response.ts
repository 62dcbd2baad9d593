import { InvalidCursorError, QueueFullError, QueueUnavailableError } from '@chat/async';
import { HttpException, HttpStatus } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppError, assertUnreachable, type AppErrorCode } from './app-error.js';

/** The contract's error body; a 5xx adds `errorId` so an operator can find the logged detail. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  errorId?: string;
  [extra: string]: unknown;
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Set when the error is unexpected and its detail must be logged under `body.errorId`. */
  logDetail?: unknown;
}

const DATABASE_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement_timeout)
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08006',
  '3D000', // invalid_catalog_name: the database is gone
]);

/** Connection-level refusals that share a generic SQLSTATE with unrelated errors, told by their text. */
const DATABASE_DOWN_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|is not currently accepting connections|the database system is (starting up|shutting down)/i;

function statusOf(code: AppErrorCode): number {
  switch (code) {
    case 'invalid_input':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'model_rejected':
    case 'model_bad_response':
      return 502;
    case 'model_unavailable':
    case 'dependency_unavailable':
      return 503;
    case 'model_timeout':
      return 504;
    default:
      return assertUnreachable(code);
  }
}

function reason(status: number): string {
  const name = HttpStatus[status];
  if (typeof name !== 'string') return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function isDatabaseDown(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown };
  if (typeof e.code === 'string' && DATABASE_DOWN_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && DATABASE_DOWN_MESSAGES.test(e.message)) {
    return true;
  }
  return e.driverError !== undefined && e.driverError !== error && isDatabaseDown(e.driverError);
}

/** PostgreSQL refusing a string (NUL byte, invalid encoding): the input was wrong, not the server. */
function isInvalidText(error: unknown): boolean {
  const code = (error as { driverError?: { code?: unknown }; code?: unknown } | null)?.driverError?.code ?? (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/** The task processor's refusals, in the API's terms. */
function fromQueueError(error: unknown): AppError | null {
  if (error instanceof QueueFullError) {
    return new AppError('dependency_unavailable', `The task queue is full (${error.pending} pending, limit ${error.limit}); try again shortly`, {
      retryAfterSeconds: error.retryAfterSeconds,
      cause: error,
    });
  }
  if (error instanceof QueueUnavailableError) {
    return new AppError('dependency_unavailable', 'The task queue is not reachable; nothing was stored, try again shortly', {
      retryAfterSeconds: error.retryAfterSeconds,
      cause: error,
    });
  }
  if (error instanceof InvalidCursorError) return new AppError('invalid_input', 'cursor is not valid');
  return null;
}

/** Maps anything thrown while serving a request to the contract's error shape. */
export function toErrorResponse(thrown: unknown): ErrorResponse {
  const error = fromQueueError(thrown) ?? thrown;
  if (error instanceof AppError) {
    const status = statusOf(error.code);
    const headers: Record<string, string> = {};
    if (error.details.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(error.details.retryAfterSeconds)));
    } else if (status === 503) {
      headers['retry-after'] = '5';
    }
    // Extra fields never replace the contract's three.
    const body: ErrorBody = { ...error.details.body, statusCode: status, error: reason(status), message: error.message };
    if (status < 500) return { status, headers, body };
    // A dependency failed: the client gets an id, the log gets the detail under that id.
    body.errorId = randomUUID();
    return { status, headers, body, logDetail: error.details.cause ?? error };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    let message: string | string[] = error.message;
    if (typeof response === 'object' && response !== null && 'message' in response) {
      const m = response.message;
      if (typeof m === 'string' || (Array.isArray(m) && m.every((x) => typeof x === 'string'))) message = m;
    } else if (typeof response === 'string') {
      message = response;
    }
    if (status >= 500) return internal(error);
    return { status, headers: {}, body: { statusCode: status, error: reason(status), message } };
  }
  // Errors raised by Fastify before a handler runs (body parsing, content type, body size).
  if (typeof error === 'object' && error !== null && 'statusCode' in error && 'code' in error) {
    const { statusCode, code, message } = error as { statusCode: unknown; code: unknown; message: unknown };
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && typeof code === 'string') {
      return {
        status: statusCode,
        headers: {},
        body: { statusCode, error: reason(statusCode), message: fastifyMessage(code, String(message)) },
      };
    }
  }
  if (isInvalidText(error)) {
    return { status: 400, headers: {}, body: { statusCode: 400, error: 'Bad Request', message: 'a text value is not valid (NUL characters are not allowed)' } };
  }
  if (isDatabaseDown(error)) {
    const errorId = randomUUID();
    return {
      status: 503,
      headers: { 'retry-after': '5' },
      body: { statusCode: 503, error: reason(503), message: 'The database is not answering; try again shortly', errorId },
      logDetail: error,
    };
  }
  return internal(error);
}

function fastifyMessage(code: string, message: string): string {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Content-Type must be application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Body is empty but Content-Type is application/json';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    default:
      // Fastify's own message already says so ("Body is not valid JSON but content-type is ..."): not twice.
      if (message.startsWith('Body is not valid JSON')) return message;
      return code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? `Body is not valid JSON: ${message}` : message;
  }
}

function internal(error: unknown): ErrorResponse {
  const errorId = randomUUID();
  return {
    status: 500,
    headers: {},
    body: { statusCode: 500, error: 'Internal Server Error', message: `Internal error (id ${errorId})`, errorId },
    logDetail: error,
  };
}
