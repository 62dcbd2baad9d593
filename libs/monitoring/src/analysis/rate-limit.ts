/** Time and timers as dependencies, so the rate limits can be tested with a fake clock. */
export interface Scheduler {
  /** Runs `fn` after `ms` milliseconds; returns a handle for `cancel`. */
  schedule(fn: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
}

/** Real timers, unref'd so that a pending explain never keeps the process alive. */
export const systemScheduler: Scheduler = {
  schedule(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  cancel(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

export const systemNow = (): number => Date.now();

/**
 * A token bucket: `capacity` tokens, refilled at `ratePerSecond`, refilled lazily from `now()`
 * (so a fake clock drives it exactly).
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be > 0');
    if (!(capacity >= 1)) throw new RangeError('capacity must be >= 1');
    this.tokens = capacity;
    this.refilledAt = now();
  }

  /** Takes one token when there is one; never waits. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 when one is available now). */
  msUntilNext(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  /** Waits (on `scheduler`) for a token and takes it. */
  async take(scheduler: Scheduler): Promise<void> {
    while (!this.tryTake()) {
      const wait = Math.max(1, this.msUntilNext());
      await new Promise<void>((resolve) => scheduler.schedule(resolve, wait));
    }
  }

  private refill(): void {
    const now = this.now();
    const elapsed = now - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    }
    // A clock that goes backwards never mints tokens.
    this.refilledAt = Math.max(this.refilledAt, now);
  }
}
