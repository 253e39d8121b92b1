/**
 * Outgoing HTTP requests made inside a task carry the task as W3C `traceparent` (and
 * `tracestate` with starlog's `starlog=<slot path>` entry), so a second service under starlog
 * continues the tree: `fetch`/undici through diagnostics_channel `undici:request:create`, node:http
 * and node:https through `http.client.request.start`. A request that already has a
 * `traceparent` header (set by the application or an OpenTelemetry instrumentation) is left as is.
 */
import dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { diag } from '@opentelemetry/api';
import { taskCarrier } from './propagation.ts';
import { currentTask } from './scope.ts';

interface UndiciRequest {
  headers: string | string[] | Record<string, unknown>;
  addHeader(name: string, value: string): unknown;
}

function hasTraceparent(headers: UndiciRequest['headers']): boolean {
  if (typeof headers === 'string') return /(^|\n)traceparent:/i.test(headers);
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'traceparent') return true;
    }
    return false;
  }
  return headers !== null && typeof headers === 'object' && 'traceparent' in headers;
}

function onUndiciRequest(message: unknown): void {
  const t = currentTask();
  if (t === undefined) return;
  try {
    const request = (message as { request: UndiciRequest }).request;
    if (hasTraceparent(request.headers)) return;
    const carrier = taskCarrier(t);
    if (carrier === undefined) return;
    request.addHeader('traceparent', carrier.traceparent);
    if (carrier.tracestate !== '') request.addHeader('tracestate', carrier.tracestate);
  } catch (err) {
    diag.debug('starlog: could not add traceparent to a fetch request', err);
  }
}

function onHttpClientRequest(message: unknown): void {
  const t = currentTask();
  if (t === undefined) return;
  try {
    const request = (message as { request: ClientRequest }).request;
    if (request.headersSent || request.getHeader('traceparent') !== undefined) return;
    const carrier = taskCarrier(t);
    if (carrier === undefined) return;
    request.setHeader('traceparent', carrier.traceparent);
    if (carrier.tracestate !== '') request.setHeader('tracestate', carrier.tracestate);
  } catch (err) {
    // e.g. headers given as a raw array are already serialized
    diag.debug('starlog: could not add traceparent to an http request', err);
  }
}

let installed = false;

/** Starts adding `traceparent` to outgoing requests made inside a task. Idempotent. */
export function installHttpPropagation(): () => void {
  if (!installed) {
    installed = true;
    dc.subscribe('undici:request:create', onUndiciRequest);
    dc.subscribe('http.client.request.start', onHttpClientRequest);
  }
  return uninstallHttpPropagation;
}

/** Stops adding `traceparent` to outgoing requests. */
export function uninstallHttpPropagation(): void {
  if (!installed) return;
  installed = false;
  dc.unsubscribe('undici:request:create', onUndiciRequest);
  dc.unsubscribe('http.client.request.start', onHttpClientRequest);
}
