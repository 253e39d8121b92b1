/**
 * Bounded waits for tests: every wait has a deadline and fails with a message naming what did
 * not happen (never a fixed sleep that is hoped to be long enough).
 */

/** How long to wait and what for (the failure message names `what`). */
export interface WaitOptions {
  /** What is awaited, e.g. `'the child to report 100 records'`. */
  what: string;
  /** Deadline in ms; default 10,000 ms (generous: the machine may be shared). */
  timeoutMs?: number;
  /** Poll interval in ms; default 5 ms. */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns (or resolves to) true.
 * @throws Error `timed out after N ms waiting for <what>` when the deadline passes first
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  { what, timeoutMs = 10_000, intervalMs = 5 }: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves as `work` does, or rejects with `timed out after N ms: <what>` when the deadline
 * passes first (a guard against hangs, not a performance assertion).
 */
export function within<T>(
  work: Promise<T>,
  { what, timeoutMs = 10_000 }: Omit<WaitOptions, 'intervalMs'>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
