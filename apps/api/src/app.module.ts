import { PerformanceIntegrationModule } from '@chat/integration';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AiModule } from './ai/ai.module.js';
import { AuthGuard } from './auth/auth.guard.js';
import { RUNTIME_SECRETS, type RuntimeSecrets } from './auth/runtime-secrets.js';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { CLOCK, systemClock } from './common/clock.js';
import { requestContext } from './common/request-context.js';
import { StrictValidationPipe } from './common/validation.pipe.js';
import { APP_CONFIG, type AppConfig } from './config/app-config.js';
import { APP_VERSION } from './config/app-version.js';
import { ConversationsModule } from './conversations/conversations.module.js';
import { databaseOptions, type DatabaseTarget } from './database/database.options.js';
import { HealthModule } from './health/health.module.js';
import { MessagesModule } from './messages/messages.module.js';
import { MetricsController } from './monitoring/metrics.controller.js';
import { PublicApiModule } from './public-api.module.js';
import { UserThrottlerGuard } from './rate-limit/user-throttler.guard.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RedisModule } from './redis/redis.module.js';
import { ToolsModule } from './tools/tools.module.js';
import { UsersModule } from './users/users.module.js';

export interface AppModuleOptions {
  config: AppConfig;
  secrets: RuntimeSecrets;
  database: DatabaseTarget;
}

@Global()
@Module({})
class CoreModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: options.config },
        { provide: RUNTIME_SECRETS, useValue: options.secrets },
        { provide: CLOCK, useValue: systemClock },
      ],
      exports: [APP_CONFIG, RUNTIME_SECRETS, CLOCK],
    };
  }
}

/**
 * The cache, the task queue and the monitor, configured from the app's config through one module;
 * the app's services use them only through `PerformanceIntegrationService`.
 */
function performanceModule(options: AppModuleOptions): DynamicModule {
  const runsTasks = options.config.role !== 'api';
  return PerformanceIntegrationModule.forRootAsync({
    inject: [APP_CONFIG, getDataSourceToken()],
    useFactory: (config: AppConfig, dataSource: DataSource) => ({
      redisUrl: config.redisUrl,
      dataSource,
      version: APP_VERSION,
      cache: {
        keyPrefix: 'chat-cache',
        aiResponse: { scope: config.aiCacheScope },
      },
      queue: {
        queueName: config.tasks.queue,
        worker: runsTasks,
        concurrency: config.tasks.concurrency,
        maxPending: config.tasks.maxPending,
        defaultAttempts: config.tasks.attempts,
        defaultTimeoutMs: config.tasks.timeoutMs,
        backoff: { baseMs: config.tasks.backoffMs, maxMs: Math.max(config.tasks.backoffMs, 60_000) },
        leaseMs: config.tasks.leaseMs,
        reconcileIntervalMs: config.tasks.reconcileIntervalMs,
        staleAfterMs: Math.max(2 * config.tasks.reconcileIntervalMs, 1_000),
        // Part of the process's own deadline: the rest gives the tasks back and closes connections.
        shutdownTimeoutMs: Math.floor(config.shutdownTimeoutMs * 0.6),
      },
      monitor: {
        // PGlite serves one session: no second connection for EXPLAIN there.
        ...(options.database.embedded ? { explain: false as const } : {}),
        // The request context the app already opens: no second AsyncLocalStorage per request.
        requestCarrier: () => requestContext.getStore(),
        slowQueryMs: config.monitor.slowQueryMs,
        alertRules: config.monitor.alertRules,
        alertWebhookUrl: config.monitor.alertWebhookUrl,
      },
    }),
    enabled: { monitor: options.config.monitor.enabled },
    metrics: { controller: MetricsController },
  });
}

@Module({})
export class AppModule {
  /**
   * Roles: `api` serves the routes and submits tasks; `worker` runs tasks and serves health only;
   * `all` (the default) does both. Every role loads the same services.
   */
  static forRoot(options: AppModuleOptions): DynamicModule {
    const publicApi = options.config.role !== 'worker';
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(options),
        TypeOrmModule.forRoot(databaseOptions(options.config, options.database)),
        RedisModule,
        performanceModule(options),
        HealthModule,
        UsersModule,
        RateLimitModule,
        AiModule,
        ConversationsModule,
        MessagesModule,
        ToolsModule,
        ...(publicApi ? [PublicApiModule.forRoot()] : []),
      ],
      providers: [
        { provide: APP_PIPE, useClass: StrictValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // Order matters: the throttler counts per user, so authentication runs first.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: UserThrottlerGuard },
      ],
    };
  }
}
