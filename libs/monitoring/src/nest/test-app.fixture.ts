/**
 * A small real Nest app on Fastify for the module's integration tests: TypeORM on a test database
 * with an `items` table, `PerformanceMonitoringModule.forRootAsync` fed the DataSource, and routes
 * that make the monitor's cases happen (N+1, a filter on an unindexed column, slow, fast, failing).
 * Not part of the build (`*.fixture.ts`).
 */
import { Body, Controller, Get, HttpCode, Module, NotFoundException, Param, Post, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { getDataSourceToken, InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import pg from 'pg';
import { EntitySchema, type DataSource, type Repository } from 'typeorm';
import { PerformanceMonitoringModule } from '../monitoring.module.js';
import type { PerformanceMonitoringOptions } from './monitoring.options.js';
import { PerformanceMonitorService } from './performance-monitor.service.js';

export interface Item {
  id: number;
  parentId: number | null;
  name: string;
  /** `code-<id>`; no index on it. */
  code: string;
}

export const ItemEntity = new EntitySchema<Item>({
  name: 'Item',
  tableName: 'items',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    parentId: { type: Number, name: 'parent_id', nullable: true },
    name: { type: String },
    code: { type: String },
  },
});

/** Creates `items` with `rows` rows (`id` 1..rows, `code` = `code-<id>`, no index but the primary key) and analyzes it. */
export async function seedItems(databaseUrl: string, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('CREATE TABLE items (id serial PRIMARY KEY, parent_id integer, name text NOT NULL, code text NOT NULL)');
    await client.query(
      `INSERT INTO items (parent_id, name, code)
       SELECT CASE WHEN g > 1 THEN 1 END, 'item ' || g, 'code-' || g FROM generate_series(1, $1::int) AS g`,
      [rows],
    );
    await client.query('ANALYZE items');
  } finally {
    await client.end();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `GET /probe/hang` waits until `release()`: a request that is in the handler for as long as a test needs. */
export const hangingRoute = {
  waiting: 0,
  finished: 0,
  gates: [] as Array<() => void>,
  release(): void {
    for (const open of this.gates.splice(0)) open();
  },
};

@Controller('items')
class ItemsController {
  constructor(@InjectRepository(ItemEntity) private readonly items: Repository<Item>) {}

  /** 10 × `findOneBy({ id })`: the N+1 shape. */
  @Get(':id/children-one-by-one')
  async childrenOneByOne(@Param('id') id: string): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 1; i <= 10; i++) {
      const item = await this.items.findOneBy({ id: Number(id) + i });
      if (item !== null) out.push(item);
    }
    return out;
  }

  /** 3 lookups: under the N+1 threshold. */
  @Get(':id/three')
  async three(@Param('id') id: string): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 1; i <= 3; i++) {
      const item = await this.items.findOneBy({ id: Number(id) + i });
      if (item !== null) out.push(item);
    }
    return out;
  }

  /** A JSON body, then one lookup per id: the N+1 shape behind body parsing. */
  @Post('lookup')
  @HttpCode(200)
  async lookup(@Body() body: { ids: number[] }): Promise<Item[]> {
    const out: Item[] = [];
    for (const id of body.ids) {
      const item = await this.items.findOneBy({ id });
      if (item !== null) out.push(item);
    }
    return out;
  }

  /** A filter on the unindexed `code` column. */
  @Get('by-code/:code')
  async byCode(@Param('code') code: string): Promise<Item[]> {
    return this.items.find({ where: { code } });
  }

  @Get(':id')
  async one(@Param('id') id: string): Promise<Item> {
    const item = await this.items.findOneBy({ id: Number(id) });
    if (item === null) throw new NotFoundException();
    return item;
  }
}

@Controller('probe')
class ProbeController {
  /** Sleeps 50 ms. */
  @Get('slow')
  async slow(): Promise<{ ok: true }> {
    await sleep(50);
    return { ok: true };
  }

  @Get('fast')
  fast(): { ok: true } {
    return { ok: true };
  }

  @Get('hang')
  async hang(): Promise<{ ok: true }> {
    hangingRoute.waiting++;
    await new Promise<void>((resolve) => hangingRoute.gates.push(resolve));
    hangingRoute.waiting--;
    hangingRoute.finished++;
    return { ok: true };
  }

  /** Throws: a 500. */
  @Get('fail')
  fail(): never {
    throw new Error('probe failure');
  }
}

@Module({})
class TestAppModule {
  static register(databaseUrl: string, monitoring: Partial<PerformanceMonitoringOptions>): DynamicModule {
    return {
      module: TestAppModule,
      imports: [
        TypeOrmModule.forRoot({ type: 'postgres', url: databaseUrl, entities: [ItemEntity], synchronize: false, poolSize: 4 }),
        TypeOrmModule.forFeature([ItemEntity]),
        PerformanceMonitoringModule.forRootAsync({
          inject: [getDataSourceToken()],
          useFactory: (dataSource: DataSource): PerformanceMonitoringOptions => ({ dataSource, ...monitoring }),
        }),
      ],
      controllers: [ItemsController, ProbeController],
    };
  }
}

export interface TestApp {
  app: NestFastifyApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
  service: PerformanceMonitorService;
  dataSource: DataSource;
  /** GET (or POST with a JSON body) on the app; the body is read. */
  request(path: string, body?: unknown): Promise<{ status: number; text: string; headers: Headers }>;
}

/** Starts the app on an ephemeral port. */
export async function startTestApp(databaseUrl: string, monitoring: Partial<PerformanceMonitoringOptions> = {}): Promise<TestApp> {
  const app = await NestFactory.create<NestFastifyApplication>(TestAppModule.register(databaseUrl, monitoring), new FastifyAdapter(), {
    logger: ['error', 'warn'],
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    service: app.get(PerformanceMonitorService),
    dataSource: app.get<DataSource>(getDataSourceToken()),
    async request(path, body) {
      const res = await fetch(
        `${url}${path}`,
        body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      );
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
  };
}
