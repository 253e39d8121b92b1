/**
 * The OTLP/JSON encoder of `json-encoder.ts`, writing straight into bytes: one JSON line (with its
 * `\n`) per `ExportLogsServiceRequest`, built in a reused scratch buffer and copied once into a
 * Buffer of its exact size. No string of the whole line is ever made, so there is no
 * `Buffer.from(line)` and no `Buffer.byteLength(line)`: the byte count is the buffer's length.
 *
 * The output is byte for byte what `encodeLogsRequest(records).json + '\n'` gives (tested), with
 * the same rules: see `json-encoder.ts`. Cached per object: the encoded resource and scope
 * headers (as bytes), per attribute key: `{"key":…,"value":` (as bytes).
 * A hot path kept in one file on purpose (about 450 lines): the writers share the scratch buffer
 * and its position as module state, which V8 keeps in registers across the inlined calls.
 *
 * @module
 */
import { type AnyValue, isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { hrTimeToNanosString, MAX_DEPTH, resourceParts, scopeParts } from './json-encoder.ts';
import { doubleKeys } from './value-types.ts';

interface Utf8Buffer extends Buffer {
  utf8Write(s: string, offset: number, length?: number): number;
  latin1Write(s: string, offset: number, length?: number): number;
}

/** Strings that JSON.stringify would change (quote, backslash, controls, surrogates). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63;
const BIGINT64_MIN = -9223372036854775808n;
const BIGINT64_MAX = 9223372036854775807n;
const KEY_CACHE_MAX = 4096;

let buf = Buffer.allocUnsafe(1 << 20) as Utf8Buffer;
let pos = 0;
let marksOn = false;
const stack: object[] = [];
const keyHeads = new Map<string, Buffer>();
const partBytes = new WeakMap<object, { head: Buffer; tail: Buffer }>();

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const bigger = Buffer.allocUnsafe(size) as Utf8Buffer;
  buf.copy(bigger, 0, 0, pos);
  buf = bigger;
}

/** ASCII text (our own punctuation, digits, hex): a JS loop (a native write costs more for short text). */
function ascii(s: string): void {
  const n = s.length;
  if (pos + n > buf.length) ensure(n);
  const b = buf;
  let p = pos;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  pos = p;
}

function bytes(src: Buffer): void {
  const n = src.length;
  if (pos + n > buf.length) ensure(n);
  if (n > 64) {
    src.copy(buf, pos);
    pos += n;
    return;
  }
  const b = buf;
  let p = pos;
  for (let i = 0; i < n; i++) b[p++] = src[i]!;
  pos = p;
}

/** A JSON string literal, exactly as JSON.stringify writes it, UTF-8 encoded. */
function str(s: string): void {
  const n = s.length;
  if (pos + n * 3 + 2 > buf.length) ensure(n * 3 + 2);
  const b = buf;
  let p = pos;
  b[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
      strSlow(s);
      return;
    }
    b[p++] = c;
  }
  b[p++] = 0x22;
  pos = p;
}

/** Non-ASCII text or text that needs escapes. */
function strSlow(s: string): void {
  if (NEEDS_ESCAPE.test(s)) s = JSON.stringify(s);
  else s = `"${s}"`;
  ensure(s.length * 3);
  pos += buf.utf8Write(s, pos);
}

function doubleText(v: number): string {
  if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
  if (Number.isNaN(v)) return '"NaN"';
  return v > 0 ? '"Infinity"' : '"-Infinity"';
}

/** A non-negative integer below 2^31 as decimal digits; others through String(). */
function digits(v: number): void {
  if (v < 0 || v > 0x7fffffff) {
    ascii(String(v));
    return;
  }
  if (pos + 10 > buf.length) ensure(10);
  let n = v;
  let len = 1;
  while (n >= 10) {
    n = (n / 10) | 0;
    len++;
  }
  const b = buf;
  n = v;
  for (let i = pos + len - 1; i >= pos; i--) {
    const q = (n / 10) | 0;
    b[i] = 0x30 + n - q * 10;
    n = q;
  }
  pos += len;
}

function number(v: number, isDouble: boolean): void {
  if (!isDouble && Number.isInteger(v) && !Object.is(v, -0)) {
    if (Number.isSafeInteger(v)) {
      ascii('{"intValue":"');
      if (v < 0) {
        ascii('-');
        digits(-v);
      } else digits(v);
      ascii('"}');
      return;
    }
    if (v >= INT64_MIN && v < INT64_LIMIT) {
      ascii(`{"intValue":"${BigInt(v)}"}`);
      return;
    }
  }
  ascii('{"doubleValue":');
  ascii(doubleText(v));
  ascii('}');
}

function member(container: object, key: string | number, v: unknown): void {
  if (typeof v === 'number' && marksOn && Number.isInteger(v)) {
    number(v, doubleKeys(container)?.has(key) === true);
  } else anyValue(v);
}

function anyValue(v: unknown): void {
  switch (typeof v) {
    case 'string':
      ascii('{"stringValue":');
      str(v);
      ascii('}');
      return;
    case 'number':
      number(v, false);
      return;
    case 'boolean':
      ascii(v ? '{"boolValue":true}' : '{"boolValue":false}');
      return;
    case 'bigint':
      if (v >= BIGINT64_MIN && v <= BIGINT64_MAX) ascii(`{"intValue":"${v}"}`);
      else ascii(`{"doubleValue":${doubleText(Number(v))}}`);
      return;
    case 'object':
      if (v === null) ascii('{}');
      else object(v);
      return;
    default:
      ascii('{}');
  }
}

function object(v: object): void {
  if (ArrayBuffer.isView(v)) {
    ascii(
      `{"bytesValue":"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"}`,
    );
    return;
  }
  if (v instanceof Date) {
    const t = v.getTime();
    ascii('{"stringValue":');
    str(Number.isNaN(t) ? 'Invalid Date' : v.toISOString());
    ascii('}');
    return;
  }
  if (stack.includes(v)) {
    ascii('{"stringValue":"[Circular]"}');
    return;
  }
  if (stack.length >= MAX_DEPTH) {
    ascii('{"stringValue":"[MaxDepth]"}');
    return;
  }
  stack.push(v);
  if (Array.isArray(v)) {
    if (v.length === 0) ascii('{"arrayValue":{}}');
    else {
      ascii('{"arrayValue":{"values":[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) ascii(',');
        member(v, i, v[i]);
      }
      ascii(']}}');
    }
  } else {
    ascii('{"kvlistValue":{');
    const start = pos;
    ascii('"values":[');
    if (keyValues(v as Record<string, unknown>)) ascii(']}}');
    else {
      pos = start;
      ascii('}}');
    }
  }
  stack.pop();
}

function keyHead(key: string): Buffer {
  let head = keyHeads.get(key);
  if (head === undefined) {
    head = Buffer.from(`{"key":${JSON.stringify(key)},"value":`, 'utf8');
    if (keyHeads.size >= KEY_CACHE_MAX) keyHeads.clear();
    keyHeads.set(key, head);
  }
  return head;
}

/** Writes the KeyValues of a map without brackets; false (nothing written) when it has none. */
function keyValues(map: Record<string, unknown>): boolean {
  let any = false;
  for (const key in map) {
    if (!Object.hasOwn(map, key)) continue;
    const value = map[key];
    if (value === undefined) continue;
    if (any) ascii(',');
    any = true;
    bytes(keyHead(key));
    member(map, key, value);
    ascii('}');
  }
  return any;
}

const TIME_PREFIX = '"timeUnixNano":"';
const secondsOf = [-1, -1];
const secondsHeads: (Buffer | undefined)[] = [undefined, undefined];

/** `"name":"<ns>",` for an HrTime (see hrTimeToNanosString); nothing when omitted. */
function time(prefix: string, t: readonly [number, number] | undefined): void {
  if (t === undefined) return;
  const s = t[0];
  const ns = t[1];
  if (Number.isInteger(s) && Number.isInteger(ns) && s > 0 && ns >= 0 && ns < 1e9) {
    // `"timeUnixNano":"<seconds>`: the same for every record of a second (two fields → two slots)
    const slot = prefix === TIME_PREFIX ? 0 : 1;
    let head = secondsHeads[slot];
    if (secondsOf[slot] !== s || head === undefined) {
      head = Buffer.from(`${prefix}${s}`, 'latin1');
      secondsHeads[slot] = head;
      secondsOf[slot] = s;
    }
    bytes(head);
    if (pos + 11 > buf.length) ensure(11);
    const b = buf;
    let n = ns;
    for (let i = pos + 8; i >= pos; i--) {
      const q = (n / 10) | 0;
      b[i] = 0x30 + n - q * 10;
      n = q;
    }
    b[pos + 9] = 0x22; // "
    b[pos + 10] = 0x2c; // ,
    pos += 11;
    return;
  }
  // rare shapes (fractions, zero, NaN): the string encoder's exact rules
  const text = hrTimeToNanosString(t as [number, number]);
  if (text !== '') ascii(`${prefix}${text}",`);
}

interface ReceivedFields {
  flags?: unknown;
  hasDoubleMarks?: unknown;
}

function logRecord(r: ReadableLogRecord): void {
  const received = r as ReadableLogRecord & ReceivedFields;
  marksOn = received.hasDoubleMarks === true;
  ascii('{');
  time('"timeUnixNano":"', r.hrTime);
  time('"observedTimeUnixNano":"', r.hrTimeObserved);
  const sev = r.severityNumber;
  if (typeof sev === 'number' && sev > 0 && Number.isInteger(sev))
    ascii(`"severityNumber":${sev},`);
  const text = r.severityText;
  if (typeof text === 'string' && text !== '') {
    ascii('"severityText":');
    str(text);
    ascii(',');
  }
  ascii('"body":');
  member(r, 'body', r.body as AnyValue | undefined);
  const attrs = r.attributes;
  if (attrs !== undefined) {
    const start = pos;
    ascii(',"attributes":[');
    if (keyValues(attrs as Record<string, unknown>)) ascii(']');
    else pos = start;
  }
  const dropped = r.droppedAttributesCount;
  if (dropped > 0) {
    ascii(',"droppedAttributesCount":');
    ascii(String(dropped >>> 0));
  }
  const sc = r.spanContext;
  const rawFlags = received.flags;
  const flags =
    typeof rawFlags === 'number' ? rawFlags >>> 0 : sc !== undefined ? sc.traceFlags & 0xff : 0;
  if (flags !== 0) {
    ascii(',"flags":');
    ascii(String(flags));
  }
  if (sc !== undefined) {
    if (isValidTraceId(sc.traceId)) {
      ascii(',"traceId":"');
      ascii(sc.traceId);
      ascii('"');
    }
    if (isValidSpanId(sc.spanId)) {
      ascii(',"spanId":"');
      ascii(sc.spanId);
      ascii('"');
    }
  }
  const eventName = r.eventName;
  if (typeof eventName === 'string' && eventName !== '') {
    ascii(',"eventName":');
    str(eventName);
  }
  ascii('}');
}

function parts(
  o: object,
  make: () => { head: string; tail: string },
): { head: Buffer; tail: Buffer } {
  let p = partBytes.get(o);
  if (p === undefined) {
    const s = make();
    p = { head: Buffer.from(s.head, 'utf8'), tail: Buffer.from(s.tail, 'utf8') };
    partBytes.set(o, p);
  }
  return p;
}

/** What {@link encodeLogsRequestLine} returns. */
export interface EncodedLogsLine {
  /** the `ExportLogsServiceRequest` as one line of UTF-8 JSON, `\n` included (its own memory) */
  line: Buffer;
  /** records encoded into `line` */
  encoded: number;
  /** records left out because encoding them threw (hostile values) */
  dropped: number;
  /** the first error that made a record drop, if any */
  firstError?: unknown;
}

/**
 * Encodes records as one OTLP/JSON `ExportLogsServiceRequest` line into bytes: the same bytes as
 * `encodeLogsRequest(records).json + '\n'` (batch order kept, see there). Never throws: a record
 * whose encoding throws is left out and counted in `dropped`.
 */
export function encodeLogsRequestLine(records: readonly ReadableLogRecord[]): EncodedLogsLine {
  pos = 0;
  ascii('{"resourceLogs":[');
  let resource: object | undefined;
  let scope: object | undefined;
  let resourceTail: Buffer | undefined;
  let scopeTail: Buffer | undefined;
  let encoded = 0;
  let dropped = 0;
  let firstError: unknown;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    let rp: { head: Buffer; tail: Buffer } | undefined;
    let sp: { head: Buffer; tail: Buffer } | undefined;
    try {
      if (r.resource !== resource) rp = parts(r.resource, () => resourceParts(r.resource));
      if (rp !== undefined || r.instrumentationScope !== scope) {
        sp = parts(r.instrumentationScope, () => scopeParts(r.instrumentationScope));
      }
    } catch (err) {
      dropped++;
      firstError ??= err;
      continue;
    }
    const mark = pos;
    if (rp !== undefined) {
      if (resource !== undefined) {
        bytes(scopeTail!);
        bytes(resourceTail!);
        ascii(',');
      }
      bytes(rp.head);
    }
    if (sp !== undefined) {
      if (scope !== undefined && rp === undefined) {
        bytes(scopeTail!);
        ascii(',');
      }
      bytes(sp.head);
    } else ascii(',');
    try {
      logRecord(r);
    } catch (err) {
      stack.length = 0;
      pos = mark;
      dropped++;
      firstError ??= err;
      continue;
    }
    if (rp !== undefined) {
      resource = r.resource;
      resourceTail = rp.tail;
      scope = undefined;
    }
    if (sp !== undefined) {
      scope = r.instrumentationScope;
      scopeTail = sp.tail;
    }
    encoded++;
  }
  if (resource !== undefined) {
    bytes(scopeTail!);
    bytes(resourceTail!);
  }
  ascii(']}\n');
  const line = Buffer.allocUnsafe(pos);
  buf.copy(line, 0, 0, pos);
  if (buf.length > 16 << 20) buf = Buffer.allocUnsafe(1 << 20) as Utf8Buffer; // let a huge one go
  return firstError === undefined
    ? { line, encoded, dropped }
    : { line, encoded, dropped, firstError };
}
