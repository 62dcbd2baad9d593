/** What a batch answers for an item it could not settle by itself: the item then runs alone. */
export const UNDECIDED: unique symbol = Symbol('undecided');
export type Undecided = typeof UNDECIDED;

export interface StatementBatcherOptions<I, O> {
  /**
   * Runs many items in one statement; answers one outcome per item, in order. `UNDECIDED` sends an
   * item to `runOne` (e.g. its row was locked and the batch skipped it rather than wait). A throw
   * sends every item of the batch to `runOne`, so one bad item never fails the others.
   */
  runBatch(items: I[]): Promise<Array<O | Undecided>>;
  /** Runs one item alone: the exact, single-statement behaviour a caller would get unbatched. */
  runOne(item: I): Promise<O>;
  /** Items per statement at most. */
  maxBatch: number;
  /**
   * Batches in flight at most. While they are all busy, new items wait and go out together as soon
   * as one returns (group commit): the busier the processor, the larger the batches.
   */
  maxInFlight: number;
  /**
   * A batch still running after this long stops counting against `maxInFlight` (it goes on): a
   * statement waiting on a row lock (e.g. a lone claim of a row that another transaction holds)
   * must not hold back everyone else's. Default 200 ms.
   */
  stallMs?: number;
}

interface Waiter<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Coalesces calls that arrive together into one statement, each caller getting its own item's
 * outcome. Calls made while the event loop is busy with one turn go out together at the next
 * (`setImmediate`), or, when `maxInFlight` batches are already running, as soon as one of them
 * returns. A lone call runs alone, with no added latency beyond that one turn.
 */
export class StatementBatcher<I, O> {
  private waiting: Array<Waiter<I, O>> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly options: StatementBatcherOptions<I, O>) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) throw new RangeError('maxBatch must be an integer ≥ 1');
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) throw new RangeError('maxInFlight must be an integer ≥ 1');
  }

  /** Batches running now (for tests and stats). */
  get running(): number {
    return this.inFlight;
  }

  /** Items waiting for a batch. */
  get queued(): number {
    return this.waiting.length;
  }

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.waiting.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight++;
      let freed = false;
      const free = (): void => {
        if (freed) return;
        freed = true;
        clearTimeout(stall);
        this.inFlight--;
        if (this.waiting.length > 0) this.flush();
      };
      const stall = setTimeout(free, this.options.stallMs ?? 200);
      stall.unref();
      void this.execute(batch).finally(free);
    }
  }

  /** Settles every waiter of `batch`; never rejects. Items sent to `runOne` do not hold the slot. */
  private async execute(batch: Array<Waiter<I, O>>): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Waiter<I, O>];
      await this.alone(only);
      return;
    }
    let outcomes: Array<O | Undecided> | null = null;
    try {
      outcomes = await this.options.runBatch(batch.map((w) => w.item));
      if (outcomes.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${outcomes.length} outcomes`);
    } catch {
      outcomes = null;
    }
    batch.forEach((waiter, i) => {
      const outcome = outcomes === null ? UNDECIDED : (outcomes[i]);
      if (outcome === UNDECIDED) void this.alone(waiter);
      else waiter.resolve(outcome);
    });
  }

  private async alone(waiter: Waiter<I, O>): Promise<void> {
    try {
      waiter.resolve(await this.options.runOne(waiter.item));
    } catch (error) {
      waiter.reject(error);
    }
  }
}
