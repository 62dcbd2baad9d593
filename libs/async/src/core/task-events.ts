import type { Priority } from './task.types.js';

/**
 * What the processor reports as it works, for a monitor to count and time (the monitor subscribes
 * with `onEvent`; this lib imports no monitor).
 */
export type TaskEvent =
  | { kind: 'submitted'; type: string; priority: Priority; count: number }
  | { kind: 'rejected'; reason: 'full' | 'unavailable'; count: number }
  | { kind: 'started'; type: string; priority: Priority; attempt: number; waitMs: number }
  | { kind: 'completed'; type: string; priority: Priority; attempt: number; runMs: number }
  | { kind: 'failed'; type: string; priority: Priority; attempt: number; runMs: number; final: boolean; error: string }
  | { kind: 'released'; type: string; priority: Priority }
  | { kind: 'reconciled'; requeued: number; recovered: number; failed: number };

export type TaskEventListener = (event: TaskEvent) => void;
