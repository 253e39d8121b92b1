/**
 * A decoder for OTLP `ExportLogsServiceRequest` protobuf bytes, written by hand for the primary's
 * hot path (no npm package ships a request decoder). The wire format is read by
 * {@link ProtobufReader}; resources are read exactly by `raw-values.ts`.
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
 * Protobuf's parsing rules are followed (https://protobuf.dev/programming-guides/encoding/):
 * a scalar field read twice, the last wins; an embedded message read twice (resource, scope,
 * body, an AnyValue's array or kvlist, a KeyValue's value) is merged; repeated fields append;
 * unknown fields of every wire type (groups included) are skipped, and so is a known field that
 * arrives with another wire type (as Google's parsers do).
 *
 * Longer than 450 lines on purpose: the request → ResourceLogs → ScopeLogs → LogRecord path stays
 * in one class that shares the reader, so that V8 inlines the private methods into one another.
 * Values are decoded by `decoder-values.ts` and checked (kept as bytes) by `decoder-scan.ts`.
 *
 * @module
 */
import type { AnyValue, Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  IngestedLogRecord,
  type IngestedScope,
} from '../multiprocess/receiver/ingested-log-record.ts';
import { nowHrTime } from '../util/plain-log-record.ts';
import { entryWeight, Lru } from './decoder-cache.ts';
import { checkPositiveInt, type OtlpDecoderOptions } from './decoder-options.ts';
import { ValueScan } from './decoder-scan.ts';
import { ValueDecoder } from './decoder-values.ts';
import {
  OtlpDecodeError,
  ProtobufReader,
  WT_I32,
  WT_I64,
  WT_LEN,
  WT_VARINT,
} from './protobuf-reader.ts';
import { sortByTime } from './record-order.ts';
import { type IngestedResource, ingestedResource, readResource } from './resource-decoder.ts';
import { TraceIdCache } from './trace-id-cache.ts';

export type { OtlpDecodeLimits, OtlpDecoderOptions } from './decoder-options.ts';
export { OtlpDecodeError, type OtlpDecodeErrorKind } from './protobuf-reader.ts';
export { hrTimeFromNanos } from './record-order.ts';
export type { IngestedResource } from './resource-decoder.ts';

/** What {@link OtlpLogsDecoder.decode} returns. */
export interface OtlpDecodeResult {
  /** every log record of the request; within one `ResourceLogs` in time order (see decode) */
  records: IngestedLogRecord[];
  /** how many of those records each `ResourceLogs` carried (one entry per ResourceLogs, in order) */
  perResource: { entry: IngestedResource; records: number }[];
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_CACHE_BYTES = 16 * 1024 * 1024;
const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';
/** The attributes of a record kept lazily until they are decoded (never read: see IngestedLogRecord). */
const LAZY_ATTRIBUTES: Attributes = Object.freeze({});

/** Ranges [start, end) of the pieces of an embedded message, flat: s0, e0, s1, e1, … */
type Pieces = number[];

/**
 * Decodes `ExportLogsServiceRequest` bytes into {@link IngestedLogRecord}s.
 *
 * Value mapping (what a processor sees):
 * - timestamps (fixed64 ns) → HrTime `[seconds, nanoseconds]`, split exactly (no double rounding);
 *   an unset `time_unix_nano` stays `[0, 0]` (OTLP: unknown); an unset `observed_time_unix_nano`
 *   becomes the time the primary received the request (it is the first to observe the record).
 * - AnyValue `int` (int64) → a `number` when it is a safe integer (|v| ≤ 2^53 − 1), otherwise a
 *   `bigint` (exact). AnyValue `double` → a `number`; a whole one (2.0, 2^60) is marked so that
 *   the file writes it as a double again (`value-types.ts`); `-0` stays `-0`.
 * - AnyValue `bytes` → a fresh `Uint8Array` (copied from the request);
 *   an empty AnyValue → `null`; `array` → JS array; `kvlist` → plain object (a duplicate key: the
 *   last wins).
 * - strings are decoded as UTF-8 *leniently*: invalid sequences become U+FFFD instead of
 *   rejecting the batch (one bad byte in a message must not lose a whole batch of logs).
 * - trace_id/span_id → lower-case hex, each kept when it has the right length (16/8 bytes) and
 *   is not all zero. `spanContext` is set when either is kept (the other one all zeros, so
 *   `isSpanContextValid` is false for it), `traceFlags` = `flags & 0xff`, `isRemote: true`;
 *   the record's `flags` holds all 32 bits, also without any id.
 * - severity_number 0 (UNSPECIFIED) and empty severity_text/event_name → `undefined`.
 * - the resource: see {@link IngestedResource} (exact raw form next to the SDK `Resource`).
 *
 * Order: the records of one `ResourceLogs` (one sender) are returned in time order
 * (`time_unix_nano`, or the observed time when unset), ties in wire order. Senders group a batch
 * by scope, which would otherwise reorder the records of one process.
 *
 * Resources and scopes are cached: one `Resource` object per distinct (resource bytes,
 * schema_url) and one scope object per distinct (resource, scope bytes, schema_url), both in
 * bounded LRU caches (see {@link OtlpDecoderOptions}).
 *
 * Lazy values: a record's body and attributes in their plain, canonical form (what every SDK
 * sends) are only checked at receipt (`decoder-scan.ts`: malformed bytes and exceeded limits are
 * rejected exactly as by a full decode) and kept as the request's bytes; they are decoded the first
 * time something reads or changes them, and the JSON-lines writer transcodes records nobody
 * decoded straight from those bytes (see `IngestedLogRecord`). Such a record holds the request's
 * buffer until then: the caller must not reuse the buffer it passes to `decode`. Other forms
 * (merged pieces, repeated or integer-like keys, unknown fields, more than `maxAttributes`) are
 * decoded at once.
 *
 * Not re-entrant: one decoder decodes one request at a time (the receiver's handler is synchronous).
 */
export class OtlpLogsDecoder {
  readonly maxMessageBytes: number;
  readonly maxDepth: number;
  readonly maxAttributes: number;
  readonly maxCollectionLength: number;
  readonly maxCacheBytes: number;

  readonly #r = new ProtobufReader();
  #now: HrTime | undefined;
  /** The receive time of the request being decoded (one array for all its records). */
  readonly #received = (): HrTime => (this.#now ??= nowHrTime());
  #resources: Lru<IngestedResource>;
  #scopes: Lru<IngestedScope>;
  #nextResourceId = 1;
  readonly #values: ValueDecoder;
  readonly #scan: ValueScan;
  readonly #counter = { n: 0, dropped: 0 };
  /**
   * The last record's attribute fields when they were contiguous and passed the scan: their
   * bytes (up to RUN_MAX_BYTES), count and whether a key is a counter's. The records of one call
   * site repeat them; the next record with the same bytes is not scanned again.
   */
  /**
   * The last trace id and span id read (their bytes and hex strings) and the last SpanContext
   * made: the records of one request come one after the other, so their ids are not made into
   * strings again (a native call and an allocation each) and records of one span share their
   * SpanContext object (which the lookback buffer's window cache compares by identity).
   */
  readonly #ids = {
    trace: new Uint8Array(16),
    traceId: undefined as string | undefined,
    span: new Uint8Array(8),
    spanId: undefined as string | undefined,
    sc: undefined as SpanContext | undefined,
  };
  /** The strings of recent trace ids (see ./trace-id-cache.ts). */
  readonly #traceIds = new TraceIdCache();
  readonly #run = {
    bytes: new Uint8Array(RUN_MAX_BYTES),
    /** `bytes` read 4 at a time by {@link #sameRun} */
    view: undefined as unknown as DataView,
    length: -1,
    count: 0,
    counterKeys: false,
    /** the run's id (see `IngestedLogRecord.attrRun`): unique in the process per kept run */
    id: 0,
  };
  /** The request being decoded, read 4 bytes at a time by {@link #sameRun}. */
  #view: DataView = EMPTY_VIEW;

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
    this.#values = new ValueDecoder(this.#r, this);
    this.#scan = new ValueScan(this.#r, this);
    this.#run.view = new DataView(this.#run.bytes.buffer);
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
    const r = this.#r;
    r.reset(bytes);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#now = undefined;
    const result: OtlpDecodeResult = { records: [], perResource: [] };
    try {
      const end = bytes.length;
      while (r.pos < end) {
        const tag = r.tag(end);
        if (tag >>> 3 === 1 && r.is(tag, WT_LEN, end)) {
          const len = r.length(end);
          const start = r.pos;
          this.#resourceLogs(start, start + len, result);
          r.pos = start + len;
        } else if (tag >>> 3 !== 1) {
          r.skip(tag, end);
        }
      }
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw err;
      throw new OtlpDecodeError('malformed', `undecodable request: ${String(err)}`, r.pos);
    } finally {
      r.release();
      this.#view = EMPTY_VIEW;
    }
    return result;
  }

  // ---- messages -------------------------------------------------------------------------------

  /**
   * Reads the fields `fields` (a bit set of field numbers < 32) of message [start, end) that are
   * length-delimited: calls `each(field, start, end)` for each, in wire order.
   */
  #lenFields(
    start: number,
    end: number,
    fields: number,
    each: (f: number, s: number, e: number) => void,
  ): void {
    const r = this.#r;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field < 32 && (fields & (1 << field)) !== 0 && (tag & 7) === WT_LEN) {
        const len = r.length(end);
        const s = r.pos;
        each(field, s, s + len); // may move the reader
        r.pos = s + len;
      } else r.skip(tag, end);
    }
  }

  #resourceLogs(start: number, end: number, result: OtlpDecodeResult): void {
    // pass 1: the resource (possibly in several pieces, which protobuf merges) and schema_url
    const resource: Pieces = [];
    let schemaUrl = '';
    this.#lenFields(start, end, (1 << 1) | (1 << 3), (f, s, e) => {
      if (f === 3) schemaUrl = this.#r.str(s, e);
      else resource.push(s, e);
    });
    const entry = this.#resourceEntry(resource, schemaUrl);
    // pass 2: scope_logs
    const records = result.records;
    const before = records.length;
    this.#lenFields(start, end, 1 << 2, (_f, s, e) => this.#scopeLogs(entry, s, e, records));
    sortByTime(records, before);
    result.perResource.push({ entry, records: records.length - before });
  }

  #key(pieces: Pieces): string {
    let key = '';
    for (let i = 0; i < pieces.length; i += 2) key += this.#r.latin1(pieces[i]!, pieces[i + 1]!);
    return key;
  }

  #resourceEntry(pieces: Pieces, schemaUrl: string): IngestedResource {
    const key = `${this.#key(pieces)}\u0000${schemaUrl}`;
    const cached = this.#resources.get(key);
    if (cached !== undefined) return cached;
    const r = this.#r;
    const saved = r.pos;
    const raw = readResource(r, pieces, schemaUrl, this);
    r.pos = saved;
    const entry = ingestedResource(raw, this.#nextResourceId++);
    this.#resources.set(key, entry, entryWeight(key));
    return entry;
  }

  #scopeLogs(entry: IngestedResource, start: number, end: number, out: IngestedLogRecord[]): void {
    const pieces: Pieces = [];
    let schemaUrl = '';
    this.#lenFields(start, end, (1 << 1) | (1 << 3), (f, s, e) => {
      if (f === 3) schemaUrl = this.#r.str(s, e);
      else pieces.push(s, e);
    });
    const scope = this.#scope(entry, pieces, schemaUrl);
    const resource = entry.resource;
    this.#lenFields(start, end, 1 << 2, (_f, s, e) =>
      out.push(this.#logRecord(resource, scope, s, e, false)),
    );
  }

  #scope(entry: IngestedResource, pieces: Pieces, schemaUrl: string): IngestedScope {
    const key = `${entry.id}\u0000${this.#key(pieces)}\u0000${schemaUrl}`;
    const cached = this.#scopes.get(key);
    if (cached !== undefined) return cached;
    const r = this.#r;
    let name = '';
    let version: string | undefined;
    let attributes: Attributes | undefined;
    const counter = { n: 0, dropped: 0 };
    let dropped = 0;
    for (let i = 0; i < pieces.length; i += 2) {
      const end = pieces[i + 1]!;
      r.pos = pieces[i]!;
      while (r.pos < end) {
        const tag = r.tag(end);
        const field = tag >>> 3;
        if (field === 1 && r.is(tag, WT_LEN, end)) name = r.string(end);
        else if (field === 2 && r.is(tag, WT_LEN, end)) version = r.string(end) || undefined;
        else if (field === 3 && r.is(tag, WT_LEN, end)) {
          attributes ??= {};
          this.#values.attribute(end, attributes, counter);
        } else if (field === 4 && r.is(tag, WT_VARINT, end)) dropped = r.varint32(end);
        else if (field < 1 || field > 4) r.skip(tag, end);
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

  /**
   * Decodes the LogRecord message [start, end). Body and attributes are only checked
   * (`decoder-scan.ts`) and kept as bytes in the record, unless `exact` or unless the check does
   * not pass: then the record is decoded again from its start, values included, the exact way
   * (which throws what it must).
   */
  #logRecord(
    resource: Resource,
    scope: IngestedScope,
    start: number,
    end: number,
    exact: boolean,
  ): IngestedLogRecord {
    const r = this.#r;
    const values = this.#values;
    const scan = this.#scan;
    let timeLo = 0;
    let timeHi = 0;
    let observedLo = 0;
    let observedHi = 0;
    let severityNumber: number | undefined;
    let severityText: string | undefined;
    let body: AnyValue;
    let bodyWhole = false;
    let bodyStart = -1;
    let bodyEnd = -1;
    let attrStart = -1;
    let attrEnd = -1;
    let attrCount = 0;
    let attrContiguous = true;
    let runSkipped = false;
    const attributes: Attributes | undefined = exact ? {} : undefined;
    const counter = this.#counter;
    counter.n = 0;
    counter.dropped = 0;
    let dropped = 0;
    let flags = 0;
    let traceId: string | undefined;
    let spanId: string | undefined;
    let eventName: string | undefined;
    values.marked = false;
    if (!exact) scan.startRecord();
    r.pos = start;
    while (r.pos < end) {
      const fieldStart = r.pos;
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field > 12 || (tag & 7) !== WIRE_TYPES[field]) {
        r.skip(tag, end);
        continue;
      }
      switch (field) {
        case 1:
          r.fixed64(end);
          timeLo = r.lo;
          timeHi = r.hi;
          break;
        case 2:
          severityNumber = r.varint32(end) | 0 || undefined;
          break;
        case 3:
          severityText = r.key(end) || undefined; // a few distinct texts: cached strings
          break;
        case 5: {
          const len = r.length(end);
          const s = r.pos;
          if (exact) {
            body = values.anyValue(s, s + len, 1, body, bodyWhole);
            bodyWhole = values.whole;
          } else {
            if (bodyStart >= 0 || !scan.body(s, s + len)) {
              return this.#logRecord(resource, scope, start, end, true);
            }
            bodyStart = s;
            bodyEnd = s + len;
          }
          r.pos = s + len;
          break;
        }
        case 6:
          if (exact) values.attribute(end, attributes!, counter);
          else if (attrStart < 0 && this.#sameRun(fieldStart, end)) {
            // the same attribute bytes as the last record's (checked then): not scanned again
            const run = this.#run;
            attrCount = run.count;
            if (attrCount > this.maxAttributes) {
              return this.#logRecord(resource, scope, start, end, true);
            }
            scan.counterKeys = run.counterKeys;
            attrStart = fieldStart;
            attrEnd = fieldStart + run.length;
            attrContiguous = false; // more attributes after the run: scanned from the start
            runSkipped = true;
            r.pos = attrEnd;
          } else {
            if (runSkipped) return this.#logRecord(resource, scope, start, end, true);
            const len = r.length(end);
            const s = r.pos;
            if (++attrCount > this.maxAttributes || !scan.attribute(s, s + len)) {
              return this.#logRecord(resource, scope, start, end, true);
            }
            if (attrStart < 0) attrStart = fieldStart;
            else if (fieldStart !== attrEnd) attrContiguous = false;
            attrEnd = s + len;
            r.pos = s + len;
          }
          break;
        case 7:
          dropped = r.varint32(end);
          break;
        case 8:
          flags = r.fixed32(end);
          break;
        case 9: {
          const len = r.length(end);
          const s = r.pos;
          traceId = len === 16 ? this.#traceIdAt(s) : undefined;
          if (traceId === ZERO_TRACE_ID) traceId = undefined;
          r.pos = s + len;
          break;
        }
        case 10: {
          const len = r.length(end);
          const s = r.pos;
          spanId = len === 8 ? this.#spanIdAt(s) : undefined;
          if (spanId === ZERO_SPAN_ID) spanId = undefined;
          r.pos = s + len;
          break;
        }
        case 11:
          r.fixed64(end);
          observedLo = r.lo;
          observedHi = r.hi;
          break;
        case 12:
          eventName = r.string(end) || undefined;
          break;
        default:
          r.skip(tag, end);
      }
    }
    let spanContext: SpanContext | undefined;
    if (traceId !== undefined || spanId !== undefined) {
      const t = traceId ?? ZERO_TRACE_ID;
      const sp = spanId ?? ZERO_SPAN_ID;
      const traceFlags = flags & 0xff;
      const last = this.#ids.sc;
      // the records of one span, one after the other, share one SpanContext (as the SDK's do)
      if (
        last !== undefined &&
        last.traceId === t &&
        last.spanId === sp &&
        last.traceFlags === traceFlags
      ) {
        spanContext = last;
      } else {
        spanContext = { traceId: t, spanId: sp, traceFlags, isRemote: true };
        this.#ids.sc = spanContext;
      }
    }
    const record = new IngestedLogRecord(
      resource,
      scope,
      timeLo,
      timeHi,
      observedLo,
      observedHi,
      this.#received,
      spanContext,
      severityNumber,
      severityText,
      body,
      eventName,
      attributes ?? (bodyStart >= 0 || attrStart >= 0 ? LAZY_ATTRIBUTES : {}),
      dropped + counter.dropped,
      flags,
    );
    if (exact) {
      if (bodyWhole) record.markBodyDouble();
      else if (values.marked) record.hasDoubleMarks = true;
    } else if (bodyStart >= 0 || attrStart >= 0) {
      if (attrStart >= 0 && attrContiguous && !runSkipped) {
        if (this.#keepRun(attrStart, attrEnd, attrCount, scan.counterKeys)) {
          record.attrRun = this.#run.id;
        }
      } else if (runSkipped) record.attrRun = this.#run.id;
      record.src = r.buf;
      record.srcStart = start;
      record.srcEnd = end;
      record.bodyStart = bodyStart;
      record.bodyEnd = bodyEnd;
      record.attrStart = attrStart;
      record.attrEnd = attrEnd;
      record.counterKeys = scan.counterKeys;
    }
    return record;
  }

  /**
   * The hex trace id of the 16 bytes at `s`: the last one's string when they are the same, else
   * the one of {@link #traceIds} (one string per trace for the lookback buffer's lookups).
   */
  #traceIdAt(s: number): string {
    const ids = this.#ids;
    const b = this.#r.buf;
    const kept = ids.trace;
    if (ids.traceId !== undefined) {
      let i = 0;
      while (i < 16 && kept[i] === b[s + i]) i++;
      if (i === 16) return ids.traceId;
    }
    for (let i = 0; i < 16; i++) kept[i] = b[s + i]!;
    const id = this.#traceIds.get(b, s);
    ids.traceId = id;
    return id;
  }

  /** The hex span id of the 8 bytes at `s` (the last one's string when they are the same). */
  #spanIdAt(s: number): string {
    const ids = this.#ids;
    const b = this.#r.buf;
    const kept = ids.span;
    if (ids.spanId !== undefined) {
      let i = 0;
      while (i < 8 && kept[i] === b[s + i]) i++;
      if (i === 8) return ids.spanId;
    }
    for (let i = 0; i < 8; i++) kept[i] = b[s + i]!;
    const id = this.#r.hex(s, s + 8);
    ids.spanId = id;
    return id;
  }
  /** Whether the request's bytes at `from` (before `end`) are the kept attribute run. */
  #sameRun(from: number, end: number): boolean {
    const run = this.#run;
    const n = run.length;
    if (n <= 0 || from + n > end) return false;
    // 4 bytes at a time (a third of the time of a byte loop for the typical 60-byte run)
    const kept = run.view;
    const view = this.#view;
    let i = 0;
    for (; i + 4 <= n; i += 4) if (kept.getInt32(i) !== view.getInt32(from + i)) return false;
    for (; i < n; i++) if (kept.getUint8(i) !== view.getUint8(from + i)) return false;
    return true;
  }

  /** Keeps [start, end) as the attribute run (a new id); false when too long to keep. */
  #keepRun(start: number, end: number, count: number, counterKeys: boolean): boolean {
    const n = end - start;
    const run = this.#run;
    if (n > RUN_MAX_BYTES) return false;
    run.bytes.set(this.#r.buf.subarray(start, end));
    run.length = n;
    run.count = count;
    run.counterKeys = counterKeys;
    run.id = nextRunId++;
    return true;
  }
}

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
/** The next attribute run's id (process-wide: an id always stands for the same bytes). */
let nextRunId = 1;

/** Longest attribute run kept by the decoder (bytes of protobuf). */
const RUN_MAX_BYTES = 512;

/** Expected wire type of LogRecord fields 0..12 (-1: no such field). */
const WIRE_TYPES = [
  -1,
  WT_I64,
  WT_VARINT,
  WT_LEN,
  -1,
  WT_LEN,
  WT_LEN,
  WT_VARINT,
  WT_I32,
  WT_LEN,
  WT_LEN,
  WT_I64,
  WT_LEN,
];
