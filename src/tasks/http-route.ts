/**
 * The route of a request (`/orders/:id`), where the framework tells it:
 * - fastify publishes `tracing:fastify.request.handler:start` (diagnostics_channel) with the
 *   route's `url`; it is kept on the raw request;
 * - express sets `req.route` (with `req.baseUrl` for mounted routers) on the request itself.
 * Elsewhere (plain node:http, koa) there is none and the task is named by its path.
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';

const ROUTE = Symbol('starlog.httpRoute');

type Routed = IncomingMessage & {
  [ROUTE]?: string;
  route?: { path?: unknown };
  baseUrl?: unknown;
};

function onFastifyHandler(message: unknown): void {
  const m = message as { request?: { raw?: Routed }; route?: { url?: unknown } };
  const raw = m.request?.raw;
  const url = m.route?.url;
  if (raw !== undefined && typeof url === 'string') raw[ROUTE] = url;
}

/** Subscribes to the frameworks' channels; returns the unsubscriber. */
export function subscribeRoutes(): () => void {
  const channel = 'tracing:fastify.request.handler:start';
  dc.subscribe(channel, onFastifyHandler);
  return () => dc.unsubscribe(channel, onFastifyHandler);
}

/** The route the framework matched for `request`, if it told. */
export function learnedRoute(request: IncomingMessage): string | undefined {
  const r = request as Routed;
  const fromFastify = r[ROUTE];
  if (fromFastify !== undefined) return fromFastify;
  const path = r.route?.path;
  if (typeof path === 'string') {
    return typeof r.baseUrl === 'string' && r.baseUrl !== '' ? `${r.baseUrl}${path}` : path;
  }
  return undefined;
}
