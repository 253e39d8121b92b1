/**
 * How the live view's stage hands records to its worker thread: a batch is ONE flat array of
 * primitives (strings, numbers, `null`), 14 slots per record followed by its attributes as
 * key/value pairs. No object per record is made on the primary's thread, and `postMessage`
 * copies a flat array of primitives about twice as fast as an array of objects (the structured
 * clone of plain objects costs ~1 µs per record of the main job's shape; this, about half).
 * The worker turns a batch back into {@link ViewRow}s with {@link decodeBatch}.
 *
 * Hot path (`encodeRecord` runs in the primary for every record the view takes): kept in one
 * function on purpose, no closures, no per-record allocation beyond the array's growth.
 *
 * Layout of one record: `t, sev, proc, logger, body, trace, span, task, tname, outcome, dur,
 * exc, stack, n` then `n` pairs `key, value` (value: string, number or boolean; arrays and maps as
 * JSON text). Absent fields are `null`.
 *
 * @module
 */
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ViewAttributeValue, ViewRow } from './store/row.ts';

/** A batch as it crosses to the worker (see the module documentation). */
export type EncodedBatch = (string | number | boolean | null)[];

/** Longest body kept, characters (longer ones end in `…`). */
export const MAX_BODY = 4000;
const MAX_STACK = 8000;
const MAX_ATTR = 1000;
const NO_TRACE = '00000000000000000000000000000000';

function text(v: unknown, max: number): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v === undefined || v === null) s = '';
  else if (typeof v === 'object') {
    try {
      s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    } catch {
      s = String(v);
    }
  } else s = String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * Appends one record to `out`.
 *
 * @returns an estimate of the bytes it takes (string lengths plus 8 per number), for the stage's
 *   byte bound
 * @throws whatever a hostile attribute value's `toString` throws (the caller truncates `out`
 *   back and counts the record as dropped)
 */
export function encodeRecord(r: ReadableLogRecord, proc: number, out: EncodedBatch): number {
  const hr = r.hrTime;
  const body =
    typeof r.body === 'string' && r.body.length <= MAX_BODY ? r.body : text(r.body, MAX_BODY);
  const logger = r.instrumentationScope.name;
  const sc = r.spanContext;
  const traced = sc !== undefined && sc.traceId !== NO_TRACE;
  let bytes = 120 + body.length + logger.length;
  let task: string | null = null;
  let tname: string | null = null;
  let outcome: string | null = null;
  let dur: number | null = null;
  let excType: unknown;
  let excMessage: unknown;
  let stack: string | null = null;
  const a = r.attributes;
  // slots 0-13 first; attributes follow, their count is filled in at the end
  const at = out.length;
  out.push(
    hr[0] * 1000 + hr[1] / 1e6,
    r.severityNumber ?? 0,
    proc,
    logger,
    body,
    traced ? sc.traceId : null,
    traced ? sc.spanId : null,
    null,
    null,
    null,
    null,
    null,
    null,
    0,
  );
  let n = 0;
  for (const k in a) {
    const v = a[k];
    switch (k) {
      case 'task.id':
        task = String(v);
        break;
      case 'task.name':
        tname = String(v);
        break;
      case 'task.outcome':
        outcome = String(v);
        break;
      case 'task.duration_ms':
        dur = Number(v);
        break;
      case 'exception.type':
        excType = v;
        break;
      case 'exception.message':
        excMessage = v;
        break;
      case 'exception.stacktrace':
        stack = text(v, MAX_STACK);
        bytes += stack.length;
        break;
      default: {
        if (v === undefined || v === null) break;
        const t = typeof v;
        if (t === 'string') {
          bytes += k.length + (v as string).length;
          out.push(k, (v as string).length <= MAX_ATTR ? (v as string) : text(v, MAX_ATTR));
        } else if (t === 'number' || t === 'boolean') {
          bytes += k.length + 8;
          out.push(k, v as number | boolean);
        } else {
          const s = text(v, MAX_ATTR);
          bytes += k.length + s.length;
          out.push(k, s);
        }
        n++;
      }
    }
  }
  if (task !== null) out[at + 7] = task;
  if (tname !== null) out[at + 8] = tname;
  if (outcome !== null) out[at + 9] = outcome;
  if (dur !== null) out[at + 10] = dur;
  if (excType !== undefined || excMessage !== undefined) {
    const exc = [excType, excMessage].filter((x) => x !== undefined && x !== '').join(': ');
    out[at + 11] = exc;
    bytes += exc.length;
  }
  if (stack !== null) out[at + 12] = stack;
  out[at + 13] = n;
  return bytes;
}

/**
 * The records of a batch as {@link ViewRow}s.
 *
 * @throws Error when the batch is malformed (never for what {@link encodeRecord} made)
 */
export function decodeBatch(b: EncodedBatch): ViewRow[] {
  const rows: ViewRow[] = [];
  let i = 0;
  while (i < b.length) {
    const row: ViewRow = {
      t: b[i] as number,
      sev: b[i + 1] as number,
      proc: b[i + 2] as number,
      logger: b[i + 3] as string,
      body: b[i + 4] as string,
    };
    if (b[i + 5] !== null) row.trace = b[i + 5] as string;
    if (b[i + 6] !== null) row.span = b[i + 6] as string;
    if (b[i + 7] !== null) row.task = b[i + 7] as string;
    if (b[i + 8] !== null) row.tname = b[i + 8] as string;
    if (b[i + 9] !== null) row.outcome = b[i + 9] as string;
    if (b[i + 10] !== null) row.dur = b[i + 10] as number;
    if (b[i + 11] !== null) row.exc = b[i + 11] as string;
    if (b[i + 12] !== null) row.stack = b[i + 12] as string;
    const n = b[i + 13];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new Error(`starlog view: malformed batch at slot ${i + 13}`);
    }
    i += 14;
    if (n > 0) {
      const attrs: Record<string, ViewAttributeValue> = {};
      for (let j = 0; j < n; j++, i += 2) attrs[b[i] as string] = b[i + 1] as ViewAttributeValue;
      row.attrs = attrs;
    }
    rows.push(row);
  }
  return rows;
}
