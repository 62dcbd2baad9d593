import {
  QueueUnavailableError,
  TaskProcessor,
  type ProcessorStats,
  type SubmitOptions,
  type SubmitRequest,
  type SubmitResult,
  type Task,
  type TaskDefinition,
  type TaskPage,
  type TaskStatus,
  type TransactionalSubmit,
} from '@chat/async';
import {
  AiResponseCache,
  CacheEngine,
  ConversationCache,
  ToolResultCache,
  type AiRequestKey,
  type CacheableTool,
  type CacheNamespace,
  type CacheStats,
  type NamespaceOptions,
} from '@chat/cache';
import { PerformanceMonitorService, type MonitorReport } from '@chat/monitoring';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, register, type Metric } from 'prom-client';
import type { EntityManager } from 'typeorm';
import { EventBridge } from './bridge/event-bridge.js';
import { emptyCacheStats, PassThroughNamespace } from './facade/pass-through.namespace.js';
import { buildDashboard, CACHE_NAMESPACES, dashboardAlert, overallStatus } from './health/dashboard.js';
import type { ComponentsHealth, DashboardData } from './health/dashboard.types.js';
import type { PerformanceIntegrationOptions, ResolvedExtras } from './integration.options.js';
import { INTEGRATION_OPTIONS, INTEGRATION_SUBSYSTEMS } from './integration.tokens.js';

/** A value and whether it came from a cache (`false` also when the cache is off). */
export interface Cached<T> {
  value: T;
  cached: boolean;
}

/** The overall status and each component's, cheap enough for a readiness probe. */
export interface HealthStatus {
  status: DashboardData['status'];
  components: ComponentsHealth;
}

/** The longest the app's start waits for Redis (the caches' and the queue's connections). */
const STARTUP_WAIT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one service application code injects for caching, tasks and monitoring. It hides whether
 * each subsystem is on: with the cache off every read runs its loader, with the queue off
 * `submitTask` throws `QueueUnavailableError` (a 503 for the caller), with the monitor off custom
 * metrics still count (in prom-client's registry) and the dashboard shows no timings.
 */
@Injectable()
export class PerformanceIntegrationService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('PerformanceIntegration');
  private readonly startedAt = Date.now();
  private readonly passThrough = new Map<string, PassThroughNamespace>();
  private readonly bridge: EventBridge | null;
  private redis: Redis | null = null;
  private closed = false;

  constructor(
    @Inject(INTEGRATION_OPTIONS) private readonly options: PerformanceIntegrationOptions,
    @Inject(INTEGRATION_SUBSYSTEMS) readonly subsystems: ResolvedExtras,
    @Optional() @Inject(CacheEngine) private readonly engine: CacheEngine | null,
    @Optional() @Inject(ConversationCache) private readonly conversations: ConversationCache | null,
    @Optional() @Inject(AiResponseCache) private readonly aiResponses: AiResponseCache | null,
    @Optional() @Inject(ToolResultCache) private readonly toolResults: ToolResultCache | null,
    @Optional() @Inject(TaskProcessor) private readonly processor: TaskProcessor | null,
    @Optional() @Inject(PerformanceMonitorService) private readonly monitor: PerformanceMonitorService | null,
  ) {
    // Tokens are explicit above: a `T | null` parameter's design type is Object, which Nest cannot resolve.
    // `@Optional()` gives undefined for a missing provider; keep one spelling of "off".
    this.engine ??= null;
    this.conversations ??= null;
    this.aiResponses ??= null;
    this.toolResults ??= null;
    this.processor ??= null;
    this.monitor ??= null;
    this.bridge = this.monitor === null ? null : new EventBridge(this.monitor, this.engine, this.processor, options.backlogEveryMs ?? 15_000);
  }

  async onModuleInit(): Promise<void> {
    // Before the libs start (their onApplicationBootstrap): the monitor hears the first events too.
    this.bridge?.attach();
    // Serve with the caches and the queue connected to Redis: until the caches' invalidation bus is
    // up, L1 entries live 1 s at most and its connecting drops L1 (the first reads would miss), and
    // until the queue's connection is up submissions are refused (503). Bounded (~2 s) when Redis
    // does not answer: the caches then run fail-open and the queue refuses, as they do in an outage.
    await Promise.all([this.engine?.ready(), this.queueConnected(STARTUP_WAIT_MS)]);
  }

  /** Resolves once the queue's Redis connection is ready (its driver says so), or after `timeoutMs`. */
  private queueConnected(timeoutMs: number): Promise<void> {
    const driver = this.processor?.driver;
    if (driver === undefined || driver.isAvailable()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      driver.onAvailable(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stop taking work and drain: the workers finish (or give back) their tasks while everything else is still up. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.processor?.stop();
  }

  /**
   * Nest runs every `beforeApplicationShutdown` (the drain above) before any `onApplicationShutdown`;
   * between modules of one phase it keeps registration order, which for these global modules is not
   * a dependency order. So this hook does the closing itself, in order: the last backlog reading and
   * no more events for the monitor; the queue's Redis connections; the caches'; this service's ping
   * connection. The libs' own hooks, which Nest calls too, find them closed (`close` is idempotent).
   * The monitor flushes its alert notifications and closes its EXPLAIN pool in its own hook (neither
   * needs the others); the app's DataSource closes with TypeORM's module, after the drain.
   */
  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.bridge?.readBacklog();
    this.bridge?.detachAll();
    await this.processor?.close();
    await this.engine?.close();
    if (this.redis !== null) this.redis.disconnect();
  }

  // ── conversations ────────────────────────────────────────────────────────────────────────────

  /** A conversation of its owner, through the conversation cache (`load` gives null for none). */
  conversation<T>(ownerId: string, conversationId: string, load: () => Promise<T | null>): Promise<Cached<T | null>> {
    if (this.conversations === null) return load().then((value) => ({ value, cached: false }));
    return this.conversations.conversation(ownerId, conversationId, load);
  }

  /** The newest messages of a conversation (the first page every client opens), through the cache. */
  newestMessages<T>(ownerId: string, conversationId: string, load: () => Promise<T>): Promise<Cached<T>> {
    if (this.conversations === null) return load().then((value) => ({ value, cached: false }));
    return this.conversations.newestMessages(ownerId, conversationId, load);
  }

  /** The conversation row changed: `value` replaces the cached one, null drops it (here and in every process). */
  async conversationChanged<T>(ownerId: string, conversationId: string, value: T | null = null): Promise<void> {
    await this.conversations?.conversationChanged(ownerId, conversationId, value);
  }

  /** Messages were added or changed: the cached newest messages go (here and in every process). */
  async messagesChanged(ownerId: string, conversationId: string): Promise<void> {
    await this.conversations?.messagesChanged(ownerId, conversationId);
  }

  async conversationRemoved(ownerId: string, conversationId: string): Promise<void> {
    await this.conversations?.removed(ownerId, conversationId);
  }

  // ── AI answers ───────────────────────────────────────────────────────────────────────────────

  /**
   * A model answer through the AI-response cache: identical concurrent cold requests reach the model
   * once across every process sharing Redis (single-flight). Errors are never cached.
   */
  aiAnswer<T>(ownerId: string, request: AiRequestKey, generate: () => Promise<T>): Promise<Cached<T>> {
    if (this.aiResponses === null) return generate().then((value) => ({ value, cached: false }));
    return this.aiResponses.getOrGenerate(ownerId, request, generate);
  }

  /** A cached answer, if any (a stream checks first, streams live on a miss, then `storeAiAnswer`). */
  async cachedAiAnswer<T>(ownerId: string, request: AiRequestKey): Promise<T | undefined> {
    return this.aiResponses === null ? undefined : this.aiResponses.get<T>(ownerId, request);
  }

  async storeAiAnswer<T>(ownerId: string, request: AiRequestKey, value: T): Promise<void> {
    await this.aiResponses?.store(ownerId, request, value);
  }

  // ── tools ────────────────────────────────────────────────────────────────────────────────────

  /** A tool's result through the tool-result cache, for tools that declare themselves cacheable. */
  toolResult<T>(tool: CacheableTool, args: unknown, run: () => Promise<T>): Promise<Cached<T>> {
    if (this.toolResults === null) return run().then((value) => ({ value, cached: false }));
    return this.toolResults.getOrRun(tool, args, run);
  }

  // ── caches of one's own ──────────────────────────────────────────────────────────────────────

  /** A namespace of the cache engine for the app's own data (a pass-through one when the cache is off). */
  cacheNamespace(name: string, options: NamespaceOptions): CacheNamespace {
    if (this.engine !== null) return this.engine.namespace(name, options);
    let ns = this.passThrough.get(name);
    if (ns === undefined) {
      ns = new PassThroughNamespace(name);
      this.passThrough.set(name, ns);
    }
    return ns;
  }

  /** Every namespace's figures, by namespace name. */
  cacheStats(): Record<string, CacheStats> {
    if (this.engine !== null) return this.engine.stats();
    return Object.fromEntries([...this.passThrough].map(([name, ns]) => [name, ns.stats()]));
  }

  // ── tasks ────────────────────────────────────────────────────────────────────────────────────

  /** Registers a task type's handler (in every role: workers run it, APIs resolve its defaults). No-op with the queue off. */
  registerTask<Payload, Result>(type: string, definition: TaskDefinition<Payload, Result>): void {
    this.processor?.register(type, definition);
  }

  async submitTask<P>(type: string, payload: P, options: SubmitOptions = {}): Promise<SubmitResult<P>> {
    return this.requireQueue().submit(type, payload, options);
  }

  async submitTasks(requests: SubmitRequest[]): Promise<SubmitResult[]> {
    return this.requireQueue().submitMany(requests);
  }

  /** The caller's writes and the tasks they submit in one transaction (outbox): queued only once it commits. */
  async inTransaction<T>(work: (manager: EntityManager, submit: TransactionalSubmit) => Promise<T>): Promise<T> {
    return this.requireQueue().transaction(work);
  }

  /** A task (of `ownerId`, when given), or null. */
  async task(id: string, ownerId?: string): Promise<Task | null> {
    return this.processor === null ? null : this.processor.get(id, ownerId);
  }

  async tasks(filter: { status?: TaskStatus; limit?: number; cursor?: string } = {}): Promise<TaskPage> {
    return this.requireQueue().list(filter);
  }

  /** A failed task back to pending with fresh attempts; null when it is not failed (or unknown). */
  async retryTask(id: string): Promise<Task | null> {
    return this.requireQueue().retry(id);
  }

  async taskStats(): Promise<ProcessorStats> {
    return this.requireQueue().stats();
  }

  /** Called from `async` methods only: with the queue off they reject (a 503 for the caller), never throw synchronously. */
  private requireQueue(): TaskProcessor {
    if (this.processor === null) throw new QueueUnavailableError(60, new Error('the task queue is turned off in this app'));
    return this.processor;
  }

  // ── metrics ──────────────────────────────────────────────────────────────────────────────────

  /** A counter of the app's own on `/metrics` (the same one again for the same name). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.metric(name, () => new Counter<L>({ name, help, labelNames }), Counter) as Counter<L>;
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.metric(name, () => new Gauge<L>({ name, help, labelNames }), Gauge) as Gauge<L>;
  }

  /** A histogram in seconds by default buckets, or the given ones. */
  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return this.metric(name, () => new Histogram<L>({ name, help, labelNames, ...(buckets === undefined ? {} : { buckets }) }), Histogram) as Histogram<L>;
  }

  private metric(name: string, create: () => Metric, kind: abstract new (...args: never[]) => Metric): Metric {
    const existing = register.getSingleMetric(name);
    if (existing === undefined) return create();
    if (!(existing instanceof kind)) throw new Error(`metric "${name}" is already registered as another kind`);
    return existing;
  }

  // ── health and dashboard ─────────────────────────────────────────────────────────────────────

  /** The monitor's report over the last `minutes`, or null with the monitor off. */
  monitorReport(minutes = 60): MonitorReport | null {
    return this.monitor?.report(minutes * 60_000) ?? null;
  }

  /** Each component, pinged now (each ping bounded by `pingTimeoutMs`). */
  async health(): Promise<HealthStatus> {
    const components = await this.components();
    // The alerts only, not a whole report (this answers readiness probes); the dashboard's rules.
    const active = (this.monitor?.alerts.active() ?? []).map(dashboardAlert);
    return { status: overallStatus(components, active), components };
  }

  /** `GET /v1/admin/health`'s JSON: real figures from the three libs over the last `minutes`. */
  async dashboard(minutes = 60): Promise<DashboardData> {
    const timeout = this.options.pingTimeoutMs ?? 1_000;
    const [components, processor] = await Promise.all([
      this.components(),
      this.processor === null
        ? Promise.resolve(null)
        : withTimeout(this.processor.stats(), 2 * timeout, 'task stats').catch((error: unknown) => {
            this.logger.debug(`task stats unavailable: ${messageOf(error)}`);
            return null;
          }),
    ]);
    const stats = this.cacheStats();
    const caches: Record<string, CacheStats | null> = {};
    for (const [name, namespace] of Object.entries(CACHE_NAMESPACES)) caches[name] = stats[namespace] ?? (this.engine === null ? null : emptyCacheStats());
    for (const [namespace, s] of Object.entries(stats)) {
      if (!Object.values<string>(CACHE_NAMESPACES).includes(namespace)) caches[namespace] = s;
    }
    const report = this.monitorReport(minutes);
    const memory = process.memoryUsage();
    // The monitor keeps only the latest backlog reading; the bridge keeps one per minute for the chart.
    const depth = (report?.series.queue as { depth?: Array<{ minute: number; value: number }> } | undefined)?.depth ?? this.bridge?.backlog();
    return buildDashboard({
      now: Date.now(),
      startedAt: this.startedAt,
      version: this.options.version ?? process.env['npm_package_version'] ?? '0.0.0',
      windowMinutes: minutes,
      components,
      caches,
      processor,
      report,
      ...(depth === undefined ? {} : { queueDepth: depth }),
      liveProcess: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    });
  }

  private async components(): Promise<ComponentsHealth> {
    const [database, redis] = await Promise.all([this.pingDatabase(), this.pingRedis()]);
    const processor = this.processor;
    return {
      database,
      redis,
      queue:
        processor === null
          ? { status: 'disabled', driver: null }
          : { status: processor.driver.isAvailable() ? 'up' : 'down', driver: processor.driver.kind },
      cache: this.engine === null ? { status: 'disabled', l2: null } : { status: 'up', l2: this.engine.l2State },
      monitor: { status: this.monitor === null ? 'disabled' : 'up' },
    };
  }

  private async pingDatabase(): Promise<ComponentsHealth['database']> {
    const dataSource = this.options.dataSource;
    if (dataSource === undefined || dataSource === null) return { status: 'disabled', latencyMs: null };
    const started = performance.now();
    try {
      await withTimeout(dataSource.query('SELECT 1'), this.options.pingTimeoutMs ?? 1_000, 'database');
      return { status: 'up', latencyMs: performance.now() - started };
    } catch (error) {
      return { status: 'down', latencyMs: null, error: messageOf(error) };
    }
  }

  private async pingRedis(): Promise<ComponentsHealth['redis']> {
    const url = this.options.redisUrl;
    if (url === undefined || url === null || this.closed) return null;
    const timeout = this.options.pingTimeoutMs ?? 1_000;
    this.redis ??= this.healthClient(url, timeout);
    const started = performance.now();
    try {
      await withTimeout(this.redis.ping(), timeout, 'redis');
      return { status: 'up', latencyMs: performance.now() - started };
    } catch (error) {
      return { status: 'down', latencyMs: null, error: messageOf(error) };
    }
  }

  /** Its own small connection: a ping must not queue behind the caches' or the queue's traffic. */
  private healthClient(url: string, timeout: number): Redis {
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: timeout,
      connectTimeout: timeout,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
      connectionName: 'chat-integration-health',
    });
    // Failures show as `down` on the next ping; reconnection is ioredis's.
    client.on('error', () => undefined);
    return client;
  }
}

