import { describe, expect, it } from 'vitest';
import { MixRecorder } from './mix.recorder.js';

describe('MixRecorder', () => {
  it('records only between start and stop, per operation, with percentiles and a total', () => {
    const r = new MixRecorder();
    r.record('list conversations', 200, 999, undefined);
    r.start();
    for (let i = 1; i <= 100; i++) r.record('list conversations', 200, i, undefined);
    r.record('post message (repeated prompt)', 201, 500, 'HIT');
    r.record('post message (repeated prompt)', 201, 700, 'MISS');
    r.record('post message async', 503, 5, undefined);
    r.record('get conversation', 201, 3, undefined);
    r.stop();
    r.record('list conversations', 200, 999, undefined);

    const { operations, total } = r.figures(10);
    const list = operations.find((o) => o.operation === 'list conversations');
    expect(list).toMatchObject({ requests: 100, requestsPerSec: 10, p50Ms: 50, p95Ms: 95, p99Ms: 99, maxMs: 100, non2xx: 0 });
    expect(operations[0]?.operation).toBe('list conversations');
    expect(operations.find((o) => o.operation === 'post message (repeated prompt)')).toMatchObject({ xCacheHit: 1, xCacheMiss: 1 });
    expect(operations.find((o) => o.operation === 'post message async')).toMatchObject({ non2xx: 1, statuses: { '503': 1 } });
    // A 2xx that is not the documented status is counted apart.
    expect(operations.find((o) => o.operation === 'get conversation')).toMatchObject({ non2xx: 0, unexpected: 1 });
    expect(total).toMatchObject({ operation: 'all', requests: 104, non2xx: 1, unexpected: 1, xCacheHit: 1, xCacheMiss: 1, maxMs: 700 });
  });
});
