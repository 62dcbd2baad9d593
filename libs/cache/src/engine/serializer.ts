import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * JSON that keeps `Date`s (tagged as `{"$date": iso}`), with an optional deflate step for large L2
 * values. Everything stored by the engine goes through it, so a value read back from either tier
 * has the same shape as the value written.
 */
const DATE_TAG = '$date';
const COMPRESSED = 'z1:';
const PLAIN = 'j1:';

export function encode(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key: string, v: unknown) {
    // JSON.stringify has already called Date#toJSON on `v`; the holder still has the Date.
    const original = key === '' ? value : this[key];
    return original instanceof Date ? { [DATE_TAG]: original.toISOString() } : v;
  });
}

export function decode<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const tagged = v as Record<string, unknown>;
      const iso = tagged[DATE_TAG];
      if (typeof iso === 'string' && Object.keys(tagged).length === 1) return new Date(iso);
    }
    return v;
  }) as T;
}

/** For L2: deflate payloads above `threshold` bytes; a prefix says which form it is. */
export function pack(encoded: string, threshold: number): string {
  if (Buffer.byteLength(encoded) <= threshold) return PLAIN + encoded;
  return COMPRESSED + deflateRawSync(encoded).toString('base64');
}

export function unpack(stored: string): string {
  if (stored.startsWith(COMPRESSED)) return inflateRawSync(Buffer.from(stored.slice(COMPRESSED.length), 'base64')).toString('utf8');
  if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
  throw new Error('unknown cache payload format');
}
