import { type Attributes, type AttributeValue, type Context, diag } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { ATTR_TASK_ID, getProcessTask, type Task, taskInContext } from './task.ts';

/**
 * A `LogRecordProcessor` stage that puts the active task's attributes on every record emitted
 * inside a task (by `getLogger`, the Logs API directly, or pino/winston through the
 * OpenTelemetry instrumentations): the task's effective attributes (its own and its ancestors',
 * inner values win) plus `task.id`. Put it before the stages that read or export records:
 * `new LoggerProvider({ processors: [new TaskAttributesProcessor(), batch] })`; starlog's
 * `setupLogging()` puts it first in its Pipeline.
 *
 * Rules:
 * - The task is read from the `context` argument of `onEmit` (the Context the record was
 *   emitted in), not from `context.active()`.
 * - It applies only if the record's span context belongs to the task's trace (so a record
 *   ingested from another process while a task is active here is left alone). A record without
 *   a span context gets no task attributes, except outside any task in a process that continues
 *   its parent's task (`continueTaskFromEnv()`): such a record gets the process task's span
 *   context, `task.id` and attributes.
 * - The record's own attributes win: an attribute the record already has is not overwritten.
 * - `task.name`, `task.outcome` and `task.duration_ms` are not added: only task enter/exit
 *   records carry them (that is how a reader tells task records from others).
 *
 * Cost when no task is active: one Context lookup. Never throws from `onEmit`: an error is
 * reported through `diag.error` and counted in {@link errors}.
 */
export class TaskAttributesProcessor implements LogRecordProcessor {
  /** Records this processor failed to enrich (each reported through `diag.error`). */
  errors = 0;

  onEmit(record: ReadWriteLogRecord, context?: Context): void {
    try {
      let t: Task | undefined = taskInContext(context);
      const sc = record.spanContext;
      if (t === undefined) {
        t = getProcessTask();
        if (t === undefined) return;
        if (sc === undefined) record.spanContext = t.spanContext;
        else if (sc.traceId !== t.traceId) return;
      } else if (sc === undefined || sc.traceId !== t.traceId) {
        return;
      }
      addAttributes(record, t._attributeKeys, t.attributes, t.id);
    } catch (err) {
      this.errors++;
      diag.error('starlog: TaskAttributesProcessor failed to enrich a record', err);
    }
  }

  /**
   * Always `false`: this stage only enriches records and never asks for one by itself (the SDK
   * emits a record when any processor is enabled, so the decision stays with the other stages).
   */
  enabled(): boolean {
    return false;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The sdk-logs 3.x `LogRecordImpl` internals the fast path relies on (both present, or the
 * slow path is taken): its attribute limits and its count of attributes set.
 */
interface SdkLogRecordInternals {
  _logRecordLimits?: { attributeCountLimit?: number; attributeValueLengthLimit?: number };
  _attributesCount?: number;
}

/**
 * Adds the task attributes and `task.id` (last) the record does not have. `setAttribute()` of the SDK's record
 * validates each value with a fresh `WeakSet` (sdk-logs 3.1 / core `isAnyValue`), which made a
 * record inside a task ~1.5x as costly as one outside. For an SDK record whose limits and
 * attribute count are visible, a string within the value length limit, a number or a boolean is
 * written directly, and the record's count is kept: exactly what `setAttribute()` would do for
 * such a value. Any other value, a full record, or a record of another kind goes through
 * `setAttribute()`.
 */
function addAttributes(
  record: ReadWriteLogRecord,
  keys: readonly string[],
  attributes: Readonly<Attributes>,
  taskId: string,
): void {
  const own = record.attributes as Record<string, AttributeValue | undefined>;
  const internals = record as unknown as SdkLogRecordInternals;
  const limits = internals._logRecordLimits;
  const fast = limits !== undefined && typeof internals._attributesCount === 'number';
  const countLimit = fast ? (limits.attributeCountLimit ?? Number.POSITIVE_INFINITY) : 0;
  const lengthLimit = fast ? (limits.attributeValueLengthLimit ?? Number.POSITIVE_INFINITY) : 0;
  for (let i = 0; i <= keys.length; i++) {
    const key = i < keys.length ? keys[i]! : ATTR_TASK_ID;
    if (key in own) continue;
    const value = i < keys.length ? attributes[key] : taskId;
    if (
      fast &&
      internals._attributesCount! < countLimit &&
      (typeof value === 'string'
        ? value.length <= lengthLimit
        : typeof value === 'number' || typeof value === 'boolean')
    ) {
      own[key] = value;
      internals._attributesCount!++;
    } else {
      record.setAttribute(key, value);
    }
  }
}
