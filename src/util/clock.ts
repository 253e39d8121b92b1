/**
 * The timestamps of the records a process emits through starlog: wall-clock time with sub-microsecond
 * resolution that never goes backwards within the process.
 *
 * The clock is anchored once, at load, at `Date.now()`; from then on it advances with the monotonic
 * `performance.now()`. So a wall-clock step (NTP, a manual change) after start does not reorder the
 * records of one process; the price is that the clock does not follow such a step either (it drifts
 * from `Date.now()` by however much the system clock is adjusted while the process runs).
 * The sdk-logs default, `Date.now()`, has millisecond resolution: records of one process within the
 * same millisecond would tie, and a batch grouped by scope would come out shuffled.
 *
 * @module
 */
import type { HrTime } from '@opentelemetry/api';

const perfAtAnchor = performance.now();
const anchorMs = Date.now();
/** whole seconds of the anchor, and the rest in ms (a small double: full precision) */
const anchorSeconds = Math.floor(anchorMs / 1000);
const anchorRestMs = anchorMs - anchorSeconds * 1000 - perfAtAnchor;

let lastSeconds = 0;
let lastNanos = 0;

/**
 * Now as an OpenTelemetry HrTime `[seconds, nanoseconds]` since the Unix epoch: at least
 * microsecond resolution (`performance.now()`), never earlier than the previous call's result.
 */
export function monotonicHrTime(): HrTime {
  const ms = anchorRestMs + performance.now(); // ms since anchorSeconds
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds++;
    nanos -= 1e9;
  }
  seconds += anchorSeconds;
  if (seconds < lastSeconds || (seconds === lastSeconds && nanos < lastNanos)) {
    seconds = lastSeconds;
    nanos = lastNanos;
  }
  lastSeconds = seconds;
  lastNanos = nanos;
  return [seconds, nanos];
}

/**
 * The timestamp of a record captured from another logger (pino, bunyan, winston) in the same call
 * that wrote it: when the logger's own time (epoch ms) is absent or within 1 ms of now, the record
 * was written just now, so {@link monotonicHrTime} gives the same instant at microsecond resolution
 * and in order with the records starlog emits itself; a time further off (a logger with its own
 * time function, a replayed line) is kept as the logger wrote it.
 */
export function capturedTime(loggerTimeMs: number | undefined): HrTime | number {
  if (loggerTimeMs === undefined || Math.abs(loggerTimeMs - Date.now()) <= 1)
    return monotonicHrTime();
  return loggerTimeMs;
}
