/**
 * Time helpers of the logs decoder: exact fixed64 nanoseconds → HrTime, and the stable time order
 * of the records of one sender.
 *
 * @module
 */
import type { HrTime } from '@opentelemetry/api';
import type { IngestedLogRecord } from '../multiprocess/receiver/ingested-log-record.ts';

/**
 * The time a record is ordered by, as ns (a double: exact below 2^53 ns, which any time after
 * April 1970 is not; equal doubles compare by their HrTime): `time_unix_nano`, or the observed time when unset. Read
 * from the record's uint32 halves when it still has them (no HrTime array made).
 */
function orderNanos(r: IngestedLogRecord): number {
  let lo: number;
  let hi: number;
  if (r.timeHi >= 0) {
    lo = r.timeLo;
    hi = r.timeHi;
  } else {
    const t = r.hrTime;
    if (t[0] !== 0 || t[1] !== 0) return t[0] * 1e9 + t[1];
    lo = hi = 0;
  }
  if (lo === 0 && hi === 0) {
    if (r.observedHi < 0) {
      const t = r.hrTimeObserved;
      return t[0] * 1e9 + t[1];
    }
    lo = r.observedLo;
    hi = r.observedHi;
  }
  return hi * 4294967296 + lo;
}

function compareTime(a: IngestedLogRecord, b: IngestedLogRecord): number {
  // both times set and still uint32 halves (every record of an SDK): exact, nothing made (equal
  // times are common: ms clocks)
  const ah = a.timeHi;
  const bh = b.timeHi;
  if (ah > 0 && bh > 0) return ah - bh || a.timeLo - b.timeLo;
  const ta = orderNanos(a);
  const tb = orderNanos(b);
  if (ta !== tb || ta < 9007199254740992) return ta - tb;
  // beyond 2^53 ns the doubles are rounded: the exact HrTimes decide
  const ha = orderTime(a);
  const hb = orderTime(b);
  return ha[0] - hb[0] || ha[1] - hb[1];
}

function orderTime(r: IngestedLogRecord): HrTime {
  const t = r.hrTime;
  return t[0] === 0 && t[1] === 0 ? r.hrTimeObserved : t;
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
