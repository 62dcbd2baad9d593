import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveMix } from './mix.driver.js';
import { mixWeights } from './mix.plan.js';
import { MixRecorder } from './mix.recorder.js';

/**
 * The driver attributes every latency to the operation that was sent, through autocannon's
 * internals (see the handoff in mix.driver.ts): checked against a loopback server that answers
 * each operation with its own delay and status, and records which user sent what.
 */
let server: Server;
let url = '';
const seen: Array<{ method: string; path: string; authorization: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = req.url ?? '';
        seen.push({ method: req.method ?? '', path, authorization: String(req.headers.authorization) });
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = (status: number, json: unknown, headers: Record<string, string> = {}): void => {
          const text = JSON.stringify(json);
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
          res.end(text);
        };
        if (req.method === 'GET') return answer(200, { items: [] });
        if (path === '/v1/conversations') return answer(201, { id: `new-${seen.length}` });
        if (path.startsWith('/v1/tools/')) return answer(JSON.parse(body).mode === 'async' ? 202 : 200, {});
        const mode = (JSON.parse(body) as { mode: string }).mode;
        if (mode === 'async') return answer(202, {});
        // A model answer: slow, and a cached one says so.
        await sleep(40);
        return answer(mode === 'stream' ? 200 : 201, {}, path.startsWith('/v1/conversations/new-') ? { 'x-cache': 'HIT' } : { 'x-cache': 'MISS' });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('mix driver', () => {
  it('attributes statuses, latencies and X-Cache to the operation sent, one user per connection', async () => {
    const recorder = new MixRecorder();
    recorder.start();
    const users = [
      { authorization: 'Bearer u0', conversationIds: ['a0', 'b0'] },
      { authorization: 'Bearer u1', conversationIds: ['a1', 'b1'] },
    ];
    const totals = await driveMix(
      { endpoints: [{ url, connections: 2 }, { url, connections: 2 }], users, weights: mixWeights(0.5), repeatShare: 0.5, durationSeconds: 2, timeoutSeconds: 5 },
      recorder,
    );
    recorder.stop();
    const { operations, total } = recorder.figures(totals.durationSeconds);
    expect(totals.errors).toBe(0);
    // Every answer had the operation's documented status: nothing was attributed to the wrong one.
    expect(total.non2xx + total.unexpected).toBe(0);
    expect(total.requests).toBeGreaterThan(50);
    const of = (name: string) => operations.find((o) => o.operation === name);
    for (const fast of ['list conversations', 'read message page', 'tool invoke (sync)', 'create conversation']) expect(of(fast)?.p50Ms ?? 0).toBeLessThan(30);
    for (const slow of ['post message (new prompt)', 'post message (repeated prompt)']) expect(of(slow)?.p50Ms ?? 0).toBeGreaterThanOrEqual(35);
    // Repeated prompts go to the conversation just created (HIT here), new ones to the user's own (MISS).
    expect(of('post message (repeated prompt)')).toMatchObject({ xCacheMiss: 0 });
    expect(of('post message (repeated prompt)')?.xCacheHit).toBeGreaterThan(0);
    expect(of('post message (new prompt)')).toMatchObject({ xCacheHit: 0 });
    // Every message post of a user goes to that user's conversations or to one it just created.
    for (const s of seen.filter((r) => r.path.includes('/messages'))) {
      const user = s.authorization.slice('Bearer '.length);
      expect(s.path.startsWith('/v1/conversations/new-') || s.path.includes(`${user.replace('u', 'a')}/`) || s.path.includes(`${user.replace('u', 'b')}/`)).toBe(true);
    }
  });
});
