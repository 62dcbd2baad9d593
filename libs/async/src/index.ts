export { AsyncProcessorModule } from './async.module.js';
export { ASYNC_PROCESSOR_OPTIONS } from './async.module-definition.js';
export { TaskProcessor, type ProcessorStats, type TransactionalSubmit } from './core/task-processor.js';
export { backoffDelay, type AsyncProcessorOptions } from './core/processor.options.js';
export type { TaskEvent, TaskEventListener } from './core/task-events.js';
export {
  PRIORITIES,
  QUEUE_PRIORITY,
  TASK_STATUSES,
  PermanentTaskError,
  type BackoffOptions,
  type Priority,
  type SubmitOptions,
  type SubmitRequest,
  type SubmitResult,
  type Task,
  type TaskContext,
  type TaskDefinition,
  type TaskError,
  type TaskStatus,
} from './core/task.types.js';
export {
  LeaseLostError,
  QueueFullError,
  QueueUnavailableError,
  ShutdownError,
  TaskTimeoutError,
  UnknownTaskTypeError,
} from './core/errors.js';
export { InvalidCursorError, TaskStore, type TaskPage } from './store/task-store.js';
export { asyncMigrations, CreateTasksTable1763900000000 } from './store/tasks.migration.js';
export { BullMqDriver, type BullMqDriverOptions } from './drivers/bullmq.driver.js';
export { InProcessDriver } from './drivers/in-process.driver.js';
export type { JobRunner, QueueCounts, QueueDriver, QueueJob, RunOutcome } from './drivers/queue-driver.js';
