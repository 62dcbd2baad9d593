import { invalidInput } from './app-error.js';

/** What an `Idempotency-Key` may be: 1–200 visible ASCII characters (a UUID is the usual choice). */
const KEY = /^[\x21-\x7e]{1,200}$/;

/** The header's value, checked; `undefined` when it was not sent. */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header) || !KEY.test(header)) {
    throw invalidInput('Idempotency-Key must be one header of 1 to 200 visible ASCII characters');
  }
  return header;
}
