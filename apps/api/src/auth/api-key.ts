import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sk-chat-';

/** A new user API key: 256 random bits, recognisable by its prefix. */
export function generateApiKey(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Keys are high-entropy random strings, so one SHA-256 is enough to make a stolen table useless
 * (a slow password hash would only add latency to every request).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Constant-time comparison of two SHA-256 digests. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** SHA-256 of a presented token, computed once per request and used both ways (admin check, key lookup). */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The token from an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
