/**
 * Durations in starlog: a number of milliseconds, or a string `'<n>ms' | '<n>s' | '<n>m' | '<n>h'`
 * such as `'15s'`, `'5m'`, `'1h'` (fractions allowed: `'1.5s'`).
 */
export type Duration = number | string;

/**
 * Default of every `shutdownTimeoutMs` (setupLogging, `starlog/register`, `starlog run`, a
 * destination queue's `shutdownTimeout`): 5,000 ms.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/;

/**
 * Parses a {@link Duration} into milliseconds.
 *
 * @param value - milliseconds (finite, > 0 unless `allowZero`) or a string such as `'15s'`
 * @param what - the option's name, used in the error message
 * @returns the duration in ms
 * @throws TypeError naming `what` and the value when it is not a valid duration
 */
export function parseDuration(value: Duration, what = 'duration', allowZero = false): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const m = PATTERN.exec(value);
    if (m) ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || (ms === 0 && !allowZero)) {
    throw new TypeError(
      `starlog: ${what} must be a positive number of milliseconds or a string like '15s', '5m', '1h'; got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/**
 * The shortest {@link Duration} string for `ms` (the inverse of {@link parseDuration}, for
 * messages and status records): `15000` → `'15s'`, `300000` → `'5m'`, `3250` → `'3.3s'`,
 * `250` → `'250ms'`.
 */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10}s`;
  return `${Math.round(ms)}ms`;
}
