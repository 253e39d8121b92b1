/**
 * THE endpoint rule of starlog's receiver (one parser for the receiver, the config file,
 * `starlog run --endpoint`, children, level clients and the synchronous export at exit).
 *
 * Accepted forms (README "Security"): `unix` (a socket in a fresh private directory, the
 * default), `unix:/abs/path.sock` or `unix:///abs/path.sock`, `tcp` (= `127.0.0.1:0`), or a
 * *loopback* `HOST:PORT` / `http://HOST:PORT` where HOST is `127.x.x.x`, `[::1]` or `localhost`
 * (= 127.0.0.1); port 0 picks a free port. The receiver speaks plain-text gRPC, so anything else
 * (`0.0.0.0`, `::`, LAN addresses, IPv4-mapped addresses, host names) is refused.
 *
 * @module
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';

/** A socket path or a loopback TCP address (what a client dials). */
export type EndpointAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

/** Where a receiver listens: {@link EndpointAddress}, or a socket in a fresh private directory. */
export type ReceiverEndpoint = { kind: 'private-unix' } | EndpointAddress;

/** Whether `host` (without brackets) is a loopback address: `127.x.x.x` or `::1`. */
export function isLoopbackHost(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function bad(what: string, endpoint: unknown, why: string): TypeError {
  return new TypeError(`starlog: ${what} ${JSON.stringify(endpoint)} ${why}`);
}

/**
 * Parses a receiver endpoint (`undefined` = `'unix'`).
 * @param what - how the value is named in the error message, e.g. `'receiver endpoint'`
 * @throws TypeError naming `what` and the value when it is not one of the forms above
 */
export function parseReceiverEndpoint(
  endpoint: string | undefined,
  what = 'receiver endpoint',
): ReceiverEndpoint {
  if (endpoint === undefined || endpoint === 'unix') return { kind: 'private-unix' };
  if (typeof endpoint !== 'string' || endpoint.trim() === '') {
    throw new TypeError(
      `starlog: ${what} must be a non-empty string; got ${JSON.stringify(endpoint)}`,
    );
  }
  if (endpoint === 'tcp') return { kind: 'tcp', host: '127.0.0.1', port: 0 };
  return parseAddress(endpoint, what, true);
}

/**
 * Parses the address a client dials (`STARLOG_ENDPOINT`, `--endpoint` of `starlog level`, the
 * endpoint in `.starlog/primary.json`): `unix:` with an absolute path, or loopback `HOST:PORT` /
 * `http://HOST:PORT` with a port other than 0.
 * @throws TypeError naming `what` and the value otherwise
 */
export function parseEndpointAddress(endpoint: string, what = 'STARLOG_ENDPOINT'): EndpointAddress {
  if (typeof endpoint !== 'string' || endpoint.trim() === '') {
    throw new TypeError(
      `starlog: ${what} must be a non-empty string; got ${JSON.stringify(endpoint)}`,
    );
  }
  return parseAddress(endpoint.trim(), what, false);
}

function parseAddress(endpoint: string, what: string, portZero: boolean): EndpointAddress {
  if (endpoint.startsWith('unix:')) {
    const path = endpoint.startsWith('unix://')
      ? endpoint.slice('unix://'.length)
      : endpoint.slice('unix:'.length);
    if (!isAbsolute(path) || path.includes('\0')) {
      throw bad(what, endpoint, 'must name an absolute socket path');
    }
    return { kind: 'unix', path };
  }
  let url: URL;
  try {
    url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
  } catch {
    throw bad(what, endpoint, "is not 'unix', 'unix:/path', 'tcp' or a loopback 'HOST:PORT'");
  }
  if (
    url.protocol !== 'http:' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.username !== '' ||
    url.port === '' ||
    (!portZero && url.port === '0')
  ) {
    throw bad(what, endpoint, "must be 'HOST:PORT' or 'http://HOST:PORT' with a port");
  }
  let host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') host = '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw bad(
      what,
      endpoint,
      'is not a loopback address; the receiver speaks plain-text gRPC and only binds 127.x.x.x, ::1 or a unix socket',
    );
  }
  return { kind: 'tcp', host, port: Number(url.port) };
}

/** Whether `endpoint` is a receiver endpoint {@link parseReceiverEndpoint} accepts. */
export function isReceiverEndpoint(endpoint: string): boolean {
  try {
    parseReceiverEndpoint(endpoint);
    return true;
  } catch {
    return false;
  }
}

/** `host:port`, with brackets around an IPv6 host. */
function hostPort(address: { host: string; port: number }): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/**
 * The `STARLOG_ENDPOINT` form of an address, which the OTLP/gRPC exporter also reads as its
 * `url`: `unix:///abs/path` or `http://HOST:PORT`.
 */
export function endpointUrl(address: EndpointAddress): string {
  return address.kind === 'unix' ? `unix://${address.path}` : `http://${hostPort(address)}`;
}

/** The grpc-js channel target of an address: `unix:///abs/path` or `HOST:PORT`. */
export function grpcChannelTarget(address: EndpointAddress): string {
  return address.kind === 'unix' ? `unix://${address.path}` : hostPort(address);
}

/**
 * A grpc-js channel target from any OTLP/gRPC endpoint URL, loopback or not (the exit-time
 * synchronous export falls back to `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`): `unix:` targets as
 * they are, `http(s)://HOST:PORT[/…]` becomes `HOST:PORT` (as the OTLP gRPC exporter does),
 * anything else is returned trimmed.
 */
export function grpcTargetOfUrl(endpoint: string): string {
  const e = endpoint.trim();
  if (e.startsWith('unix:')) return e;
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/]+)/i.exec(e);
  return m ? (m[1] as string) : e;
}
