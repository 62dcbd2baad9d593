import { describe, expect, it } from 'vitest';
import { EXPECTED_STATUS, mixWeights, nextRequest, pick, POPULAR_PROMPTS, seededRandom, type ConnectionState, type Draw } from './mix.plan.js';

const state = (seed = 1): ConnectionState => ({
  user: { authorization: 'Bearer k', conversationIds: ['c1', 'c2', 'c3'] },
  random: seededRandom(seed),
  serial: 0,
  tag: 'c0',
});

describe('mix plan', () => {
  it('draws each operation in proportion to its weight', () => {
    const weights = mixWeights(0.5);
    const random = seededRandom(42);
    const counts: Partial<Record<Draw, number>> = {};
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const d = pick(weights, random());
      counts[d] = (counts[d] ?? 0) + 1;
    }
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    for (const [draw, w] of Object.entries(weights) as Array<[Draw, number]>) {
      expect((counts[draw] ?? 0) / n).toBeCloseTo(w / total, 2);
    }
  });

  it('never draws a zero weight, and the repeat share moves posts between new and repeated prompts', () => {
    expect(mixWeights(0).repeat).toBe(0);
    expect(mixWeights(1).post + mixWeights(1).postTool).toBe(0);
    const noRepeat = mixWeights(0);
    const random = seededRandom(7);
    for (let i = 0; i < 10_000; i++) expect(pick(noRepeat, random())).not.toBe('repeat');
    // Edges of [0, 1).
    expect(pick(noRepeat, 0)).toBe('list');
    expect(pick(noRepeat, 0.999999999)).toBe('asyncTool');
  });

  it('is reproducible from its seed', () => {
    const a = seededRandom(3);
    const b = seededRandom(3);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('follows a created conversation with a repeated popular prompt into it', () => {
    const s = state();
    const weights = { ...mixWeights(1), list: 0, get: 0, page: 0, stream: 0, async: 0, tool: 0, asyncTool: 0 };
    const create = nextRequest(s, weights, 1);
    expect(create).toMatchObject({ operation: 'create conversation', method: 'POST', path: '/v1/conversations' });
    s.repeatInto = 'new-id';
    const post = nextRequest(s, weights, 1);
    expect(post.operation).toBe('post message (repeated prompt)');
    expect(post.path).toBe('/v1/conversations/new-id/messages');
    expect(POPULAR_PROMPTS).toContain(JSON.parse(post.body ?? '{}').content);
    expect(s.repeatInto).toBeUndefined();
  });

  it('builds requests the API contract accepts, for every operation', () => {
    const s = state(11);
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const r = nextRequest(s, mixWeights(0.5), 0.5);
      seen.add(r.operation);
      if (r.operation === 'create conversation') s.repeatInto = 'x';
      expect(EXPECTED_STATUS[r.operation]).toBeGreaterThanOrEqual(200);
      if (r.method === 'POST') {
        const body = JSON.parse(r.body ?? '');
        if (r.path.endsWith('/messages')) {
          expect(typeof body.content).toBe('string');
          expect(['sync', 'async', 'stream']).toContain(body.mode);
        }
        if (r.path.includes('/tools/')) expect(typeof body.arguments.expression).toBe('string');
      } else {
        expect(r.body).toBeUndefined();
      }
    }
    expect(seen.size).toBe(Object.keys(EXPECTED_STATUS).length);
  });

  it('makes new prompts unique per connection and request', () => {
    const a = state(1);
    const b = { ...state(1), tag: 'c1' };
    const weights = { ...mixWeights(0), list: 0, get: 0, page: 0, postTool: 0, stream: 0, async: 0, tool: 0, asyncTool: 0 };
    const bodies = new Set<string>();
    for (let i = 0; i < 50; i++) {
      bodies.add(nextRequest(a, weights, 0).body ?? '');
      bodies.add(nextRequest(b, weights, 0).body ?? '');
    }
    expect(bodies.size).toBe(100);
  });
});
