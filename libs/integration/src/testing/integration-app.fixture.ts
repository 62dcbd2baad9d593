/**
 * A small real Nest app on Fastify for the integration tests of `PerformanceIntegrationModule`:
 * TypeORM on a test database (the async lib's migrations run), the module declared with
 * `forRootAsync` (options from a small config module of the test) or `forRoot`, a few routes that
 * use the service, and helpers to look at Redis and at this process's sockets.
 * Not part of the build (`*.fixture.ts`).
 */
import { asyncMigrations, type TaskDefinition } from '@chat/async';
import { TEST_REDIS_URL } from '@chat/testing';
import { Controller, Get, Inject, Injectable, Module, Param, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { readFile, readdir, readlink } from 'node:fs/promises';
import type { DataSource } from 'typeorm';
import { PerformanceIntegrationModule } from '../integration.module.js';
import type { PerformanceIntegrationExtras, PerformanceIntegrationOptions } from '../integration.options.js';
import { PerformanceIntegrationService } from '../integration.service.js';

/** What the test's own config module provides: the integration's options come from it (forRootAsync). */
export interface TestConfig {
  redisUrl: string | null;
  /** Unique per test file: the cache's key prefix, the queue's prefix and name derive from it. */
  prefix: string;
  version: string;
}

export const TEST_CONFIG = Symbol('TEST_CONFIG');

@Module({})
export class TestConfigModule {
  static register(config: TestConfig): DynamicModule {
    return { module: TestConfigModule, providers: [{ provide: TEST_CONFIG, useValue: config }], exports: [TEST_CONFIG] };
  }
}

/** The integration's options for a test app: short intervals so that tests need not wait long. */
export function integrationOptions(config: TestConfig, dataSource: DataSource | null): PerformanceIntegrationOptions {
  return {
    redisUrl: config.redisUrl,
    dataSource,
    version: config.version,
    backlogEveryMs: 200,
    // Generous: the machine is shared and loaded; a ping that misses this says `down` (the Redis-down tests shorten it).
    pingTimeoutMs: 5_000,
    cache: { keyPrefix: `${config.prefix}-cache` },
    queue: {
      queueName: `${config.prefix}-tasks`,
      prefix: `${config.prefix}-bull`,
      concurrency: 4,
      reconcileIntervalMs: 1_000,
      shutdownTimeoutMs: 8_000,
      leaseMs: 10_000,
      backoff: { baseMs: 100, maxMs: 500 },
      commandTimeoutMs: 2_000,
    },
    monitor: { evaluateEveryMs: 200 },
  };
}

/** Task handlers the app registers at start (in a provider's onModuleInit, as an app does). */
export type TestTasks = Record<string, TaskDefinition<unknown, unknown>>;
const TEST_TASKS = Symbol('TEST_TASKS');

@Injectable()
class TaskRegistrar implements OnModuleInit {
  constructor(
    @Inject(PerformanceIntegrationService) private readonly integration: PerformanceIntegrationService,
    @Inject(TEST_TASKS) private readonly tasks: TestTasks,
  ) {}

  onModuleInit(): void {
    for (const [type, definition] of Object.entries(this.tasks)) this.integration.registerTask(type, definition);
  }
}

@Controller('probe')
class ProbeController {
  constructor(@Inject(PerformanceIntegrationService) private readonly integration: PerformanceIntegrationService) {}

  /** A conversation read through the conversation cache. */
  @Get('conversations/:id')
  async conversation(@Param('id') id: string): Promise<{ cached: boolean; value: unknown }> {
    return this.integration.conversation('owner-1', id, () => Promise.resolve({ id, title: `conversation ${id}` }));
  }

  @Get('ok')
  ok(): { ok: true } {
    return { ok: true };
  }

  /** A 500. */
  @Get('fail')
  fail(): never {
    throw new Error('probe failure');
  }
}

export interface StartOptions {
  databaseUrl: string;
  config: TestConfig;
  /** `forRootAsync` (default): options from `TestConfigModule`; `forRoot`: options built here, `dataSource` required. */
  declare?: 'forRootAsync' | 'forRoot';
  /** For `forRoot`: the app's DataSource, initialized by the test. */
  dataSource?: DataSource;
  extras?: PerformanceIntegrationExtras;
  /** Changes to the options the factory returns. */
  adjust?: (options: PerformanceIntegrationOptions) => PerformanceIntegrationOptions;
  tasks?: TestTasks;
}

function appModule(options: StartOptions): DynamicModule {
  const extras = { metrics: false as const, ...options.extras };
  const adjust = options.adjust ?? ((o: PerformanceIntegrationOptions) => o);
  const integration =
    options.declare === 'forRoot'
      ? PerformanceIntegrationModule.forRoot({ ...adjust(integrationOptions(options.config, options.dataSource ?? null)), ...extras })
      : PerformanceIntegrationModule.forRootAsync({
          imports: [TestConfigModule.register(options.config)],
          inject: [TEST_CONFIG, getDataSourceToken()],
          useFactory: (config: TestConfig, dataSource: DataSource) => adjust(integrationOptions(config, dataSource)),
          ...extras,
        });
  @Module({})
  class TestAppModule {}
  return {
    module: TestAppModule,
    imports: [
      ...(options.declare === 'forRoot'
        ? []
        : [TypeOrmModule.forRoot({ type: 'postgres', url: options.databaseUrl, migrations: asyncMigrations, migrationsRun: true, poolSize: 5 })]),
      integration,
    ],
    controllers: [ProbeController],
    providers: [TaskRegistrar, { provide: TEST_TASKS, useValue: options.tasks ?? {} }],
  };
}

export interface IntegrationApp {
  app: NestFastifyApplication;
  url: string;
  service: PerformanceIntegrationService;
  get(path: string): Promise<{ status: number; body: unknown }>;
}

export async function startIntegrationApp(options: StartOptions): Promise<IntegrationApp> {
  const app = await NestFactory.create<NestFastifyApplication>(appModule(options), new FastifyAdapter(), {
    logger: ['error'],
    // A failing start rejects (Nest's default aborts the process).
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    service: app.get(PerformanceIntegrationService),
    async get(path) {
      const res = await fetch(`${url}${path}`);
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body };
    },
  };
}

// ── waiting ─────────────────────────────────────────────────────────────────────────────────────

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it answers something other than null/undefined/false (the machine is shared: bound generously). */
export async function eventually<T>(probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`);
    }
    await sleep(25);
  }
}

/**
 * Waits until the monitor has timed `atLeast` requests of `route`: Fastify's onResponse hook, where
 * a request is timed, can run after the client already has the response.
 */
export async function timedRequests(t: IntegrationApp, route: string, atLeast: number): Promise<void> {
  await eventually(() => (t.service.monitorReport()?.routes.find((r) => r.route === route)?.count ?? 0) >= atLeast, `${atLeast} requests of ${route} timed`);
}

// ── Redis ──────────────────────────────────────────────────────────────────────────────────────

export function adminRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, connectionName: 'integration-test-admin' });
}

export async function deleteKeysUnder(admin: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) deleted += await admin.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

export async function countKeysUnder(admin: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

/** Redis's `CLIENT LIST`, one record per connection (`addr`, `name`, `cmd`, ...). */
export async function clientList(admin: Redis): Promise<Array<Record<string, string>>> {
  const text = (await admin.call('CLIENT', 'LIST')) as string;
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => Object.fromEntries(line.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

/**
 * This process's established TCP connections to `remotePort`, as `ip:port` of their local end (what
 * Redis's `CLIENT LIST` shows as `addr`): the sockets whose inodes are among `/proc/self/fd`.
 * The libs do not name most of their Redis connections, so this is how a test tells its own.
 */
export async function ownConnectionsTo(remotePort: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1] !== undefined) inodes.add(match[1]);
  }
  const out = new Set<string>();
  const table = await readFile('/proc/net/tcp', 'utf8');
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const [local, remote, state, inode] = [f[1], f[2], f[3], f[9]];
    if (local === undefined || remote === undefined || inode === undefined || state !== '01' || !inodes.has(inode)) continue;
    const [rIp, rPort] = remote.split(':');
    if (rIp === undefined || rPort === undefined || parseInt(rPort, 16) !== remotePort) continue;
    const [lIp, lPort] = local.split(':');
    if (lIp === undefined || lPort === undefined) continue;
    const ip = [3, 2, 1, 0].map((i) => parseInt(lIp.slice(i * 2, i * 2 + 2), 16)).join('.');
    out.add(`${ip}:${parseInt(lPort, 16)}`);
  }
  return out;
}

/** Active resources keeping the event loop alive, counted by type. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}
