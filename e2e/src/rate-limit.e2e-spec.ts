/**
 * RATE_LIMIT_PER_MINUTE per user key: the request over the limit is a 429 with Retry-After, other
 * users are unaffected; with Redis, two API processes on one database share the limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startApi, type StartedApi } from '@chat/testing';
import { ApiClient, http } from './support/http.js';
import { newUser, type TestUser } from './support/api.js';
import { expectError } from './support/assertions.js';

const LIMIT = 5;

/**
 * A limiter may count in windows aligned to the clock minute; six quick requests that straddle a
 * minute boundary would then be split over two windows. Start away from the boundary.
 */
async function awayFromMinuteBoundary(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 54_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
}

async function spend(client: ApiClient, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await client.get('/v1/conversations')).status);
  return statuses;
}

function expectLimited(res: Awaited<ReturnType<ApiClient['get']>>): void {
  expectError(res, 429);
  const retryAfter = res.headers.get('retry-after') ?? '';
  expect(retryAfter, `Retry-After missing; headers: ${JSON.stringify([...res.headers])}`).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
}

describe('one process, in-memory limit', () => {
  let api: StartedApi;
  let first: TestUser;
  let second: TestUser;

  beforeAll(async () => {
    api = await startApi({ rateLimitPerMinute: LIMIT });
    [first, second] = await Promise.all([newUser(api), newUser(api)]);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it(`lets ${LIMIT} requests through, answers the next with 429 and Retry-After; another user is unaffected`, async () => {
    await awayFromMinuteBoundary();
    expect(await spend(first.client, LIMIT)).toEqual(Array(LIMIT).fill(200));
    expectLimited(await first.client.get('/v1/conversations'));
    // Any /v1 route counts against the same user.
    expectLimited(await first.client.post('/v1/conversations', {}));
    expect(await spend(second.client, LIMIT)).toEqual(Array(LIMIT).fill(200));
    expectLimited(await second.client.get('/v1/tools'));
  });

  it('does not limit the health endpoints', async () => {
    for (let i = 0; i < LIMIT + 2; i++) expect((await http(api.url, { path: '/health/live' })).status).toBe(200);
  });
});

describe('two processes sharing PostgreSQL and Redis', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: StartedApi;
  let b: StartedApi;

  beforeAll(async () => {
    database = await createTestDatabase();
    // One after the other: the first one runs the migrations.
    a = await startApi({ database: { url: database.url }, redis: true, rateLimitPerMinute: LIMIT });
    b = await startApi({ database: { url: database.url }, redis: true, rateLimitPerMinute: LIMIT, adminToken: a.adminToken });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await database?.drop();
  });

  it('counts one user across both processes', async () => {
    const user = await newUser(a);
    const onA = new ApiClient(a.url, user.apiKey);
    const onB = new ApiClient(b.url, user.apiKey);
    const other = await newUser(b);
    await awayFromMinuteBoundary();

    const statuses = [...(await spend(onA, 3)), ...(await spend(onB, 2))];
    expect(statuses).toEqual(Array(LIMIT).fill(200));
    expectLimited(await onA.get('/v1/conversations'));
    expectLimited(await onB.get('/v1/conversations'));
    // Another user on the same processes is unaffected.
    expect(await spend(new ApiClient(a.url, other.apiKey), 1)).toEqual([200]);
    expect(await spend(other.client, 1)).toEqual([200]);
  });
});
