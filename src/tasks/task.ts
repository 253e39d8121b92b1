import {
  type Attributes,
  type AttributeValue,
  type Context,
  createContextKey,
  diag,
  type Exception,
  type Logger,
  type LoggerProvider,
  logs,
  SeverityNumber,
  type Span,
  type SpanContext,
  SpanStatusCode,
} from '@opentelemetry/api';
import { TASK_CONTEXT_KEY_NAME, TASK_SCOPE_NAME } from '../semconv.ts';
import { childPath, formatTraceParent } from './ids.ts';
import { TaskContext } from './task-context.ts';

/**
 * The Context key under which the active {@link Task} is stored (next to its span, stored with
 * `trace.setSpan`). `createContextKey` uses `Symbol.for`, so two copies of starlog share it.
 */
export const TASK_KEY: symbol = createContextKey(TASK_CONTEXT_KEY_NAME);

/** The instrumentation scope name of task enter/exit/failure records. */
export const TASK_SCOPE = TASK_SCOPE_NAME;

/** Attribute names on task records (shared contract with the tree viewer). */
export const ATTR_TASK_NAME = 'task.name';
export const ATTR_TASK_ID = 'task.id';
export const ATTR_TASK_OUTCOME = 'task.outcome';
export const ATTR_TASK_DURATION = 'task.duration_ms';

const EMPTY: Readonly<Attributes> = Object.freeze({});
const ID_ONLY_KEYS: readonly string[] = Object.freeze([ATTR_TASK_ID]);

/** The writer of a view with `task.id` only (what TaskAttributesProcessor would generate). */
function idOnlyWriter(t: Attributes, list: readonly AttributeValue[]): boolean {
  if ('task.id' in t) return false;
  t['task.id'] = list[0];
  return true;
}

// Bumped by every bind(): a task recomputes its effective attributes lazily when it changed, so
// a subtask sees attributes its ancestors bind after it started.
let bindEpoch = 0;

let cachedProvider: LoggerProvider | undefined;
let cachedLogger: Logger | undefined;

/** The Logs API logger for task records, re-fetched when the global LoggerProvider changes. */
function taskLogger(): Logger {
  const provider = logs.getLoggerProvider();
  if (provider !== cachedProvider || cachedLogger === undefined) {
    cachedProvider = provider;
    cachedLogger = provider.getLogger(TASK_SCOPE);
  }
  return cachedLogger;
}

/** Copies `attributes` without `undefined` values; `undefined` in, the shared empty object out. */
export function cleanAttributes(attributes: Attributes | undefined): Attributes {
  if (attributes === undefined || attributes === null) return EMPTY;
  let out: Attributes | undefined;
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    out ??= {};
    out[key] = value;
  }
  return out ?? EMPTY;
}

/** What a record inside a task gets (see `TaskAttributesProcessor`); internal to starlog. */
export interface RecordView {
  /** The keys of `values`, `task.id` last. */
  keys: readonly string[];
  /** The effective attributes plus `task.id`. */
  values: Readonly<Attributes>;
  /** Whether every value is a string, number or boolean. */
  primitive: boolean;
  /** The longest string value, in characters. */
  maxLength: number;
  /** `values[keys[i]]` for each `i`: the values in key order. */
  list: readonly AttributeValue[];
  /**
   * Filled in by `TaskAttributesProcessor`: its writer for these keys (shared by every view
   * with the same keys), or `null` when it has none.
   */
  writer?: ((target: Attributes, list: readonly AttributeValue[]) => boolean) | null;
}

/** Creation data of a {@link Task}; internal to starlog. */
export interface TaskInit {
  name: string;
  id: string;
  /** The enclosing local task whose attributes are inherited (none for top-level/imported). */
  parent: Task | undefined;
  attributes: Attributes;
  /** The Context the task is a child of; the task's own Context derives from it. */
  parentContext: Context;
  /** The task's span: a real SDK span, or a non-recording one around a synthetic context. */
  span: Span;
  /** Whether `span` was started by a real tracer and must be ended. */
  recording: boolean;
}

/**
 * A task: a named scope that is an OpenTelemetry span (real or synthetic) plus attributes and a
 * position in a task tree. Created by `task()`, `to()`, `importTask()` (and, for a child process,
 * by `continueTaskFromEnv()`); user code receives it as the argument of the task function or from
 * `currentTask()`.
 */
export class Task {
  /**
   * The task id: a path that shows the position in the tree, `<seq>@<trace8>/<n>/<n>...`
   * (e.g. `3@4bf92f35/1/2` is the 2nd subtask of the 1st subtask of the 3rd top-level task of
   * the process that started trace `4bf92f35…`). Stable, unique per trace.
   */
  readonly id: string;
  /** The task name (the body of its enter record). */
  get name(): string {
    return this.#name;
  }
  /** The span context of the task (W3C trace id, span id, flags). */
  readonly spanContext: SpanContext;
  /** The enclosing task in this process whose attributes this one inherits, if any. */
  readonly parent: Task | undefined;
  /** The OpenTelemetry Context in which the task runs: its span and the task itself. */
  readonly context: Context;
  /** @internal the task's span */
  readonly _span: Span;
  /** @internal whether `_span` is a real span that must be ended */
  readonly _recording: boolean;
  #name: string;
  #own: Attributes;
  #effective: Readonly<Attributes> | undefined;
  #recordView: RecordView | undefined;
  #epoch = -1;
  #children = 0;
  #message: string | undefined;
  #start = 0;
  #ended = false;

  /** @internal use task()/to()/importTask() */
  constructor(init: TaskInit) {
    this.id = init.id;
    this.#name = init.name;
    this.parent = init.parent;
    this._span = init.span;
    this._recording = init.recording;
    this.spanContext = init.span.spanContext();
    this.#own = Object.freeze(init.attributes);
    // one object on top of the parent Context, not two copies of it (see task-context.ts)
    this.context = new TaskContext(init.parentContext, init.span, TASK_KEY, this);
  }

  /** The trace id (32 lower-case hex characters). */
  get traceId(): string {
    return this.spanContext.traceId;
  }

  /** The span id (16 lower-case hex characters). */
  get spanId(): string {
    return this.spanContext.spanId;
  }

  /**
   * The effective attributes: those of the enclosing tasks in this process, overridden by this
   * task's own (given at start or added by {@link bind}). Frozen; inner values win.
   */
  get attributes(): Readonly<Attributes> {
    if (this.#epoch !== bindEpoch || this.#effective === undefined) return this.#refresh();
    return this.#effective;
  }

  #refresh(): Readonly<Attributes> {
    const inherited = this.parent === undefined ? EMPTY : this.parent.attributes;
    const own = this.#own;
    let effective: Readonly<Attributes>;
    if (inherited === EMPTY) effective = own;
    else if (own === EMPTY) effective = inherited;
    else effective = Object.freeze({ ...inherited, ...own });
    this.#effective = effective;
    this.#recordView = undefined;
    this.#epoch = bindEpoch;
    return effective;
  }

  /**
   * @internal what `TaskAttributesProcessor` adds to each record: the effective attributes plus
   * `task.id`, computed once per change of the attributes
   */
  get _recordView(): RecordView {
    if (this.#epoch !== bindEpoch || this.#effective === undefined) this.#refresh();
    if (this.#recordView === undefined && this.#effective === EMPTY) {
      // the common case (an HTTP request task, a task without attributes): one shared key list,
      // so TaskAttributesProcessor's writer is found without building its signature
      const values: Attributes = { [ATTR_TASK_ID]: this.id };
      this.#recordView = {
        keys: ID_ONLY_KEYS,
        values,
        primitive: true,
        maxLength: this.id.length,
        list: [this.id],
        writer: idOnlyWriter,
      };
    } else if (this.#recordView === undefined) {
      const values: Attributes = { ...this.#effective };
      values[ATTR_TASK_ID] = this.id;
      let primitive = true;
      let maxLength = 0;
      for (const key of Object.keys(values)) {
        const v = values[key];
        if (typeof v === 'string') maxLength = Math.max(maxLength, v.length);
        else if (typeof v !== 'number' && typeof v !== 'boolean') primitive = false;
      }
      const keys = Object.keys(values);
      this.#recordView = {
        keys,
        values: Object.freeze(values),
        primitive,
        maxLength,
        list: Object.freeze(keys.map((k) => values[k]!)),
      };
    }
    return this.#recordView;
  }

  /** Whether the task has finished (its exit or failure record was emitted). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Sets the body of the exit record (default: the task name). The last call wins; a failure
   * replaces it with `FAILED <name>`.
   */
  success(message?: string): void {
    this.#message = message === undefined ? undefined : String(message);
  }

  /**
   * Adds attributes to the rest of this task: to every record emitted inside it from now on,
   * its exit record, its subtasks (also those already running), and its span if it is a real
   * one. `undefined` values are ignored. Returns the task.
   */
  bind(attributes: Attributes): this {
    const clean = cleanAttributes(attributes);
    if (clean === EMPTY) return this;
    this.#own = Object.freeze({ ...this.#own, ...clean });
    bindEpoch++;
    if (this._recording) this._span.setAttributes(clean);
    return this;
  }

  /**
   * A string that lets another process continue this task with `importTask(id, ...)`:
   * `<traceparent>#<task id path>`, where the traceparent (W3C Trace Context §3.2, version 00)
   * carries this task's span as the parent and the path is a new subtask slot of this task
   * (`<this.id>/<n>`). Each call takes a new slot.
   */
  foreignId(): string {
    return `${formatTraceParent(this.spanContext)}#${this._nextChildPath()}`;
  }

  /** @internal the id of the next subtask (or foreign slot) of this task */
  _nextChildPath(): string {
    this.#children++;
    return childPath(this.id, this.#children);
  }

  /**
   * @internal renames the task before it ends (an HTTP request task learns its route late); the
   * exit record carries the new name
   */
  _rename(name: string): void {
    this.#name = name;
  }

  /** @internal starts the clock and, unless `record` is false, emits the enter record */
  _enter(record = true): void {
    this.#start = performance.now();
    if (!record) return;
    const attributes: Attributes = { ...this.attributes };
    attributes[ATTR_TASK_NAME] = this.name;
    attributes[ATTR_TASK_ID] = this.id;
    emit(SeverityNumber.INFO, 'INFO', this.name, attributes, this.context);
  }

  /** @internal emits the exit record and ends a real span */
  _exit(): void {
    if (this.#ended) return;
    this.#ended = true;
    const attributes = this.#exitAttributes('success');
    emit(SeverityNumber.INFO, 'INFO', this.#message ?? this.name, attributes, this.context);
    if (this._recording) {
      try {
        this._span.end();
      } catch (err) {
        diag.error('starlog: ending the span of a task failed', err);
      }
    }
  }

  /** @internal emits the failure record, records the exception on a real span and ends it */
  _fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const attributes = this.#exitAttributes('failure');
    const ex = describeException(error);
    attributes['exception.type'] = ex.type;
    attributes['exception.message'] = ex.message;
    if (ex.stacktrace !== undefined) attributes['exception.stacktrace'] = ex.stacktrace;
    emit(SeverityNumber.ERROR, 'ERROR', `FAILED ${this.name}`, attributes, this.context);
    if (this._recording) {
      try {
        this._span.recordException(
          error instanceof Error ? error : ({ name: ex.type, message: ex.message } as Exception),
        );
        this._span.setStatus({ code: SpanStatusCode.ERROR, message: ex.message });
        this._span.end();
      } catch (err) {
        diag.error('starlog: ending the span of a failed task failed', err);
      }
    }
  }

  /**
   * @internal ends the task without a record of its own: the caller emits the exit record with
   * the returned attributes (`task.name`, `task.id`, `task.outcome`, `task.duration_ms` and the
   * task's attributes). Ends a real span (status ERROR on failure). `undefined` if already ended.
   */
  _close(outcome: 'success' | 'failure', message?: string): Attributes | undefined {
    if (this.#ended) return undefined;
    this.#ended = true;
    const attributes = this.#exitAttributes(outcome);
    if (this._recording) {
      try {
        if (outcome === 'failure') this._span.setStatus({ code: SpanStatusCode.ERROR, message });
        this._span.end();
      } catch (err) {
        diag.error('starlog: ending the span of a task failed', err);
      }
    }
    return attributes;
  }

  #exitAttributes(outcome: 'success' | 'failure'): Attributes {
    const attributes: Attributes = { ...this.attributes };
    attributes[ATTR_TASK_NAME] = this.name;
    attributes[ATTR_TASK_ID] = this.id;
    attributes[ATTR_TASK_OUTCOME] = outcome;
    attributes[ATTR_TASK_DURATION] = performance.now() - this.#start;
    return attributes;
  }
}

function emit(
  severityNumber: SeverityNumber,
  severityText: string,
  body: string,
  attributes: Attributes,
  context: Context,
): void {
  try {
    taskLogger().emit({ severityNumber, severityText, body, attributes, context });
  } catch (err) {
    diag.error('starlog: emitting a task record failed', err);
  }
}

/** The OpenTelemetry `exception.*` attribute values for a thrown value. */
export function describeException(error: unknown): {
  type: string;
  message: string;
  stacktrace?: string;
} {
  if (error instanceof Error) {
    return {
      type: error.name || error.constructor?.name || 'Error',
      message: error.message,
      stacktrace: typeof error.stack === 'string' ? error.stack : undefined,
    };
  }
  if (error !== null && typeof error === 'object') {
    const e = error as { name?: unknown; message?: unknown; stack?: unknown };
    return {
      type: typeof e.name === 'string' ? e.name : (error.constructor?.name ?? 'Object'),
      message: typeof e.message === 'string' ? e.message : safeString(error),
      stacktrace: typeof e.stack === 'string' ? e.stack : undefined,
    };
  }
  return { type: typeof error, message: safeString(error) };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '[unprintable]';
  }
}

let processTask: Task | undefined;

/**
 * The task this whole process continues (set by `continueTaskFromEnv()` in a child started
 * inside a task), or `undefined`.
 */
export function getProcessTask(): Task | undefined {
  return processTask;
}

/** @internal sets (or clears) the process task */
export function setProcessTask(t: Task | undefined): void {
  processTask = t;
}

/** The task stored in `ctx`, without the process-task fallback. */
export function taskInContext(ctx: Context | undefined): Task | undefined {
  return ctx === undefined ? undefined : (ctx.getValue(TASK_KEY) as Task | undefined);
}
