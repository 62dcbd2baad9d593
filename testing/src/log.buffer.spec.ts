import { describe, expect, it } from 'vitest';
import { LogBuffer } from './log.buffer.js';

describe('LogBuffer', () => {
  it('keeps everything below the bound', () => {
    const logs = new LogBuffer(100);
    logs.append('a\n');
    logs.append('b\n');
    expect(logs.toString()).toBe('a\nb\n');
  });

  it('drops the oldest output first and says so', () => {
    const logs = new LogBuffer(10);
    for (const line of ['first\n', 'second\n', 'third\n']) logs.append(line);
    expect(logs.toString()).toBe('[... 13 earlier characters dropped ...]\nthird\n');
  });
});
