/**
 * Closed → (N consecutive failures) → open for `cooldownMs` (calls are refused at once) →
 * half-open (one trial call) → closed on success, open again on failure.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  private trialInFlight = false;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number,
  ) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** Whether a call may go ahead now; in half-open state only one trial at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = null;
    this.trialInFlight = false;
  }

  /**
   * An open circuit becomes half-open now, as if its cooldown had passed: one trial call decides (a
   * success closes it, a failure opens it for a full cooldown again). A closed one stays closed, its
   * failures so far forgotten. For a connection that has just come up (see RedisTier).
   */
  trialNow(): void {
    if (this.openedAt === null) {
      this.failures = 0;
      return;
    }
    this.openedAt = this.now() - this.cooldownMs;
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.openedAt !== null || this.failures >= this.threshold) this.openedAt = this.now();
  }
}
