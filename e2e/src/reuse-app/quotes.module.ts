/**
 * A second, small Nest app ("quotes") that reuses the performance layer the way any app of one's
 * own would: it imports the four libraries by their package names only and configures them with
 * `PerformanceIntegrationModule.forRootAsync`, from a config module of its own and its TypeORM
 * DataSource. `e2e/src/reuse-app.e2e-spec.ts` proves it gets a cache, a task queue, alerts and
 * `/metrics` from that, and that it shuts down cleanly.
 */
import { asyncMigrations } from '@chat/async';
import { PerformanceIntegrationModule, type PerformanceIntegrationOptions } from '@chat/integration';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { QuoteEntity } from './quote.entity.js';
import { QuotesConfigModule, QUOTES_CONFIG, type QuotesConfig } from './quotes.config.js';
import { QuotesController } from './quotes.controller.js';
import { QuotesErrorsFilter } from './quotes-errors.filter.js';
import { CreateQuotesTable1764000000000 } from './quotes.migration.js';
import { QuotesService } from './quotes.service.js';

/** The integration's options from the app's config and DataSource (what `forRootAsync`'s factory returns). */
export function performanceOptions(config: QuotesConfig, dataSource: DataSource): PerformanceIntegrationOptions {
  return {
    redisUrl: config.redisUrl,
    dataSource,
    version: '1.0.0',
    // The backlog (pending tasks) is read for the monitor at this pace too.
    backlogEveryMs: config.evaluateEveryMs,
    cache: { keyPrefix: `${config.keyPrefix}-cache` },
    queue: {
      queueName: 'quotes-tasks',
      prefix: `${config.keyPrefix}-bull`,
      concurrency: 4,
      maxPending: 1_000,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      reconcileIntervalMs: 5_000,
    },
    monitor: {
      slowQueryMs: 250,
      alertRules: config.alertRules,
      evaluateEveryMs: config.evaluateEveryMs,
    },
  };
}

@Module({})
export class QuotesAppModule {
  static forRoot(config: QuotesConfig): DynamicModule {
    const configModule = QuotesConfigModule.forRoot(config);
    return {
      module: QuotesAppModule,
      imports: [
        configModule,
        TypeOrmModule.forRootAsync({
          imports: [configModule],
          inject: [QUOTES_CONFIG],
          useFactory: (c: QuotesConfig) => ({
            type: 'postgres' as const,
            url: c.databaseUrl,
            entities: [QuoteEntity],
            // The app's own tables and the task table of @chat/async, in one migration run at start.
            migrations: [CreateQuotesTable1764000000000, ...asyncMigrations],
            migrationsRun: true,
            synchronize: false,
            poolSize: 8,
            extra: { connectionTimeoutMillis: 5_000, statement_timeout: 15_000 },
          }),
        }),
        PerformanceIntegrationModule.forRootAsync({
          imports: [configModule],
          inject: [QUOTES_CONFIG, getDataSourceToken()],
          useFactory: performanceOptions,
          // Decided when the module is declared: each subsystem can be turned off, and /metrics placed.
          enabled: config.subsystems,
          metrics: { path: '/metrics' },
        }),
      ],
      controllers: [QuotesController],
      providers: [QuotesService, { provide: APP_FILTER, useClass: QuotesErrorsFilter }],
    };
  }
}
