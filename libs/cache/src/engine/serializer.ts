import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * JSON that keeps `Date`s, with an optional deflate step for large L2 values. Dates are written as
 * ISO strings and their paths listed beside the value (`{"v": …, "d": [["a", 0]]}`), so no shape of
 * user data can be mistaken for a Date. Everything the engine stores goes through it, so a value
 * read back from either tier has the same shape as the value written.
 */
const COMPRESSED = 'z1:';
const PLAIN = 'j1:';

type Path = Array<string | number>;

function datePaths(value: unknown, path: Path, out: Path[], depth: number): void {
  if (value instanceof Date) {
    out.push([...path]);
    return;
  }
  if (typeof value !== 'object' || value === null || depth > 256) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => datePaths(item, [...path, i], out, depth + 1));
    return;
  }
  // Only what JSON.stringify would write: own enumerable keys, no toJSON objects other than Date.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
  for (const [key, item] of Object.entries(value)) datePaths(item, [...path, key], out, depth + 1);
}

export function encode(value: unknown): string {
  const dates: Path[] = [];
  datePaths(value, [], dates, 0);
  return dates.length === 0 ? JSON.stringify({ v: value }) : JSON.stringify({ v: value, d: dates });
}

export function decode<T>(text: string): T {
  const { v, d } = JSON.parse(text) as { v: unknown; d?: Path[] };
  if (d === undefined) return v as T;
  let root = v;
  for (const path of d) {
    if (path.length === 0) {
      root = new Date(root as string);
      continue;
    }
    let holder = root as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    holder[last] = new Date(holder[last] as string);
  }
  return root as T;
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
