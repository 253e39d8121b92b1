/**
 * Task propagation to child processes through the environment, following the OpenTelemetry
 * environment-variable carrier convention (opentelemetry-specification, context/env-carriers.md:
 * `TRACEPARENT` and `TRACESTATE` hold the W3C Trace Context header values).
 */
import { createTraceState, diag, ROOT_CONTEXT, type SpanContext, trace } from '@opentelemetry/api';
import { formatTraceParent, parseCarrier, remoteRootPath, traceStateWithPath } from './ids.ts';
import { currentTask } from './scope.ts';
import { getProcessTask, setProcessTask, Task } from './task.ts';

/** Environment variable holding the W3C `traceparent` of the parent task. */
export const ENV_TRACEPARENT = 'TRACEPARENT';
/** Environment variable holding the W3C `tracestate`; starlog's entry is `starlog=<task path>`. */
export const ENV_TRACESTATE = 'TRACESTATE';

/** The carrier values for one child: W3C `traceparent` and `tracestate` header values. */
export interface TaskCarrier {
  traceparent: string;
  /** May be empty (no entries) when the path does not fit a tracestate value (256 chars). */
  tracestate: string;
}

/**
 * The carrier for a new child slot of task `t` (default: the active task): the traceparent
 * names `t`'s span as the parent, the tracestate's `starlog` entry the slot's task id
 * (`<t.id>/<n>`), after the other vendors' entries `t`'s span context carries. Each call takes
 * a new slot. `undefined` when there is no task.
 */
export function taskCarrier(t: Task | undefined = currentTask()): TaskCarrier | undefined {
  if (t === undefined) return undefined;
  const path = t._nextChildPath();
  const tracestate = traceStateWithPath(t.spanContext.traceState?.serialize(), path);
  if (!tracestate.startsWith('starlog=')) {
    diag.debug(`starlog: task path too long for tracestate (${path.length} chars), not carried`);
  }
  return { traceparent: formatTraceParent(t.spanContext), tracestate };
}

/**
 * Returns a copy of `env` (default `process.env`) with `TRACEPARENT` and `TRACESTATE` set for a
 * new child slot of the active task (see {@link taskCarrier}), for `child_process`,
 * `cluster.fork(taskEnv())` or `new Worker(file, { env: taskEnv() })`. Without an active task
 * the copy is unchanged. `env` itself is never modified.
 */
export function taskEnv(
  env: NodeJS.ProcessEnv = process.env,
  t: Task | undefined = currentTask(),
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const carrier = taskCarrier(t);
  if (carrier !== undefined) {
    out[ENV_TRACEPARENT] = carrier.traceparent;
    if (carrier.tracestate === '') delete out[ENV_TRACESTATE];
    else out[ENV_TRACESTATE] = carrier.tracestate;
  }
  return out;
}

/**
 * Makes this process continue the task its parent named in `env` (default `process.env`):
 * `TRACEPARENT` (W3C, required) and `TRACESTATE` (its `starlog=<path>` entry gives the task id;
 * without one, e.g. from a non-starlog parent, the id is `<span8>@<trace8>`).
 *
 * The result is the *process task*: it has the parent task's span context (the parent's span is
 * the OpenTelemetry parent of everything here) and the slot's id. From then on, in this process:
 * `currentTask()` outside any task returns it; `to()` outside any task makes a subtask of it;
 * `taskEnv()`/`fork()`/`spawn()` pass it on; and `TaskAttributesProcessor` gives records
 * emitted outside any task its span context (if they have none) and its `task.id` and bound
 * attributes, so they hang under the parent's task. It emits no records of its own (it has no
 * end). `task()` still starts a new tree. `trace.getSpanContext(context.active())` outside tasks
 * stays empty: the process task is not entered into the Context (use `t.context` with
 * `context.with` for code that reads it directly).
 *
 * Returns the process task, or `undefined` if `TRACEPARENT` is absent or malformed (then the
 * process starts fresh trees; a malformed value is reported through `diag.warn`). Never throws.
 * Called by `setupLogging()` in a child.
 */
export function continueTaskFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  name: string = defaultProcessTaskName(),
): Task | undefined {
  const remote = parseCarrier(env[ENV_TRACEPARENT], env[ENV_TRACESTATE]);
  if (remote === undefined) return undefined;
  if (typeof remote === 'string') {
    diag.warn(`starlog: not continuing the parent's task, starting fresh trees: ${remote}`);
    return undefined;
  }
  let traceState: SpanContext['traceState'];
  const rawState = env[ENV_TRACESTATE];
  if (typeof rawState === 'string' && rawState !== '') {
    try {
      traceState = createTraceState(rawState);
    } catch {
      traceState = undefined;
    }
  }
  const spanContext: SpanContext = {
    traceId: remote.traceId,
    spanId: remote.spanId,
    traceFlags: remote.traceFlags,
    isRemote: true,
    traceState,
  };
  const span = trace.wrapSpanContext(spanContext);
  const t = new Task({
    name,
    id: remote.path ?? remoteRootPath(remote.traceId, remote.spanId),
    parent: undefined,
    attributes: {},
    // Process-wide, so derived from ROOT_CONTEXT, not from whatever is active now.
    parentContext: ROOT_CONTEXT,
    span,
    recording: false,
  });
  setProcessTask(t);
  return t;
}

/** The process task set by {@link continueTaskFromEnv}, or `undefined`. */
export function processTask(): Task | undefined {
  return getProcessTask();
}

/** Stops continuing the parent's task in this process (the opposite of continueTaskFromEnv). */
export function forgetProcessTask(): void {
  setProcessTask(undefined);
}

function defaultProcessTaskName(): string {
  const script = process.argv[1];
  const base = script === undefined ? process.argv0 : script.split(/[\\/]/).pop();
  return `${base} (pid ${process.pid})`;
}
