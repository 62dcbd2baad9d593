import { createTestDatabase } from '@chat/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { call, newUser, startInProcessApp, type InProcessApp } from '../test-support/in-process-app.js';

/** A dependency that goes away gives a 503 with Retry-After (database) or graceful degradation (Redis). */
describe('dependencies down', () => {
  const apps: InProcessApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it('database unreachable: ready and user routes answer 503 with Retry-After; recovery is automatic', async () => {
    const database = await createTestDatabase('chat_down');
    const app = await startInProcessApp({ DATABASE_URL: database.url, DB_CONNECT_TIMEOUT_MS: '1000', DB_POOL_MAX: '2' });
    apps.push(app);
    const user = await newUser(app);
    const admin = new pg.Client({ connectionString: database.url.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database.name]);

      const ready = await call(app, 'GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).not.toBeNull();
      expect(ready.body.components.database.status).toBe('down');

      const list = await call(app, 'GET', '/v1/conversations', user.apiKey);
      expect(list.status).toBe(503);
      expect(list.headers.get('retry-after')).not.toBeNull();
      expect(list.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(typeof list.body.errorId).toBe('string');

      await admin.query(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS true`);
      expect((await call(app, 'GET', '/health/ready')).status).toBe(200);
      expect((await call(app, 'GET', '/v1/conversations', user.apiKey)).status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
      await app.close();
      apps.pop();
      await database.drop();
    }
  });

  it('Redis unreachable: the API keeps serving (rate limit counts in process); readiness reports Redis down', async () => {
    const app = await startInProcessApp({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_PER_MINUTE: '1000' });
    apps.push(app);
    const user = await newUser(app);
    const created = await call(app, 'POST', '/v1/conversations', user.apiKey, { title: 'still works' });
    expect(created.status).toBe(201);
    const ready = await call(app, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.components.redis.status).toBe('down');
    expect(ready.body.components.database.status).toBe('up');
  });
});
