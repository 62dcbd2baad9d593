import { describe, expect, it } from 'vitest';
import { bearerToken, digestsEqual, generateApiKey, hashApiKey, tokenDigest } from './api-key.js';

describe('generateApiKey', () => {
  it('is sk-chat- followed by 43 base64url characters (256 bits)', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^sk-chat-[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice('sk-chat-'.length), 'base64url')).toHaveLength(32);
  });

  it('never repeats', () => {
    const keys = new Set(Array.from({ length: 1_000 }, generateApiKey));
    expect(keys.size).toBe(1_000);
  });
});

describe('hashApiKey', () => {
  it('is the SHA-256 hex digest', () => {
    expect(hashApiKey('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('is 64 lower-case hex characters, stable, and different per key', () => {
    const key = generateApiKey();
    const hash = hashApiKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hash);
    expect(hashApiKey(generateApiKey())).not.toBe(hash);
    expect(hash).not.toContain(key);
  });
});

describe('tokenDigest and digestsEqual', () => {
  it.each([
    ['equal strings', 'admin-token-0123456789', 'admin-token-0123456789', true],
    ['two empty strings', '', '', true],
    ['unicode', 'zażółć', 'zażółć', true],
    ['one character different', 'admin-token-0123456789', 'admin-token-0123456788', false],
    ['a prefix', 'admin-token', 'admin-token-0123456789', false],
    ['different case', 'Token', 'token', false],
    ['empty against non-empty', '', 'x', false],
    ['trailing space', 'token', 'token ', false],
  ])('%s → %s', (_label, a, b, expected) => {
    expect(digestsEqual(tokenDigest(a), tokenDigest(b))).toBe(expected);
    expect(digestsEqual(tokenDigest(b), tokenDigest(a))).toBe(expected);
  });

  it('the digest, in hex, is the stored key hash', () => {
    const key = generateApiKey();
    expect(tokenDigest(key).toString('hex')).toBe(hashApiKey(key));
  });

  it('digests of different lengths are never equal', () => {
    expect(digestsEqual(Buffer.alloc(32), Buffer.alloc(31))).toBe(false);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer sk-chat-abc', 'sk-chat-abc'],
    ['bearer sk-chat-abc', 'sk-chat-abc'],
    ['BEARER sk-chat-abc', 'sk-chat-abc'],
    ['Bearer   sk-chat-abc', 'sk-chat-abc'],
    ['Bearer\tsk-chat-abc', 'sk-chat-abc'],
    ['Bearer sk-chat-abc  ', 'sk-chat-abc'],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['a scheme without token', 'Bearer'],
    ['a scheme and blanks', 'Bearer    '],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['no scheme', 'sk-chat-abc'],
    ['no space after the scheme', 'Bearersk-chat-abc'],
    ['two tokens', 'Bearer a b'],
    ['leading whitespace', ' Bearer sk-chat-abc'],
    ['a scheme that only starts with Bearer', 'Bearerish sk-chat-abc'],
  ])('is null for %s', (_label, header) => {
    expect(bearerToken(header)).toBeNull();
  });
});
