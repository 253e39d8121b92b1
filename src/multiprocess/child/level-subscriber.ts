/**
 * The child side of run-time level control: follow the primary's level table over the
 * receiver's socket (`/starlog.v1.LevelControl/Watch`, see `level-control.ts`).
 *
 * The stream is spoken with `node:http2` directly (gRPC over HTTP/2 as in grpc's
 * PROTOCOL-HTTP2.md: `application/grpc`, 5-byte length-prefixed messages, `grpc-status` in the
 * trailers) rather than through a grpc-js client, because grpc-js keeps the event loop alive for
 * as long as a call is open, and a level subscription is open for the whole life of the process.
 * Here the socket and the HTTP/2 session are unref'd and every timer is unref'd: following the
 * levels never keeps a child alive once its own work is done.
 *
 * @module
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as http2Connect,
  type IncomingHttpHeaders,
} from 'node:http2';
import { connect as netConnect } from 'node:net';
import { diag } from '@opentelemetry/api';
import type { LevelTable } from '../../pipeline/level-table.ts';
import { parseEndpointAddress } from '../protocol/endpoint.ts';
import {
  decodeLevelState,
  LEVEL_WATCH_PATH,
  MAX_LEVEL_MESSAGE_BYTES,
} from '../protocol/level-control.ts';
import { TOKEN_METADATA_KEY } from '../protocol/token.ts';
import { primaryTarget } from './primary-target.ts';

/** Options of {@link subscribeLevels}. */
export interface SubscribeLevelsOptions {
  /** First reconnection delay after the stream broke or could not be opened, ms. Default 100. */
  minBackoffMs?: number;
  /** Longest reconnection delay (the delay doubles per failed attempt up to this), ms. Default 5000. */
  maxBackoffMs?: number;
  /**
   * `ready` resolves `false` if no table arrived within this many ms. Until then a (ref'd) timer
   * keeps the process alive, so that `await subscription.ready` can complete. Default 1000.
   */
  readyTimeoutMs?: number;
}

/** Counters of a {@link LevelSubscription}. */
export interface LevelSubscriptionStats {
  /** whether a Watch stream is open now */
  connected: boolean;
  /** level-table messages received */
  received: number;
  /** received tables applied to the local table (ones equal to it are not counted) */
  applied: number;
  /** received messages that were malformed or held an invalid spec (ignored, reported through diag) */
  rejected: number;
  /** Watch streams opened successfully (1 + reconnections) */
  connections: number;
  /** the primary's table version last received, or undefined */
  primaryVersion: number | undefined;
}

/** A running subscription (see {@link subscribeLevels}). */
export interface LevelSubscription {
  /**
   * Resolves `true` once the first table from the primary has been applied (or found equal to
   * the local one); `false` when none arrived within `readyTimeoutMs`, when the first connection
   * attempt failed (no primary there now; retries go on in the background), or on `close()`.
   * Never rejects.
   */
  readonly ready: Promise<boolean>;
  /** a snapshot of the counters */
  stats(): LevelSubscriptionStats;
  /** Stops following the primary; the table keeps its current levels. Idempotent. */
  close(): void;
}

// gRPC status codes (grpc/doc/statuscodes.md) that retrying cannot fix
const INVALID_ARGUMENT = 3;
const UNIMPLEMENTED = 12;
const UNAUTHENTICATED = 16;
const PERMANENT = new Set([INVALID_ARGUMENT, UNIMPLEMENTED, UNAUTHENTICATED]);

/** An empty gRPC message: flag 0 (uncompressed), length 0. */
const EMPTY_FRAME = Buffer.alloc(5);

function grpcMessage(headers: IncomingHttpHeaders): string {
  const raw = headers['grpc-message'];
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Follows the primary's level table: opens a `Watch` stream to `STARLOG_ENDPOINT` with the token
 * `STARLOG_TOKEN` (metadata `x-starlog-token`), and applies every table received to `table`
 * (`table.set(spec)`; a table equal to the current one is not set again). The primary sends its
 * table at once and then on every change, so a child started after a change gets it straight
 * away, and a grandchild (which inherits the environment) follows the same primary directly.
 *
 * - A malformed message or an invalid spec from the wire is reported through `diag.warn`,
 *   counted in `stats().rejected` and ignored (the table stays as it was).
 * - When the stream breaks or cannot be opened (the primary is gone or not up yet), the table
 *   keeps its last levels and the subscriber reconnects with exponential backoff
 *   (`minBackoffMs` doubling up to `maxBackoffMs`, ±20 % jitter). `UNAUTHENTICATED`,
 *   `UNIMPLEMENTED` (primary without level control) and `INVALID_ARGUMENT` are permanent: it
 *   reports them through `diag.error` and stops.
 * - It does not keep the process alive: the socket, the HTTP/2 session and the retry timers are
 *   unref'd. Only until the first table arrives (at most `readyTimeoutMs`; usually a few ms) a
 *   timer holds the process up, so that `await subscription.ready` completes.
 *
 * @param table - the child's level table (its Pipeline's `levels`)
 * @param env - where `STARLOG_ENDPOINT` and `STARLOG_TOKEN` are read; default `process.env`
 * @throws Error when `STARLOG_ENDPOINT` is not set or malformed; TypeError for a bad option
 */
export function subscribeLevels(
  table: LevelTable,
  env: { readonly STARLOG_ENDPOINT?: string; readonly STARLOG_TOKEN?: string } = process.env,
  options: SubscribeLevelsOptions = {},
): LevelSubscription {
  const primary = primaryTarget(env);
  const target = parseEndpointAddress(primary.endpoint);
  const token = primary.token;
  const minBackoffMs = options.minBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 1000;
  for (const [name, value] of [
    ['minBackoffMs', minBackoffMs],
    ['maxBackoffMs', maxBackoffMs],
    ['readyTimeoutMs', readyTimeoutMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new TypeError(
        `starlog: ${name} must be a number of ms >= 0; got ${JSON.stringify(value)}`,
      );
    }
  }

  const counters = { received: 0, applied: 0, rejected: 0, connections: 0 };
  let primaryVersion: number | undefined;
  let connected = false;
  let closed = false;
  let failures = 0;
  let session: ClientHttp2Session | undefined;
  let stream: ClientHttp2Stream | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let attempt = 0; // identifies the current connection; stale callbacks are ignored

  let settleReady!: (value: boolean) => void;
  const ready = new Promise<boolean>((resolve) => {
    settleReady = resolve;
  });
  let readySettled = false;
  const markReady = (value: boolean): void => {
    if (readySettled) return;
    readySettled = true;
    clearTimeout(readyTimer);
    settleReady(value);
  };
  // Ref'd on purpose, and bounded: until the first table arrives the process stays up so that
  // an `await subscription.ready` (e.g. in setupLogging) can complete.
  const readyTimer = setTimeout(() => markReady(false), readyTimeoutMs);

  function apply(message: Buffer): void {
    counters.received++;
    let state: { spec: string; version: number };
    try {
      state = decodeLevelState(message);
    } catch (err) {
      counters.rejected++;
      diag.warn(
        `starlog: ignored a malformed level message from the primary: ${(err as Error).message}`,
      );
      return;
    }
    primaryVersion = state.version;
    if (state.spec !== table.toString()) {
      try {
        table.set(state.spec);
        counters.applied++;
      } catch (err) {
        counters.rejected++;
        diag.warn(
          `starlog: ignored an invalid level table from the primary: ${(err as Error).message}`,
        );
        return;
      }
    }
    failures = 0;
    markReady(true);
  }

  function teardown(): void {
    connected = false;
    const s = stream;
    const sess = session;
    stream = undefined;
    session = undefined;
    if (s !== undefined && !s.destroyed) s.close();
    if (sess !== undefined && !sess.destroyed) sess.destroy();
  }

  function broken(id: number, why: string, permanent = false): void {
    if (id !== attempt || closed) return;
    teardown();
    attempt++;
    markReady(false); // no table yet, and this attempt failed: do not hold the process up
    if (permanent) {
      diag.error(`starlog: stopped following the primary's levels: ${why}`);
      markReady(false);
      return;
    }
    const base = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures, 30));
    failures++;
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    diag.debug(`starlog: level stream to ${primary.endpoint}: ${why}; retrying in ${delay} ms`);
    retryTimer = setTimeout(open, delay);
    retryTimer.unref();
  }

  function open(): void {
    retryTimer = undefined;
    if (closed) return;
    const id = ++attempt;
    let sess: ClientHttp2Session;
    try {
      sess = http2Connect(
        target.kind === 'unix'
          ? 'http://localhost'
          : `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`,
        {
          createConnection: () => {
            const socket =
              target.kind === 'unix'
                ? netConnect({ path: target.path })
                : netConnect({ host: target.host, port: target.port });
            socket.unref();
            return socket;
          },
        },
      );
    } catch (err) {
      broken(id, `cannot connect: ${(err as Error).message}`);
      return;
    }
    session = sess;
    sess.unref();
    sess.on('error', (err) => broken(id, `connection error: ${err.message}`));
    sess.on('close', () => broken(id, 'connection closed'));
    sess.on('goaway', () => broken(id, 'the primary is going away'));

    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': LEVEL_WATCH_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
    };
    if (token !== '') headers[TOKEN_METADATA_KEY] = token;
    let s: ClientHttp2Stream;
    try {
      s = sess.request(headers);
    } catch (err) {
      broken(id, `cannot open the stream: ${(err as Error).message}`);
      return;
    }
    stream = s;
    s.end(EMPTY_FRAME);

    let pending: Buffer = Buffer.alloc(0);
    let finished = false;
    const finish = (trailers: IncomingHttpHeaders): boolean => {
      const code = trailers['grpc-status'];
      if (code === undefined) return false;
      finished = true;
      const n = Number(code);
      if (n === 0) broken(id, 'the primary ended the stream');
      else broken(id, `status ${n}: ${grpcMessage(trailers)}`, PERMANENT.has(n));
      return true;
    };
    s.on('response', (h) => {
      if (h[':status'] !== 200) {
        finished = true;
        broken(id, `HTTP status ${h[':status']}`);
        return;
      }
      if (finish(h)) return; // trailers-only response: an error status without messages
      connected = true;
      counters.connections++;
    });
    s.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const compressed = pending[0];
        const length = pending.readUInt32BE(1);
        if (compressed !== 0 || length > MAX_LEVEL_MESSAGE_BYTES) {
          finished = true;
          broken(
            id,
            compressed !== 0
              ? 'the primary sent a compressed message (not negotiated)'
              : `the primary sent a ${length}-byte message (limit ${MAX_LEVEL_MESSAGE_BYTES})`,
          );
          return;
        }
        if (pending.length < 5 + length) break;
        const message = pending.subarray(5, 5 + length);
        pending = pending.subarray(5 + length);
        apply(Buffer.from(message));
      }
    });
    s.on('trailers', (t) => finish(t));
    s.on('error', (err) => broken(id, `stream error: ${err.message}`));
    s.on('close', () => {
      if (!finished) broken(id, 'the stream closed');
    });
  }

  open();

  return {
    ready,
    stats(): LevelSubscriptionStats {
      return { connected, ...counters, primaryVersion };
    },
    close(): void {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      teardown();
      markReady(false);
    },
  };
}
