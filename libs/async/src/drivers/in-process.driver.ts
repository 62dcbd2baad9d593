import { ShutdownError } from '../core/errors.js';
import { PRIORITIES, type Priority } from '../core/task.types.js';
import type { JobRunner, QueueCounts, QueueDriver, QueueJob } from './queue-driver.js';

/** Highest priority first. */
const LEVELS: readonly Priority[] = [...PRIORITIES].reverse();

/**
 * The queue in this process's memory, for embedded mode (no Redis). Same contract as the BullMQ
 * driver: one FIFO per priority level served highest first, a job id queued at most once, delayed
 * retries, bounded concurrency, a deadline on stop. What it loses on a crash the reconciler
 * re-enqueues from the `tasks` table at the next start.
 */
export class InProcessDriver implements QueueDriver {
  readonly kind = 'in-process' as const;
  private readonly waiting = new Map<Priority, QueueJob[]>(LEVELS.map((p) => [p, []]));
  /** Every job this driver holds (waiting, delayed or active), by task id. */
  private readonly known = new Map<string, 'waiting' | 'delayed' | 'active'>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private run: JobRunner | null = null;
  private concurrency = 1;
  private paused = false;
  private stopping = false;

  enqueue(jobs: QueueJob[]): Promise<void> {
    for (const job of jobs) {
      if (this.known.has(job.taskId)) continue;
      this.push(job);
    }
    this.pump();
    return Promise.resolve();
  }

  isAvailable(): boolean {
    return true;
  }

  onAvailable(): void {
    // Always available: there is no outage to come back from.
  }

  startWorker(run: JobRunner, concurrency: number): Promise<void> {
    this.run = run;
    this.concurrency = Math.max(1, concurrency);
    this.stopping = false;
    this.pump();
    return Promise.resolve();
  }

  async pauseWorker(): Promise<void> {
    this.paused = true;
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  resumeWorker(): void {
    this.paused = false;
    this.pump();
  }

  async stopWorker(deadlineMs: number): Promise<void> {
    this.stopping = true;
    const running = Promise.all([...this.active.values()].map((a) => a.done));
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      running.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (expired) {
      for (const a of this.active.values()) a.controller.abort(new ShutdownError());
      await running;
    }
    this.run = null;
  }

  counts(): Promise<QueueCounts> {
    let waiting = 0;
    for (const jobs of this.waiting.values()) waiting += jobs.length;
    return Promise.resolve({ waiting, delayed: this.timers.size, active: this.active.size });
  }

  async close(): Promise<void> {
    if (this.run !== null) await this.stopWorker(0);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const jobs of this.waiting.values()) jobs.length = 0;
    this.known.clear();
  }

  private push(job: QueueJob): void {
    this.waiting.get(job.priority)?.push(job);
    this.known.set(job.taskId, 'waiting');
  }

  private next(): QueueJob | undefined {
    for (const level of LEVELS) {
      const job = this.waiting.get(level)?.shift();
      if (job !== undefined) return job;
    }
    return undefined;
  }

  private pump(): void {
    while (this.run !== null && !this.paused && !this.stopping && this.active.size < this.concurrency) {
      const job = this.next();
      if (job === undefined) return;
      this.start(job, this.run);
    }
  }

  private start(job: QueueJob, run: JobRunner): void {
    const controller = new AbortController();
    this.known.set(job.taskId, 'active');
    const done = (async () => {
      try {
        const outcome = await run(job.taskId, controller.signal);
        this.active.delete(job.taskId);
        if (outcome.kind === 'retry') this.delay(job, outcome.delayMs);
        else if (outcome.kind === 'release' && !this.stopping) this.push(job);
        else this.known.delete(job.taskId);
      } catch {
        // The runner records its own failures; a throw here means the store was unreachable.
        this.active.delete(job.taskId);
        this.delay(job, 1_000);
      }
      this.pump();
    })();
    this.active.set(job.taskId, { controller, done });
  }

  private delay(job: QueueJob, delayMs: number): void {
    this.known.set(job.taskId, 'delayed');
    const timer = setTimeout(() => {
      this.timers.delete(job.taskId);
      this.push(job);
      this.pump();
    }, delayMs);
    timer.unref();
    this.timers.set(job.taskId, timer);
  }
}
