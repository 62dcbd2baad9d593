import type { EntityManager } from 'typeorm';

/** The five priorities, lowest first. Every task has one (`normal` when not given). */
export const PRIORITIES = ['low', 'normal', 'high', 'urgent', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * BullMQ priority of each level: 1 is served first, and every task carries one (a job without a
 * priority would jump ahead of all prioritized jobs). FIFO within a level is BullMQ's guarantee.
 */
export const QUEUE_PRIORITY: Readonly<Record<Priority, number>> = { critical: 1, urgent: 2, high: 3, normal: 4, low: 5 };

export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A task as the `tasks` table holds it. `result` and `error` are JSON. */
export interface Task<Payload = unknown, Result = unknown> {
  id: string;
  type: string;
  ownerId: string | null;
  priority: Priority;
  status: TaskStatus;
  payload: Payload;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number;
  idempotencyKey: string | null;
  result: Result | null;
  error: TaskError | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

export interface TaskError {
  message: string;
  /** The error's class name, e.g. `TimeoutError`. */
  name: string;
  /** The attempt that produced it. */
  attempt: number;
}

export interface SubmitOptions {
  priority?: Priority;
  /** Total attempts, first included (default: the type's, else the module's). */
  attempts?: number;
  /** One attempt's time limit in ms; past it the attempt fails and its signal aborts. */
  timeoutMs?: number;
  /** Same key from the same owner: the same task comes back, nothing new is queued. */
  idempotencyKey?: string;
  /** Whose task this is; `GET` by owner answers only theirs. */
  ownerId?: string;
}

export interface SubmitRequest<Payload = unknown> extends SubmitOptions {
  type: string;
  payload: Payload;
}

export interface SubmitResult<Payload = unknown> {
  task: Task<Payload>;
  /** `false` when an idempotency key matched an earlier task. */
  created: boolean;
}

export interface BackoffOptions {
  /** Delay before the second attempt, in ms; doubled for each further one. */
  baseMs: number;
  /** Cap on one delay, in ms. */
  maxMs: number;
}

/** What a handler is given for one attempt. */
export interface TaskContext<Payload = unknown> {
  task: Task<Payload>;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted on timeout, lost lease, or shutdown past its deadline. Pass it to I/O. */
  signal: AbortSignal;
  /**
   * Runs `work` in a transaction that also completes the task, fenced by this attempt's lease: if
   * another attempt took the task over, nothing `work` wrote is committed. Side effects written
   * here happen exactly once, even when an attempt is retried after a crash.
   */
  complete<R>(work: (manager: EntityManager) => Promise<R>): Promise<R>;
}

export interface TaskDefinition<Payload = unknown, Result = unknown> {
  handle(context: TaskContext<Payload>): Promise<Result>;
  /** Defaults for tasks of this type; `submit` options win. */
  defaults?: Pick<SubmitOptions, 'priority' | 'attempts' | 'timeoutMs'>;
}

/** Thrown by a handler when retrying cannot help (bad payload, the target is gone). */
export class PermanentTaskError extends Error {
  override readonly name = 'PermanentTaskError';
}
