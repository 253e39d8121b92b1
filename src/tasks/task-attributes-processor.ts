import { type Attributes, type AttributeValue, type Context, diag } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { getProcessTask, type RecordView, type Task, taskInContext } from './task.ts';

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
      addAttributes(record, t._recordView);
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
 * Writes a task's values into a record's attributes object unless the object already has (own
 * or inherited) one of the keys; returns whether it wrote them. See {@link writerFor}.
 */
type Writer = (target: Attributes, list: readonly AttributeValue[]) => boolean;

/** Writers by key list (`JSON.stringify(keys)`); at most {@link MAX_WRITERS}. */
const writers = new Map<string, Writer>();
const MAX_WRITERS = 256;
/** False once `new Function` failed (e.g. `--disallow-code-generation-from-strings`). */
let canGenerate = true;

/**
 * A writer specialised for one list of keys: `"k1" in t || "k2" in t ...`, then `t["k1"] =
 * list[0]; ...`, as generated code with the keys as literals (written with `JSON.stringify`, so
 * any key is a well-formed string literal and nothing else). Property accesses with literal
 * names get V8's inline caches; the same accesses through a variable key (`t[key]`, or
 * `Object.assign`) are generic lookups, which made up most of the cost of a record inside a
 * task (≈ 100 ns for 4 keys, measured on Node 24). Same semantics as the generic path:
 * `in` and assignment (`[[Set]]`), in key order. One writer per distinct key list, cached;
 * `null` when there are already {@link MAX_WRITERS} or code generation is disallowed (the
 * generic path is used then).
 */
function writerFor(keys: readonly string[]): Writer | null {
  const signature = JSON.stringify(keys);
  const cached = writers.get(signature);
  if (cached !== undefined) return cached;
  if (!canGenerate || writers.size >= MAX_WRITERS) return null;
  const literals = keys.map((k) => JSON.stringify(k));
  const body =
    `if (${literals.map((k) => `${k} in t`).join(' || ') || 'false'}) return false;\n` +
    literals.map((k, i) => `t[${k}] = list[${i}];\n`).join('') +
    'return true;';
  let writer: Writer;
  try {
    writer = new Function('t', 'list', body) as Writer;
  } catch (err) {
    canGenerate = false;
    diag.debug('starlog: TaskAttributesProcessor cannot generate writers; generic path', err);
    return null;
  }
  writers.set(signature, writer);
  return writer;
}

/**
 * Adds the task attributes and `task.id` the record does not have. `setAttribute()` of the
 * SDK's record validates each value with a fresh `WeakSet` (sdk-logs 3.1 / core `isAnyValue`),
 * which made a record inside a task markedly costlier than one outside. So for an SDK record
 * whose limits and attribute count are visible, when every value is a string, number or
 * boolean, the strings fit the value length limit, the count stays within the count limit and
 * no key clashes, the values are written directly (by the view's {@link writerFor} writer) and
 * the record's count is raised: exactly what `setAttribute()` would do for each. Otherwise (or
 * for a record of another kind) each missing key goes through `setAttribute()`.
 */
function addAttributes(record: ReadWriteLogRecord, view: RecordView): void {
  const own = record.attributes;
  const keys = view.keys;
  if (view.primitive) {
    const internals = record as unknown as SdkLogRecordInternals;
    const limits = internals._logRecordLimits;
    const count = internals._attributesCount;
    if (
      limits !== undefined &&
      typeof count === 'number' &&
      count + keys.length <= (limits.attributeCountLimit ?? Number.POSITIVE_INFINITY) &&
      view.maxLength <= (limits.attributeValueLengthLimit ?? Number.POSITIVE_INFINITY)
    ) {
      let writer = view.writer;
      if (writer === undefined) writer = view.writer = writerFor(keys);
      if (writer !== null) {
        if (writer(own, view.list)) {
          internals._attributesCount = count + keys.length;
          return;
        }
      } else if (!hasAny(own, keys)) {
        Object.assign(own, view.values);
        internals._attributesCount = count + keys.length;
        return;
      }
    }
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!(key in own)) record.setAttribute(key, view.values[key]);
  }
}

function hasAny(target: Attributes, keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) if (keys[i]! in target) return true;
  return false;
}
