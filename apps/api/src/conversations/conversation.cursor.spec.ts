import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../common/app-error.js';
import { decodeConversationCursor, encodeConversationCursor } from './conversation.cursor.js';

const ID = '0b5f8c1e-9d2a-4c3b-8e7f-1a2b3c4d5e6f';
const encode = (text: string) => Buffer.from(text).toString('base64url');

describe('conversation cursor', () => {
  it('round-trips updatedAt (to the millisecond) and id', () => {
    const cursor = { updatedAt: new Date('2026-11-22T10:11:12.345Z'), id: ID };
    const encoded = encodeConversationCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeConversationCursor(encoded)).toEqual(cursor);
  });

  it('is the base64url of "<iso>|<id>"', () => {
    const encoded = encodeConversationCursor({ updatedAt: new Date('2026-01-02T03:04:05.006Z'), id: ID });
    expect(Buffer.from(encoded, 'base64url').toString('utf8')).toBe(`2026-01-02T03:04:05.006Z|${ID}`);
  });

  it('round-trips any date and UUID', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), fc.uuid(), (updatedAt, id) => {
        expect(decodeConversationCursor(encodeConversationCursor({ updatedAt, id }))).toEqual({ updatedAt, id });
      }),
    );
  });

  it.each([
    ['empty', ''],
    ['not base64', '%%%'],
    ['no separator', encode(`2026-11-22T10:00:00.000Z${ID}`)],
    ['no id', encode('2026-11-22T10:00:00.000Z|')],
    ['an id that is not a UUID', encode('2026-11-22T10:00:00.000Z|42')],
    ['an invalid date', encode(`yesterday|${ID}`)],
    ['an empty date', encode(`|${ID}`)],
    ['an extra field', encode(`2026-11-22T10:00:00.000Z|${ID}|x`)],
    ['plain text', 'hello'],
  ])('rejects %s with invalid_input', (_label, value) => {
    let error: unknown;
    try {
      decodeConversationCursor(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'invalid_input', message: 'cursor is not a cursor this API returned' });
  });

  it('throws only invalid_input AppErrors on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (value) => {
        try {
          decodeConversationCursor(value);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
          expect((error as AppError).code).toBe('invalid_input');
        }
      }),
    );
  });
});
