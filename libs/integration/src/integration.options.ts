import type { AsyncProcessorOptions } from '@chat/async';
import type { PerformanceCacheOptions } from '@chat/cache';
import type { PerformanceMonitoringExtras, PerformanceMonitoringOptions } from '@chat/monitoring';
import type { DataSource } from 'typeorm';

/**
 * One options object for the three libraries. `redisUrl` and `dataSource` are shared: the caches
 * use Redis for L2 and invalidation, the queue for BullMQ; the queue keeps its task table in the
 * DataSource, and the monitor times its queries and explains the slow ones.
 */
export interface PerformanceIntegrationOptions {
  /** Redis for cache L2 + invalidation bus and BullMQ; null or absent: in-process L1 caches and queue. */
  redisUrl?: string | null;
  /** The app's TypeORM DataSource (task table, query capture, EXPLAIN). Required when the queue is on. */
  dataSource?: DataSource | null;
  /** The caches' engine and the three domain caches (TTLs, L1 sizes, key prefix...); `redisUrl` comes from above. */
  cache?: Omit<PerformanceCacheOptions, 'redisUrl'>;
  /** The task processor (concurrency, bound, retries, timeouts, whether this process runs tasks...). */
  queue?: Omit<AsyncProcessorOptions, 'dataSource' | 'redisUrl'>;
  /** The monitor (slow-query threshold, alert rules, webhook, request carrier...). */
  monitor?: Omit<PerformanceMonitoringOptions, 'dataSource'>;
  /** Shown on the dashboard (default: the `npm_package_version` of the process, else `0.0.0`). */
  version?: string;
  /** The dashboard's database and Redis pings give up after this (default 1,000 ms). */
  pingTimeoutMs?: number;
  /** How often the queue's backlog (pending tasks) is read for the monitor (default 15 s). */
  backlogEveryMs?: number;
}

/**
 * Decided when the module is declared (Nest needs the imports then), beside `forRoot`'s options or
 * `forRootAsync`'s factory.
 */
export interface PerformanceIntegrationExtras {
  /**
   * Each subsystem is on unless set to false here; the rest keeps working, and the service's calls
   * degrade: no cache → loaders run every time; no queue → the task calls reject with
   * `QueueUnavailableError`; no monitor → no timing, no alerts, no `/metrics`, and the dashboard says so.
   * (Not `cache: false` beside the options: those keys configure the libs.)
   */
  enabled?: { cache?: boolean; queue?: boolean; monitor?: boolean };
  /** `/metrics` (path, a guarded controller) or `false`; see `PerformanceMonitoringExtras`. */
  metrics?: PerformanceMonitoringExtras['metrics'];
}

export interface ResolvedExtras {
  cache: boolean;
  queue: boolean;
  monitor: boolean;
}
