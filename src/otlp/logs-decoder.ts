/**
 * A decoder for OTLP `ExportLogsServiceRequest` protobuf bytes, written by hand for the primary's
 * hot path (no npm package ships a request decoder).
 *
 * Field numbers come from the public opentelemetry-proto definitions
 * (https://github.com/open-telemetry/opentelemetry-proto, `opentelemetry/proto/...`):
 *
 * - `collector/logs/v1/logs_service.proto` ExportLogsServiceRequest: 1 resource_logs (repeated ResourceLogs)
 * - `logs/v1/logs.proto` ResourceLogs: 1 resource, 2 scope_logs (repeated), 3 schema_url
 * - `logs/v1/logs.proto` ScopeLogs: 1 scope, 2 log_records (repeated), 3 schema_url
 * - `logs/v1/logs.proto` LogRecord: 1 time_unix_nano (fixed64), 11 observed_time_unix_nano (fixed64),
 *   2 severity_number (enum), 3 severity_text, 5 body (AnyValue), 6 attributes (repeated KeyValue),
 *   7 dropped_attributes_count (uint32), 8 flags (fixed32), 9 trace_id (bytes, 16),
 *   10 span_id (bytes, 8), 12 event_name
 * - `resource/v1/resource.proto` Resource: 1 attributes (repeated KeyValue), 2 dropped_attributes_count
 * - `common/v1/common.proto` InstrumentationScope: 1 name, 2 version, 3 attributes, 4 dropped_attributes_count;
 *   KeyValue: 1 key, 2 value; AnyValue (oneof): 1 string, 2 bool, 3 int (int64), 4 double,
 *   5 array (ArrayValue: 1 values), 6 kvlist (KeyValueList: 1 values), 7 bytes
 *
 * Unknown fields are skipped (forward compatible); a known field with the wrong wire type is
 * malformed.
 *
 * @module
 */
import type { AnyValue, Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  IngestedLogRecord,
  type IngestedScope,
} from '../multiprocess/receiver/ingested-log-record.ts';
import { nowHrTime } from '../util/plain-log-record.ts';

/** Why a request could not be decoded: `malformed` bytes, or a `limit` of {@link OtlpDecodeLimits} exceeded. */
export type OtlpDecodeErrorKind = 'malformed' | 'limit';

/**
 * Thrown by {@link OtlpLogsDecoder.decode} for bytes that are not a valid
 * `ExportLogsServiceRequest` (`kind: 'malformed'`) or that exceed a limit (`kind: 'limit'`).
 * Nothing of a failed request is returned (all or nothing).
 */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
  readonly kind: OtlpDecodeErrorKind;
  /** byte offset in the request where the problem was found */
  readonly offset: number;

  constructor(kind: OtlpDecodeErrorKind, message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.kind = kind;
    this.offset = offset;
  }
}

/** Hard limits of the decoder. A hostile or broken peer cannot exceed them. */
export interface OtlpDecodeLimits {
  /** Largest request accepted, in bytes. Default 16 MiB (the receiver's gRPC max receive size). Larger → `limit` error. */
  maxMessageBytes?: number;
  /** Deepest AnyValue nesting (arrays/kvlists in arrays/kvlists), counting the outer value as 1. Default 32. Deeper → `limit` error. */
  maxDepth?: number;
  /**
   * Most attributes kept per record, per resource and per scope. Default 1024. Extra attributes are
   * dropped and counted in the record's (scope's) `droppedAttributesCount`, as the SDK does.
   */
  maxAttributes?: number;
  /** Most elements in one AnyValue array or kvlist. Default 65,536. More → `limit` error. */
  maxCollectionLength?: number;
}

/** Cache sizes of the decoder (least recently used entries are evicted beyond them). */
export interface OtlpDecoderOptions extends OtlpDecodeLimits {
  /** Distinct resources cached (one `Resource` object each). Default 1024. */
  maxResources?: number;
  /** Distinct (resource, scope) pairs cached (one scope object each). Default 4096. */
  maxScopes?: number;
  /**
   * Estimated bytes each of the two caches may hold (twice the encoded size of a cached resource
   * or scope, plus 256 per entry). Default 16 MiB each. A resource or scope heavier than this is
   * decoded afresh for every request instead of being cached.
   */
  maxCacheBytes?: number;
}

/** A cached sender resource with the facts the receiver's statistics need. */
export interface IngestedResource {
  readonly resource: Resource;
  /** `process.pid` of the resource as a string (at most 256 characters), or `'unknown'` */
  readonly pid: string;
  /** `service.name` of the resource (at most 256 characters), if it has one */
  readonly serviceName: string | undefined;
  /** internal id, unique per decoder */
  readonly id: number;
}

/** What {@link OtlpLogsDecoder.decode} returns. */
export interface OtlpDecodeResult {
  /** every log record of the request, in wire order */
  records: IngestedLogRecord[];
  /** how many of those records each `ResourceLogs` carried (one entry per ResourceLogs, in order) */
  perResource: { entry: IngestedResource; records: number }[];
}

interface SlicingBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_CACHE_BYTES = 16 * 1024 * 1024;
const TWO_32 = 4294967296;
const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';
const EMPTY_HRTIME: HrTime = [0, 0];

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

/**
 * A map bounded in entries and in (estimated) bytes that forgets the least recently used entry
 * (Map keeps insertion order). An entry heavier than the whole byte budget is not kept at all.
 */
class Lru<V> {
  readonly #map = new Map<string, { value: V; weight: number }>();
  readonly #max: number;
  readonly #maxBytes: number;
  #bytes = 0;
  constructor(max: number, maxBytes: number) {
    this.#max = max;
    this.#maxBytes = maxBytes;
  }
  get(key: string): V | undefined {
    const map = this.#map;
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    map.delete(key);
    map.set(key, entry);
    return entry.value;
  }
  set(key: string, value: V, weight: number): void {
    if (weight > this.#maxBytes) return;
    const map = this.#map;
    const old = map.get(key);
    if (old !== undefined) {
      this.#bytes -= old.weight;
      map.delete(key);
    }
    map.set(key, { value, weight });
    this.#bytes += weight;
    while (map.size > this.#max || this.#bytes > this.#maxBytes) {
      const oldest = map.keys().next().value as string;
      this.#bytes -= map.get(oldest)!.weight;
      map.delete(oldest);
    }
  }
  get size(): number {
    return this.#map.size;
  }
  get bytes(): number {
    return this.#bytes;
  }
}

/**
 * Estimated bytes a cache entry keeps alive: its key (the encoded resource or scope as a one-byte
 * string) plus the decoded attributes (about as large again) plus object overhead.
 */
function entryWeight(key: string): number {
  return 2 * key.length + 256;
}

/** Longest `pid`/`serviceName` kept in an {@link IngestedResource} (they are statistics keys). */
const MAX_FACT_LENGTH = 256;

/**
 * `s` cut to {@link MAX_FACT_LENGTH} code units, as a fresh flat string (a V8 substring would keep
 * the whole, possibly huge, original alive).
 */
function shortFact(s: string): string {
  return s.length <= MAX_FACT_LENGTH
    ? s
    : Buffer.from(s.slice(0, MAX_FACT_LENGTH), 'utf8').toString('utf8');
}

function checkPositiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(
      `starlog: ${what} must be a positive integer; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Decodes `ExportLogsServiceRequest` bytes into {@link IngestedLogRecord}s.
 *
 * Value mapping:
 * - timestamps (fixed64 ns) → HrTime `[seconds, nanoseconds]`, split exactly (no double rounding);
 *   an unset `time_unix_nano` stays `[0, 0]` (OTLP: unknown); an unset `observed_time_unix_nano`
 *   becomes the receive time.
 * - AnyValue `int` (int64) → a `number` when it converts to a double exactly (every safe integer,
 *   and every integer a JavaScript sender can produce); otherwise its decimal `string`
 *   (e.g. a Go sender's `9007199254740993`), so no value is ever silently rounded.
 * - AnyValue `bytes` → a fresh `Uint8Array` (copied: records never pin the request buffer);
 *   an empty AnyValue → `null`; `array` → JS array; `kvlist` → plain object.
 * - strings are decoded as UTF-8 *leniently*: invalid sequences become U+FFFD instead of
 *   rejecting the batch (one bad byte in a message must not lose a whole batch of logs).
 * - trace_id/span_id → lower-case hex; `spanContext` is set only when both have the right
 *   length (16/8 bytes) and are not all zero; `traceFlags` = `flags & 0xff`, `isRemote: true`.
 * - severity_number 0 (UNSPECIFIED) and empty severity_text/event_name → `undefined`.
 * - Resource `dropped_attributes_count` is not kept (the sdk `Resource` has no such field);
 *   non-simple resource attribute values (kvlists, mixed arrays) are dropped by `resourceFromAttributes`.
 *
 * Resources and scopes are cached: one `Resource` object per distinct (resource bytes,
 * schema_url) and one scope object per distinct (resource, scope bytes, schema_url), both in
 * bounded LRU caches (see {@link OtlpDecoderOptions}).
 *
 * Not re-entrant: one decoder decodes one request at a time (the receiver's handler is synchronous).
 */
export class OtlpLogsDecoder {
  readonly maxMessageBytes: number;
  readonly maxDepth: number;
  readonly maxAttributes: number;
  readonly maxCollectionLength: number;
  readonly maxCacheBytes: number;

  #buf: SlicingBuffer = Buffer.alloc(0) as SlicingBuffer;
  #pos = 0;
  #now: HrTime | undefined;
  #resources: Lru<IngestedResource>;
  #scopes: Lru<IngestedScope>;
  #nextResourceId = 1;
  // scratch for the last 64-bit value read
  #lo = 0;
  #hi = 0;

  /** @throws TypeError naming the option when a limit is not a positive integer */
  constructor(options: OtlpDecoderOptions = {}) {
    this.maxMessageBytes = checkPositiveInt(
      options.maxMessageBytes,
      DEFAULT_MAX_MESSAGE_BYTES,
      'maxMessageBytes',
    );
    this.maxDepth = checkPositiveInt(options.maxDepth, 32, 'maxDepth');
    this.maxAttributes = checkPositiveInt(options.maxAttributes, 1024, 'maxAttributes');
    this.maxCollectionLength = checkPositiveInt(
      options.maxCollectionLength,
      65_536,
      'maxCollectionLength',
    );
    this.maxCacheBytes = checkPositiveInt(
      options.maxCacheBytes,
      DEFAULT_MAX_CACHE_BYTES,
      'maxCacheBytes',
    );
    this.#resources = new Lru(
      checkPositiveInt(options.maxResources, 1024, 'maxResources'),
      this.maxCacheBytes,
    );
    this.#scopes = new Lru(
      checkPositiveInt(options.maxScopes, 4096, 'maxScopes'),
      this.maxCacheBytes,
    );
  }

  /** Estimated bytes held by the resource cache and by the scope cache (see `maxCacheBytes`). */
  cacheBytes(): { resources: number; scopes: number } {
    return { resources: this.#resources.bytes, scopes: this.#scopes.bytes };
  }

  /** Number of cached resources and scopes. */
  cacheSize(): { resources: number; scopes: number } {
    return { resources: this.#resources.size, scopes: this.#scopes.size };
  }

  /**
   * Decodes one request. All or nothing: on any error no record is returned.
   *
   * @param bytes - the serialized `ExportLogsServiceRequest`
   * @throws OtlpDecodeError (`malformed` or `limit`); never anything else
   */
  decode(bytes: Uint8Array): OtlpDecodeResult {
    if (bytes.length > this.maxMessageBytes) {
      throw new OtlpDecodeError(
        'limit',
        `request of ${bytes.length} bytes exceeds maxMessageBytes ${this.maxMessageBytes}`,
        0,
      );
    }
    const buf = (
      Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    ) as SlicingBuffer;
    this.#buf = buf;
    this.#pos = 0;
    this.#now = undefined;
    const result: OtlpDecodeResult = { records: [], perResource: [] };
    try {
      const end = buf.length;
      while (this.#pos < end) {
        const tag = this.#tag(end);
        if (tag >>> 3 === 1) {
          this.#expect(tag, WT_LEN);
          const len = this.#length(end);
          const start = this.#pos;
          this.#resourceLogs(start, start + len, result);
          this.#pos = start + len;
        } else {
          this.#skip(tag, end);
        }
      }
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw err;
      throw new OtlpDecodeError('malformed', `undecodable request: ${String(err)}`, this.#pos);
    } finally {
      this.#buf = Buffer.alloc(0) as SlicingBuffer;
    }
    return result;
  }

  // ---- messages -------------------------------------------------------------------------------

  #resourceLogs(start: number, end: number, result: OtlpDecodeResult): void {
    // pass 1: resource (possibly split over several occurrences, which protobuf merges) and schema_url
    let resStart = -1;
    let resEnd = -1;
    let extra: number[] | undefined;
    let schemaUrl = '';
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      const field = tag >>> 3;
      if (field === 1 || field === 3) {
        this.#expect(tag, WT_LEN);
        const len = this.#length(end);
        const s = this.#pos;
        this.#pos = s + len;
        if (field === 3) schemaUrl = this.#str(s, s + len);
        else if (resStart < 0) {
          resStart = s;
          resEnd = s + len;
        } else {
          extra ??= [];
          extra.push(s, s + len);
        }
      } else {
        this.#skip(tag, end);
      }
    }
    const entry = this.#resourceEntry(resStart, resEnd, extra, schemaUrl);
    // pass 2: scope_logs
    const before = result.records.length;
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      if (tag >>> 3 === 2) {
        this.#expect(tag, WT_LEN);
        const len = this.#length(end);
        const s = this.#pos;
        this.#scopeLogs(entry, s, s + len, result.records);
        this.#pos = s + len;
      } else {
        this.#skip(tag, end);
      }
    }
    result.perResource.push({ entry, records: result.records.length - before });
  }

  #resourceEntry(
    start: number,
    end: number,
    extra: number[] | undefined,
    schemaUrl: string,
  ): IngestedResource {
    const buf = this.#buf;
    let key = start < 0 ? '' : buf.latin1Slice(start, end);
    if (extra !== undefined)
      for (let i = 0; i < extra.length; i += 2) key += buf.latin1Slice(extra[i], extra[i + 1]);
    key += `\u0000${schemaUrl}`;
    const cached = this.#resources.get(key);
    if (cached !== undefined) return cached;

    const attributes: Attributes = {};
    const counter = { n: 0, dropped: 0 };
    const saved = this.#pos;
    if (start >= 0) this.#resourceAttributes(start, end, attributes, counter);
    if (extra !== undefined) {
      for (let i = 0; i < extra.length; i += 2)
        this.#resourceAttributes(extra[i], extra[i + 1], attributes, counter);
    }
    this.#pos = saved;
    const resource = resourceFromAttributes(
      attributes,
      schemaUrl === '' ? undefined : { schemaUrl },
    );
    const pid = attributes['process.pid'];
    const service = attributes['service.name'];
    const entry: IngestedResource = {
      resource,
      pid: typeof pid === 'string' || typeof pid === 'number' ? shortFact(String(pid)) : 'unknown',
      serviceName: typeof service === 'string' ? shortFact(service) : undefined,
      id: this.#nextResourceId++,
    };
    this.#resources.set(key, entry, entryWeight(key));
    return entry;
  }

  #resourceAttributes(
    start: number,
    end: number,
    into: Attributes,
    counter: { n: number; dropped: number },
  ): void {
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      if (tag >>> 3 === 1) {
        this.#expect(tag, WT_LEN);
        this.#attribute(end, into, counter);
      } else {
        this.#skip(tag, end);
      }
    }
  }

  #scopeLogs(entry: IngestedResource, start: number, end: number, out: IngestedLogRecord[]): void {
    let scopeStart = -1;
    let scopeEnd = -1;
    let schemaUrl = '';
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      const field = tag >>> 3;
      if (field === 1 || field === 3) {
        this.#expect(tag, WT_LEN);
        const len = this.#length(end);
        const s = this.#pos;
        this.#pos = s + len;
        if (field === 3) schemaUrl = this.#str(s, s + len);
        else {
          scopeStart = s; // a repeated scope field: the last one wins
          scopeEnd = s + len;
        }
      } else {
        this.#skip(tag, end);
      }
    }
    const scope = this.#scope(entry, scopeStart, scopeEnd, schemaUrl);
    const resource = entry.resource;
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      if (tag >>> 3 === 2) {
        this.#expect(tag, WT_LEN);
        const len = this.#length(end);
        const s = this.#pos;
        out.push(this.#logRecord(resource, scope, s, s + len));
        this.#pos = s + len;
      } else {
        this.#skip(tag, end);
      }
    }
  }

  #scope(entry: IngestedResource, start: number, end: number, schemaUrl: string): IngestedScope {
    const key = `${entry.id}\u0000${start < 0 ? '' : this.#buf.latin1Slice(start, end)}\u0000${schemaUrl}`;
    const cached = this.#scopes.get(key);
    if (cached !== undefined) return cached;
    let name = '';
    let version: string | undefined;
    let attributes: Attributes | undefined;
    const counter = { n: 0, dropped: 0 };
    let dropped = 0;
    if (start >= 0) {
      this.#pos = start;
      while (this.#pos < end) {
        const tag = this.#tag(end);
        switch (tag >>> 3) {
          case 1:
            this.#expect(tag, WT_LEN);
            name = this.#string(end);
            break;
          case 2:
            this.#expect(tag, WT_LEN);
            version = this.#string(end) || undefined;
            break;
          case 3:
            this.#expect(tag, WT_LEN);
            attributes ??= {};
            this.#attribute(end, attributes, counter);
            break;
          case 4:
            this.#expect(tag, WT_VARINT);
            dropped = this.#varint32(end);
            break;
          default:
            this.#skip(tag, end);
        }
      }
    }
    const scope: { -readonly [K in keyof IngestedScope]: IngestedScope[K] } = { name };
    if (version !== undefined) scope.version = version;
    if (schemaUrl !== '') scope.schemaUrl = schemaUrl;
    if (attributes !== undefined) scope.attributes = attributes;
    if (dropped + counter.dropped > 0) scope.droppedAttributesCount = dropped + counter.dropped;
    this.#scopes.set(key, scope, entryWeight(key));
    return scope;
  }

  #logRecord(
    resource: Resource,
    scope: IngestedScope,
    start: number,
    end: number,
  ): IngestedLogRecord {
    let hrTime = EMPTY_HRTIME;
    let observed: HrTime | undefined;
    let severityNumber: number | undefined;
    let severityText: string | undefined;
    let body: AnyValue;
    const attributes: Attributes = {};
    const counter = { n: 0, dropped: 0 };
    let dropped = 0;
    let flags = 0;
    let traceId: string | undefined;
    let spanId: string | undefined;
    let eventName: string | undefined;
    const buf = this.#buf;
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      switch (tag >>> 3) {
        case 1:
          this.#expect(tag, WT_I64);
          this.#fixed64(end);
          hrTime = this.#hrTime();
          break;
        case 2:
          this.#expect(tag, WT_VARINT);
          severityNumber = this.#varint32(end) | 0 || undefined;
          break;
        case 3:
          this.#expect(tag, WT_LEN);
          severityText = this.#string(end) || undefined;
          break;
        case 5: {
          this.#expect(tag, WT_LEN);
          const len = this.#length(end);
          const s = this.#pos;
          body = this.#anyValue(s, s + len, 1);
          this.#pos = s + len;
          break;
        }
        case 6:
          this.#expect(tag, WT_LEN);
          this.#attribute(end, attributes, counter);
          break;
        case 7:
          this.#expect(tag, WT_VARINT);
          dropped = this.#varint32(end);
          break;
        case 8:
          this.#expect(tag, WT_I32);
          flags = this.#fixed32(end);
          break;
        case 9: {
          this.#expect(tag, WT_LEN);
          const len = this.#length(end);
          traceId = len === 16 ? buf.hexSlice(this.#pos, this.#pos + 16) : undefined;
          this.#pos += len;
          break;
        }
        case 10: {
          this.#expect(tag, WT_LEN);
          const len = this.#length(end);
          spanId = len === 8 ? buf.hexSlice(this.#pos, this.#pos + 8) : undefined;
          this.#pos += len;
          break;
        }
        case 11:
          this.#expect(tag, WT_I64);
          this.#fixed64(end);
          observed = this.#lo === 0 && this.#hi === 0 ? undefined : this.#hrTime();
          break;
        case 12:
          this.#expect(tag, WT_LEN);
          eventName = this.#string(end) || undefined;
          break;
        default:
          this.#skip(tag, end);
      }
    }
    let spanContext: SpanContext | undefined;
    if (
      traceId !== undefined &&
      spanId !== undefined &&
      traceId !== ZERO_TRACE_ID &&
      spanId !== ZERO_SPAN_ID
    ) {
      spanContext = { traceId, spanId, traceFlags: flags & 0xff, isRemote: true };
    }
    if (observed === undefined) observed = this.#now ??= nowHrTime();
    return new IngestedLogRecord({
      resource,
      instrumentationScope: scope,
      hrTime,
      hrTimeObserved: observed,
      spanContext,
      severityNumber,
      severityText,
      body,
      eventName,
      attributes,
      droppedAttributesCount: dropped + counter.dropped,
      flags,
    });
  }

  /** Reads one length-delimited KeyValue at #pos into `into`, honouring maxAttributes. */
  #attribute(
    end: number,
    into: Attributes | Record<string, AnyValue>,
    counter: { n: number; dropped: number },
  ): void {
    const len = this.#length(end);
    const s = this.#pos;
    const e = s + len;
    if (counter.n >= this.maxAttributes) {
      counter.dropped++;
      this.#pos = e;
      return;
    }
    this.#keyValue(s, e, into, 1);
    counter.n++;
    this.#pos = e;
  }

  /** Decodes a KeyValue message [start, end) into `into`. `depth` is the depth of its value. */
  #keyValue(start: number, end: number, into: Record<string, unknown>, depth: number): void {
    let key = '';
    let value: AnyValue = null;
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      const field = tag >>> 3;
      if (field === 1) {
        this.#expect(tag, WT_LEN);
        key = this.#string(end);
      } else if (field === 2) {
        this.#expect(tag, WT_LEN);
        const len = this.#length(end);
        const s = this.#pos;
        value = this.#anyValue(s, s + len, depth);
        this.#pos = s + len;
      } else {
        this.#skip(tag, end);
      }
    }
    if (key === '__proto__') {
      Object.defineProperty(into, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      into[key] = value;
    }
  }

  /** Decodes an AnyValue message [start, end). The oneof's last field wins; none → null. */
  #anyValue(start: number, end: number, depth: number): AnyValue {
    if (depth > this.maxDepth) {
      throw new OtlpDecodeError(
        'limit',
        `AnyValue nested deeper than maxDepth ${this.maxDepth}`,
        start,
      );
    }
    let value: AnyValue = null;
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      switch (tag >>> 3) {
        case 1:
          this.#expect(tag, WT_LEN);
          value = this.#string(end);
          break;
        case 2:
          this.#expect(tag, WT_VARINT);
          value = this.#varint32(end) !== 0 || this.#hi !== 0;
          break;
        case 3:
          this.#expect(tag, WT_VARINT);
          value = this.#int64(end);
          break;
        case 4: {
          this.#expect(tag, WT_I64);
          const p = this.#pos;
          if (p + 8 > end) throw this.#truncated();
          value = this.#buf.readDoubleLE(p);
          this.#pos = p + 8;
          break;
        }
        case 5: {
          this.#expect(tag, WT_LEN);
          const len = this.#length(end);
          const s = this.#pos;
          value = this.#arrayValue(s, s + len, depth);
          this.#pos = s + len;
          break;
        }
        case 6: {
          this.#expect(tag, WT_LEN);
          const len = this.#length(end);
          const s = this.#pos;
          value = this.#kvlistValue(s, s + len, depth);
          this.#pos = s + len;
          break;
        }
        case 7: {
          this.#expect(tag, WT_LEN);
          const len = this.#length(end);
          const s = this.#pos;
          value = new Uint8Array(this.#buf.subarray(s, s + len)); // a copy
          this.#pos = s + len;
          break;
        }
        default:
          this.#skip(tag, end);
      }
    }
    return value;
  }

  #arrayValue(start: number, end: number, depth: number): AnyValue[] {
    const out: AnyValue[] = [];
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      if (tag >>> 3 === 1) {
        this.#expect(tag, WT_LEN);
        const len = this.#length(end);
        const s = this.#pos;
        if (out.length >= this.maxCollectionLength) {
          throw new OtlpDecodeError(
            'limit',
            `array longer than maxCollectionLength ${this.maxCollectionLength}`,
            s,
          );
        }
        out.push(this.#anyValue(s, s + len, depth + 1));
        this.#pos = s + len;
      } else {
        this.#skip(tag, end);
      }
    }
    return out;
  }

  #kvlistValue(start: number, end: number, depth: number): Record<string, AnyValue> {
    const out: Record<string, AnyValue> = {};
    let n = 0;
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#tag(end);
      if (tag >>> 3 === 1) {
        this.#expect(tag, WT_LEN);
        const len = this.#length(end);
        const s = this.#pos;
        if (++n > this.maxCollectionLength) {
          throw new OtlpDecodeError(
            'limit',
            `kvlist longer than maxCollectionLength ${this.maxCollectionLength}`,
            s,
          );
        }
        this.#keyValue(s, s + len, out, depth + 1);
        this.#pos = s + len;
      } else {
        this.#skip(tag, end);
      }
    }
    return out;
  }

  // ---- primitives -----------------------------------------------------------------------------

  #truncated(): OtlpDecodeError {
    return new OtlpDecodeError('malformed', 'truncated message', this.#pos);
  }

  #expect(tag: number, wireType: number): void {
    if ((tag & 7) !== wireType) {
      throw new OtlpDecodeError(
        'malformed',
        `field ${tag >>> 3} has wire type ${tag & 7}, expected ${wireType}`,
        this.#pos,
      );
    }
  }

  /**
   * Reads a field tag: a varint that must fit in 32 bits (field numbers are at most 2^29 - 1).
   * Without this check a tag like `0x1_0000_000a` would be read as field 1, wire type 2.
   */
  #tag(end: number): number {
    const tag = this.#varint32(end);
    if (this.#hi !== 0)
      throw new OtlpDecodeError('malformed', 'tag longer than 32 bits', this.#pos);
    return tag;
  }

  /** Reads a varint; returns its low 32 bits (uint32) and leaves bits 32..63 in #hi. */
  #varint32(end: number): number {
    const buf = this.#buf;
    let p = this.#pos;
    if (p >= end) throw this.#truncated();
    const c = buf[p++];
    if (c < 0x80) {
      this.#pos = p;
      this.#hi = 0;
      return c;
    }
    this.#varint64From(c, p, end);
    return this.#lo;
  }

  /** Slow path of a varint whose first byte `first` was read; result in #lo/#hi. */
  #varint64From(first: number, p: number, end: number): void {
    const buf = this.#buf;
    let lo = first & 0x7f;
    let hi = 0;
    let c = 0;
    for (let shift = 7; shift < 28; shift += 7) {
      if (p >= end) throw this.#truncated();
      c = buf[p++];
      lo |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.#pos = p;
        this.#lo = lo >>> 0;
        this.#hi = 0;
        return;
      }
    }
    if (p >= end) throw this.#truncated();
    c = buf[p++];
    lo |= (c & 0x7f) << 28;
    hi = (c & 0x7f) >>> 4;
    if (c >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) throw new OtlpDecodeError('malformed', 'varint longer than 10 bytes', p);
        if (p >= end) throw this.#truncated();
        c = buf[p++];
        hi |= (c & 0x7f) << shift;
        if (c < 0x80) break;
      }
    }
    this.#pos = p;
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }

  /** Reads a length prefix and checks that that many bytes follow within `end`. */
  #length(end: number): number {
    const len = this.#varint32(end);
    if (this.#hi !== 0 || len > end - this.#pos) {
      throw new OtlpDecodeError(
        'malformed',
        `length ${this.#hi !== 0 ? '>= 2^32' : len} exceeds the enclosing message`,
        this.#pos,
      );
    }
    return len;
  }

  /** Reads a length-delimited UTF-8 string (lenient: invalid bytes become U+FFFD). */
  #string(end: number): string {
    const len = this.#length(end);
    const s = this.#pos;
    this.#pos = s + len;
    return this.#str(s, s + len);
  }

  #str(start: number, end: number): string {
    return start === end ? '' : this.#buf.utf8Slice(start, end);
  }

  /** Reads an int64 varint: a number when exactly representable as a double, else a decimal string. */
  #int64(end: number): number | string {
    const lo = this.#varint32(end);
    const hi = this.#hi;
    if (hi === 0) return lo;
    if (hi === 0xffffffff && lo !== 0) return lo - TWO_32;
    const value = (hi | 0) * TWO_32 + lo;
    if (Number.isSafeInteger(value)) return value;
    const big = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
    const asNumber = Number(big);
    return BigInt(asNumber) === big ? asNumber : big.toString();
  }

  #fixed32(end: number): number {
    const buf = this.#buf;
    const p = this.#pos;
    if (p + 4 > end) throw this.#truncated();
    this.#pos = p + 4;
    return (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
  }

  #fixed64(end: number): void {
    const buf = this.#buf;
    const p = this.#pos;
    if (p + 8 > end) throw this.#truncated();
    this.#lo = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
    this.#hi = (buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16) | (buf[p + 7] << 24)) >>> 0;
    this.#pos = p + 8;
  }

  /** Converts the fixed64 nanoseconds in #lo/#hi to an exact HrTime. */
  #hrTime(): HrTime {
    return hrTimeFromNanos(this.#lo, this.#hi);
  }

  #skip(tag: number, end: number): void {
    if (tag >>> 3 === 0) throw new OtlpDecodeError('malformed', 'field number 0', this.#pos);
    switch (tag & 7) {
      case WT_VARINT:
        this.#varint32(end);
        return;
      case WT_I64:
        if (this.#pos + 8 > end) throw this.#truncated();
        this.#pos += 8;
        return;
      case WT_LEN: {
        const len = this.#length(end);
        this.#pos += len;
        return;
      }
      case WT_I32:
        if (this.#pos + 4 > end) throw this.#truncated();
        this.#pos += 4;
        return;
      default:
        throw new OtlpDecodeError('malformed', `unsupported wire type ${tag & 7}`, this.#pos);
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
