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
  type Logger,
  type LoggerProvider,
  logs,
  ROOT_CONTEXT,
  SeverityNumber,
} from '@opentelemetry/api';
import { COUNT_PREFIX, HTTP_SCOPE_NAME } from '../semconv.ts';
import { learnedRoute, subscribeRoutes } from './http-route.ts';
import { parseCarrier, type RemoteParent } from './ids.ts';
import { newDetachedTask } from './scope.ts';
import type { Task } from './task.ts';

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
const EMPTY: Attributes = Object.freeze({}) as Attributes;

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

function header(request: IncomingMessage, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
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
    const traceparent = header(request, 'traceparent');
    let remote: RemoteParent | undefined;
    if (traceparent !== undefined) {
      const parsed = parseCarrier(traceparent, header(request, 'tracestate'));
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
      if (state !== undefined) {
        return context.with(state.task.context, () => original.call(this, event, ...args));
      }
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
      attributes[`${COUNT_PREFIX}http.requests`] = 1;
      attributes[
        `${COUNT_PREFIX}${aborted ? 'http.aborted' : `http.${Math.floor(status / 100)}xx`}`
      ] = 1;
    }
    const ms = (attributes['task.duration_ms'] as number).toFixed(1);
    accessLogger().emit({
      severityNumber: failed ? SeverityNumber.ERROR : SeverityNumber.INFO,
      severityText: failed ? 'ERROR' : 'INFO',
      body: aborted ? `${name} aborted ${ms}ms` : `${name} ${status} ${ms}ms`,
      attributes,
      context: state.task.context,
    });
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
