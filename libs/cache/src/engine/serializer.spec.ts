import { describe, expect, it } from 'vitest';
import { decode, encode, pack, unpack } from './serializer.js';

describe('serializer', () => {
  it('keeps Dates, top-level and nested, and everything JSON has', () => {
    const value = { at: new Date('2026-11-22T10:00:00.123Z'), list: [new Date(0), 1, 'x', null, { deep: new Date(5) }], flag: true };
    const back = decode<typeof value>(encode(value));
    expect(back).toEqual(value);
    expect(back.at).toBeInstanceOf(Date);
    expect(back.list[0]).toBeInstanceOf(Date);
    expect(decode(encode(new Date(7)))).toEqual(new Date(7));
  });

  it('never mistakes user data for a Date, whatever its shape', () => {
    for (const value of [{ $date: '2026-01-01T00:00:00.000Z' }, { v: 1, d: [[]] }, '2026-01-01T00:00:00.000Z', [{ $date: 'x' }]]) {
      expect(decode(encode(value))).toEqual(value);
    }
  });

  it('deflates only above the threshold, and unpacks both forms', () => {
    const small = encode({ a: 1 });
    const large = encode({ text: 'abc '.repeat(10_000) });
    expect(pack(small, 1_024).startsWith('j1:')).toBe(true);
    const packed = pack(large, 1_024);
    expect(packed.startsWith('z1:')).toBe(true);
    expect(packed.length).toBeLessThan(large.length / 10);
    expect(unpack(pack(small, 1_024))).toBe(small);
    expect(unpack(packed)).toBe(large);
    expect(() => unpack('??')).toThrow('unknown cache payload format');
  });
});
