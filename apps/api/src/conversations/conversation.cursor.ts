import { invalidInput } from '../common/app-error.js';
import { isUuid } from '../common/ids.js';

/** Keyset position in a user's conversation list: (updatedAt, id), newest first. Opaque to clients. */
export interface ConversationCursor {
  updatedAt: Date;
  id: string;
}

export function encodeConversationCursor(cursor: ConversationCursor): string {
  return Buffer.from(`${cursor.updatedAt.toISOString()}|${cursor.id}`).toString('base64url');
}

export function decodeConversationCursor(value: string): ConversationCursor {
  const [iso, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const updatedAt = new Date(iso ?? '');
  if (rest.length > 0 || id === undefined || !isUuid(id) || Number.isNaN(updatedAt.getTime())) {
    throw invalidInput('cursor is not a cursor this API returned');
  }
  return { updatedAt, id };
}
