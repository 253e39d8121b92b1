/**
 * The lookback buffer's clock: whole ms since its creation. Reading a clock costs 50–300 ns on
 * the VMs measured here (more than the rest of the buffering path), so the default clock
 * (`performance.now`) is read at most once per event-loop turn and per 256 reads: insertion times
 * are late by at most one synchronous run of code. An injected clock (tests) is read every time.
 */
export class CoarseClock {
  private readonly clock: () => number;
  private readonly coarse: boolean;
  private readonly origin: number;
  /** The cached time (ms since origin), or -1 when it must be read again. */
  private cache = -1;
  private reads = 0;
  private readonly invalidate = (): void => {
    this.cache = -1;
  };

  /** @param clock - ms; default `performance.now`, read coarsely (see the class doc) */
  constructor(clock?: () => number) {
    this.clock = clock ?? performance.now.bind(performance);
    this.coarse = clock === undefined;
    this.origin = this.clock();
  }

  /** Now, in whole ms since creation (small on purpose: it is inlined in hot paths). */
  now(): number {
    if (this.coarse && this.cache >= 0 && ++this.reads < 256) return this.cache;
    return this.read();
  }

  private read(): number {
    if (!this.coarse) return Math.floor(this.clock() - this.origin);
    const first = this.cache < 0;
    this.reads = 0;
    this.cache = Math.floor(this.clock() - this.origin);
    if (first) setImmediate(this.invalidate).unref();
    return this.cache;
  }
}
