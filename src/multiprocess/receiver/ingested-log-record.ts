import type { AnyValue, Attributes, HrTime, SeverityNumber, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { markDouble, unmarkDouble } from '../../otlp/value-types.ts';
import { PlainLogRecord } from '../../util/plain-log-record.ts';

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

/** The fields an {@link IngestedLogRecord} is built from (all decoded from OTLP). */
export interface IngestedLogRecordInit {
  resource: Resource;
  instrumentationScope: IngestedScope;
  /** `time_unix_nano` as [seconds, nanoseconds]; [0, 0] when the sender left it unset */
  hrTime: HrTime;
  /** `observed_time_unix_nano` as [seconds, nanoseconds]; the receive time when unset */
  hrTimeObserved: HrTime;
  /**
   * Set when the sender sent a trace id or a span id (each kept independently: the missing one is
   * all zeros); `traceFlags` is the low byte of `flags`.
   */
  spanContext?: SpanContext;
  severityNumber?: SeverityNumber;
  severityText?: string;
  body?: AnyValue;
  eventName?: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  /** the raw 32-bit OTLP `flags` field (the low 8 bits are the W3C trace flags) */
  flags: number;
}

/**
 * A log record received from another process over OTLP and decoded by the primary's receiver.
 *
 * It is a {@link PlainLogRecord} (so a sdk-logs `ReadWriteLogRecord`: every processor and exporter
 * accepts it) whose `resource` and `instrumentationScope` are the *sender's*: one cached object
 * per distinct resource and per distinct scope within it, so exporters that group by object
 * identity keep the children apart. Fields are read through the `ReadableLogRecord` interface
 * like any SDK record.
 *
 * Values keep their OTLP types (see `OtlpLogsDecoder` for the mapping): an int64 beyond ±2^53 is a
 * `bigint`, bytes a `Uint8Array`, a whole double a `number` marked as a double (`value-types.ts`);
 * the resource exactly as sent is `rawResourceOf(record.resource)`.
 */
export class IngestedLogRecord extends PlainLogRecord {
  /** The raw OTLP `LogRecord.flags` (fixed32, field 8); `spanContext.traceFlags` is its low byte. */
  readonly flags: number;
  /**
   * True when the body or an attribute (at any depth) holds a whole double marked by the decoder;
   * the file encoder looks the marks up only then.
   */
  hasDoubleMarks = false;

  constructor(init: IngestedLogRecordInit) {
    super(init);
    this.flags = init.flags;
  }

  override setAttribute(key: string, value?: AnyValue): this {
    if (this.hasDoubleMarks) unmarkDouble(this.attributes, key);
    return super.setAttribute(key, value);
  }

  override setBody(body: AnyValue): this {
    if (this.hasDoubleMarks) unmarkDouble(this, 'body');
    return super.setBody(body);
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
