import { createTestDatabase, TEST_REDIS_URL, type TestDatabase } from '@chat/testing';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll } from 'vitest';
import { BullMqDriver } from '../drivers/bullmq.driver.js';
import { asyncMigrations } from '../store/tasks.migration.js';
import { describeProcessorContract } from './task-processor.contract.js';

/**
 * The processor contract with the BullMQ driver on the shared Redis at TEST_REDIS_URL, on a fresh
 * PostgreSQL database. Every queue of this file lives under its own key prefix (and each test uses
 * its own queue name), so parallel runs never collide; the keys are deleted at the end.
 */
const prefix = `test-async-${randomUUID()}`;
let database: TestDatabase;
let dataSource: DataSource;

async function deleteKeysUnder(pattern: string): Promise<void> {
  const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

beforeAll(async () => {
  database = await createTestDatabase('async_contract');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: asyncMigrations, migrationsRun: true });
  await dataSource.initialize();
});

afterAll(async () => {
  if (dataSource?.isInitialized) await dataSource.destroy();
  await database?.drop();
  await deleteKeysUnder(`${prefix}:*`);
});

describeProcessorContract('BullMQ driver', {
  dataSource: () => dataSource,
  makeDriver: async (queueName) => {
    const driver = new BullMqDriver({
      redisUrl: TEST_REDIS_URL,
      queueName,
      prefix,
      lockMs: 30_000,
      stalledIntervalMs: 15_000,
      commandTimeoutMs: 2_000,
    });
    if (!(await driver.ready(5_000))) throw new Error(`Redis at ${TEST_REDIS_URL} did not answer`);
    return driver;
  },
});
