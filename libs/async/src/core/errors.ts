/** `submit` refused: too many tasks are waiting. Answer 503 with `Retry-After: retryAfterSeconds`. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(
    readonly pending: number,
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`the task queue is full (${pending} pending, limit ${limit})`);
  }
}

/** `submit` refused: the queue's Redis is unreachable. Nothing was written. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
  constructor(
    readonly retryAfterSeconds: number,
    cause?: unknown,
  ) {
    super('the task queue is unavailable', cause === undefined ? undefined : { cause });
  }
}

/** An attempt ran past its task's `timeoutMs`. */
export class TaskTimeoutError extends Error {
  override readonly name = 'TaskTimeoutError';
  constructor(timeoutMs: number) {
    super(`the attempt did not finish within ${timeoutMs} ms`);
  }
}

/** Another attempt took the task over (this one's lease expired); its writes must not commit. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor() {
    super('the lease on this task was lost to another attempt');
  }
}

/** The worker is shutting down past its deadline; the task is given back, the attempt not counted. */
export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
  constructor() {
    super('the worker is shutting down');
  }
}

export class UnknownTaskTypeError extends Error {
  override readonly name = 'UnknownTaskTypeError';
  constructor(type: string) {
    super(`no handler is registered for task type "${type}"`);
  }
}
