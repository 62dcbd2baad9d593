import { expect } from 'vitest';
import type { HttpResponse } from './http.js';
import type { ErrorBody } from './types.js';

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The message of an error body as one string (it may be a list). */
export function errorText(body: ErrorBody): string {
  return Array.isArray(body.message) ? body.message.join('; ') : body.message;
}

/** True when `body` has the contract's error shape for `status`. */
export function isErrorShape(body: unknown, status: number): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  const message = b['message'];
  const messageOk =
    (typeof message === 'string' && message.length > 0) ||
    (Array.isArray(message) && message.length > 0 && message.every((m) => typeof m === 'string'));
  return b['statusCode'] === status && typeof b['error'] === 'string' && (b['error']).length > 0 && messageOk;
}

/**
 * Asserts an error answer: the status, a JSON body of the contract's shape, and, when
 * `mentions` is given, that the message names it (e.g. the offending field).
 */
export function expectError(res: HttpResponse<unknown>, status: number, mentions?: string | RegExp): ErrorBody {
  expect(res.status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/application\/json/);
  expect(isErrorShape(res.body, status), `error body shape: ${res.text.slice(0, 500)}`).toBe(true);
  const body = res.body as ErrorBody;
  if (mentions !== undefined) {
    const text = errorText(body);
    if (typeof mentions === 'string') expect(text).toContain(mentions);
    else expect(text).toMatch(mentions);
  }
  // docs/behaviour-notes.md: a 5xx adds an `errorId` (the detail is in the log under it).
  if (status < 500) expect(body.errorId, 'errorId on a 4xx').toBeUndefined();
  else expect(typeof body.errorId, `errorId on a ${status}: ${res.text.slice(0, 300)}`).toBe('string');
  return body;
}

export function expectOk<T>(res: HttpResponse<T>, status = 200): T {
  expect(res.status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`).toBe(status);
  return res.body;
}

/** An error body with the given id replaced by a placeholder, to compare "not found" answers. */
export function normalizedError(body: unknown, ...ids: string[]): unknown {
  let text = JSON.stringify(body);
  for (const id of ids) text = text.split(id).join('<id>');
  return JSON.parse(text);
}
