/**
 * A per-request fast path for records that starlog builds itself from values it has checked:
 * the access record of an HTTP request task and a captured pino record whose fields are plain
 * strings, numbers and booleans.
 *
 * The SDK's `Logger.emit()` builds a `LogRecordImpl` that re-validates every attribute (core's
 * `isAnyValue`, a fresh `WeakSet` per value), re-reads and re-validates the span context of the
 * Context (two hex regular expressions), and stamps the record with `Date.now()` (ms). For a
 * record made of values known to be valid that is most of its cost, once or twice per request.
 * {@link emitDirect} does what `Logger.emit()` does (the same `enabled()` decision, the same
 * processor with the same Context, the SDK's self-metrics call) with a {@link PlainLogRecord}
 * built from the values as they are.
 *
 * It relies on sdk-logs 3.x `Logger` internals (`_instrumentationScope`, `_sharedState` with
 * `resource`, `logRecordLimits`, `activeProcessor`); when they are not there (another SDK
 * version, a Logs API no-op logger, a user's own provider), or when the record would exceed the
 * provider's attribute limits, it falls back to `logger.emit()`, which applies them.
 */
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Logger,
  type LogRecord,
  type SpanContext,
  trace,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { monotonicHrTime } from '../util/clock.ts';
import { PlainLogRecord } from '../util/plain-log-record.ts';
import { getProcessTask, type Task, taskInContext } from './task.ts';

interface SdkLoggerInternals {
  _instrumentationScope?: InstrumentationScope;
  _sharedState?: {
    resource?: Resource;
    logRecordLimits?: { attributeCountLimit?: number; attributeValueLengthLimit?: number };
    activeProcessor?: LogRecordProcessor;
    loggerMetrics?: { emitLog?: () => void };
  };
}

/** What {@link emitDirect} takes: the record's fields, all already valid. */
export interface DirectRecord {
  severityNumber: number;
  severityText: string | undefined;
  body: string;
  /** string, number and boolean values only (the caller guarantees it); owned by the record */
  attributes: Attributes;
  /** the Context the record is emitted in (its processors get it, as from `Logger.emit`) */
  context: Context;
  /** the record's span context: valid (the caller checked it), or `undefined` for none */
  spanContext: SpanContext | undefined;
  /** `undefined`: now, from the process clock (`monotonicHrTime`) */
  timestamp?: number;
}

/**
 * Emits `r` through `logger` (an SDK Logger) without the SDK's re-validation; see the module
 * comment. `attributeCount` is the number of keys of `r.attributes` and `maxStringLength` the
 * longest string value in it, for the limit check. Never throws (the processors are the SDK's
 * and starlog's, which catch their own errors; the fallback is `logger.emit()`).
 */
export function emitDirect(
  logger: Logger,
  r: DirectRecord,
  attributeCount: number,
  maxStringLength: number,
): void {
  const internals = logger as unknown as SdkLoggerInternals;
  const shared = internals._sharedState;
  const scope = internals._instrumentationScope;
  const processor = shared?.activeProcessor;
  const resource = shared?.resource;
  const limits = shared?.logRecordLimits;
  if (
    shared === undefined ||
    scope === undefined ||
    processor === undefined ||
    resource === undefined ||
    limits === undefined ||
    attributeCount > (limits.attributeCountLimit ?? Number.POSITIVE_INFINITY) ||
    maxStringLength > (limits.attributeValueLengthLimit ?? Number.POSITIVE_INFINITY)
  ) {
    logger.emit(toLogRecord(r));
    return;
  }
  if (!logger.enabled({ severityNumber: r.severityNumber, context: r.context })) return;
  const now = r.timestamp === undefined ? monotonicHrTime() : undefined;
  const hrTime = now ?? msToHrTime(r.timestamp!);
  const record = new PlainLogRecord({
    resource,
    instrumentationScope: scope,
    hrTime,
    hrTimeObserved: now ?? monotonicHrTime(),
    spanContext: r.spanContext,
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: r.body,
    attributes: r.attributes,
  });
  shared.loggerMetrics?.emitLog?.();
  processor.onEmit(record, r.context);
}

/**
 * The facade's record (`logger.info({ route: '/orders' }, 'handled %d', 1)`) through
 * {@link emitDirect}, in the active Context, when every attribute is an own string, number or
 * boolean under a non-empty key (and the task's attributes are primitive too); returns `false`,
 * having emitted nothing, otherwise (the caller then uses `Logger.emit()`, which validates).
 * `attributes` is copied (the caller's object is never kept nor changed). Never throws.
 */
export function emitPrimitive(
  logger: Logger,
  severityNumber: number,
  severityText: string,
  body: string,
  attributes: Attributes | undefined,
): boolean {
  const own: Attributes = {};
  let count = 0;
  let longest = 0;
  if (attributes !== undefined) {
    for (const key in attributes) {
      if (key.length === 0 || !Object.hasOwn(attributes, key)) return false;
      const v = attributes[key];
      if (typeof v === 'string') {
        if (v.length > longest) longest = v.length;
      } else if (typeof v !== 'number' && typeof v !== 'boolean') return false;
      own[key] = v;
      count++;
    }
  }
  const ctx = context.active();
  const task = taskInContext(ctx);
  // the task attributes TaskAttributesProcessor adds count against the limits too
  const view = (task ?? getProcessTask())?._recordView;
  if (view !== undefined && !view.primitive) return false;
  const sc = validSpanContext(ctx, task);
  emitDirect(
    logger,
    { severityNumber, severityText, body, attributes: own, context: ctx, spanContext: sc },
    count + (view?.keys.length ?? 0),
    Math.max(longest, view?.maxLength ?? 0),
  );
  return true;
}

/**
 * The span context of the span in `ctx` when it is valid (what `Logger.emit()` puts on a record),
 * else `undefined`; `task` is the task in `ctx`, whose synthetic span context is valid by
 * construction (random or parsed ids).
 */
export function validSpanContext(ctx: Context, task: Task | undefined): SpanContext | undefined {
  const span = trace.getSpan(ctx);
  const sc = span?.spanContext();
  if (sc === undefined || sc === lastValid) return sc;
  if ((task !== undefined && span === task._span && !task._recording) || isSpanContextValid(sc)) {
    lastValid = sc;
    return sc;
  }
  return undefined;
}

/** The last span context found valid (records of one span in a row check it once). */
let lastValid: SpanContext | undefined;

function toLogRecord(r: DirectRecord): LogRecord {
  return {
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: r.body,
    attributes: r.attributes,
    context: r.context,
    timestamp: r.timestamp ?? monotonicHrTime(),
  };
}

function msToHrTime(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}
