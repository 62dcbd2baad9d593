import { createTestDatabase, type TestDatabase } from '@chat/testing';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../bootstrap.js';
import { loadConfig } from '../config/app-config.js';

export interface InProcessApp {
  url: string;
  adminToken: string;
  database: TestDatabase | null;
  get<T>(token: Type<T> | symbol | string): T;
  context: INestApplicationContext;
  close(): Promise<void>;
}

/**
 * The whole API in this process on a free port, over a fresh PostgreSQL database (or the given
 * env), for integration tests that need to reach inside (services, the DataSource) as well as HTTP.
 */
export async function startInProcessApp(env: Record<string, string> = {}): Promise<InProcessApp> {
  const database = env['DATABASE_URL'] === undefined ? await createTestDatabase('chat_int') : null;
  const config = loadConfig({
    PORT: '0',
    ADMIN_TOKEN: 'integration-admin-token',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'error',
    ...(database === null ? {} : { DATABASE_URL: database.url }),
    ...env,
  });
  let running: RunningApp;
  try {
    running = await startApp(config, pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }));
  } catch (error) {
    await database?.drop();
    throw error;
  }
  return {
    url: running.url,
    adminToken: running.adminToken,
    database,
    context: running.app,
    get: <T>(token: Type<T> | symbol | string) => running.app.get<T>(token, { strict: false }),
    close: async () => {
      await running.close();
      await database?.drop();
    },
  };
}

/** JSON over HTTP with a bearer token; returns status, headers and parsed body. */
export async function call(
  app: { url: string },
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export async function newUser(app: InProcessApp, name = 'user'): Promise<{ id: string; apiKey: string }> {
  const response = await call(app, 'POST', '/v1/admin/users', app.adminToken, { name });
  if (response.status !== 201) throw new Error(`create user: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { id: string; apiKey: string };
}
