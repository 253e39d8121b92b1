import { type Attributes, type HrTime, isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import {
  doubleKeys,
  type OtlpJsonAnyValue,
  type RawResource,
  rawResourceOf,
} from './value-types.ts';

/**
 * OTLP/JSON encoding of log records: an `ExportLogsServiceRequest`
 * (`opentelemetry/proto/collector/logs/v1/logs_service.proto`) as text, byte-for-byte in the form
 * the OpenTelemetry Collector's JSON marshaler (pdata `plog.JSONMarshaler`, used by the `file`
 * exporter) writes, following the OTLP specification, "JSON Protobuf Encoding":
 *
 * - field names in lowerCamelCase (`timeUnixNano`, `severityNumber`, `droppedAttributesCount`);
 * - 64-bit integers (`timeUnixNano`, `observedTimeUnixNano`, `intValue`) as decimal strings;
 * - `traceId`/`spanId` as lower-case hex strings (not base64);
 * - enums (`severityNumber`) as integers;
 * - fields with default values (0, `""`, empty lists, absent ids) are omitted, except `body`, which
 *   the Collector always writes (`"body":{}` for a record without a body);
 * - `AnyValue` as a one-key object: `stringValue`, `boolValue`, `intValue` (decimal string),
 *   `doubleValue` (JSON number; `"NaN"`, `"Infinity"`, `"-Infinity"` as strings per the proto3
 *   JSON mapping), `arrayValue` `{"values":[…]}`, `kvlistValue` `{"values":[{"key","value"}]}`,
 *   `bytesValue` (standard base64 with padding); `null`/`undefined` as the empty AnyValue `{}`.
 *
 * Field order follows the proto field order the Collector uses: LogRecord `timeUnixNano` (1),
 * `observedTimeUnixNano` (11), `severityNumber` (2), `severityText` (3), `body` (5),
 * `attributes` (6), `droppedAttributesCount` (7), `flags` (8: all 32 bits of a received record's
 * `flags`, else the W3C trace flags), `traceId` (9), `spanId` (10), `eventName` (12); trace id and
 * span id each written when valid. A record received from a child is written with its resource
 * exactly as the child sent it (`rawResourceOf`).
 *
 * JavaScript numbers: integers within the int64 range become `intValue`, every other number
 * (fractions, NaN, ±Infinity, -0, integers beyond ±2^63) `doubleValue`, and so does a whole number
 * the receiver's decoder marked as a double (`value-types.ts`: a child sent 2.0 as `double_value`);
 * BigInts within int64 become `intValue`. `Uint8Array` (and any other ArrayBuffer view, by its bytes) becomes `bytesValue`;
 * `Date` becomes a `stringValue` in ISO 8601; other objects become `kvlistValue` of their own
 * enumerable keys (keys whose value is `undefined` are skipped, as in `JSON.stringify`).
 * Nesting deeper than {@link MAX_DEPTH} and cycles (impossible in a real AnyValue, possible in a
 * careless `logger.emit`) are cut with the string `"[Circular]"` / `"[MaxDepth]"`.
 */

/** Deepest array/kvlist nesting encoded; deeper values become `{"stringValue":"[MaxDepth]"}`. */
export const MAX_DEPTH = 32;

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63; // exclusive
const BIGINT64_MIN = -9223372036854775808n;
const BIGINT64_MAX = 9223372036854775807n;

/** Ancestors of the value being encoded (cycle detection); reset after every record. */
const stack: object[] = [];

function doubleJson(v: number): string {
  if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
  if (Number.isNaN(v)) return '"NaN"';
  return v > 0 ? '"Infinity"' : '"-Infinity"';
}

function bytesBase64(v: ArrayBufferView): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/** Whether the decoder's double marks are looked up (set per record and for scope headers). */
let marksOn = false;

/** A number as an AnyValue: `intValue` for an integer in the int64 range unless `isDouble`. */
function encodeNumber(v: number, isDouble: boolean): string {
  if (!isDouble) {
    if (Number.isSafeInteger(v) && !Object.is(v, -0)) return `{"intValue":"${v}"}`;
    // beyond 2^53 String() gives the shortest round-trip digits, not the double's exact value
    if (Number.isInteger(v) && v >= INT64_MIN && v < INT64_LIMIT && !Object.is(v, -0)) {
      return `{"intValue":"${BigInt(v)}"}`;
    }
  }
  return `{"doubleValue":${doubleJson(v)}}`;
}

/** `container[key]` as an AnyValue, honouring a double mark on it. */
function encodeMember(container: object, key: string | number, v: unknown): string {
  if (typeof v === 'number' && marksOn && Number.isInteger(v)) {
    return encodeNumber(v, doubleKeys(container)?.has(key) === true);
  }
  return encodeAnyValue(v);
}

/**
 * One `AnyValue` as OTLP/JSON text, e.g. `{"stringValue":"hi"}`, `{"intValue":"3"}`.
 * Never throws for values built from JSON-like data; a throwing getter or Proxy can still throw
 * (the record encoder catches that and drops the record).
 */
export function encodeAnyValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `{"stringValue":${JSON.stringify(v)}}`;
    case 'number':
      return encodeNumber(v, false);
    case 'boolean':
      return v ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'bigint':
      if (v >= BIGINT64_MIN && v <= BIGINT64_MAX) return `{"intValue":"${v}"}`;
      return `{"doubleValue":${doubleJson(Number(v))}}`;
    case 'object':
      if (v === null) return '{}';
      return encodeObject(v);
    default:
      // undefined, function, symbol: no AnyValue
      return '{}';
  }
}

function encodeObject(v: object): string {
  if (ArrayBuffer.isView(v)) return `{"bytesValue":"${bytesBase64(v)}"}`;
  if (v instanceof Date) {
    const t = v.getTime();
    return `{"stringValue":${JSON.stringify(Number.isNaN(t) ? 'Invalid Date' : v.toISOString())}}`;
  }
  if (stack.includes(v)) return '{"stringValue":"[Circular]"}';
  if (stack.length >= MAX_DEPTH) return '{"stringValue":"[MaxDepth]"}';
  stack.push(v);
  let out: string;
  if (Array.isArray(v)) {
    if (v.length === 0) out = '{"arrayValue":{}}';
    else {
      let s = encodeMember(v, 0, v[0]);
      for (let i = 1; i < v.length; i++) s += `,${encodeMember(v, i, v[i])}`;
      out = `{"arrayValue":{"values":[${s}]}}`;
    }
  } else {
    const kv = encodeKeyValues(v as Record<string, unknown>);
    out = kv === '' ? '{"kvlistValue":{}}' : `{"kvlistValue":{"values":[${kv}]}}`;
  }
  stack.pop();
  return out;
}

/** A raw (OTLP/JSON form) AnyValue as text, in the same canonical form as {@link encodeAnyValue}. */
export function encodeRawAnyValue(v: OtlpJsonAnyValue): string {
  if ('stringValue' in v) return `{"stringValue":${JSON.stringify(v.stringValue)}}`;
  if ('boolValue' in v) return v.boolValue ? '{"boolValue":true}' : '{"boolValue":false}';
  if ('intValue' in v) return `{"intValue":${JSON.stringify(v.intValue)}}`;
  if ('doubleValue' in v) {
    const d = v.doubleValue;
    return `{"doubleValue":${typeof d === 'number' ? doubleJson(d) : JSON.stringify(d)}}`;
  }
  if ('bytesValue' in v) return `{"bytesValue":${JSON.stringify(v.bytesValue)}}`;
  if ('arrayValue' in v) {
    const values = v.arrayValue.values;
    if (values.length === 0) return '{"arrayValue":{}}';
    return `{"arrayValue":{"values":[${values.map(encodeRawAnyValue).join(',')}]}}`;
  }
  if ('kvlistValue' in v) {
    const values = v.kvlistValue.values;
    if (values.length === 0) return '{"kvlistValue":{}}';
    const items = values.map((kv) => `${keyHead(kv.key)}${encodeRawAnyValue(kv.value)}}`);
    return `{"kvlistValue":{"values":[${items.join(',')}]}}`;
  }
  return '{}';
}

/**
 * The `KeyValue` list of a map (attributes, kvlist), without brackets:
 * `{"key":"a","value":{…}},…`; `''` when empty. Keys with an `undefined` value are skipped.
 */
export function encodeKeyValues(map: Attributes | Record<string, unknown>): string {
  let s = '';
  for (const key in map) {
    if (!Object.hasOwn(map, key)) continue;
    const value = (map as Record<string, unknown>)[key];
    if (value === undefined) continue;
    s += `${s === '' ? '' : ','}${keyHead(key)}${encodeMember(map, key, value)}}`;
  }
  return s;
}

/** Bound of the cache of encoded attribute keys (keys repeat across records). */
const KEY_CACHE_MAX = 4096;
const keyHeads = new Map<string, string>();

/** `{"key":<key>,"value":` for an attribute key, cached. */
function keyHead(key: string): string {
  let head = keyHeads.get(key);
  if (head === undefined) {
    head = `{"key":${JSON.stringify(key)},"value":`;
    if (keyHeads.size >= KEY_CACHE_MAX) keyHeads.clear();
    keyHeads.set(key, head);
  }
  return head;
}

/**
 * An OpenTelemetry HrTime (`[seconds, nanoseconds]` since the Unix epoch) as the decimal string
 * of nanoseconds since the epoch (OTLP fixed64 in JSON), exactly (no float rounding), or `''`
 * for zero, negative or non-finite times (omitted from the output, like the Collector's zero).
 */
export function hrTimeToNanosString(t: HrTime | undefined): string {
  if (t === undefined) return '';
  const s = t[0];
  const ns = t[1];
  if (Number.isInteger(s) && Number.isInteger(ns) && s > 0 && ns >= 0 && ns < 1e9) {
    // s > 0: seconds followed by exactly nine nanosecond digits
    return `${s}${String(ns + 1e9).slice(1)}`;
  }
  if (!Number.isFinite(s) || !Number.isFinite(ns)) return '';
  const total = BigInt(Math.trunc(s)) * 1_000_000_000n + BigInt(Math.round(ns + (s % 1) * 1e9));
  return total > 0n ? total.toString() : '';
}

interface ScopeLike {
  readonly name: string;
  readonly version?: string;
  readonly schemaUrl?: string;
  readonly attributes?: Attributes;
  readonly droppedAttributesCount?: number;
}

/** Encoded `{"resource":{…},"scopeLogs":[` per Resource object (when its attributes settled). */
const resourceHeads = new WeakMap<object, { head: string; tail: string }>();
/** Encoded `{"scope":{…},"logRecords":[` and `]…}` per InstrumentationScope object. */
const scopeHeads = new WeakMap<object, { head: string; tail: string }>();

function rawResourceParts(raw: RawResource): { head: string; tail: string } {
  let fields = '';
  if (raw.attributes.length > 0) {
    const items = raw.attributes.map((kv) => `${keyHead(kv.key)}${encodeRawAnyValue(kv.value)}}`);
    fields = `"attributes":[${items.join(',')}]`;
  }
  if (raw.droppedAttributesCount > 0) {
    fields += `${fields === '' ? '' : ','}"droppedAttributesCount":${raw.droppedAttributesCount >>> 0}`;
  }
  const tail = raw.schemaUrl ? `],"schemaUrl":${JSON.stringify(raw.schemaUrl)}}` : ']}';
  return { head: `{"resource":{${fields}},"scopeLogs":[`, tail };
}

/** The encoded `{"resource":…,"scopeLogs":[` and its closing text, cached per Resource. */
export function resourceParts(resource: Resource): { head: string; tail: string } {
  const cached = resourceHeads.get(resource);
  if (cached !== undefined) return cached;
  const raw = rawResourceOf(resource);
  if (raw !== undefined) {
    const parts = rawResourceParts(raw);
    resourceHeads.set(resource, parts);
    return parts;
  }
  const attrs = resource.attributes === undefined ? '' : encodeKeyValues(resource.attributes);
  const head = `{"resource":${attrs === '' ? '{}' : `{"attributes":[${attrs}]}`},"scopeLogs":[`;
  const schemaUrl = resource.schemaUrl;
  const tail = schemaUrl ? `],"schemaUrl":${JSON.stringify(schemaUrl)}}` : ']}';
  const parts = { head, tail };
  // a Resource whose async attributes are still pending may still change: don't cache it
  if (!resource.asyncAttributesPending) resourceHeads.set(resource, parts);
  return parts;
}

/** The encoded `{"scope":…,"logRecords":[` and its closing text, cached per scope object. */
export function scopeParts(scope: ScopeLike): { head: string; tail: string } {
  const cached = scopeHeads.get(scope);
  if (cached !== undefined) return cached;
  const fields: string[] = [];
  marksOn = true;
  if (scope.name) fields.push(`"name":${JSON.stringify(scope.name)}`);
  if (scope.version) fields.push(`"version":${JSON.stringify(scope.version)}`);
  const attrs = scope.attributes === undefined ? '' : encodeKeyValues(scope.attributes);
  if (attrs !== '') fields.push(`"attributes":[${attrs}]`);
  const dropped = scope.droppedAttributesCount;
  if (dropped !== undefined && dropped > 0)
    fields.push(`"droppedAttributesCount":${dropped >>> 0}`);
  const head = `{"scope":{${fields.join(',')}},"logRecords":[`;
  const tail = scope.schemaUrl ? `],"schemaUrl":${JSON.stringify(scope.schemaUrl)}}` : ']}';
  const parts = { head, tail };
  scopeHeads.set(scope, parts);
  return parts;
}

interface ReceivedFields {
  /** all 32 bits of OTLP `flags` (IngestedLogRecord) */
  flags?: unknown;
  /** the decoder marked a whole double in this record (IngestedLogRecord) */
  hasDoubleMarks?: unknown;
}

/** One LogRecord message as OTLP/JSON text. May throw on hostile values (throwing getters). */
export function encodeLogRecord(r: ReadableLogRecord): string {
  const received = r as ReadableLogRecord & ReceivedFields;
  marksOn = received.hasDoubleMarks === true;
  let s = '{';
  const time = hrTimeToNanosString(r.hrTime);
  if (time !== '') s += `"timeUnixNano":"${time}",`;
  const observed = hrTimeToNanosString(r.hrTimeObserved);
  if (observed !== '') s += `"observedTimeUnixNano":"${observed}",`;
  const sev = r.severityNumber;
  if (typeof sev === 'number' && sev > 0 && Number.isInteger(sev)) s += `"severityNumber":${sev},`;
  const text = r.severityText;
  if (typeof text === 'string' && text !== '') s += `"severityText":${JSON.stringify(text)},`;
  s += `"body":${encodeMember(r, 'body', r.body)}`;
  const attrs = r.attributes === undefined ? '' : encodeKeyValues(r.attributes);
  if (attrs !== '') s += `,"attributes":[${attrs}]`;
  const dropped = r.droppedAttributesCount;
  if (dropped > 0) s += `,"droppedAttributesCount":${dropped >>> 0}`;
  const sc = r.spanContext;
  const rawFlags = received.flags;
  const flags =
    typeof rawFlags === 'number' ? rawFlags >>> 0 : sc !== undefined ? sc.traceFlags & 0xff : 0;
  if (flags !== 0) s += `,"flags":${flags}`;
  if (sc !== undefined) {
    if (isValidTraceId(sc.traceId)) s += `,"traceId":"${sc.traceId}"`;
    if (isValidSpanId(sc.spanId)) s += `,"spanId":"${sc.spanId}"`;
  }
  const eventName = r.eventName;
  if (typeof eventName === 'string' && eventName !== '') {
    s += `,"eventName":${JSON.stringify(eventName)}`;
  }
  return `${s}}`;
}

/** The result of {@link encodeLogsRequest}. */
export interface EncodedLogsRequest {
  /** The `ExportLogsServiceRequest` as one line of JSON text, without a trailing newline. */
  json: string;
  /** Records encoded into `json`. */
  encoded: number;
  /** Records left out because encoding them threw (hostile values); reported by the caller. */
  dropped: number;
  /** The first error that made a record drop, if any. */
  firstError?: unknown;
}

/**
 * Encodes records as one OTLP/JSON `ExportLogsServiceRequest`:
 * `{"resourceLogs":[{"resource":{…},"scopeLogs":[{"scope":{…},"logRecords":[…]}]}]}`.
 *
 * Record order is kept exactly: consecutive records of the same `resource` object go into one
 * `ResourceLogs`, consecutive records of the same `instrumentationScope` object within it into one
 * `ScopeLogs` (sdk-logs keeps one object per distinct scope; starlog's receiver keeps one per
 * child resource and scope); a resource or scope that comes back after another one opens a new
 * entry. The encoded resource and scope headers are cached per object (WeakMap).
 * Never throws: a record whose encoding throws is left out and counted in `dropped`.
 */
export function encodeLogsRequest(records: readonly ReadableLogRecord[]): EncodedLogsRequest {
  let out = '{"resourceLogs":[';
  let resource: object | undefined;
  let scope: object | undefined;
  let resourceTail = '';
  let scopeTail = '';
  let encoded = 0;
  let dropped = 0;
  let firstError: unknown;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    let json: string;
    let rp: { head: string; tail: string } | undefined;
    let sp: { head: string; tail: string } | undefined;
    try {
      json = encodeLogRecord(r);
      if (r.resource !== resource) rp = resourceParts(r.resource);
      if (rp !== undefined || r.instrumentationScope !== scope)
        sp = scopeParts(r.instrumentationScope);
    } catch (err) {
      stack.length = 0;
      dropped++;
      firstError ??= err;
      continue;
    }
    if (rp !== undefined) {
      if (resource !== undefined) out += `${scopeTail}${resourceTail},`;
      out += rp.head;
      resource = r.resource;
      resourceTail = rp.tail;
      scope = undefined;
    }
    if (sp !== undefined) {
      if (scope !== undefined) out += `${scopeTail},`;
      out += `${sp.head}${json}`;
      scope = r.instrumentationScope;
      scopeTail = sp.tail;
    } else {
      out += `,${json}`;
    }
    encoded++;
  }
  if (resource !== undefined) out += `${scopeTail}${resourceTail}`;
  out += ']}';
  return firstError === undefined
    ? { json: out, encoded, dropped }
    : { json: out, encoded, dropped, firstError };
}
