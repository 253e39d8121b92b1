import type { AnyValue, Attributes, HrTime, SeverityNumber, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { materialiseRecordValues } from '../../otlp/decoder-values.ts';
import { hrTimeFromNanos } from '../../otlp/record-order.ts';
import { markDouble, unmarkDouble } from '../../otlp/value-types.ts';

/**
 * The instrumentation scope of an ingested record: the OTLP `InstrumentationScope` message
 * (`opentelemetry/proto/common/v1/common.proto`: 1 name, 2 version, 3 attributes,
 * 4 dropped_attributes_count) plus the `schema_url` of its `ScopeLogs` (field 3).
 * One object per distinct scope of a distinct resource (identity is stable while cached).
 */
export interface IngestedScope extends InstrumentationScope {
  attributes?: Attributes;
  droppedAttributesCount?: number;
}

/**
 * A log record received from another process over OTLP and decoded by the primary's receiver.
 *
 * It is a sdk-logs `ReadWriteLogRecord` (every processor and exporter accepts it) whose
 * `resource` and `instrumentationScope` are the *sender's*: one cached object per distinct
 * resource and per distinct scope within it, so exporters that group by object identity keep the
 * children apart. Fields are read through the `ReadableLogRecord` interface like any SDK record.
 *
 * Values keep their OTLP types (see `OtlpLogsDecoder` for the mapping): an int64 beyond ±2^53 is a
 * `bigint`, bytes a `Uint8Array`, a whole double a `number` marked as a double (`value-types.ts`);
 * the resource exactly as sent is `rawResourceOf(record.resource)`.
 *
 * Lazily decoded values: the decoder may keep `body` and `attributes` as the bytes of the request
 * (the record then holds the request's buffer) and decode them the first time either is read or
 * set (both at once; the buffer is let go then). The JSON-lines file writes a record whose values
 * were never decoded straight from those bytes. Everything else is decoded at once.
 */
export class IngestedLogRecord implements ReadWriteLogRecord {
  /**
   * @internal `time_unix_nano` as uint32 halves while {@link hrTime} was neither read nor set
   * (`timeHi` -1 then: read `hrTime`): the file writes the time from them, no HrTime array is
   * made per record. The same for the observed time (`observedHi` -1: read `hrTimeObserved`).
   */
  timeLo: number;
  /** @internal */ timeHi: number;
  /** @internal */ observedLo: number;
  /** @internal */ observedHi: number;
  private hrTimeValue: HrTime | undefined = undefined;
  private observedValue: HrTime | undefined = undefined;
  spanContext?: SpanContext;
  readonly resource: Resource;
  readonly instrumentationScope: IngestedScope;
  severityText?: string;
  severityNumber?: SeverityNumber;
  eventName?: string;
  droppedAttributesCount: number;
  /** The raw OTLP `LogRecord.flags` (fixed32, field 8); `spanContext.traceFlags` is its low byte. */
  readonly flags: number;
  /**
   * True when the body or an attribute (at any depth) holds a whole double marked by the decoder;
   * the file encoder looks the marks up only then.
   */
  hasDoubleMarks = false;
  /**
   * @internal The request bytes while body and attributes are not decoded; `undefined` after.
   * With it: the LogRecord message [srcStart, srcEnd), the body's AnyValue message
   * [bodyStart, bodyEnd) (bodyStart -1: no body), the run of attribute fields [attrStart, attrEnd)
   * (tags included; other fields may sit between them).
   */
  src: Buffer | undefined = undefined;
  /** @internal */ srcStart = 0;
  /** @internal */ srcEnd = 0;
  /** @internal */ bodyStart = -1;
  /** @internal */ bodyEnd = -1;
  /** @internal */ attrStart = 0;
  /** @internal */ attrEnd = 0;
  /**
   * @internal While not decoded: whether an attribute key starts with `starlog.count.` (a
   * StatusProcessor counter); false tells the StatusProcessor it need not read the attributes.
   */
  counterKeys = false;
  /**
   * @internal While not decoded: a process-wide id of the attribute run [attrStart, attrEnd) when
   * the decoder kept those bytes as its run (the records of one call site repeat them), 0
   * otherwise. One id always stands for the same bytes, so the JSON-lines writer compares ids
   * instead of bytes.
   */
  attrRun = 0;
  private bodyValue: AnyValue | undefined;
  private attributesValue: Attributes;

  /**
   * The fields decoded from OTLP, as arguments (no object per record: this is called once per
   * received record and not inlined into the decoder).
   * @param timeLo - `time_unix_nano` (fixed64 ns) as two uint32 halves, low and high; 0, 0 when
   *   unset (and the same for `observed_time_unix_nano`)
   * @param received - the receive time, the observed time of a record whose sender left it unset
   * @param spanContext - set when the sender sent a trace id or a span id (each kept
   *   independently: the missing one is all zeros); `traceFlags` is the low byte of `flags`
   * @param flags - the raw 32-bit OTLP `flags` field (the low 8 bits are the W3C trace flags)
   */
  constructor(
    resource: Resource,
    instrumentationScope: IngestedScope,
    timeLo: number,
    timeHi: number,
    observedLo: number,
    observedHi: number,
    received: () => HrTime,
    spanContext: SpanContext | undefined,
    severityNumber: SeverityNumber | undefined,
    severityText: string | undefined,
    body: AnyValue | undefined,
    eventName: string | undefined,
    attributes: Attributes,
    droppedAttributesCount: number,
    flags: number,
  ) {
    this.timeLo = timeLo;
    this.timeHi = timeHi;
    if (observedLo === 0 && observedHi === 0) {
      this.observedLo = 0;
      this.observedHi = -1;
      this.observedValue = received();
    } else {
      this.observedLo = observedLo;
      this.observedHi = observedHi;
    }
    this.spanContext = spanContext;
    this.resource = resource;
    this.instrumentationScope = instrumentationScope;
    this.severityText = severityText;
    this.severityNumber = severityNumber;
    this.eventName = eventName;
    this.droppedAttributesCount = droppedAttributesCount;
    this.flags = flags;
    this.bodyValue = body;
    this.attributesValue = attributes;
  }

  /** `time_unix_nano` as [seconds, nanoseconds] (made when first read); [0, 0] when unset. */
  get hrTime(): HrTime {
    let t = this.hrTimeValue;
    if (t === undefined) {
      t = hrTimeFromNanos(this.timeLo, this.timeHi);
      this.hrTimeValue = t;
      this.timeHi = -1; // the array may be changed in place: it is the time from now on
    }
    return t;
  }

  set hrTime(t: HrTime) {
    this.hrTimeValue = t;
    this.timeHi = -1;
  }

  /** `observed_time_unix_nano` as [seconds, nanoseconds]; the receive time when unset. */
  get hrTimeObserved(): HrTime {
    let t = this.observedValue;
    if (t === undefined) {
      t = hrTimeFromNanos(this.observedLo, this.observedHi);
      this.observedValue = t;
      this.observedHi = -1;
    }
    return t;
  }

  set hrTimeObserved(t: HrTime) {
    this.observedValue = t;
    this.observedHi = -1;
  }

  /** The body (decoded from the request bytes the first time it is read). */
  get body(): AnyValue | undefined {
    if (this.src !== undefined) this.materialise();
    return this.bodyValue;
  }

  set body(body: AnyValue | undefined) {
    if (this.src !== undefined) this.materialise();
    if (this.hasDoubleMarks) unmarkDouble(this, 'body');
    this.bodyValue = body;
  }

  /** The attributes (decoded from the request bytes the first time they are read). */
  get attributes(): Attributes {
    if (this.src !== undefined) this.materialise();
    return this.attributesValue;
  }

  /** True while body and attributes are still the request's bytes (not decoded). */
  get isLazy(): boolean {
    return this.src !== undefined;
  }

  /**
   * Bytes of the request this record keeps alive while lazy (its LogRecord message); 0 after.
   */
  lazyByteLength(): number {
    return this.src === undefined ? 0 : this.srcEnd - this.srcStart;
  }

  /**
   * The UTF-8 length in bytes of the body, when it is a string and not decoded yet (what
   * `Buffer.byteLength(record.body)` gives, without decoding); -1 otherwise (read `body`).
   */
  lazyStringBodyBytes(): number {
    const src = this.src;
    if (src === undefined) return -1;
    const s = this.bodyStart;
    const e = this.bodyEnd;
    if (s < 0 || s === e || src[s] !== 0x0a) return -1;
    // the length varint of the only field: the content runs to the end of the AnyValue
    let p = s + 1;
    while (src[p]! >= 0x80) p++;
    p++;
    for (let i = p; i < e; i++) {
      if (src[i]! >= 0x80) return Buffer.byteLength(src.toString('utf8', p, e));
    }
    return e - p;
  }

  /** Decodes body and attributes from the request bytes and lets the bytes go. */
  private materialise(): void {
    const src = this.src!;
    this.src = undefined;
    const v = materialiseRecordValues(src, this.srcStart, this.srcEnd);
    this.bodyValue = v.body;
    this.attributesValue = v.attributes;
    if (v.bodyWhole) this.markBodyDouble();
    else if (v.marked) this.hasDoubleMarks = true;
  }

  setAttribute(key: string, value?: AnyValue): this {
    const attributes = this.attributes;
    if (this.hasDoubleMarks) unmarkDouble(attributes, key);
    if (value === undefined) delete attributes[key];
    else attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key of Object.keys(attributes)) this.setAttribute(key, attributes[key]);
    return this;
  }

  setBody(body: AnyValue): this {
    this.body = body;
    return this;
  }

  setEventName(eventName: string): this {
    this.eventName = eventName;
    return this;
  }

  setSeverityNumber(severityNumber: SeverityNumber): this {
    this.severityNumber = severityNumber;
    return this;
  }

  setSeverityText(severityText: string): this {
    this.severityText = severityText;
    return this;
  }

  /** Marks the body as a double (a whole number the sender sent as `double_value`). */
  markBodyDouble(): void {
    markDouble(this, 'body');
    this.hasDoubleMarks = true;
  }

  /** True for records that came from another process through the receiver. */
  static isIngested(record: unknown): record is IngestedLogRecord {
    return record instanceof IngestedLogRecord;
  }
}

/**
 * Bytes of the request a received record keeps alive while its body and attributes are still
 * bytes (its LogRecord message); -1 when `record` is not such a record (estimate it from its
 * values). For byte-bounded queues: a lazily kept record is not decoded to be measured.
 */
export function lazyRecordBytes(record: object): number {
  return record instanceof IngestedLogRecord && record.src !== undefined
    ? record.srcEnd - record.srcStart
    : -1;
}

/**
 * The UTF-8 byte length of a received record's string body while it is still bytes; -1 when
 * `record` is not such a record or its body is not a string (read `body`).
 */
export function lazyStringBodyBytes(record: object): number {
  return record instanceof IngestedLogRecord ? record.lazyStringBodyBytes() : -1;
}

/**
 * True when `record` is a received record whose attributes are still bytes and hold no
 * `starlog.count.` key: a reader of `inc()` counters need not read (decode) them.
 */
export function hasNoCounterKeys(record: object): boolean {
  return record instanceof IngestedLogRecord && record.src !== undefined && !record.counterKeys;
}
