/**
 * The shapes of the primary's receiver: its options, counters, the environment it gives
 * children, and the running {@link Receiver}.
 *
 * @module
 */
import type { Metadata, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { OtlpDecodeLimits } from '../../otlp/logs-decoder.ts';
import type { LevelTable } from '../../pipeline/level-table.ts';
import type { DropCounts } from '../protocol/drop-report.ts';
import type { HandoffStats } from './handoff-intake.ts';

/** Default largest request, in bytes (16 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Default largest hand-off file read, in bytes (256 MiB: a child's queue and spill, 32 MiB each by default, fit). */
export const DEFAULT_MAX_HANDOFF_FILE_BYTES = 256 * 1024 * 1024;

/** Options of {@link startReceiver}. */
export interface ReceiverOptions extends Omit<OtlpDecodeLimits, 'maxMessageBytes'> {
  /**
   * Where to listen. Default (`undefined` or `'unix'`): a unix socket `receiver.sock` in a fresh
   * private directory `fs.mkdtemp(os.tmpdir()/starlog-)` (directory mode 0700, socket 0600),
   * removed by `close()`.
   * - `'unix:/abs/path.sock'` or `'unix:///abs/path.sock'`: a socket at that path (chmod 0600;
   *   the socket file is removed by `close()`, its directory is left alone).
   * - `'tcp'`: shorthand for `'127.0.0.1:0'`.
   * - `'HOST:PORT'` or `'http://HOST:PORT'`: TCP on a *loopback* host only (`127.x.x.x`, `::1`
   *   written `[::1]`, or `localhost`, which means 127.0.0.1); port 0 picks a free port.
   *   Any other host is rejected: the receiver speaks plain-text gRPC and must not be reachable
   *   from the network.
   *
   * A fixed socket path lets a restarted primary take over its predecessor's endpoint (children
   * keep retrying it and deliver their spill): a stale socket file left by a primary that
   * crashed (nobody accepts connections on it) is removed before binding; a live one is an
   * error (`EADDRINUSE`).
   */
  endpoint?: string;
  /** Every decoded record goes to `processor.onEmit(record, ROOT_CONTEXT)`. */
  processor: LogRecordProcessor;
  /**
   * The shared secret children send as gRPC metadata `x-starlog-token`: hex, at least 32 hex
   * digits (128 bits). Default: 16 fresh random bytes (`crypto.randomBytes`).
   */
  token?: string;
  /** Largest request accepted, in bytes; larger ones get `RESOURCE_EXHAUSTED`. Default 16 MiB. */
  maxMessageBytes?: number;
  /** How long `close()` waits for in-flight calls before cutting them off, in ms. Default 2000. */
  closeTimeoutMs?: number;
  /**
   * The primary's level table. When given, the same server (same socket, same token) also serves
   * the level-control service `starlog.v1.LevelControl` (see `level-control.ts`): `Get` returns
   * the table, `Set` changes it (a bad change gets `INVALID_ARGUMENT` naming the bad entry and
   * leaves the table as it was), `Watch` streams it to children (`subscribeLevels`). Changes made
   * to the table in-process (e.g. `table.set(...)`) reach the watchers too. Default: not served
   * (calls get `UNIMPLEMENTED`).
   */
  levels?: LevelTable;
  /**
   * Most `Watch` streams open at once, in total. A new stream beyond it is still served: the
   * oldest idle stream is closed instead (`RESOURCE_EXHAUSTED`; the oldest one on a connection
   * holding several streams first, so a child, which holds one, keeps its stream). 0 refuses every
   * Watch. Default 4096.
   */
  maxLevelWatchers?: number;
  /**
   * Most `Watch` streams one connection (HTTP/2 session) holds; a new one beyond it closes that
   * connection's oldest stream. Default 8 (a child opens one).
   */
  maxLevelWatchersPerConnection?: number;
  /**
   * Asked before each authenticated Export call: when it returns true, the call is answered
   * RESOURCE_EXHAUSTED with `BACKPRESSURE_DETAILS` (export/retry.ts) and nothing is ingested; starlog's
   * children keep the batch, back off and retry (counted in `stats().backpressure`).
   * `setupLogging` wires it to the primary's destination queues (nearly full → true).
   * A throwing function counts as false. Default: never.
   */
  backpressure?: () => boolean;
  /**
   * More services served on the same socket with the same token (the primary's control service,
   * `control/primary-control.ts`). `handlers` gets the token check to call on each request.
   * Default none.
   */
  services?: ExtraService[];
  /**
   * The hand-off directory (`protocol/handoff.ts`): children on this machine write what they
   * still hold at exit into files there (synchronously, in microseconds) instead of a gRPC call
   * at exit; the receiver ingests them like `Export` calls (same decoder, de-duplication and
   * drop reports; no token: the directory must be a real directory of this user, not writable
   * by others) and deletes them. Scanned at start (files left while no primary ran), on every
   * change the directory watch reports, every `handoffScanIntervalMs`, and by `close()`.
   * Passed to children as `STARLOG_HANDOFF_DIR`. `setupLogging` passes `<cwd>/.starlog`.
   * Default: the private socket directory when the receiver made one (`endpoint` unset or
   * `'unix'`), else none; `false`: none.
   */
  handoffDir?: string | false;
  /** Largest hand-off file read, bytes; a larger one is refused (reported, deleted). Default 256 MiB. */
  maxHandoffFileBytes?: number;
  /** Period of the rescan of the hand-off directory behind its watch, ms. Default 1000. */
  handoffScanIntervalMs?: number;
}

/** A gRPC service added to the receiver's server (see {@link ReceiverOptions.services}). */
export interface ExtraService {
  definition: ServiceDefinition;
  handlers(authenticated: (metadata: Metadata) => boolean): UntypedServiceImplementation;
}

/** Level-control counters in {@link ReceiverStats} (present when the receiver serves `levels`). */
export interface ReceiverLevelStats {
  /** `Get` calls answered */
  gets: number;
  /** `Set` calls that were applied (including ones that left the table unchanged) */
  sets: number;
  /** `Set` calls rejected as invalid (malformed message, unknown level, malformed pattern) */
  invalidSets: number;
  /** `Watch` streams open now */
  watchers: number;
  /** `Watch` streams closed to make room for newer ones (per-connection or total limit) */
  watchersClosed: number;
  /** level-table messages written to `Watch` streams */
  updatesSent: number;
}

/** Per-child counters in {@link ReceiverStats}. */
export interface ReceiverChildStats {
  /** records received from this child */
  records: number;
  /** accepted requests that carried records of this child */
  requests: number;
  /** when the last records of this child arrived, `Date.now()` ms */
  lastSeenMs: number;
  /** `service.name` of the child's resource, if any */
  serviceName: string | undefined;
  /**
   * The child's latest drop report (cumulative counts by reason, see `drop-report.ts`), if it
   * sent one: records the child lost before they reached this receiver.
   */
  dropped?: DropCounts & { total: number };
}

/** Counters of a {@link Receiver}; all counts since start. */
export interface ReceiverStats {
  /** Export calls that reached the handler (accepted or rejected) */
  requests: number;
  /** records decoded and handed to the processor */
  records: number;
  rejected: {
    /** calls without the right `x-starlog-token`, to any service (nothing ingested or changed) */
    unauthenticated: number;
    /** calls whose body is not a valid ExportLogsServiceRequest (nothing ingested) */
    invalidArgument: number;
    /**
     * calls that exceeded a decoder limit (nesting depth, collection length; nothing ingested).
     * Requests larger than `maxMessageBytes` are refused by grpc-js itself with RESOURCE_EXHAUSTED
     * before starlog sees them and are *not* counted here.
     */
    resourceExhausted: number;
  };
  /**
   * Calls answered RESOURCE_EXHAUSTED because `backpressure()` said so (nothing ingested; the
   * child keeps the records and retries; not a rejection of the content).
   */
  backpressure: number;
  /**
   * Requests answered OK without ingesting them because their batch was ingested already (a
   * child sent it again: its export timed out, or its exit export resent a batch in flight).
   */
  duplicates: number;
  /**
   * Requests answered DEADLINE_EXCEEDED without ingesting them because the child had stopped
   * waiting for them (their deadline, `starlog.batch.deadline`, had passed: this primary was hung
   * or very late); the child retries them or counts them as dropped.
   */
  expired: number;
  /**
   * Requests refused (FAILED_PRECONDITION, nothing ingested) because their child had already
   * reported the batch dropped (`starlog.dropped.batches`): its drop is counted, so ingesting it
   * would count its records twice.
   */
  refusedDropped: number;
  /**
   * Records a child reported dropped (`starlog.dropped.batches`) that this receiver had ingested
   * (the answer to the request never reached the child): not counted in `dropped`.
   */
  uncountedDrops: number;
  /**
   * Records lost in children before they reached this receiver: the sum of the latest drop
   * report of every child seen (children forgotten beyond 1024 keep their last counts here).
   */
  dropped: DropCounts & { total: number };
  /** `processor.onEmit` calls that threw (the record is lost for the processor; the receiver goes on) */
  processorErrors: number;
  /** per child, keyed by the resource's `process.pid` (as a string) or `'unknown'`; at most 1024 children (least recently seen dropped) */
  children: Record<string, ReceiverChildStats>;
  /** level-control counters; `undefined` when the receiver was started without `levels` */
  levels: ReceiverLevelStats | undefined;
  /** hand-off file counters; `undefined` when the receiver has no hand-off directory */
  handoff?: HandoffStats;
}

/**
 * The environment a child needs to export to the receiver (the "Environment" contract):
 * starlog's own variables plus the standard OTLP exporter variables, so that *any*
 * OpenTelemetry SDK (configured purely from the environment) ships its logs here.
 */
export interface ReceiverEnv {
  /** gRPC target: `unix:///abs/path/receiver.sock` or `http://127.0.0.1:PORT` */
  STARLOG_ENDPOINT: string;
  /** the token, hex */
  STARLOG_TOKEN: string;
  /** `process.pid` of the primary */
  STARLOG_PRIMARY_PID: string;
  /** same as STARLOG_ENDPOINT */
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: string;
  /** `'grpc'` */
  OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: string;
  /** `'true'`: plain-text gRPC (the socket is private, or TCP is loopback only) */
  OTEL_EXPORTER_OTLP_LOGS_INSECURE: string;
  /** `'x-starlog-token=<token>'` */
  OTEL_EXPORTER_OTLP_LOGS_HEADERS: string;
  /** the hand-off directory (absolute), when the receiver has one (`ReceiverOptions.handoffDir`) */
  STARLOG_HANDOFF_DIR?: string;
}

/** A running receiver (see {@link startReceiver}). */
export interface Receiver {
  /** the gRPC target children dial (same as `env.STARLOG_ENDPOINT`) */
  readonly endpoint: string;
  /** the environment to give children (a fresh copy on every read) */
  readonly env: ReceiverEnv;
  /** a snapshot of the counters */
  stats(): ReceiverStats;
  /**
   * Stops accepting calls, ends every level `Watch` stream cleanly (status OK; the children keep
   * their last table), waits up to `closeTimeoutMs` for in-flight calls (`tryShutdown`), then
   * cuts off the rest (`forceShutdown`), and removes the private socket directory.
   * Idempotent; never rejects.
   */
  close(): Promise<void>;
}
