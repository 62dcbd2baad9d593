import { createTestDatabase, type TestDatabase } from '@chat/testing';
import { DataSource, EntitySchema, QueryFailedError, type MigrationInterface, type QueryRunner } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QueryFingerprinter } from './fingerprint.js';
import { NPlusOneDetector } from './n-plus-one.js';
import { QueryCapture, type CapturedQuery, type QueryCaptureOptions } from './query-capture.js';
import { QueryStats } from './query-stats.js';
import { MonitorRequestContext } from './request-context.js';

/**
 * The query capture against real PostgreSQL: every way TypeORM sends a query is captured exactly
 * once, with its duration, rows, fingerprint and route, and nothing the caller sees changes.
 */

interface Item {
  id: number;
  name: string;
}

const ItemEntity = new EntitySchema<Item>({
  name: 'Item',
  tableName: 'items',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    name: { type: String },
  },
});

class CreateWidgets1700000000000 implements MigrationInterface {
  name = 'CreateWidgets1700000000000';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE widgets (id serial PRIMARY KEY, label text NOT NULL)');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE widgets');
  }
}

interface PoolInternals {
  master: { _clients: { query: unknown }[] };
}

let database: TestDatabase;
let dataSource: DataSource;
let fingerprinter: QueryFingerprinter;
const captures: QueryCapture[] = [];
const extraDataSources: DataSource[] = [];

function newDataSource(extra: Partial<{ migrations: (new () => MigrationInterface)[] }> = {}): DataSource {
  const ds = new DataSource({ type: 'postgres', url: database.url, entities: [ItemEntity], poolSize: 4, ...extra });
  extraDataSources.push(ds);
  return ds;
}

/** An instrumented capture on `ds` and the samples it reports. */
function capture(ds: DataSource = dataSource, options: QueryCaptureOptions = {}): { capture: QueryCapture; samples: CapturedQuery[] } {
  const instance = new QueryCapture(ds, { fingerprinter, ...options }).instrument();
  captures.push(instance);
  const samples: CapturedQuery[] = [];
  instance.onQuery((sample) => samples.push(sample));
  return { capture: instance, samples };
}

beforeAll(async () => {
  database = await createTestDatabase('monitoring_q');
  dataSource = new DataSource({ type: 'postgres', url: database.url, entities: [ItemEntity], synchronize: true, poolSize: 4 });
  await dataSource.initialize();
  await dataSource.query(`INSERT INTO items (name) SELECT 'item ' || n FROM generate_series(1, 20) AS n`);
  fingerprinter = await QueryFingerprinter.create();
});

afterEach(() => {
  for (const c of captures.splice(0)) c.uninstrument();
});

afterAll(async () => {
  for (const ds of extraDataSources) if (ds.isInitialized) await ds.destroy();
  if (dataSource?.isInitialized) await dataSource.destroy();
  await database?.drop();
});

describe('QueryCapture: every query TypeORM sends, once, results unchanged', () => {
  it('captures a repository find', async () => {
    const repo = dataSource.getRepository(ItemEntity);
    const expected = await repo.findOneBy({ id: 3 });
    const { samples } = capture();
    const found = await repo.findOneBy({ id: 3 });
    expect(found).toEqual(expected);
    expect(samples).toHaveLength(1);
    const [sample] = samples;
    expect(sample).toMatchObject({ operation: 'SELECT', rows: 1, failed: false, fingerprintSource: 'parser', tables: ['items'], parameters: [3], route: null });
    expect(sample?.durationMs).toBeGreaterThan(0);
    expect(sample?.sql).toMatch(/FROM "items"/);
    // The literal form of the same query has the same fingerprint.
    expect(sample?.fingerprint).toBe(fingerprinter.fingerprint((sample?.sql ?? '').replace('$1', '3')).fingerprint);
    expect(sample?.startedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('captures a query builder query', async () => {
    const qb = () => dataSource.getRepository(ItemEntity).createQueryBuilder('i').where('i.id IN (:...ids)', { ids: [1, 2, 3] }).orderBy('i.id');
    const expected = await qb().getMany();
    const { samples } = capture();
    expect(await qb().getMany()).toEqual(expected);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ operation: 'SELECT', rows: 3, parameters: [1, 2, 3] });
    expect(samples[0]?.durationMs).toBeGreaterThan(0);
  });

  it('captures a raw dataSource.query', async () => {
    const { samples } = capture();
    expect(await dataSource.query('SELECT $1::int + 1 AS n', [41])).toEqual([{ n: 42 }]);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ sql: 'SELECT $1::int + 1 AS n', parameters: [41], rows: 1, operation: 'SELECT' });
    expect(samples[0]?.durationMs).toBeGreaterThan(0);
  });

  it('captures every statement of a transaction, each once, with the rows it affected', async () => {
    const { samples } = capture();
    const updated = await dataSource.transaction(async (manager) => {
      const inserted = await manager.insert(ItemEntity, { name: 'in a transaction' });
      const id = (inserted.identifiers[0] as { id: number }).id;
      return manager.update(ItemEntity, { id }, { name: 'renamed' });
    });
    expect(updated.affected).toBe(1);
    expect(samples.map((s) => s.operation)).toEqual(['START', 'INSERT', 'UPDATE', 'COMMIT']);
    expect(samples.map((s) => s.rows)).toEqual([null, 1, 1, null]);
    for (const s of samples) expect(s.durationMs).toBeGreaterThan(0);
    expect(new Set(samples.map((s) => s.fingerprint)).size).toBe(4);
  });

  it('reports a failing query with its error and rethrows it unchanged', async () => {
    const bare = await dataSource.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    const { samples } = capture();
    const thrown = await dataSource.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(QueryFailedError);
    expect(bare).toBeInstanceOf(QueryFailedError);
    expect((thrown as QueryFailedError).message).toBe((bare as QueryFailedError).message);
    expect((thrown as { code?: string }).code).toBe('42P01');
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ failed: true, rows: null, operation: 'SELECT', tables: ['no_such_table'] });
    // The very error object pg raised: TypeORM wraps it as driverError, as it would without the capture.
    expect(samples[0]?.error).toBe((thrown as QueryFailedError).driverError);
    expect(samples[0]?.durationMs).toBeGreaterThan(0);
    // And the connection still works.
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(samples).toHaveLength(2);
  });

  it('captures pg call forms TypeORM uses internally: callback, config object, multi-statement', async () => {
    const { samples } = capture();
    const pool = (dataSource.driver as unknown as { master: { connect(): Promise<PgTestClient> } }).master;
    const client = await pool.connect();
    try {
      const viaCallback = await new Promise<{ rows: unknown[] }>((resolve, reject) => {
        client.query('SELECT 7 AS seven', (err, res) => (err ? reject(err) : resolve(res)));
      });
      expect(viaCallback.rows).toEqual([{ seven: 7 }]);
      const viaConfig = await client.query({ text: 'SELECT id FROM items WHERE id = ANY($1) ORDER BY id', values: [[1, 2]] });
      expect(viaConfig.rows).toEqual([{ id: 1 }, { id: 2 }]);
      await client.query('SELECT 1; SELECT 2 UNION SELECT 3');
    } finally {
      client.release();
    }
    expect(samples.map((s) => [s.sql.slice(0, 16), s.rows])).toEqual([
      ['SELECT 7 AS seve', 1],
      ['SELECT id FROM i', 2],
      ['SELECT 1; SELECT', 3],
    ]);
  });

  it('is idempotent, stops on uninstrument() and leaves the clients as they were', async () => {
    const { capture: instance, samples } = capture();
    instance.instrument();
    await dataSource.query('SELECT 1');
    expect(samples).toHaveLength(1);
    instance.uninstrument();
    instance.uninstrument();
    await dataSource.query('SELECT 1');
    await dataSource.getRepository(ItemEntity).findOneBy({ id: 1 });
    expect(samples).toHaveLength(1);
    const clients = (dataSource.driver as unknown as PoolInternals).master._clients;
    expect(clients.length).toBeGreaterThan(0);
    for (const client of clients) expect(Object.prototype.hasOwnProperty.call(client, 'query')).toBe(false);
    expect(instance.stats()).toMatchObject({ clients: 0, pools: 0 });
    // Instrumenting again works.
    instance.instrument();
    await dataSource.query('SELECT 1');
    expect(samples).toHaveLength(2);
  });

  it('refuses a second capture on the same DataSource', () => {
    capture();
    expect(() => new QueryCapture(dataSource, { fingerprinter }).instrument()).toThrow(/already instrumented/);
  });

  it('instrumented before initialize(): captures connect-time queries and migrations', async () => {
    const ds = newDataSource({ migrations: [CreateWidgets1700000000000] });
    const { samples } = capture(ds);
    await ds.initialize();
    expect(samples.some((s) => /version\(\)/.test(s.sql))).toBe(true);
    await ds.runMigrations();
    const create = samples.filter((s) => s.sql.startsWith('CREATE TABLE widgets'));
    expect(create).toHaveLength(1);
    expect(create[0]).toMatchObject({ operation: 'CREATE', tables: ['widgets'], failed: false });
    expect(samples.some((s) => /INSERT INTO "migrations"/.test(s.sql))).toBe(true);
    await ds.destroy();
  });

  it('only forwards when no one listens and no request is current', async () => {
    const instance = new QueryCapture(dataSource, { fingerprinter, context: new MonitorRequestContext() }).instrument();
    captures.push(instance);
    expect(await dataSource.query('SELECT 3 AS three')).toEqual([{ three: 3 }]);
    expect(instance.stats().captured).toBe(0);
    const samples: CapturedQuery[] = [];
    const off = instance.onQuery((sample) => samples.push(sample));
    await dataSource.query('SELECT 3 AS three');
    off();
    await dataSource.query('SELECT 3 AS three');
    expect(samples).toHaveLength(1);
    expect(instance.stats().captured).toBe(1);
  });

  it('a listener that throws does not affect the query', async () => {
    const errors: unknown[] = [];
    const { capture: instance, samples } = capture(dataSource, { onListenerError: (e) => errors.push(e) });
    instance.onQuery(() => {
      throw new Error('listener bug');
    });
    expect(await dataSource.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
    expect(samples).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });
});

describe('QueryCapture with MonitorRequestContext', () => {
  it('attributes queries to the request they ran in; overlapping requests do not mix', async () => {
    const context = new MonitorRequestContext();
    const { samples } = capture(dataSource, { context });
    const work = (who: string) =>
      context.runToCompletion({ route: `/who/${who}`, method: 'GET', requestId: `req-${who}` }, async () => {
        for (let i = 0; i < 3; i++) {
          await dataSource.query('SELECT $1::text AS who, pg_sleep(0.01)', [who]);
          await dataSource.getRepository(ItemEntity).findOneBy({ id: i + 1 });
        }
      });
    await Promise.all([work('a'), work('b')]);
    await dataSource.query('SELECT $1::text AS who', ['outside']);

    const raw = samples.filter((s) => s.sql.includes('AS who'));
    expect(raw).toHaveLength(7);
    for (const s of raw) {
      const who = s.parameters[0] as string;
      expect(s.route).toBe(who === 'outside' ? null : `GET /who/${who}`);
      expect(s.requestId).toBe(who === 'outside' ? null : `req-${who}`);
    }
    const byRoute = samples.reduce<Record<string, number>>((acc, s) => ({ ...acc, [String(s.route)]: (acc[String(s.route)] ?? 0) + 1 }), {});
    expect(byRoute).toEqual({ 'GET /who/a': 6, 'GET /who/b': 6, null: 1 });
  });

  it('reports an N+1 (10 × SELECT … WHERE id = $1) with its route and count, but not 4', async () => {
    const context = new MonitorRequestContext();
    const detector = new NPlusOneDetector();
    detector.attach(context);
    // No listener: inside a request the context alone makes the capture measure.
    const bare = new QueryCapture(dataSource, { fingerprinter, context }).instrument();
    captures.push(bare);
    const repo = dataSource.getRepository(ItemEntity);
    const loadOneByOne = (route: string, n: number) =>
      context.runToCompletion({ route, method: 'GET' }, async () => {
        const ids = await dataSource.query('SELECT id FROM items ORDER BY id LIMIT $1', [n]);
        for (const { id } of ids as { id: number }[]) await repo.findOneBy({ id });
      });

    await loadOneByOne('/items/one-by-one', 10);
    await loadOneByOne('/items/a-few', 4);

    expect(bare.stats().captured).toBe(16);
    const findings = detector.findings();
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ route: 'GET /items/one-by-one', maxCount: 10, lastCount: 10, occurrences: 1, operation: 'SELECT' });
    expect(findings[0]?.exampleSql).toMatch(/WHERE .*"id" = \$1/);
    expect(findings[0]?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('bounded memory under many distinct shapes', () => {
  it('QueryStats keeps at most its cap of fingerprints while the totals stay exact', async () => {
    const cap = 50;
    const stats = new QueryStats({ maxFingerprints: cap });
    const { capture: instance } = capture();
    instance.onQuery((sample) => stats.record(sample));
    // 120 distinct shapes (a column name is part of the shape; literals, aliases and list lengths are not).
    const shapes = Array.from({ length: 120 }, (_, i) => `SELECT x.c${i} FROM (SELECT id AS c${i} FROM items) x WHERE x.c${i} = $1`);
    expect(new Set(shapes.map((sql) => fingerprinter.fingerprint(sql).fingerprint)).size).toBe(120);
    for (const sql of shapes) await dataSource.query(sql, [1]);
    expect(stats.size).toBeLessThanOrEqual(cap);
    expect(stats.size).toBe(cap);
    expect(stats.totals()).toMatchObject({ calls: 120, rows: 120, evicted: { fingerprints: 70 } });
    // The most recent shapes are the ones kept.
    expect(stats.all()[0]?.exampleSql).toBe(shapes[119]);
  });
});

interface PgTestClient {
  query(text: string, callback: (err: Error | null, res: { rows: unknown[] }) => void): void;
  query(config: { text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  query(text: string): Promise<unknown>;
  release(): void;
}
