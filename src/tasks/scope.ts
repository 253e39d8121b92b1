import {
  type Attributes,
  type Context,
  context,
  diag,
  isSpanContextValid,
  ProxyTracerProvider,
  type Span,
  type SpanContext,
  TraceFlags,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { TASK_SCOPE_NAME } from '../semconv.ts';
import { ensureContextManagerOnce } from './context-manager.ts';
import {
  parseForeignId,
  type RemoteParent,
  randomSpanId,
  randomTraceAndSpanId,
  remoteRootPath,
  rootPath,
} from './ids.ts';
import { ATTR_TASK_ID, cleanAttributes, getProcessTask, Task, taskInContext } from './task.ts';

/** The function run inside a task: gets the {@link Task}; may be sync or async. */
export type TaskFunction<R> = (task: Task) => R;

// A fresh ProxyTracerProvider without delegate answers the API's shared no-op provider: the
// global provider delegates to it exactly when no TracerProvider is registered.
const NOOP_TRACER_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

let cachedDelegate: TracerProvider | undefined;
let cachedTracer: Tracer | undefined;

/** The tracer of the registered TracerProvider, or `undefined` if none is registered. */
export function registeredTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider() as TracerProvider & {
    getDelegate?: () => TracerProvider;
  };
  const delegate = typeof provider.getDelegate === 'function' ? provider.getDelegate() : provider;
  if (delegate === NOOP_TRACER_PROVIDER) return undefined;
  if (delegate !== cachedDelegate || cachedTracer === undefined) {
    cachedDelegate = delegate;
    cachedTracer = delegate.getTracer(TASK_SCOPE_NAME);
  }
  return cachedTracer;
}

/**
 * Makes a task (without entering it). `parentSpan` is the span context the new span is a child
 * of (`undefined`: a new trace); `parentContext` the Context the task's Context derives from.
 */
function createTask(
  name: string,
  attributes: Attributes,
  parent: Task | undefined,
  parentContext: Context,
  parentSpan: SpanContext | undefined,
  path: ((traceId: string) => string) | string,
): Task {
  const tracer = registeredTracer();
  let span: Span;
  if (tracer !== undefined) {
    // A real span: the parent is read from parentContext (which carries parentSpan).
    span = tracer.startSpan(name, { attributes, root: parentSpan === undefined }, parentContext);
  } else if (parentSpan === undefined) {
    const ids = randomTraceAndSpanId();
    span = trace.wrapSpanContext({
      traceId: ids.slice(0, 32),
      spanId: ids.slice(32),
      traceFlags: TraceFlags.SAMPLED,
    });
  } else {
    span = trace.wrapSpanContext({
      traceId: parentSpan.traceId,
      spanId: randomSpanId(),
      traceFlags: parentSpan.traceFlags,
    });
  }
  const traceId = span.spanContext().traceId;
  const id = typeof path === 'string' ? path : path(traceId);
  if (tracer !== undefined) span.setAttribute(ATTR_TASK_ID, id);
  return new Task({
    name,
    id,
    parent,
    attributes,
    parentContext,
    span,
    recording: tracer !== undefined,
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Enters `t`, runs `fn` inside its Context, and leaves it (now or when the promise settles). */
function run<R>(t: Task, fn: TaskFunction<R>): R {
  t._enter();
  let result: R;
  try {
    result = context.with(t.context, fn, undefined, t);
  } catch (err) {
    t._fail(err);
    throw err;
  }
  if (isThenable(result)) {
    try {
      result.then(
        () => t._exit(),
        (err: unknown) => t._fail(err),
      );
    } catch (err) {
      diag.error(`starlog: could not observe the result of task '${t.name}'`, err);
      t._exit();
    }
  } else {
    t._exit();
  }
  return result;
}

function splitArgs<R>(
  fnName: string,
  attributesOrFn: Attributes | TaskFunction<R> | undefined,
  maybeFn: TaskFunction<R> | undefined,
): [Attributes, TaskFunction<R>] {
  if (typeof attributesOrFn === 'function') return [cleanAttributes(undefined), attributesOrFn];
  if (typeof maybeFn !== 'function') {
    throw new TypeError(`starlog: ${fnName}(): the last argument must be a function`);
  }
  return [cleanAttributes(attributesOrFn), maybeFn];
}

function newTopLevel(name: string, attributes: Attributes, base = context.active()): Task {
  // Inside an active OpenTelemetry span that is not a task's (an instrumented request, a user's
  // span), the task joins that span's trace instead of starting a new one.
  const active = trace.getSpanContext(base);
  const join =
    active !== undefined && isSpanContextValid(active) && taskInContext(base) === undefined
      ? active
      : undefined;
  return createTask(name, attributes, undefined, base, join, rootPath);
}

/**
 * @internal a top-level task that is entered and ended by its caller (an HTTP request task):
 * continues `remote` (a parsed carrier) when given, else starts a new trace (or joins the span
 * active in `base`)
 */
export function newDetachedTask(
  name: string,
  attributes: Attributes,
  remote: RemoteParent | undefined,
  base: Context,
): Task {
  ensureContextManagerOnce();
  return remote === undefined
    ? newTopLevel(name, attributes, base)
    : newRemoteTask(name, attributes, remote, base);
}

function newSubtask(name: string, attributes: Attributes): Task {
  const active = context.active();
  let parent = taskInContext(active);
  let parentContext = active;
  if (parent === undefined) {
    parent = getProcessTask();
    if (parent === undefined) return newTopLevel(name, attributes);
    parentContext = trace.setSpanContext(active, parent.spanContext);
  }
  // The OpenTelemetry parent is the active span: the task's, or a span the user started inside
  // it (same trace). A span of another trace is not a parent: the subtask stays in its task's.
  let parentSpan = trace.getSpanContext(parentContext);
  if (parentSpan === undefined || parentSpan.traceId !== parent.traceId) {
    parentSpan = parent.spanContext;
    parentContext = trace.setSpanContext(parentContext, parentSpan);
  }
  return createTask(name, attributes, parent, parentContext, parentSpan, parent._nextChildPath());
}

/** @internal a task that continues `remote` (a parsed carrier) in this process */
export function newRemoteTask(
  name: string,
  attributes: Attributes,
  remote: RemoteParent,
  base: Context,
): Task {
  const parentSpan: SpanContext = {
    traceId: remote.traceId,
    spanId: remote.spanId,
    traceFlags: remote.traceFlags,
    isRemote: true,
  };
  const path = remote.path ?? remoteRootPath(remote.traceId, remote.spanId);
  return createTask(
    name,
    attributes,
    undefined,
    trace.setSpanContext(base, parentSpan),
    parentSpan,
    path,
  );
}

/**
 * Runs `fn` in a new top-level task: a new trace (a new root span), no inherited attributes.
 * Inside an active OpenTelemetry span that is not a task's (an instrumented request, a span the
 * application started), the task joins that span's trace as its child instead.
 * Emits an INFO record with body `name` on entry; on exit an INFO record with the message given
 * to `success()` (default `name`); if `fn` throws or its promise rejects, an ERROR record
 * `FAILED <name>` with `exception.type`/`exception.message`/`exception.stacktrace`, and the error
 * is rethrown. Returns what `fn` returns: for an async `fn` the very same promise (starlog
 * attaches its own handler to it, so a rejection is logged even if the caller drops the promise,
 * and Node no longer reports it as unhandled).
 * @throws TypeError if the last argument is not a function
 */
export function task<R>(name: string, fn: TaskFunction<R>): R;
export function task<R>(name: string, attributes: Attributes | undefined, fn: TaskFunction<R>): R;
export function task<R>(
  name: string,
  attributesOrFn: Attributes | TaskFunction<R> | undefined,
  maybeFn?: TaskFunction<R>,
): R {
  const [attributes, fn] = splitArgs('task', attributesOrFn, maybeFn);
  ensureContextManagerOnce();
  return run(newTopLevel(String(name), attributes), fn);
}

/**
 * Runs `fn` in a subtask of the active task (of the process task in a child started inside a
 * task; a top-level task if there is none). The subtask inherits the attributes of its
 * ancestors (its own win) and gets the id `<parent id>/<n>`. Records, return value and errors
 * as for {@link task}.
 * @throws TypeError if the last argument is not a function
 */
export function to<R>(name: string, fn: TaskFunction<R>): R;
export function to<R>(name: string, attributes: Attributes | undefined, fn: TaskFunction<R>): R;
export function to<R>(
  name: string,
  attributesOrFn: Attributes | TaskFunction<R> | undefined,
  maybeFn?: TaskFunction<R>,
): R {
  const [attributes, fn] = splitArgs('to', attributesOrFn, maybeFn);
  ensureContextManagerOnce();
  return run(newSubtask(String(name), attributes), fn);
}

/**
 * Runs `fn` in a task that continues, in this process, the task slot named by `foreignId` (a
 * string from `Task.foreignId()` in another process: `<traceparent>#<path>`; a bare W3C
 * `traceparent` is accepted too and continues that trace). The new task's span is a child of
 * the remote task's span and its id is the slot's path. A malformed id never throws: it is
 * reported through `diag.warn` and the task starts a fresh tree (as {@link task}).
 * @throws TypeError if the last argument is not a function
 */
export function importTask<R>(foreignId: string, name: string, fn: TaskFunction<R>): R;
export function importTask<R>(
  foreignId: string,
  name: string,
  attributes: Attributes | undefined,
  fn: TaskFunction<R>,
): R;
export function importTask<R>(
  foreignId: string,
  name: string,
  attributesOrFn: Attributes | TaskFunction<R> | undefined,
  maybeFn?: TaskFunction<R>,
): R {
  const [attributes, fn] = splitArgs('importTask', attributesOrFn, maybeFn);
  ensureContextManagerOnce();
  const remote = parseForeignId(foreignId);
  let t: Task;
  if (typeof remote === 'string') {
    diag.warn(`starlog: importTask('${name}'): bad foreign id, starting a fresh tree: ${remote}`);
    t = newTopLevel(String(name), attributes);
  } else {
    t = newRemoteTask(String(name), attributes, remote, context.active());
  }
  return run(t, fn);
}

/**
 * The active task: the one whose function (or anything it started: awaits, timers, callbacks)
 * is running; in a child process that continues a parent's task, that process task outside any
 * other task; otherwise `undefined`.
 */
export function currentTask(): Task | undefined {
  return taskInContext(context.active()) ?? getProcessTask();
}

/**
 * Returns a function that, each time it is called, runs `fn` (with the same `this` and
 * arguments) inside a new subtask `name` of the task active at the call (see {@link to}), and
 * returns what `fn` returns. Inside, `currentTask()` is that subtask.
 * @throws TypeError if the last argument is not a function
 */
function wrap<A extends unknown[], R, T = unknown>(
  name: string,
  fn: (this: T, ...args: A) => R,
): (this: T, ...args: A) => R;
function wrap<A extends unknown[], R, T = unknown>(
  name: string,
  attributes: Attributes | undefined,
  fn: (this: T, ...args: A) => R,
): (this: T, ...args: A) => R;
function wrap<A extends unknown[], R, T = unknown>(
  name: string,
  attributesOrFn: Attributes | ((this: T, ...args: A) => R) | undefined,
  maybeFn?: (this: T, ...args: A) => R,
): (this: T, ...args: A) => R {
  const fn = typeof attributesOrFn === 'function' ? attributesOrFn : maybeFn;
  if (typeof fn !== 'function') {
    throw new TypeError('starlog: task.wrap(): the last argument must be a function');
  }
  const attributes = typeof attributesOrFn === 'function' ? undefined : attributesOrFn;
  return function (this: T, ...args: A): R {
    return to(name, attributes, () => fn.apply(this, args));
  };
}

task.wrap = wrap;
