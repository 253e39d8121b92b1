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
  /**
   * The cached time (ms since origin), or -1 when it must be read ({@link now}; always -1 with an
   * injected clock). Hot paths that only compare with a window's end read it directly: it is
   * late by at most one synchronous run of code, as {@link now}.
   */
  cached = -1;
  private reads = 0;
  private readonly invalidate = (): void => {
    this.cached = -1;
  };

  /** @param clock - ms; default `performance.now`, read coarsely (see the class doc) */
  constructor(clock?: () => number) {
    this.clock = clock ?? performance.now.bind(performance);
    this.coarse = clock === undefined;
    this.origin = this.clock();
  }

  /** Now, in whole ms since creation (small on purpose: it is inlined in hot paths). */
  now(): number {
    if (this.coarse && this.cached >= 0 && ++this.reads < 256) return this.cached;
    return this.read();
  }

  private read(): number {
    if (!this.coarse) return Math.floor(this.clock() - this.origin);
    const first = this.cached < 0;
    this.reads = 0;
    this.cached = Math.floor(this.clock() - this.origin);
    if (first) setImmediate(this.invalidate).unref();
    return this.cached;
  }
}
