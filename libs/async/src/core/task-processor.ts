import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { BullMqDriver } from '../drivers/bullmq.driver.js';
import { InProcessDriver } from '../drivers/in-process.driver.js';
import type { QueueCounts, QueueDriver, QueueJob, RunOutcome } from '../drivers/queue-driver.js';
import { LifecycleBatcher } from '../store/lifecycle-batcher.js';
import { TaskStore, type NewTask, type StoredStats, type TaskPage } from '../store/task-store.js';
import {
  LeaseLostError,
  QueueFullError,
  QueueUnavailableError,
  ShutdownError,
  TaskTimeoutError,
  UnknownTaskTypeError,
} from './errors.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { TaskEvent, TaskEventListener } from './task-events.js';
import { backoffDelay, resolveOptions, type AsyncProcessorOptions, type ResolvedProcessorOptions } from './processor.options.js';
import {
  PermanentTaskError,
  PRIORITIES,
  type Priority,
  type SubmitOptions,
  type SubmitRequest,
  type SubmitResult,
  type Task,
  type TaskContext,
  type TaskDefinition,
  type TaskStatus,
} from './task.types.js';

export interface ProcessorStats {
  driver: QueueDriver['kind'];
  /** Tasks in the table by status and by priority. */
  byStatus: Record<TaskStatus, number>;
  byPriority: Record<Priority, Record<TaskStatus, number>>;
  /** What the queue itself holds now; `null` when it cannot be asked (Redis down). */
  queue: QueueCounts | null;
  maxPending: number;
  /** Over `windowMs`, completed tasks: creation → first start, and first start → finish. */
  waitMs: { p50: number | null; p95: number | null };
  runMs: { p50: number | null; p95: number | null };
  /** Finished tasks per minute over the window, oldest first; `throughputPerMinute` is their mean. */
  perMinute: Array<{ minute: string; completed: number; failed: number }>;
  throughputPerMinute: number;
  failuresByType: Record<string, number>;
  windowMs: number;
  /** Attempts running in this process now. */
  activeHere: number;
}

/** `submit` inside the caller's transaction: recorded with its writes, queued after they commit. */
export type TransactionalSubmit = <P>(type: string, payload: P, options?: SubmitOptions) => Promise<SubmitResult<P>>;

function errorInfo(error: unknown, attempt: number): { name: string; message: string; attempt: number } {
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 2_000), attempt };
  return { name: 'Error', message: String(error).slice(0, 2_000), attempt };
}

/**
 * The async task processor: task types and their handlers, submission (bounded, idempotent,
 * transactional), attempts with lease, timeout, retries and backoff, a reconciler that rebuilds a
 * lost queue from the `tasks` table, stats and events.
 *
 * ```ts
 * processor.register('email.send', { handle: async ({ task, signal }) => send(task.payload, signal) });
 * const { task } = await processor.submit('email.send', { to }, { priority: 'high', idempotencyKey });
 * ```
 */
export class TaskProcessor {
  private readonly logger = new Logger('TaskProcessor');
  private readonly handlers = new Map<string, TaskDefinition<never>>();
  private readonly listeners = new Set<TaskEventListener>();
  private readonly options: ResolvedProcessorOptions;
  readonly store: TaskStore;
  /** Claims and result-only completions of the attempts running here, coalesced into shared statements. */
  private readonly lifecycle: LifecycleBatcher;
  /** One heartbeat sweep for every lease held here. */
  private readonly leases: LeaseKeeper;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;
  private workerStarted = false;
  private activeHere = 0;
  /**
   * Completions recorded after their attempt gave its queue slot back (see `runAttempt`); `stop()`
   * waits for them, so that a worker never shuts down with a finished task still `running`.
   */
  private readonly recording = new Set<Promise<void>>();
  /** Retries of attempts whose late completion failed, waiting out their backoff (see `completionFailed`). */
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    options: AsyncProcessorOptions,
    readonly driver: QueueDriver = TaskProcessor.driverFor(resolveOptions(options)),
  ) {
    this.options = resolveOptions(options);
    this.store = new TaskStore(this.options.dataSource);
    this.lifecycle = new LifecycleBatcher(this.store);
    this.leases = new LeaseKeeper(this.store, this.options.leaseMs);
    this.driver.onAvailable(() => {
      if (this.reconcileTimer !== null) void this.reconcile().catch(() => undefined);
    });
  }

  static driverFor(options: ResolvedProcessorOptions): QueueDriver {
    if (options.redisUrl === null) return new InProcessDriver();
    return new BullMqDriver({
      redisUrl: options.redisUrl,
      queueName: options.queueName,
      prefix: options.prefix,
      lockMs: options.leaseMs,
      stalledIntervalMs: Math.max(1_000, Math.round(options.leaseMs / 2)),
      commandTimeoutMs: options.commandTimeoutMs,
    });
  }

  /** Registers the handler of a task type. Register every type before `start()`. */
  register<Payload, Result>(type: string, definition: TaskDefinition<Payload, Result>): void {
    if (this.handlers.has(type)) throw new Error(`task type "${type}" is already registered`);
    this.handlers.set(type, definition);
  }

  onEvent(listener: TaskEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: TaskEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn(`task event listener threw: ${String(error)}`);
      }
    }
  }

  // ---- submission --------------------------------------------------------------------------

  async submit<P>(type: string, payload: P, options: SubmitOptions = {}): Promise<SubmitResult<P>> {
    const [result] = await this.submitMany([{ type, payload, ...options }]);
    if (result === undefined) throw new Error('submitMany returned nothing');
    return result as SubmitResult<P>;
  }

  /** Records a batch in one INSERT and queues it in one Redis round trip. */
  async submitMany(requests: SubmitRequest[]): Promise<SubmitResult[]> {
    this.assertAccepting(requests.length);
    const results = await this.record(requests);
    await this.dispatch(results);
    return results;
  }

  /**
   * Runs `work` in a transaction in which `submit` records tasks next to the caller's own writes
   * (an outbox): they are queued only once the transaction commits, and if it rolls back they never
   * existed. Fails fast, before the transaction, when the queue is down.
   */
  async transaction<T>(work: (manager: EntityManager, submit: TransactionalSubmit) => Promise<T>): Promise<T> {
    this.assertAccepting(1);
    const recorded: SubmitResult[] = [];
    const value = await this.options.dataSource.transaction(async (manager) => {
      const submit: TransactionalSubmit = async <P>(type: string, payload: P, options: SubmitOptions = {}) => {
        const [result] = await this.record([{ type, payload, ...options }], manager);
        if (result === undefined) throw new Error('record returned nothing');
        recorded.push(result);
        return result as SubmitResult<P>;
      };
      return work(manager, submit);
    });
    await this.dispatch(recorded);
    return value;
  }

  /** Throws `QueueUnavailableError` at once when the queue cannot take work. */
  assertAccepting(count = 1): void {
    if (this.closed || !this.driver.isAvailable()) {
      this.emit({ kind: 'rejected', reason: 'unavailable', count });
      throw new QueueUnavailableError(this.options.retryAfterSeconds);
    }
  }

  private async record(requests: SubmitRequest[], manager?: EntityManager): Promise<SubmitResult[]> {
    if (requests.length === 0) return [];
    const rows: NewTask[] = requests.map((r) => this.resolve(r));
    const outcome = await this.store.insert(rows, this.options.maxPending, manager);
    if (outcome.kind === 'full') {
      this.emit({ kind: 'rejected', reason: 'full', count: requests.length });
      throw new QueueFullError(outcome.pending, this.options.maxPending, this.options.retryAfterSeconds);
    }
    return outcome.tasks;
  }

  private resolve(request: SubmitRequest): NewTask {
    const definition = this.handlers.get(request.type);
    const defaults = definition?.defaults ?? {};
    const priority = request.priority ?? defaults.priority ?? this.options.defaultPriority;
    if (!PRIORITIES.includes(priority)) throw new TypeError(`unknown priority "${String(priority)}"`);
    const maxAttempts = request.attempts ?? defaults.attempts ?? this.options.defaultAttempts;
    const timeoutMs = request.timeoutMs ?? defaults.timeoutMs ?? this.options.defaultTimeoutMs;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new TypeError('attempts must be an integer ≥ 1');
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('timeoutMs must be an integer ≥ 1');
    return {
      type: request.type,
      ownerId: request.ownerId ?? null,
      priority,
      payload: request.payload,
      maxAttempts,
      timeoutMs,
      idempotencyKey: request.idempotencyKey ?? null,
    };
  }

  /**
   * Queues newly recorded tasks. A failure here loses nothing: the rows are in `pending`, and the
   * reconciler queues them once Redis answers again.
   */
  private async dispatch(results: SubmitResult[]): Promise<void> {
    const fresh = results.filter((r) => r.created);
    if (fresh.length === 0) return;
    const byKey = new Map<string, number>();
    for (const { task } of fresh) byKey.set(`${task.type}\u0000${task.priority}`, (byKey.get(`${task.type}\u0000${task.priority}`) ?? 0) + 1);
    for (const [key, count] of byKey) {
      const [type = '', priority = 'normal'] = key.split('\u0000');
      this.emit({ kind: 'submitted', type, priority: priority as Priority, count });
    }
    try {
      await this.driver.enqueue(fresh.map(({ task }) => ({ taskId: task.id, type: task.type, priority: task.priority })));
    } catch (error) {
      this.logger.warn(`${fresh.length} task(s) recorded but not queued (${String(error)}); the reconciler will queue them`);
    }
  }

  // ---- reading -----------------------------------------------------------------------------

  /** A task by id; with `ownerId`, only that owner's (else `null`, as for an unknown id). */
  get(id: string, ownerId?: string): Promise<Task | null> {
    return this.store.get(id, ownerId);
  }

  list(filter: { status?: TaskStatus; limit?: number; cursor?: string } = {}): Promise<TaskPage> {
    return this.store.list({ limit: filter.limit ?? 20, ...(filter.status ? { status: filter.status } : {}), ...(filter.cursor ? { cursor: filter.cursor } : {}) });
  }

  /** A failed task gets a fresh set of attempts and is queued again; `null` when it is not failed. */
  async retry(id: string): Promise<Task | null> {
    this.assertAccepting(1);
    const task = await this.store.retry(id);
    if (task === null) return null;
    await this.dispatch([{ task, created: true }]);
    return task;
  }

  async stats(): Promise<ProcessorStats> {
    const [stored, queue] = await Promise.all([
      this.store.stats(this.options.statsWindowMs),
      this.driver.counts().catch(() => null),
    ]);
    return this.shapeStats(stored, queue);
  }

  private shapeStats(stored: StoredStats, queue: QueueCounts | null): ProcessorStats {
    const zero = (): Record<TaskStatus, number> => ({ pending: 0, running: 0, completed: 0, failed: 0 });
    const byStatus = zero();
    const byPriority = Object.fromEntries(PRIORITIES.map((p) => [p, zero()])) as Record<Priority, Record<TaskStatus, number>>;
    for (const { status, priority, count } of stored.counts) {
      byStatus[status] += count;
      byPriority[priority][status] += count;
    }
    const minutes = Math.max(1, Math.round(this.options.statsWindowMs / 60_000));
    const finished = stored.perMinute.reduce((sum, m) => sum + m.completed + m.failed, 0);
    return {
      driver: this.driver.kind,
      byStatus,
      byPriority,
      queue,
      maxPending: this.options.maxPending,
      waitMs: stored.waitMs,
      runMs: stored.runMs,
      perMinute: stored.perMinute.map((m) => ({ minute: new Date(m.minute).toISOString(), completed: m.completed, failed: m.failed })),
      throughputPerMinute: Math.round((finished / minutes) * 100) / 100,
      failuresByType: Object.fromEntries(stored.failuresByType.map((f) => [f.type, f.count])),
      windowMs: this.options.statsWindowMs,
      activeHere: this.activeHere,
    };
  }

  // ---- running -----------------------------------------------------------------------------

  /** Starts the reconciler and, when this process is a worker, the workers. */
  async start(): Promise<void> {
    if (this.reconcileTimer !== null) return;
    this.reconcileTimer = setInterval(() => void this.reconcile().catch(() => undefined), this.options.reconcileIntervalMs);
    this.reconcileTimer.unref();
    await this.reconcile({ stale: 0 }).catch((error: unknown) => this.logger.warn(`first reconcile failed: ${String(error)}`));
    if (this.options.worker) await this.startWorker();
  }

  async startWorker(): Promise<void> {
    if (this.workerStarted) return;
    this.workerStarted = true;
    await this.driver.startWorker((taskId, signal) => this.runAttempt(taskId, signal), this.options.concurrency);
  }

  pause(): Promise<void> {
    return this.driver.pauseWorker();
  }

  resume(): void {
    this.driver.resumeWorker();
  }

  /**
   * Stops taking tasks; running attempts get `deadlineMs` to finish, then are aborted and their
   * tasks given back (not counted as attempts) for another worker.
   */
  async stop(deadlineMs = this.options.shutdownTimeoutMs): Promise<void> {
    if (this.reconcileTimer !== null) clearInterval(this.reconcileTimer);
    this.reconcileTimer = null;
    await this.reconciling;
    if (this.workerStarted) await this.driver.stopWorker(deadlineMs);
    while (this.recording.size > 0) await Promise.allSettled([...this.recording]);
    this.workerStarted = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closed = true;
    this.leases.close();
    // Their tasks are `pending` in the table: the reconciler (here at the next start, or elsewhere) queues them.
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await this.driver.close();
  }

  /**
   * Puts the queue back in line with the table: tasks whose lease expired (their worker died) go
   * back to `pending` (or `failed` when that was their last attempt), and pending tasks untouched
   * for `staleAfterMs` are queued again; the job id is the task id, so a job still there is not
   * duplicated.
   */
  reconcile(options: { stale?: number } = {}): Promise<void> {
    if (this.reconciling !== null) return this.reconciling;
    this.reconciling = (async () => {
      const batch = 1_000;
      const { requeue, failed } = await this.store.recoverExpired(batch);
      const stale = this.driver.isAvailable() ? await this.store.stalePending(options.stale ?? this.options.staleAfterMs, 5_000) : [];
      const jobs: QueueJob[] = [...requeue, ...stale].map((t) => ({ taskId: t.id, type: t.type, priority: t.priority }));
      for (let i = 0; i < jobs.length; i += batch) await this.driver.enqueue(jobs.slice(i, i + batch));
      if (jobs.length > 0 || failed > 0) this.emit({ kind: 'reconciled', requeued: stale.length, recovered: requeue.length, failed });
    })().finally(() => {
      this.reconciling = null;
    });
    return this.reconciling;
  }

  private lastUnknownWarning = 0;

  /**
   * A job whose task is not in this database comes from another deployment sharing the queue (same
   * Redis and queue name, another database): it is dropped here and runs late, when its own
   * reconciler queues it again. Said once a minute at most; the usual null claim (a task already
   * finished, or leased by a live attempt) is silent.
   */
  private async warnIfUnknown(taskId: string): Promise<void> {
    if (Date.now() - this.lastUnknownWarning < 60_000) return;
    if ((await this.store.get(taskId).catch(() => undefined)) !== null) return;
    this.lastUnknownWarning = Date.now();
    this.logger.warn(
      `queue "${this.options.queueName}" carried task ${taskId}, which is not in this database: is another deployment using the same Redis and queue name?`,
    );
  }

  /**
   * A completion written after its attempt gave the queue slot back failed (the database refused the
   * result, or was unreachable): the attempt fails as it would have in its slot, and its retry is
   * queued here after the backoff (the queue job is already gone). If even that cannot be written,
   * the task stays `running` under an expiring lease, and the reconciler takes it from there.
   */
  private async completionFailed(task: Task, token: string, attempt: number, error: unknown, runMs: number): Promise<void> {
    const final = attempt >= task.maxAttempts;
    try {
      if (!(await this.store.fail(task.id, token, errorInfo(error, attempt), final))) return;
    } catch (failure) {
      this.logger.warn(`task ${task.id}: completion not recorded (${String(error)}), nor its failure (${String(failure)}); the reconciler will recover it`);
      return;
    }
    this.emit({ kind: 'failed', type: task.type, priority: task.priority, attempt, runMs, final, error: error instanceof Error ? error.name : 'Error' });
    if (final) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      // Not queued (Redis down): the task is `pending`, so the reconciler queues it.
      this.driver.enqueue([{ taskId: task.id, type: task.type, priority: task.priority }]).catch(() => undefined);
    }, backoffDelay(this.options.backoff, attempt));
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** One attempt of one task: claim, run under lease and timeout, record the outcome. */
  private async runAttempt(taskId: string, shutdown: AbortSignal): Promise<RunOutcome> {
    const { leaseMs } = this.options;
    const token = randomUUID();
    const task = await this.lifecycle.claim(taskId, token, leaseMs);
    if (task === null) {
      await this.warnIfUnknown(taskId);
      return { kind: 'done' };
    }
    const attempt = task.attempts;
    const base = { type: task.type, priority: task.priority, attempt };
    if (attempt > task.maxAttempts) {
      await this.store.fail(taskId, token, { name: 'AttemptsExhaustedError', message: 'no attempts left', attempt }, true);
      return { kind: 'done' };
    }
    const definition = this.handlers.get(task.type);
    if (definition === undefined) {
      await this.store.fail(taskId, token, errorInfo(new UnknownTaskTypeError(task.type), attempt), true);
      this.emit({ kind: 'failed', ...base, runMs: 0, final: true, error: 'UnknownTaskTypeError' });
      return { kind: 'done' };
    }

    this.emit({ kind: 'started', ...base, waitMs: Math.max(0, Date.now() - task.createdAt.getTime()) });
    const started = performance.now();
    const controller = new AbortController();
    const onShutdown = (): void => controller.abort(new ShutdownError());
    if (shutdown.aborted) onShutdown();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
    const timeout = setTimeout(() => controller.abort(new TaskTimeoutError(task.timeoutMs)), task.timeoutMs);
    let completing = false;
    let completedInTransaction = false;
    // A lease found to be someone else's stops the attempt, unless it is committing (`ctx.complete`
    // checks its lease itself under the row lock) or has committed.
    this.leases.add(taskId, token, () => {
      if (!completing && !completedInTransaction) controller.abort(new LeaseLostError());
    });

    const context: TaskContext<unknown> = {
      task,
      attempt,
      signal: controller.signal,
      complete: async <R>(work: (manager: EntityManager) => Promise<R>): Promise<R> => {
        if (controller.signal.aborted) throw controller.signal.reason;
        completing = true;
        this.leases.hold(token, true);
        try {
          const value = await this.options.dataSource.transaction(async (manager) => {
            if (!(await this.store.lockLease(manager, taskId, token))) throw new LeaseLostError();
            const r = await work(manager);
            if (!(await this.store.complete(taskId, token, r, manager))) throw new LeaseLostError();
            return r;
          });
          completedInTransaction = true;
          return value;
        } finally {
          completing = false;
          if (!completedInTransaction) this.leases.hold(token, false);
        }
      },
    };

    this.activeHere++;
    try {
      const result = await abortable((definition as TaskDefinition<unknown>).handle(context), controller.signal);
      const runMs = performance.now() - started;
      // The row is about to be written under the token: a concurrent renewal would only wait for it.
      this.leases.remove(token);
      if (completedInTransaction) {
        this.emit({ kind: 'completed', ...base, runMs });
        return { kind: 'done' };
      }
      // Serialises the result at once: one JSON cannot represent fails this attempt, below.
      const recorded = this.lifecycle.complete(taskId, token, result);
      if (this.recording.size < this.options.concurrency) {
        // The handler is done: its queue slot goes to the next task while the completion is
        // written (fenced by the token like any other). `stop()` waits for it; if it fails, the
        // attempt is recorded as failed and retried after its backoff, as below.
        const tracked: Promise<void> = recorded
          .then(
            (done) => {
              if (done) this.emit({ kind: 'completed', ...base, runMs });
            },
            (error: unknown) => this.completionFailed(task, token, attempt, error, runMs),
          )
          .finally(() => this.recording.delete(tracked));
        this.recording.add(tracked);
        return { kind: 'done' };
      }
      // As many completions in flight as attempts may run: wait for this one in the slot (backpressure).
      if (!(await recorded)) return { kind: 'done' };
      this.emit({ kind: 'completed', ...base, runMs });
      return { kind: 'done' };
    } catch (error) {
      const runMs = performance.now() - started;
      if (completedInTransaction) return { kind: 'done' };
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
      if (reason instanceof ShutdownError) {
        await this.store.release(taskId, token);
        this.emit({ kind: 'released', type: task.type, priority: task.priority });
        return { kind: 'release' };
      }
      // Another attempt owns the task now; it records the outcome.
      if (reason instanceof LeaseLostError) return { kind: 'done' };
      const final = reason instanceof PermanentTaskError || attempt >= task.maxAttempts;
      const recorded = await this.store.fail(taskId, token, errorInfo(reason, attempt), final);
      if (!recorded) return { kind: 'done' };
      this.emit({ kind: 'failed', ...base, runMs, final, error: reason instanceof Error ? reason.name : 'Error' });
      return final ? { kind: 'done' } : { kind: 'retry', delayMs: backoffDelay(this.options.backoff, attempt) };
    } finally {
      this.activeHere--;
      this.leases.remove(token);
      clearTimeout(timeout);
      shutdown.removeEventListener('abort', onShutdown);
    }
  }
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  const reason = (): Error => (signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
