import type { TaskStore } from '../store/task-store.js';

/** The statements the keeper needs. */
export type LeaseStore = Pick<TaskStore, 'heartbeat' | 'heartbeatMany'>;

interface Lease {
  id: string;
  token: string;
  /** Called once, when the lease turns out to be someone else's (the attempt must stop). */
  onLost: () => void;
  /** When the lease was last set or extended (ms, `performance.now()` clock). */
  renewedAt: number;
  /** A renewal of this lease is in flight: never two at once. */
  beating: boolean;
  /** The attempt is committing (`ctx.complete`): it holds its row locked and is fenced by its token; no renewal needed. */
  held: boolean;
}

/** Renewals per statement. */
const SWEEP_BATCH = 500;

/**
 * Keeps the leases of the attempts running in this process alive with one timer for all of them:
 * every `leaseMs / 3` (at least 250 ms) one `UPDATE … FROM unnest(…)` extends every lease not
 * renewed in the last half-interval, instead of one timer and one statement per attempt. A lease
 * the sweep could not extend (not that token's any more, or its row locked by another transaction,
 * which the batch skips rather than wait for) is asked again alone, through the single statement,
 * which waits for the row: only a lease that really is someone else's calls `onLost`. A sweep that
 * fails (the database blinked) is tried again at the next tick.
 */
export class LeaseKeeper {
  private readonly leases = new Map<string, Lease>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  readonly intervalMs: number;

  constructor(
    private readonly store: LeaseStore,
    private readonly leaseMs: number,
  ) {
    this.intervalMs = Math.max(250, Math.floor(leaseMs / 3));
  }

  /** Leases kept now. */
  get size(): number {
    return this.leases.size;
  }

  /** Starts keeping a lease just taken (its expiry was set by the claim). */
  add(id: string, token: string, onLost: () => void): void {
    this.leases.set(token, { id, token, onLost, renewedAt: performance.now(), beating: false, held: false });
    if (this.timer === null) {
      this.timer = setInterval(() => void this.sweep(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** While `held`, the lease is not renewed (the attempt holds its row in a transaction). */
  hold(token: string, held: boolean): void {
    const lease = this.leases.get(token);
    if (lease !== undefined) lease.held = held;
  }

  /** Stops keeping a lease (the attempt is over, whatever its outcome). */
  remove(token: string): void {
    this.leases.delete(token);
    if (this.leases.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** One round of renewals; exposed for tests. */
  async sweep(now = performance.now()): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const due = [...this.leases.values()].filter((l) => !l.beating && !l.held && now - l.renewedAt >= this.intervalMs / 2);
      for (let i = 0; i < due.length; i += SWEEP_BATCH) {
        const chunk = due.slice(i, i + SWEEP_BATCH);
        for (const lease of chunk) lease.beating = true;
        let renewed: Set<string> | null = null;
        try {
          renewed = await this.store.heartbeatMany(chunk.map((l) => ({ id: l.id, token: l.token, leaseMs: this.leaseMs })));
        } catch {
          renewed = null; // the database blinked: every lease of the chunk is asked again next tick
        }
        for (const lease of chunk) {
          if (renewed === null) lease.beating = false;
          else if (renewed.has(lease.token)) {
            lease.renewedAt = now;
            lease.beating = false;
          } else void this.alone(lease, now);
        }
      }
    } finally {
      this.sweeping = false;
    }
  }

  /** The single statement, which waits for a locked row and says whether the lease is still this token's. */
  private async alone(lease: Lease, now: number): Promise<void> {
    try {
      const held = await this.store.heartbeat(lease.id, lease.token, this.leaseMs);
      if (held) lease.renewedAt = now;
      else if (this.leases.get(lease.token) === lease) lease.onLost();
    } catch {
      // the database blinked; the next sweep tries again
    } finally {
      lease.beating = false;
    }
  }

  /** Stops the timer (the leases still held are the attempts' own business). */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
