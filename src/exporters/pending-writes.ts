/**
 * Counts writes handed to a stream whose callback has not come yet, and lets callers wait until
 * there are none (an exporter's `forceFlush()`). Never rejects.
 */
export class PendingWrites {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** A write was handed to the stream. */
  begin(): void {
    this.count++;
  }

  /** A write called back (successfully or not). */
  settle(): void {
    this.count--;
    if (this.count === 0 && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  /** Writes still waiting for their callback. */
  get size(): number {
    return this.count;
  }

  /** Resolves once every write begun so far has called back. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
