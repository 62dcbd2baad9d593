import { Logger } from '@nestjs/common';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_PRIORITY } from '../core/task.types.js';
import type { JobRunner, QueueCounts, QueueDriver, QueueJob } from './queue-driver.js';

export interface BullMqDriverOptions {
  redisUrl: string;
  queueName: string;
  /** Redis key prefix of the queue (BullMQ's `prefix`). */
  prefix: string;
  /** A job's lock in Redis; a worker that stops renewing it (crashed) loses the job after this. */
  lockMs: number;
  /** How often workers look for jobs whose lock expired. */
  stalledIntervalMs: number;
  /** Bound on one producer call (enqueue, counts): past it the queue counts as unavailable. */
  commandTimeoutMs: number;
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * BullMQ carries the tasks. The job id is the task id, so a job is never queued twice; jobs are
 * removed as soon as they finish because the `tasks` table keeps the lifecycle. Retries are the
 * runner's decision (attempts are counted in PostgreSQL), carried out with `moveToDelayed`.
 *
 * Two connections: the producer's fails fast (no offline queue, one try, a command timeout) so
 * that submission answers 503 at once when Redis is down; the worker's retries forever, as BullMQ
 * requires, and picks up again when Redis comes back.
 */
export class BullMqDriver implements QueueDriver {
  readonly kind = 'bullmq' as const;
  private readonly logger = new Logger('BullMqDriver');
  private readonly producer: Redis;
  private readonly queue: Queue;
  private workerConnection: Redis | null = null;
  private worker: Worker | null = null;

  constructor(private readonly options: BullMqDriverOptions) {
    this.producer = new Redis(options.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    this.producer.on('error', (error: Error) => this.logger.debug(`producer connection: ${error.message}`));
    this.queue = new Queue(options.queueName, { connection: this.producer, prefix: options.prefix });
    this.queue.on('error', (error: Error) => this.logger.debug(`queue: ${error.message}`));
  }

  /** Resolves once the producer connection is up (or after `timeoutMs`, whichever first). */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    if (this.isAvailable()) return true;
    await Promise.race([new Promise((resolve) => this.producer.once('ready', resolve)), sleep(timeoutMs)]);
    return this.isAvailable();
  }

  async enqueue(jobs: QueueJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await withDeadline(
      this.queue.addBulk(
        jobs.map((job) => ({
          name: job.type,
          data: {},
          opts: {
            jobId: job.taskId,
            priority: QUEUE_PRIORITY[job.priority],
            attempts: 1,
            removeOnComplete: true,
            removeOnFail: true,
          },
        })),
      ),
      this.options.commandTimeoutMs,
      'enqueue',
    );
  }

  isAvailable(): boolean {
    return this.producer.status === 'ready';
  }

  onAvailable(listener: () => void): void {
    this.producer.on('ready', listener);
  }

  startWorker(run: JobRunner, concurrency: number): Promise<void> {
    this.workerConnection = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 2_000 });
    this.workerConnection.on('error', (error: Error) => this.logger.debug(`worker connection: ${error.message}`));
    this.worker = new Worker(
      this.options.queueName,
      async (job: Job, token?: string, signal?: AbortSignal) => {
        const id = job.id;
        if (id === undefined) return;
        let outcome;
        try {
          outcome = await run(id, signal ?? new AbortController().signal);
        } catch (error) {
          // The store was unreachable: try again shortly; the task row still says what to do.
          this.logger.warn(`task ${id}: ${error instanceof Error ? error.message : String(error)}; retrying in 1 s`);
          outcome = { kind: 'retry' as const, delayMs: 1_000 };
        }
        if (outcome.kind === 'done') return;
        await job.moveToDelayed(Date.now() + (outcome.kind === 'retry' ? outcome.delayMs : 0), token);
        throw new DelayedError();
      },
      {
        connection: this.workerConnection,
        prefix: this.options.prefix,
        concurrency,
        lockDuration: this.options.lockMs,
        stalledInterval: this.options.stalledIntervalMs,
        // The runner counts attempts in PostgreSQL; a stalled job is simply delivered again.
        maxStalledCount: 1_000,
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 0 },
      },
    );
    this.worker.on('error', (error: Error) => this.logger.warn(`worker: ${error.message}`));
    return Promise.resolve();
  }

  async pauseWorker(): Promise<void> {
    await this.worker?.pause();
  }

  resumeWorker(): void {
    // BullMQ's resume restarts the fetch loop and settles when the worker stops; nothing to wait for.
    void this.worker?.resume();
  }

  async stopWorker(deadlineMs: number): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    const closing = worker.close();
    const finished = await Promise.race([closing.then(() => true), sleep(deadlineMs).then(() => false)]);
    if (!finished) {
      // Past the deadline: abort the running attempts; the runner gives their tasks back.
      worker.cancelAllJobs('shutdown');
      await Promise.race([closing, sleep(5_000)]);
    }
    // QUIT waits for Redis (this connection queues commands while it is away, for ever): bounded,
    // so that shutdown during an outage still ends; `disconnect` also fails what is still queued.
    const connection = this.workerConnection;
    this.workerConnection = null;
    if (connection === null) return;
    if (connection.status !== 'ready') connection.disconnect();
    else await withDeadline(connection.quit(), this.options.commandTimeoutMs, 'quit').catch(() => connection.disconnect());
  }

  async counts(): Promise<QueueCounts> {
    const c = await withDeadline(
      this.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active'),
      this.options.commandTimeoutMs,
      'counts',
    );
    return { waiting: (c.wait ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0 };
  }

  async close(): Promise<void> {
    await this.stopWorker(0);
    await this.queue.close().catch(() => undefined);
    if (this.producer.status !== 'end') await this.producer.quit().catch(() => this.producer.disconnect());
  }
}
