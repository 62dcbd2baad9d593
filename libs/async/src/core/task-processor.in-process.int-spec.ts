import { createTestDatabase, type TestDatabase } from '@chat/testing';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll } from 'vitest';
import { InProcessDriver } from '../drivers/in-process.driver.js';
import { asyncMigrations } from '../store/tasks.migration.js';
import { describeProcessorContract } from './task-processor.contract.js';

/** The processor contract with the in-process driver (embedded mode), on a fresh PostgreSQL database. */
let database: TestDatabase;
let dataSource: DataSource;

beforeAll(async () => {
  database = await createTestDatabase('async_contract');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: asyncMigrations, migrationsRun: true });
  await dataSource.initialize();
});

afterAll(async () => {
  if (dataSource?.isInitialized) await dataSource.destroy();
  await database?.drop();
});

describeProcessorContract('in-process driver', {
  dataSource: () => dataSource,
  makeDriver: () => Promise.resolve(new InProcessDriver()),
});
