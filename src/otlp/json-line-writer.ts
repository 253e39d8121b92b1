/**
 * The OTLP/JSON encoder of `json-encoder.ts`, writing straight into bytes: one JSON line (with its
 * `\n`) per `ExportLogsServiceRequest`, built in a reused scratch buffer and copied once into a
 * Buffer of its exact size (a line of 64 KiB or more that fills half the scratch buffer is handed
 * over in it instead, and a new scratch buffer taken). No string of the whole line is ever made, so there is no
 * `Buffer.from(line)` and no `Buffer.byteLength(line)`: the byte count is the buffer's length.
 *
 * The output is byte for byte what `encodeLogsRequest(records).json + '\n'` gives (tested), with
 * the same rules: see `json-encoder.ts`. Cached per object: the encoded resource and scope
 * headers (as bytes), per attribute key: `{"key":…,"value":` (as bytes).
 *
 * Received records whose body and attributes are still the request's protobuf bytes
 * (`IngestedLogRecord`, kept so by the logs decoder) are transcoded: their values are written
 * straight from the bytes, with the same output as from the decoded values (tested in
 * `test/json-transcode.test.ts`); a short KeyValue seen twice is copied from a cache of its JSON.
 *
 * A hot path kept in one file on purpose (over 450 lines): the object writer and the transcoder
 * share the scratch buffer and its position as module state and call the same helpers, which V8
 * inlines into one another.
 *
 * @module
 */
import { type AnyValue, isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { IngestedLogRecord } from '../multiprocess/receiver/ingested-log-record.ts';
import { hrTimeToNanosString, MAX_DEPTH, resourceParts, scopeParts } from './json-encoder.ts';
import { ProtobufReader } from './protobuf-reader.ts';
import { hrTimeFromNanos } from './record-order.ts';
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
/** Lines at least this long are handed over in the scratch buffer instead of copied. */
const HAND_OVER_BYTES = 64 * 1024;

let buf = Buffer.allocUnsafe(1 << 20) as Utf8Buffer;
/** `buf` as a DataView (4-byte writes); set with every new `buf`. */
let view = viewOf(buf);
let pos = 0;
/** `buf` while a borrowed line holds the scratch (see `releaseLine`) */
const NO_SCRATCH = Buffer.alloc(0) as Utf8Buffer;
/** the scratch buffer of the borrowed line not given back yet */
let lent: Utf8Buffer | undefined;

function setScratch(b: Utf8Buffer): void {
  buf = b;
  view = viewOf(b);
}
/** The request bytes being transcoded and their DataView (let go at the end of each line). */
let viewSrc: Buffer | undefined;
const NO_VIEW = new DataView(new ArrayBuffer(0));
let srcView: DataView = NO_VIEW;

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
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
  view = viewOf(buf);
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

/** Pre-encoded constant text (copying bytes costs less than reading a string's characters). */
function lit(c: Uint8Array): void {
  const n = c.length;
  if (pos + n > buf.length) ensure(n);
  if (n > 16) {
    buf.set(c, pos); // longer ones: the native copy costs less than a loop
    pos += n;
    return;
  }
  const b = buf;
  let p = pos;
  for (let i = 0; i < n; i++) b[p++] = c[i]!;
  pos = p;
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

function bytes(src: Buffer): void {
  const n = src.length;
  if (pos + n > buf.length) ensure(n);
  if (n > 16) {
    buf.set(src, pos);
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
const OBSERVED_PREFIX = '"observedTimeUnixNano":"';
/** `00` … `99` as ASCII bytes. */
const DIGIT_PAIRS = Uint8Array.from(
  Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''),
  (c) => c.charCodeAt(0),
);
const secondsOf = [-1, -1];
const secondsHeads: (Buffer | undefined)[] = [undefined, undefined];

/** `"name":"<ns>",` for an HrTime (see hrTimeToNanosString); nothing when omitted. */
function time(prefix: string, t: readonly [number, number] | undefined): void {
  if (t === undefined) return;
  const s = t[0];
  const ns = t[1];
  if (Number.isInteger(s) && Number.isInteger(ns) && s > 0 && ns >= 0 && ns < 1e9) {
    timeDigits(prefix, s, ns);
    return;
  }
  // rare shapes (fractions, zero, NaN): the string encoder's exact rules
  const text = hrTimeToNanosString(t as [number, number]);
  if (text !== '') ascii(`${prefix}${text}",`);
}

/**
 * `"name":"<ns>",` for fixed64 ns given as uint32 halves (a received record's time as sent): the
 * same bytes as {@link time} of `hrTimeFromNanos(lo, hi)`, without making the array.
 */
function timeHalves(prefix: string, lo: number, hi: number): void {
  if (hi < 0x40000000) {
    const shifted = hi * 8388608 + (lo >>> 9); // (hi·2^32 + lo) >> 9, < 2^53
    const s = Math.floor(shifted / 1953125);
    if (s > 0) {
      timeDigits(prefix, s, (shifted - s * 1953125) * 512 + (lo & 511));
      return;
    }
  }
  time(prefix, hrTimeFromNanos(lo, hi));
}

/** `"name":"<s><9 digits of ns>",` for whole s > 0 and 0 <= ns < 1e9. */
function timeDigits(prefix: string, s: number, ns: number): void {
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
  const p = pos;
  // nine digits, two at a time (ns < 1e9 < 2^31: int32 arithmetic)
  let n = ns | 0;
  for (let i = p + 7; i > p; i -= 2) {
    const q = (n / 100) | 0;
    const d = (n - q * 100) << 1;
    b[i] = DIGIT_PAIRS[d]!;
    b[i + 1] = DIGIT_PAIRS[d + 1]!;
    n = q;
  }
  b[p] = 0x30 + n;
  b[pos + 9] = 0x22; // "
  b[pos + 10] = 0x2c; // ,
  pos += 11;
}

// ---- transcoding: body and attributes of an ingested record still kept as protobuf bytes ------
// The decoder let only canonical values stay bytes (`decoder-scan.ts`), so these write what the
// decoded values would give, byte for byte (tested): no unknown field, no merge, no repeated or
// integer-like key, nesting within MAX_DEPTH.

/** `"severityNumber":<n>,` for the defined severities 1..24 (index 0 unused). */
const SEVERITY_FIELDS = Array.from({ length: 25 }, (_, n) => latin1(`"severityNumber":${n},`));
const J_EMPTY_VALUE = latin1('{}');
const J_ATTRIBUTES_OPEN = latin1(',"attributes":[');
const J_CLOSE_BRACKET = latin1(']');
const J_KEY_OPEN = latin1('{"key":');
const J_VALUE_OPEN = latin1(',"value":');
const J_INT_OPEN = latin1('{"intValue":"');
const J_QUOTE_CLOSE = latin1('"}');
const J_STRING_OPEN = latin1('{"stringValue":');
const J_DOUBLE_OPEN = latin1('{"doubleValue":');
const J_CLOSE_BRACE = latin1('}');
const J_COMMA = latin1(',');
const J_LIST_CLOSE = latin1(']}}');
const J_OPEN_BRACE = latin1('{');
const J_SEVERITY_TEXT = latin1('"severityText":');
const J_BODY = latin1('"body":');
const J_DROPPED = latin1(',"droppedAttributesCount":');
const J_FLAGS = latin1(',"flags":');
const J_TRACE_ID = latin1(',"traceId":"');
const J_QUOTE = latin1('"');
const J_SPAN_ID = latin1(',"spanId":"');
const J_EVENT_NAME = latin1(',"eventName":');
const pb = new ProtobufReader();
/** Read position in the bytes being transcoded. */
let at = 0;

/** A varint below 2^32 at `at` (tags, lengths; possibly padded). */
function varint(src: Buffer): number {
  let c = src[at++]!;
  if (c < 0x80) return c;
  let v = c & 0x7f;
  let scale = 128;
  do {
    c = src[at++]!;
    v += (c & 0x7f) * scale;
    scale *= 128;
  } while (c >= 0x80);
  return v;
}

/** Skips the field whose tag was just read (only the wire types the scan lets through). */
function skipField(src: Buffer, tag: number): void {
  switch (tag & 7) {
    case 0:
      while (src[at++]! >= 0x80);
      return;
    case 1:
      at += 8;
      return;
    case 5:
      at += 4;
      return;
    default: {
      const len = varint(src);
      at += len;
    }
  }
}

/** `"body":` is written; writes the body, then `,"attributes":[…]` when there are attributes. */
function lazyValues(r: IngestedLogRecord, src: Buffer): void {
  if (r.bodyStart < 0) lit(J_EMPTY_VALUE);
  else pbAnyValue(src, r.bodyStart, r.bodyEnd);
  if (r.attrStart >= 0) {
    lit(J_ATTRIBUTES_OPEN);
    // the decoder's run id (the same id: the same bytes), else the bytes themselves
    const id = r.attrRun;
    if (id !== 0 && id === runId) {
      copyRun();
      return;
    }
    if (sameRun(src, r.attrStart, r.attrEnd)) {
      if (id !== 0) runId = id; // the same bytes: the id stands for the kept JSON too
      copyRun();
      return;
    }
    const mark = pos;
    const end = r.attrEnd;
    let first = true;
    at = r.attrStart;
    while (at < end) {
      const tag = varint(src);
      if (tag !== 0x32) {
        skipField(src, tag);
        continue;
      }
      const len = varint(src);
      const s = at;
      if (first) first = false;
      else {
        if (pos + 1 > buf.length) ensure(1);
        buf[pos++] = 0x2c; // ,
      }
      pbKeyValue(src, s, s + len);
      at = s + len;
    }
    lit(J_CLOSE_BRACKET);
    keepRun(src, r.attrStart, r.attrEnd, mark, id);
  }
}

/*
 * The attributes of the records of one call site are the same bytes record after record (the
 * typical call: route, status, ms, user): the last run of attribute fields written (up to
 * RUN_MAX_BYTES of protobuf) and its JSON are kept, so the next record with the same bytes costs
 * one comparison and one copy instead of a transcoding per attribute. Exact: the JSON of a run
 * depends on its bytes only.
 */
const RUN_MAX_BYTES = 512;
const runSrc = new Uint8Array(RUN_MAX_BYTES);
let runSrcLen = -1;
/** The decoder's id of the kept run's bytes (`IngestedLogRecord.attrRun`), 0 when unknown. */
let runId = 0;
let runJson = new Uint8Array(4096);
/** The kept JSON: a view of `runJson`. */
let runJsonView = runJson.subarray(0, 0);

/** Whether [start, end) of `src` are the bytes of the kept run. */
function sameRun(src: Buffer, start: number, end: number): boolean {
  const n = end - start;
  if (n !== runSrcLen) return false;
  const kept = runSrc;
  for (let i = 0; i < n; i++) if (kept[i] !== src[start + i]) return false;
  return true;
}

/** Writes the kept run's JSON (`…]`). */
function copyRun(): void {
  const n = runJsonView.length;
  if (pos + n > buf.length) ensure(n);
  buf.set(runJsonView, pos);
  pos += n;
}

/**
 * Keeps [start, end) of `src` (the decoder's run `id`, 0: none) and the JSON written for it from
 * `mark` (when small enough).
 */
function keepRun(src: Buffer, start: number, end: number, mark: number, id: number): void {
  const n = end - start;
  const m = pos - mark;
  if (n > RUN_MAX_BYTES) return;
  if (m > runJson.length) {
    if (m > 64 * 1024) return;
    runJson = new Uint8Array(m * 2);
  }
  runId = id;
  runSrc.set(src.subarray(start, end));
  runSrcLen = n;
  runJson.set(buf.subarray(mark, pos));
  runJsonView = runJson.subarray(0, m);
}

/** A KeyValue message [start, end) as `{"key":…,"value":…}`. */
/**
 * The JSON of short KeyValue messages seen twice (by their bytes: the JSON of a KeyValue depends on
 * nothing else), so that attributes that repeat across records (`route`, `status`, …) are copied.
 * 1,024 slots by FNV-1a hash; a slot is filled the second time its hash comes (one-off values
 * such as request ids allocate nothing).
 */
const KV_SLOTS = 1024;
const KV_MAX_BYTES = 64;
const kvHashes = new Int32Array(KV_SLOTS);
const kvBytes: (Uint8Array | undefined)[] = new Array(KV_SLOTS).fill(undefined);
const kvJson: (Uint8Array | undefined)[] = new Array(KV_SLOTS).fill(undefined);

function pbKeyValue(src: Buffer, start: number, end: number): void {
  const n = end - start;
  if (n > KV_MAX_BYTES) {
    pbKeyValueOnce(src, start, end);
    return;
  }
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ src[i]!, 16777619);
  const slot = h & (KV_SLOTS - 1);
  const cached = kvBytes[slot];
  if (cached !== undefined && cached.length === n) {
    let i = 0;
    while (i < n && cached[i] === src[start + i]) i++;
    if (i === n) {
      lit(kvJson[slot]!);
      return;
    }
  }
  const mark = pos;
  pbKeyValueOnce(src, start, end);
  if (kvHashes[slot] === h) {
    kvBytes[slot] = Uint8Array.prototype.slice.call(src, start, end) as Uint8Array;
    kvJson[slot] = Uint8Array.prototype.slice.call(buf, mark, pos) as Uint8Array;
  } else kvHashes[slot] = h;
}

function pbKeyValueOnce(src: Buffer, start: number, end: number): void {
  let keyStart = 0;
  let keyEnd = 0;
  let valueStart = -1;
  let valueEnd = -1;
  at = start;
  while (at < end) {
    const tag = varint(src);
    const len = varint(src);
    if (tag === 0x0a) {
      keyStart = at;
      keyEnd = at + len;
    } else {
      valueStart = at;
      valueEnd = at + len;
    }
    at += len;
  }
  lit(J_KEY_OPEN);
  pbString(src, keyStart, keyEnd);
  lit(J_VALUE_OPEN);
  if (valueStart < 0) lit(J_EMPTY_VALUE);
  else pbAnyValue(src, valueStart, valueEnd);
  if (pos + 1 > buf.length) ensure(1);
  buf[pos++] = 0x7d; // }
}

/** A JSON string literal of the UTF-8 bytes [start, end), as `str()` writes their decoded text. */
function pbString(src: Buffer, start: number, end: number): void {
  const n = end - start;
  if (pos + n + 2 > buf.length) ensure(n + 2);
  const b = buf;
  let p = pos;
  b[p++] = 0x22;
  let i = start;
  if (n >= 8) {
    // 4 bytes at a time while none needs more than a copy (no control, quote, backslash or
    // non-ASCII byte: SWAR tests, each exact as a whole)
    if (src !== viewSrc) {
      viewSrc = src;
      srcView = new DataView(src.buffer, src.byteOffset, src.byteLength);
    }
    const sv = srcView;
    const bv = view;
    for (; i + 4 <= end; i += 4) {
      const w = sv.getInt32(i, true);
      const q = w ^ 0x22222222;
      const e = w ^ 0x5c5c5c5c;
      const special =
        w | ((w - 0x20202020) & ~w) | ((q - 0x01010101) & ~q) | ((e - 0x01010101) & ~e);
      if ((special & 0x80808080) !== 0) break;
      bv.setInt32(p, w, true);
      p += 4;
    }
  }
  for (; i < end; i++) {
    const c = src[i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
      str(src.toString('utf8', start, end)); // escapes or non-ASCII: the exact path
      return;
    }
    b[p++] = c;
  }
  b[p++] = 0x22;
  pos = p;
}

/** An int64 varint at `at`, as `number()`/`anyValue()` write the decoded number or bigint. */
function pbInt(src: Buffer, end: number): void {
  // up to 4 bytes (below 2^28): the value right here
  let v = 0;
  for (let i = 0, p = at; i < 4; i++, p++) {
    const c = src[p]!;
    v |= (c & 0x7f) << (7 * i);
    if (c < 0x80) {
      at = p + 1;
      lit(J_INT_OPEN);
      digits(v);
      lit(J_QUOTE_CLOSE);
      return;
    }
  }
  pb.reset(src);
  pb.pos = at;
  const big = pb.int64(end);
  at = pb.pos;
  pb.release();
  if (typeof big === 'number') number(big, false);
  else ascii(`{"intValue":"${big}"}`);
}

/** An AnyValue message [start, end) with at most one field, as `anyValue()` writes its value. */
function pbAnyValue(src: Buffer, start: number, end: number): void {
  if (start === end) {
    lit(J_EMPTY_VALUE);
    return;
  }
  at = start;
  const tag = varint(src);
  switch (tag) {
    case 0x0a: {
      const len = varint(src);
      lit(J_STRING_OPEN);
      pbString(src, at, at + len);
      if (pos + 1 > buf.length) ensure(1);
      buf[pos++] = 0x7d; // }
      return;
    }
    case 0x10: {
      let set = src[at]! !== 0;
      if (src[at]! >= 0x80) {
        pb.reset(src); // a long varint: the decoder's exact reading (bits past 64 ignored)
        pb.pos = at;
        set = pb.varint32(end) !== 0 || pb.hi !== 0;
        pb.release();
      }
      ascii(set ? '{"boolValue":true}' : '{"boolValue":false}');
      return;
    }
    case 0x18:
      pbInt(src, end);
      return;
    case 0x21:
      lit(J_DOUBLE_OPEN);
      ascii(doubleText(src.readDoubleLE(at)));
      lit(J_CLOSE_BRACE);
      return;
    case 0x3a: {
      const len = varint(src);
      ascii(`{"bytesValue":"${src.toString('base64', at, at + len)}"}`);
      return;
    }
    default: {
      const kv = tag === 0x32;
      const len = varint(src);
      const listEnd = at + len;
      if (len === 0) {
        ascii(kv ? '{"kvlistValue":{}}' : '{"arrayValue":{}}');
        return;
      }
      ascii(kv ? '{"kvlistValue":{"values":[' : '{"arrayValue":{"values":[');
      let first = true;
      while (at < listEnd) {
        varint(src); // the tag of `values`
        const itemLen = varint(src);
        const s = at;
        if (!first) lit(J_COMMA);
        first = false;
        if (kv) pbKeyValue(src, s, s + itemLen);
        else pbAnyValue(src, s, s + itemLen);
        at = s + itemLen;
      }
      lit(J_LIST_CLOSE);
    }
  }
}

interface ReceivedFields {
  flags?: unknown;
  hasDoubleMarks?: unknown;
}

/*
 * `"severityNumber":<n>,"severityText":<text>,"body":` depends on the two values only: the last
 * one written is kept (the records of a batch mostly share one level) and copied when both are
 * the same again.
 */
let blockSev: unknown = null;
let blockText: unknown = null;
let block: Uint8Array = new Uint8Array(0);

/** `"severityNumber":…,"severityText":…,"body":` (each part when present). */
function severityAndBody(sev: unknown, text: unknown): void {
  if (sev === blockSev && text === blockText) {
    lit(block);
    return;
  }
  const mark = pos;
  if (typeof sev === 'number' && sev > 0 && Number.isInteger(sev))
    if (sev < SEVERITY_FIELDS.length) lit(SEVERITY_FIELDS[sev]!);
    else ascii(`"severityNumber":${sev},`);
  if (typeof text === 'string' && text !== '') {
    lit(J_SEVERITY_TEXT);
    str(text);
    lit(J_COMMA);
  }
  lit(J_BODY);
  if (pos - mark <= 256) {
    block = Uint8Array.prototype.slice.call(buf, mark, pos) as Uint8Array;
    blockSev = sev;
    blockText = text;
  }
}

function logRecord(r: ReadableLogRecord): void {
  const received = r as ReadableLogRecord & ReceivedFields;
  marksOn = received.hasDoubleMarks === true;
  lit(J_OPEN_BRACE);
  if (r instanceof IngestedLogRecord) {
    if (r.timeHi >= 0) timeHalves(TIME_PREFIX, r.timeLo, r.timeHi);
    else time(TIME_PREFIX, r.hrTime);
    if (r.observedHi >= 0) timeHalves(OBSERVED_PREFIX, r.observedLo, r.observedHi);
    else time(OBSERVED_PREFIX, r.hrTimeObserved);
  } else {
    time(TIME_PREFIX, r.hrTime);
    time(OBSERVED_PREFIX, r.hrTimeObserved);
  }
  severityAndBody(r.severityNumber, r.severityText);
  let transcoded = false;
  if (r instanceof IngestedLogRecord && r.src !== undefined) {
    const mark = pos;
    try {
      lazyValues(r, r.src);
      transcoded = true;
    } catch {
      pos = mark; // not expected (the decoder checked the bytes): written from the decoded values
    }
  }
  if (!transcoded) {
    member(r, 'body', r.body as AnyValue | undefined);
    const attrs = r.attributes;
    if (attrs !== undefined) {
      const start = pos;
      lit(J_ATTRIBUTES_OPEN);
      if (keyValues(attrs as Record<string, unknown>)) lit(J_CLOSE_BRACKET);
      else pos = start;
    }
  }
  const dropped = r.droppedAttributesCount;
  if (dropped > 0) {
    lit(J_DROPPED);
    ascii(String(dropped >>> 0));
  }
  const sc = r.spanContext;
  const rawFlags = received.flags;
  const flags =
    typeof rawFlags === 'number' ? rawFlags >>> 0 : sc !== undefined ? sc.traceFlags & 0xff : 0;
  if (flags !== 0) {
    lit(J_FLAGS);
    ascii(String(flags));
  }
  if (sc !== undefined) {
    if (isValidTraceId(sc.traceId)) {
      lit(J_TRACE_ID);
      ascii(sc.traceId);
      lit(J_QUOTE);
    }
    if (isValidSpanId(sc.spanId)) {
      lit(J_SPAN_ID);
      ascii(sc.spanId);
      lit(J_QUOTE);
    }
  }
  const eventName = r.eventName;
  if (typeof eventName === 'string' && eventName !== '') {
    lit(J_EVENT_NAME);
    str(eventName);
  }
  lit(J_CLOSE_BRACE);
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
  /**
   * the `ExportLogsServiceRequest` as one line of UTF-8 JSON, `\n` included: its own memory, or
   * with `borrow` the writer's scratch buffer (give it back with {@link releaseLine})
   */
  line: Buffer;
  /** records encoded into `line` */
  encoded: number;
  /** records left out because encoding them threw (hostile values) */
  dropped: number;
  /** the first error that made a record drop, if any */
  firstError?: unknown;
}

/**
 * Gives a line encoded with `borrow` back: its scratch buffer is written over by the next call.
 * A line never given back is simply left to the garbage collector (the next call writes into a
 * new scratch buffer), so a nested call, or a caller that keeps its line, is safe.
 */
export function releaseLine(line: Buffer): void {
  if (lent === undefined || line.buffer !== lent.buffer) return;
  // a huge scratch (over 16 MiB) goes; the next call starts a 1 MiB one
  if (lent.length <= 16 << 20) setScratch(lent);
  lent = undefined;
}

/**
 * Encodes records as one OTLP/JSON `ExportLogsServiceRequest` line into bytes: the same bytes as
 * `encodeLogsRequest(records).json + '\n'` (batch order kept, see there). Never throws: a record
 * whose encoding throws is left out and counted in `dropped`.
 *
 * `borrow` (default false): the line is a view of the writer's scratch buffer instead of a copy,
 * for a caller that writes it synchronously and then gives it back with {@link releaseLine} (the
 * JSON-lines file: no copy, and the same scratch pages from line to line). Until then, calls
 * write into another buffer.
 */
export function encodeLogsRequestLine(
  records: readonly ReadableLogRecord[],
  borrow = false,
): EncodedLogsLine {
  if (buf === NO_SCRATCH) setScratch(Buffer.allocUnsafe(1 << 20) as Utf8Buffer);
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
  let line: Buffer;
  if (borrow) {
    line = buf.subarray(0, pos);
    lent = buf;
    buf = NO_SCRATCH; // until the line is given back
  } else if (pos >= HAND_OVER_BYTES && pos * 2 >= buf.length) {
    // a large line filling at least half of the scratch buffer: hand it over, no copy
    line = buf.subarray(0, pos);
    let size = HAND_OVER_BYTES;
    while (size < pos && size < 1 << 24) size *= 2;
    buf = Buffer.allocUnsafe(size) as Utf8Buffer;
    view = viewOf(buf);
  } else {
    line = Buffer.allocUnsafe(pos);
    buf.copy(line, 0, 0, pos);
    if (buf.length > 16 << 20) {
      buf = Buffer.allocUnsafe(1 << 20) as Utf8Buffer; // let a huge one go
      view = viewOf(buf);
    }
  }
  viewSrc = undefined; // a request is not pinned by the writer
  srcView = NO_VIEW;
  return firstError === undefined
    ? { line, encoded, dropped }
    : { line, encoded, dropped, firstError };
}
