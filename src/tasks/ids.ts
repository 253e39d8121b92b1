/**
 * Identifiers for tasks: random W3C trace/span ids for synthetic span contexts, task id paths,
 * and the W3C Trace Context text forms (`traceparent`, the `starlog` entry of `tracestate`).
 *
 * Sources: W3C Trace Context Level 1, §3.2 (traceparent) and §3.3 (tracestate).
 */

import { randomFillSync } from 'node:crypto';
import type { SpanContext } from '@opentelemetry/api';
import { TRACESTATE_KEY } from '../semconv.ts';

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

// Random bytes come from one pooled buffer refilled by crypto.randomFillSync: one call per
// 4096 bytes instead of one per id; hex encoding is native (Buffer#toString).
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > POOL_SIZE) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += bytes;
    // All-zero ids are invalid (W3C Trace Context §3.2.2.3/§3.2.2.4); draw again.
    for (let i = start; i < poolOffset; i++) {
      if (pool[i] !== 0) return pool.toString('hex', start, poolOffset);
    }
  }
}

/**
 * A random, valid W3C trace id and span id at once (one hex encoding instead of two): 48
 * lower-case hex characters, the trace id (32) then the span id (16), neither all zero.
 */
export function randomTraceAndSpanId(): string {
  for (;;) {
    if (poolOffset + 24 > POOL_SIZE) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += 24;
    if (!allZero(start, start + 16) && !allZero(start + 16, start + 24)) {
      return pool.toString('hex', start, start + 24);
    }
  }
}

function allZero(from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (pool[i] !== 0) return false;
  return true;
}

/** A random, valid W3C trace id: 32 lower-case hex characters, not all zero. */
export function randomTraceId(): string {
  return randomHex(16);
}

/** A random, valid W3C span (parent) id: 16 lower-case hex characters, not all zero. */
export function randomSpanId(): string {
  return randomHex(8);
}

let rootSeq = 0;

/**
 * The id of a top-level task: `<seq>@<first 8 hex of the trace id>`, where `seq` counts the
 * top-level tasks of this process (1, 2, ...). Subtasks append `/<n>` (see {@link childPath}).
 */
export function rootPath(traceId: string): string {
  rootSeq++;
  return `${rootSeq}@${traceId.slice(0, 8)}`;
}

/**
 * The root id used when a task continues a trace whose carrier had no starlog path (a plain
 * `traceparent` from another system, or a path too long for `tracestate`):
 * `<first 8 hex of the parent span id>@<first 8 hex of the trace id>`.
 */
export function remoteRootPath(traceId: string, spanId: string): string {
  return `${spanId.slice(0, 8)}@${traceId.slice(0, 8)}`;
}

/** The id of the `n`th subtask (1-based) of the task whose id is `parent`. */
export function childPath(parent: string, n: number): string {
  return `${parent}/${n}`;
}

/** The longest task id path accepted from a carrier, in characters. */
export const MAX_PATH_LENGTH = 1024;

const PATH_RE = /^[0-9a-z]{1,16}@[0-9a-f]{8}(?:\/[1-9][0-9]{0,9})*$/;

/**
 * Whether `path` is a well-formed task id for a trace: `<seq>@<hex8>(/<n>)*`, at most
 * {@link MAX_PATH_LENGTH} characters, and its `<hex8>` is the start of `traceId`.
 */
export function isValidPath(path: string, traceId: string): boolean {
  if (path.length > MAX_PATH_LENGTH || !PATH_RE.test(path)) return false;
  const at = path.indexOf('@');
  return path.slice(at + 1, at + 9) === traceId.slice(0, 8);
}

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The fields of a parsed `traceparent` header. */
export interface TraceParent {
  traceId: string;
  spanId: string;
  /** The trace-flags byte (bit 0: sampled). */
  traceFlags: number;
}

/**
 * Parses a W3C `traceparent` value (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`),
 * strictly: lower-case hex only, version `ff` and all-zero ids rejected, version `00` must be
 * exactly 55 characters; a higher version may carry more fields after a `-` (W3C Trace Context
 * §3.2.4 "Versioning of traceparent"). Returns `undefined` for anything else; never throws.
 */
export function parseTraceParent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string' || value.length < 55 || value.length > 512) return undefined;
  const m = TRACEPARENT_RE.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, traceFlags: Number.parseInt(flags!, 16) };
}

/** Formats a span context as a version-00 `traceparent` value. */
export function formatTraceParent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${HEX[sc.traceFlags & 0xff]}`;
}

export { TRACESTATE_KEY };

/** The longest `tracestate` list-member value (W3C Trace Context §3.3.1.3.2), in characters. */
export const MAX_TRACESTATE_VALUE = 256;

const TRACESTATE_VALUE_RE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Whether `value` may be a `tracestate` list-member value (printable ASCII but `,` and `=`). */
export function isValidTraceStateValue(value: string): boolean {
  return TRACESTATE_VALUE_RE.test(value);
}

/**
 * Reads the `starlog` entry from a `tracestate` header value; `undefined` if the header is not
 * a string or has no such entry. Never throws.
 */
export function pathFromTraceState(tracestate: unknown): string | undefined {
  if (typeof tracestate !== 'string' || tracestate.length > 8192) return undefined;
  for (const member of tracestate.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0) continue;
    if (member.slice(0, eq).trim() === TRACESTATE_KEY) return member.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Returns `tracestate` (a header value, possibly empty) with its `starlog` entry set to `path`,
 * placed first as W3C requires for an updated entry (§3.3.1.1). If `path` is not a valid
 * tracestate value (e.g. longer than 256 characters) the entry is removed instead.
 */
export function traceStateWithPath(tracestate: string | undefined, path: string): string {
  const others = (tracestate ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '' && m.slice(0, m.indexOf('=')).trim() !== TRACESTATE_KEY);
  if (isValidTraceStateValue(path)) others.unshift(`${TRACESTATE_KEY}=${path}`);
  // W3C §3.3.1.1: at most 32 list members.
  return others.slice(0, 32).join(',');
}

/** The separator between the traceparent and the path in a foreign id. */
export const FOREIGN_ID_SEPARATOR = '#';

/** A parsed carrier: the remote parent and the task id path it assigns (if any). */
export interface RemoteParent extends TraceParent {
  /** The task id for the continuing task; `undefined` when the carrier had no starlog path. */
  path: string | undefined;
}

/**
 * Parses a foreign id made by `Task.foreignId()`: `<traceparent>#<path>`. A bare `traceparent`
 * (from any W3C Trace Context system) is accepted too, with no path. Returns a reason string for
 * anything else (wrong type, malformed traceparent, malformed path, or a path that names another
 * trace); never throws.
 */
export function parseForeignId(value: unknown): RemoteParent | string {
  if (typeof value !== 'string') return `not a string (${typeof value})`;
  if (value.length > 55 + 1 + MAX_PATH_LENGTH) return `too long (${value.length} characters)`;
  const sep = value.indexOf(FOREIGN_ID_SEPARATOR);
  const tp = parseTraceParent(sep < 0 ? value : value.slice(0, sep));
  if (tp === undefined) return `malformed traceparent in ${JSON.stringify(value.slice(0, 80))}`;
  if (sep < 0) return { ...tp, path: undefined };
  const path = value.slice(sep + 1);
  if (!isValidPath(path, tp.traceId)) {
    return `malformed task path ${JSON.stringify(path.slice(0, 80))} for trace ${tp.traceId}`;
  }
  return { ...tp, path };
}

/**
 * Parses the environment carrier (`TRACEPARENT`, `TRACESTATE` with a `starlog=<path>` entry).
 * Returns `undefined` when `traceparent` is absent or empty, a reason string when it is bad;
 * a bad or foreign `starlog` entry only drops the path. Never throws.
 */
export function parseCarrier(
  traceparent: unknown,
  tracestate: unknown,
): RemoteParent | string | undefined {
  if (traceparent === undefined || traceparent === null || traceparent === '') return undefined;
  const tp = parseTraceParent(traceparent);
  if (tp === undefined) {
    return `malformed TRACEPARENT ${JSON.stringify(String(traceparent).slice(0, 80))}`;
  }
  const path = pathFromTraceState(tracestate);
  return { ...tp, path: path !== undefined && isValidPath(path, tp.traceId) ? path : undefined };
}
