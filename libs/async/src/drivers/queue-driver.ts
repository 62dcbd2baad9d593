import type { Priority } from '../core/task.types.js';

/** What a queue carries: the task id (its job id, so enqueuing twice is a no-op) and how to order it. */
export interface QueueJob {
  taskId: string;
  type: string;
  priority: Priority;
}

/**
 * What the runner tells the driver to do with a job after one attempt:
 * - `done`: drop it (completed, failed for good, or another attempt owns the task);
 * - `retry`: run it again after `delayMs`;
 * - `release`: the worker is stopping; leave it for another worker, now.
 */
export type RunOutcome = { kind: 'done' } | { kind: 'retry'; delayMs: number } | { kind: 'release' };

/** Runs one attempt of a task. `signal` aborts when the worker must stop past its deadline. */
export type JobRunner = (taskId: string, signal: AbortSignal) => Promise<RunOutcome>;

export interface QueueCounts {
  /** Ready to run, in priority order. */
  waiting: number;
  /** Scheduled for later (retry backoff). */
  delayed: number;
  /** Running in this driver's workers (in-process), or in all workers (BullMQ). */
  active: number;
}

/**
 * Where tasks wait between submission and a worker. Two implementations pass one contract suite
 * (`queue-driver.contract.ts`): `BullMqDriver` (Redis, shared by every process) and
 * `InProcessDriver` (memory, for embedded mode). Neither is the truth: the `tasks` table is, and
 * the reconciler rebuilds a lost queue from it.
 */
export interface QueueDriver {
  readonly kind: 'bullmq' | 'in-process';
  /** Adds jobs in one round trip; a job whose task id is already queued is not added twice. Fails fast when unavailable. */
  enqueue(jobs: QueueJob[]): Promise<void>;
  /** Whether `enqueue` can succeed now (the connection is up). */
  isAvailable(): boolean;
  /** Called when the queue comes back after an outage (time to reconcile). */
  onAvailable(listener: () => void): void;
  startWorker(run: JobRunner, concurrency: number): Promise<void>;
  /** Stops fetching new jobs; running ones go on. */
  pauseWorker(): Promise<void>;
  resumeWorker(): void;
  /**
   * Stops taking jobs and waits for running ones; past `deadlineMs` their signals abort so the
   * runner gives the tasks back, and it waits for that.
   */
  stopWorker(deadlineMs: number): Promise<void>;
  counts(): Promise<QueueCounts>;
  close(): Promise<void>;
}
