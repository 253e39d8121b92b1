import type { AnyValue, Attributes, HrTime, SeverityNumber, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadWriteLogRecord } from '@opentelemetry/sdk-logs';

/** The fields a {@link PlainLogRecord} is built from; all but resource and scope are optional. */
export interface PlainLogRecordInit {
  resource: Resource;
  instrumentationScope: InstrumentationScope;
  /** [seconds, nanoseconds]; default: now */
  hrTime?: HrTime;
  /** [seconds, nanoseconds]; default: `hrTime` */
  hrTimeObserved?: HrTime;
  spanContext?: SpanContext;
  severityNumber?: SeverityNumber;
  severityText?: string;
  body?: AnyValue;
  eventName?: string;
  attributes?: Attributes;
  droppedAttributesCount?: number;
}

/**
 * A mutable log record that is not tied to an SDK Logger: records that starlog makes itself
 * (status records, records ingested from children, captured output). It implements the
 * sdk-logs `ReadWriteLogRecord` interface, so every `LogRecordProcessor` and exporter accepts it.
 * Setters never throw; attribute limits are not applied (the producer already applied its own).
 */
export class PlainLogRecord implements ReadWriteLogRecord {
  hrTime: HrTime;
  hrTimeObserved: HrTime;
  spanContext?: SpanContext;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly attributes: Attributes;
  severityText?: string;
  severityNumber?: SeverityNumber;
  body?: AnyValue;
  eventName?: string;
  droppedAttributesCount: number;

  constructor(init: PlainLogRecordInit) {
    const now = init.hrTime ?? nowHrTime();
    this.hrTime = now;
    this.hrTimeObserved = init.hrTimeObserved ?? now;
    this.spanContext = init.spanContext;
    this.resource = init.resource;
    this.instrumentationScope = init.instrumentationScope;
    this.attributes = init.attributes ?? {};
    this.severityText = init.severityText;
    this.severityNumber = init.severityNumber;
    this.body = init.body;
    this.eventName = init.eventName;
    this.droppedAttributesCount = init.droppedAttributesCount ?? 0;
  }

  setAttribute(key: string, value?: AnyValue): this {
    if (value === undefined) delete this.attributes[key];
    else this.attributes[key] = value;
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
}

/** The current wall-clock time as an OpenTelemetry HrTime ([s, ns]), with sub-ms precision. */
export function nowHrTime(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}
