/**
 * Teardowns of whatever is running, so that an interrupted run (Ctrl-C) still stops
 * its processes and drops its databases instead of leaving them behind.
 */
export class CleanupStack {
  private readonly entries: Array<() => Promise<void>> = [];

  /** Registers a teardown; the returned function runs it now and unregisters it. */
  push(teardown: () => Promise<void>): () => Promise<void> {
    this.entries.push(teardown);
    return async () => {
      const at = this.entries.indexOf(teardown);
      if (at >= 0) this.entries.splice(at, 1);
      await teardown();
    };
  }

  /** Runs every pending teardown, newest first; failures are reported, not thrown, so that all of them run. */
  async runAll(): Promise<string[]> {
    const errors: string[] = [];
    for (let teardown = this.entries.pop(); teardown; teardown = this.entries.pop()) {
      try {
        await teardown();
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    return errors;
  }
}
