/**
 * Time helpers of the logs decoder: exact fixed64 nanoseconds → HrTime, and the stable time order
 * of the records of one sender.
 *
 * @module
 */
import type { HrTime } from '@opentelemetry/api';
import type { IngestedLogRecord } from '../multiprocess/receiver/ingested-log-record.ts';

/** The time a record is ordered by: `hrTime`, or the observed time when `hrTime` is unset. */
function orderTime(r: IngestedLogRecord): HrTime {
  const t = r.hrTime;
  return t[0] === 0 && t[1] === 0 ? r.hrTimeObserved : t;
}

function compareTime(a: IngestedLogRecord, b: IngestedLogRecord): number {
  const ta = orderTime(a);
  const tb = orderTime(b);
  return ta[0] - tb[0] || ta[1] - tb[1];
}

/** Sorts `records[from..]` by time, stably (ties keep wire order); one pass when already sorted. */
export function sortByTime(records: IngestedLogRecord[], from: number): void {
  for (let i = from + 1; i < records.length; i++) {
    if (compareTime(records[i - 1]!, records[i]!) > 0) {
      const tail = records.slice(from).sort(compareTime); // Array.prototype.sort is stable
      for (let j = 0; j < tail.length; j++) records[from + j] = tail[j]!;
      return;
    }
  }
}

/**
 * Converts unsigned 64-bit nanoseconds since the epoch, given as two uint32 halves, to an
 * OpenTelemetry HrTime `[seconds, nanoseconds]` exactly. 1e9 = 2^9 · 1953125: shifting the value
 * right by 9 bits keeps it below 2^53 until the year 2116, so plain double arithmetic is exact;
 * later values take a BigInt path.
 */
export function hrTimeFromNanos(lo: number, hi: number): HrTime {
  if (hi < 0x40000000) {
    const shifted = hi * 8388608 + (lo >>> 9); // (hi·2^32 + lo) >> 9, < 2^53
    const seconds = Math.floor(shifted / 1953125);
    return [seconds, (shifted - seconds * 1953125) * 512 + (lo & 511)];
  }
  const ns = (BigInt(hi) << 32n) | BigInt(lo);
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}
