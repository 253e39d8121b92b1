/**
 * A task per incoming HTTP request, with no code in the application: node:http publishes
 * `http.server.request.start` (diagnostics_channel) right before it emits the server's `request`
 * event, and `http.server.response.finish` when the response is sent. express, fastify, koa …
 * all sit on node:http, so all get it.
 *
 * The request handler runs inside the task's Context (the server's `emit('request')` is wrapped
 * once per server, on the instance), and so do the request's event listeners (body parsing: the
 * request's `emit` is replaced by one shared function that enters the task's Context), so
 * everything logged while handling the request carries its trace and `task.id`.
 *
 * Cost: this runs for every request of the process, so nothing here allocates a closure per
 * request (bench/http.ts measured OpenTelemetry's `context.bind(ctx, request)` — a closure per
 * emitter method and per listener — and a `once('close')` closure at about a third of the
 * added CPU per request).
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  type Attributes,
  context,
  diag,
  isSpanContextValid,
  type Logger,
  type LoggerProvider,
  logs,
  ROOT_CONTEXT,
  SeverityNumber,
} from '@opentelemetry/api';
import { COUNT_PREFIX, HTTP_SCOPE_NAME } from '../semconv.ts';
import { emitDirect } from './direct-emit.ts';
import { learnedRoute, subscribeRoutes } from './http-route.ts';
import { parseCarrier, type RemoteParent } from './ids.ts';
import { newDetachedTask } from './scope.ts';
import { cleanAttributes, type Task } from './task.ts';

/** Options of the automatic request tasks (`setupLogging({ httpTasks })`). */
export interface HttpTaskOptions {
  /** Emit the task's entry record (INFO, body = task name) when a request starts. Default `false`. */
  entryRecord?: boolean;
  /** Count `http.requests`, `http.<N>xx` and `http.aborted` on the access record. Default `true`. */
  counters?: boolean;
  /** Requests for which this returns true get no task (e.g. health checks). Never throws out. */
  ignore?: (request: IncomingMessage) => boolean;
}

/** Instrumentation scope of access records (a logger name for the level table, too). */
export { HTTP_SCOPE_NAME };

const STATE = Symbol('starlog.httpTask');
const WRAPPED = Symbol('starlog.httpEmit');
/**
 * No attributes: task.ts's own empty object (what `cleanAttributes(undefined)` returns), so the
 * task takes its shared id-only record view instead of building one per request.
 */
const EMPTY: Attributes = cleanAttributes(undefined);
/**
 * The most attributes an access record adds to its task's (`task.name`, `task.outcome`,
 * `task.duration_ms`, `http.request.method`, `url.path`, `http.route`, the status or
 * `error.type`, two counters), for the attribute count limit.
 */
const ACCESS_KEYS = 9;
const COUNT_REQUESTS = `${COUNT_PREFIX}http.requests`;
const COUNT_ABORTED = `${COUNT_PREFIX}http.aborted`;
/** `http.<N>xx` counter keys by status class (made once: a key built per request is re-hashed) */
const COUNT_CLASSES = [0, 1, 2, 3, 4, 5].map((n) => `${COUNT_PREFIX}http.${n}xx`);

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

interface RequestState {
  task: Task;
  method: string;
  path: string;
  ended: boolean;
  /** the request's own `emit` (its class's), called inside the task's Context */
  emit: Emit;
}

type Tagged = IncomingMessage & { [STATE]?: RequestState };

let options: HttpTaskOptions = {};
let installed = false;
let unsubscribeRoutes: (() => void) | undefined;
let cachedProvider: LoggerProvider | undefined;
let cachedLogger: Logger | undefined;

function accessLogger(): Logger {
  const provider = logs.getLoggerProvider();
  if (provider !== cachedProvider || cachedLogger === undefined) {
    cachedProvider = provider;
    cachedLogger = provider.getLogger(HTTP_SCOPE_NAME);
  }
  return cachedLogger;
}

/**
 * The `traceparent` and `tracestate` headers (the first of each), read from `rawHeaders`: the
 * `headers` object is built lazily by node:http on first access, a cost of its own a handler that
 * never reads it would otherwise pay for every request.
 */
function traceHeaders(request: IncomingMessage): [string | undefined, string | undefined] {
  const raw = request.rawHeaders;
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  if (!Array.isArray(raw)) {
    // not node:http's IncomingMessage (a mock, another server): its headers object, if any
    const h = request.headers ?? {};
    const tp = h.traceparent;
    const ts = h.tracestate;
    return [Array.isArray(tp) ? tp[0] : tp, Array.isArray(ts) ? ts[0] : ts];
  }
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 11 && traceparent === undefined && name.toLowerCase() === 'traceparent')
      traceparent = raw[i + 1];
    else if (name.length === 10 && tracestate === undefined && name.toLowerCase() === 'tracestate')
      tracestate = raw[i + 1];
  }
  return [traceparent, tracestate];
}

function onRequestStart(message: unknown): void {
  try {
    const { request, response, server } = message as {
      request: Tagged;
      response: ServerResponse;
      server: Server;
    };
    if (options.ignore?.(request) === true) return;
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let remote: RemoteParent | undefined;
    const [traceparent, tracestate] = traceHeaders(request);
    if (traceparent !== undefined) {
      const parsed = parseCarrier(traceparent, tracestate);
      if (typeof parsed === 'string') diag.debug(`starlog: ignoring the traceparent: ${parsed}`);
      else remote = parsed;
    }
    const task = newDetachedTask(`${method} ${path}`, EMPTY, remote, ROOT_CONTEXT);
    task._enter(options.entryRecord === true);
    const state: RequestState = {
      task,
      method,
      path,
      ended: false,
      emit: request.emit as unknown as Emit,
    };
    request[STATE] = state;
    // body parsers listen on the request: its events are emitted inside the task too
    (request as { emit: unknown }).emit = emitInTask;
    if ((server as { [WRAPPED]?: boolean })[WRAPPED] !== true) wrapEmit(server);
    response.on('close', onResponseClose);
  } catch (err) {
    diag.error('starlog: starting an HTTP request task failed', err);
  }
}

/** The request's `emit` while it has a task: its listeners run in the task's Context. */
function emitInTask(this: Tagged, event: string | symbol, ...args: unknown[]): boolean {
  const state = this[STATE];
  if (state === undefined) {
    const own = (Object.getPrototypeOf(this) as { emit: Emit }).emit;
    return own.call(this, event, ...args);
  }
  // an event without listeners runs no code: no Context to enter (node:http emits several per
  // request, e.g. 'end' and 'close' of a GET nobody reads)
  if (this.listenerCount(event) === 0) return state.emit.call(this, event, ...args);
  return context.with(state.task.context, state.emit, this, event, ...args);
}

/** `close` of a response whose request has a task: before `finish`, the request was aborted. */
function onResponseClose(this: ServerResponse): void {
  const request = this.req as Tagged | undefined;
  const state = request?.[STATE];
  if (request !== undefined && state !== undefined && !state.ended) end(request, this, state, true);
}

function onResponseFinish(message: unknown): void {
  const { request, response } = message as { request: Tagged; response: ServerResponse };
  const state = request[STATE];
  if (state !== undefined && !state.ended) end(request, response, state, false);
}

/** Runs the server's `request` listeners inside the request's task. */
function wrapEmit(server: Server): void {
  const original = server.emit as (
    this: Server,
    event: string | symbol,
    ...args: unknown[]
  ) => boolean;
  const wrapped = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request') {
      const state = (args[0] as Tagged | undefined)?.[STATE];
      if (state !== undefined)
        return context.with(state.task.context, original, this, event, ...args);
    }
    return original.call(this, event, ...args);
  };
  Object.defineProperty(server, 'emit', { value: wrapped, writable: true, configurable: true });
  Object.defineProperty(server, WRAPPED, { value: true });
}

function end(
  request: Tagged,
  response: ServerResponse,
  state: RequestState,
  aborted: boolean,
): void {
  state.ended = true;
  try {
    const status = response.statusCode;
    const route = learnedRoute(request);
    const name = `${state.method} ${route ?? state.path}`;
    if (route !== undefined) state.task._rename(name);
    const failed = aborted || status >= 500;
    const attributes = state.task._close(
      failed ? 'failure' : 'success',
      aborted ? 'aborted' : `HTTP ${status}`,
    );
    if (attributes === undefined) return;
    attributes['http.request.method'] = state.method;
    attributes['url.path'] = state.path;
    if (route !== undefined) attributes['http.route'] = route;
    if (aborted) attributes['error.type'] = 'aborted';
    else attributes['http.response.status_code'] = status;
    if (options.counters !== false) {
      attributes[COUNT_REQUESTS] = 1;
      const klass = Math.floor(status / 100);
      attributes[
        aborted ? COUNT_ABORTED : (COUNT_CLASSES[klass] ?? `${COUNT_PREFIX}http.${klass}xx`)
      ] = 1;
    }
    const ms = (attributes['task.duration_ms'] as number).toFixed(1);
    const task = state.task;
    // the access record's own values are strings and numbers; the task's (bind()) are checked
    // once per task by its record view
    const view = task._recordView;
    const sc = task.spanContext;
    const record = {
      severityNumber: failed ? SeverityNumber.ERROR : SeverityNumber.INFO,
      severityText: failed ? 'ERROR' : 'INFO',
      body: aborted ? `${name} aborted ${ms}ms` : `${name} ${status} ${ms}ms`,
      attributes,
      context: task.context,
      // a synthetic span context is valid by construction (random or parsed ids); a real span's
      // is checked as the SDK would
      spanContext: !task._recording || isSpanContextValid(sc) ? sc : undefined,
    };
    if (!view.primitive) accessLogger().emit(record);
    else {
      const longest = Math.max(view.maxLength, name.length, state.path.length, 7);
      emitDirect(accessLogger(), record, ACCESS_KEYS + view.keys.length, longest);
    }
  } catch (err) {
    diag.error('starlog: ending an HTTP request task failed', err);
  }
}

/**
 * Starts the automatic request tasks in this process: every request an HTTP server of this
 * process receives (node:http, and express, fastify, koa … on top of it) runs in a task named
 * `<METHOD> <route or path>`; a `traceparent` header (W3C) continues that trace (its `tracestate`
 * entry `starlog=<path>` places the task under the caller's task). The task ends when the
 * response finishes with one access record (scope `starlog.http`): body
 * `GET /orders/:id 200 3.2ms`, INFO, or ERROR when the status is 5xx or the request was aborted
 * (the client closed before the response finished; then the task is a failure, and the ERROR
 * flushes the request's lookback buffer). Attributes: `http.request.method`, `url.path`,
 * `http.route` (fastify, express), `http.response.status_code`, the task's `task.*`, and the
 * counters `http.requests`, `http.<N>xx`, `http.aborted`. Idempotent; returns the uninstaller.
 */
export function installHttpTasks(o: HttpTaskOptions = {}): () => void {
  options = o;
  if (!installed) {
    installed = true;
    dc.subscribe('http.server.request.start', onRequestStart);
    dc.subscribe('http.server.response.finish', onResponseFinish);
    unsubscribeRoutes = subscribeRoutes();
  }
  return uninstallHttpTasks;
}

/** Stops creating request tasks (servers already wrapped pass requests straight through). */
export function uninstallHttpTasks(): void {
  if (!installed) return;
  installed = false;
  dc.unsubscribe('http.server.request.start', onRequestStart);
  dc.unsubscribe('http.server.response.finish', onResponseFinish);
  unsubscribeRoutes?.();
}
