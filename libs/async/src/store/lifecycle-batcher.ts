import type { Task } from '../core/task.types.js';
import { StatementBatcher, UNDECIDED, type Undecided } from './statement-batcher.js';
import type { TaskStore } from './task-store.js';

/** The statements the batcher needs: the batched ones, and the single ones it falls back on. */
export type LifecycleStore = Pick<TaskStore, 'claim' | 'claimMany' | 'complete' | 'completeMany'>;

export interface LifecycleBatcherOptions {
  /** Claims (completions) per statement at most (default 100). */
  maxBatch?: number;
  /**
   * Claim statements in flight at once (default 4): a claim is on its attempt's critical path (the
   * handler waits for it), so it waits little for a free statement.
   */
  claimsInFlight?: number;
  /**
   * Completion statements in flight at once (default 1): a result-only completion is written after
   * its attempt gave its slot back, so it can wait for a larger batch.
   */
  completionsInFlight?: number;
}

interface ClaimItem {
  id: string;
  token: string;
  leaseMs: number;
}

interface CompleteItem {
  id: string;
  token: string;
  result: unknown;
  resultJson: string;
}

/**
 * The two statements every attempt makes, its claim and its result-only completion, coalesced
 * across the attempts running at once: claims that arrive together go out as one
 * `UPDATE … FROM unnest(…) … RETURNING`, completions as one fenced `UPDATE … FROM unnest(…)`,
 * and each caller gets its own row's outcome, exactly what `TaskStore.claim` / `complete` would
 * have answered it alone:
 *
 * - a claim (completion) the batch answered is final: the row was claimed (completed) under that
 *   caller's token, in a statement that committed;
 * - one the batch did not answer (its row was not claimable, its lease is not that token's, or
 *   another transaction held the row and the batch skipped it rather than wait) runs again alone,
 *   through the single statement, which waits for the row and tells which;
 * - a batch that fails (a bad id, the database blinked) runs each of its items alone, so that one
 *   item's error is that caller's only.
 */
export class LifecycleBatcher {
  private readonly claims: StatementBatcher<ClaimItem, Task | null>;
  private readonly completions: StatementBatcher<CompleteItem, boolean>;

  constructor(store: LifecycleStore, options: LifecycleBatcherOptions = {}) {
    const maxBatch = options.maxBatch ?? 100;
    this.claims = new StatementBatcher<ClaimItem, Task | null>({
      maxBatch,
      maxInFlight: options.claimsInFlight ?? 4,
      runBatch: async (items) => {
        const claimed = await store.claimMany(items);
        return items.map((item): Task | Undecided => claimed.get(item.token) ?? UNDECIDED);
      },
      runOne: (item) => store.claim(item.id, item.token, item.leaseMs),
    });
    this.completions = new StatementBatcher<CompleteItem, boolean>({
      maxBatch,
      maxInFlight: options.completionsInFlight ?? 1,
      runBatch: async (items) => {
        const done = await store.completeMany(items);
        return items.map((item): boolean | Undecided => (done.has(item.token) ? true : UNDECIDED));
      },
      runOne: (item) => store.complete(item.id, item.token, item.result),
    });
  }

  /** `TaskStore.claim`, coalesced with the claims made at the same time. */
  claim(id: string, token: string, leaseMs: number): Promise<Task | null> {
    return this.claims.run({ id, token, leaseMs });
  }

  /**
   * `TaskStore.complete` (no transaction of the caller's), coalesced with the completions made at
   * the same time. Throws at once (not in the promise) when JSON cannot represent `result`.
   */
  complete(id: string, token: string, result: unknown): Promise<boolean> {
    // Serialised here, so that a result JSON cannot represent fails this caller alone, at once.
    const resultJson = JSON.stringify(result ?? null);
    return this.completions.run({ id, token, result, resultJson });
  }
}
