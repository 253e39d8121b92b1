/**
 * The primary's OTLP/gRPC logs receiver: children (or any OpenTelemetry SDK process) export
 * `ExportLogsServiceRequest`s to it; every record is handed to the primary's processor as an
 * {@link IngestedLogRecord}.
 *
 * @module
 */
import { chmod, lstat, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { diag, ROOT_CONTEXT } from '@opentelemetry/api';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BACKPRESSURE_DETAILS } from '../../export/retry.ts';
import { OTLP_LOGS_EXPORT_PATH, rawMethod } from '../../otlp/grpc-methods.ts';
import {
  OtlpDecodeError,
  type OtlpDecodeLimits,
  type OtlpDecodeResult,
  OtlpLogsDecoder,
} from '../../otlp/logs-decoder.ts';
import type { LevelTable } from '../../pipeline/level-table.ts';
import {
  DROP_REASONS,
  DROP_REPORT_SCOPE,
  type DropCounts,
  emptyDropCounts,
  parseDropReport,
  totalDrops,
} from '../protocol/drop-report.ts';
import { endpointUrl, grpcChannelTarget, parseReceiverEndpoint } from '../protocol/endpoint.ts';
import { generateToken, TOKEN_METADATA_KEY, tokenMatches } from '../protocol/token.ts';
import type { IngestedLogRecord } from './ingested-log-record.ts';
import {
  applyLevelChange,
  decodeEmptyRequest,
  decodeLevelChange,
  encodeLevelMessage,
  LEVEL_CONTROL_SERVICE,
  LevelMessageError,
} from './level-control.ts';
import { unrefServer } from './unref-server.ts';

export { OTLP_LOGS_EXPORT_PATH } from '../../otlp/grpc-methods.ts';

/** Default largest request, in bytes (16 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

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
  /** Most `Watch` streams open at once; more get `RESOURCE_EXHAUSTED`. Default 4096. */
  maxLevelWatchers?: number;
  /**
   * Asked before each authenticated Export call: when it returns true, the call is answered
   * RESOURCE_EXHAUSTED with {@link BACKPRESSURE_DETAILS} and nothing is ingested; starlog's
   * children keep the batch, back off and retry (counted in `stats().backpressure`).
   * `setupLogging` wires it to the primary's destination queues (nearly full → true).
   * A throwing function counts as false. Default: never.
   */
  backpressure?: () => boolean;
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

const MAX_CHILDREN = 1024;
const EMPTY_RESPONSE = Buffer.alloc(0); // an ExportLogsServiceResponse without partial_success
/** The hand-made service definition: bytes in, bytes out (we decode in the handler). */
const LOGS_SERVICE: ServiceDefinition = {
  Export: rawMethod(OTLP_LOGS_EXPORT_PATH, 'export'),
};

function bindAsync(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });
}

/**
 * Starts the OTLP/gRPC logs receiver of the primary.
 *
 * Every `Export` call must carry the token as metadata `x-starlog-token` (compared in constant
 * time), else it gets `UNAUTHENTICATED` and nothing is ingested. The body is decoded by
 * {@link OtlpLogsDecoder} (all or nothing): malformed → `INVALID_ARGUMENT` with the reason;
 * over a limit → `RESOURCE_EXHAUSTED`. Each record then goes to `processor.onEmit(record,
 * ROOT_CONTEXT)` inside a try/catch (a throwing processor is counted and reported through `diag`);
 * the answer is an empty `ExportLogsServiceResponse`.
 *
 * @throws TypeError for a bad `endpoint` (e.g. a non-loopback host), `token` or limit;
 *   the bind error when the address cannot be bound
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const { processor } = options;
  if (
    processor === null ||
    typeof processor !== 'object' ||
    typeof processor.onEmit !== 'function'
  ) {
    throw new TypeError(
      'starlog: startReceiver needs a processor (a LogRecordProcessor with onEmit)',
    );
  }
  const bind = parseReceiverEndpoint(options.endpoint);
  if (
    options.token !== undefined &&
    (typeof options.token !== 'string' || !/^[0-9a-fA-F]{32,}$/.test(options.token))
  ) {
    throw new TypeError('starlog: receiver token must be at least 32 hex digits (128 bits)');
  }
  const token = options.token ?? generateToken();
  const expected = Buffer.from(token, 'utf8');
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0 || maxMessageBytes > 2 ** 31 - 1) {
    throw new TypeError(
      `starlog: maxMessageBytes must be a positive integer below 2 GiB; got ${JSON.stringify(maxMessageBytes)}`,
    );
  }
  const closeTimeoutMs = options.closeTimeoutMs ?? 2000;
  if (!Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0) {
    throw new TypeError(
      `starlog: closeTimeoutMs must be a number of ms >= 0; got ${JSON.stringify(closeTimeoutMs)}`,
    );
  }
  const levels = options.levels;
  if (
    levels !== undefined &&
    (levels === null ||
      typeof levels !== 'object' ||
      typeof levels.onChange !== 'function' ||
      typeof levels.get !== 'function')
  ) {
    throw new TypeError('starlog: receiver levels must be a LevelTable');
  }
  const maxLevelWatchers = options.maxLevelWatchers ?? 4096;
  if (!Number.isInteger(maxLevelWatchers) || maxLevelWatchers < 0) {
    throw new TypeError(
      `starlog: maxLevelWatchers must be an integer >= 0; got ${JSON.stringify(maxLevelWatchers)}`,
    );
  }
  const decoder = new OtlpLogsDecoder({
    maxMessageBytes,
    maxDepth: options.maxDepth,
    maxAttributes: options.maxAttributes,
    maxCollectionLength: options.maxCollectionLength,
  });

  const counters = {
    requests: 0,
    records: 0,
    unauthenticated: 0,
    invalidArgument: 0,
    resourceExhausted: 0,
    backpressure: 0,
    processorErrors: 0,
  };
  const children = new Map<string, ReceiverChildStats>();
  /** drop counts of children evicted from `children` */
  const evictedDrops = emptyDropCounts();
  const backpressure = options.backpressure;
  let lastProcessorReport = 0;
  let unreportedProcessorErrors = 0;

  function reportProcessorError(err: unknown): void {
    counters.processorErrors++;
    unreportedProcessorErrors++;
    const now = Date.now();
    if (now - lastProcessorReport >= 10_000) {
      diag.error(
        `starlog receiver: processor.onEmit threw for ${unreportedProcessorErrors} record(s) (${counters.processorErrors} in all); last error:`,
        err,
      );
      lastProcessorReport = now;
      unreportedProcessorErrors = 0;
    }
  }

  function tally(result: OtlpDecodeResult): void {
    const now = Date.now();
    for (const { entry, records } of result.perResource) {
      let child = children.get(entry.pid);
      if (child === undefined) {
        child = { records: 0, requests: 0, lastSeenMs: now, serviceName: entry.serviceName };
        if (children.size >= MAX_CHILDREN) {
          const oldest = children.keys().next().value as string;
          const gone = children.get(oldest)?.dropped;
          if (gone) for (const [reason] of DROP_REASONS) evictedDrops[reason] += gone[reason];
          children.delete(oldest);
        }
      } else {
        children.delete(entry.pid); // re-insert: Map order = least recently seen first
      }
      children.set(entry.pid, child);
      child.records += records;
      child.requests++;
      child.lastSeenMs = now;
      if (entry.serviceName !== undefined) child.serviceName = entry.serviceName;
    }
  }

  function authenticated(metadata: Metadata): boolean {
    if (tokenMatches(expected, metadata.get(TOKEN_METADATA_KEY)[0])) return true;
    counters.unauthenticated++;
    return false;
  }

  const UNAUTHENTICATED = {
    code: status.UNAUTHENTICATED,
    details: `starlog receiver: missing or wrong ${TOKEN_METADATA_KEY}`,
  };

  function takeDropReports(result: OtlpDecodeResult, reports: IngestedLogRecord[]): void {
    for (const report of reports) {
      const entry = result.perResource.find((p) => p.entry.resource === report.resource)?.entry;
      const child = entry && children.get(entry.pid);
      if (child === undefined) continue;
      child.records--;
      const counts = parseDropReport(report.attributes);
      child.dropped = { ...counts, total: totalDrops(counts) };
    }
  }

  function handleExport(
    call: ServerUnaryCall<Buffer, Buffer>,
    callback: sendUnaryData<Buffer>,
  ): void {
    counters.requests++;
    if (!authenticated(call.metadata)) {
      callback(UNAUTHENTICATED);
      return;
    }
    if (backpressure !== undefined && isBusy(backpressure)) {
      counters.backpressure++;
      callback({ code: status.RESOURCE_EXHAUSTED, details: BACKPRESSURE_DETAILS });
      return;
    }
    let result: OtlpDecodeResult;
    try {
      result = decoder.decode(call.request);
    } catch (err) {
      const limit = err instanceof OtlpDecodeError && err.kind === 'limit';
      if (limit) counters.resourceExhausted++;
      else counters.invalidArgument++;
      const message = err instanceof Error ? err.message : String(err);
      diag.warn(`starlog receiver: rejected an Export request: ${message}`);
      callback({
        code: limit ? status.RESOURCE_EXHAUSTED : status.INVALID_ARGUMENT,
        details: `starlog receiver: ${message}`,
      });
      return;
    }
    const records = result.records;
    let reports: IngestedLogRecord[] | undefined;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as IngestedLogRecord;
      if (record.instrumentationScope.name === DROP_REPORT_SCOPE) {
        // a child's drop counts (drop-report.ts): statistics, not a record for the pipeline
        reports ??= [];
        reports.push(record);
        continue;
      }
      try {
        processor.onEmit(record, ROOT_CONTEXT);
      } catch (err) {
        reportProcessorError(err);
      }
    }
    counters.records += records.length - (reports?.length ?? 0);
    tally(result);
    if (reports !== undefined) takeDropReports(result, reports);
    callback(null, EMPTY_RESPONSE);
  }

  const server = new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': 1024 * 1024,
  });
  server.addService(LOGS_SERVICE, { Export: handleExport });

  const levelCounters = { gets: 0, sets: 0, invalidSets: 0, updatesSent: 0 };
  const watchers = new Set<ServerWritableStream<Buffer, Buffer>>();
  let stopWatching: (() => void) | undefined;
  let acceptingWatchers = true;
  if (levels !== undefined) {
    const current = (): Buffer =>
      encodeLevelMessage({ spec: levels.toString(), version: levels.version });
    const send = (call: ServerWritableStream<Buffer, Buffer>, message: Buffer): void => {
      try {
        call.write(message);
        levelCounters.updatesSent++;
      } catch (err) {
        diag.warn('starlog receiver: could not write to a level watcher', err);
        watchers.delete(call);
      }
    };
    const dropWatcher = (call: ServerWritableStream<Buffer, Buffer>) => () => {
      watchers.delete(call);
    };
    stopWatching = levels.onChange(() => {
      if (watchers.size === 0) return;
      const message = current();
      for (const call of watchers) send(call, message);
    });
    server.addService(LEVEL_CONTROL_SERVICE, {
      Get(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
        if (!authenticated(call.metadata)) {
          callback(UNAUTHENTICATED);
          return;
        }
        try {
          decodeEmptyRequest(call.request, 'Get request');
        } catch (err) {
          callback({ code: status.INVALID_ARGUMENT, details: (err as Error).message });
          return;
        }
        levelCounters.gets++;
        callback(null, current());
      },
      Set(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
        if (!authenticated(call.metadata)) {
          callback(UNAUTHENTICATED);
          return;
        }
        let state: { spec: string; version: number };
        try {
          state = applyLevelChange(levels, decodeLevelChange(call.request));
        } catch (err) {
          levelCounters.invalidSets++;
          const message = err instanceof Error ? err.message : String(err);
          const details = err instanceof LevelMessageError ? `starlog: ${message}` : message;
          diag.warn(`starlog receiver: rejected a level change: ${details}`);
          callback({ code: status.INVALID_ARGUMENT, details });
          return;
        }
        levelCounters.sets++;
        callback(null, encodeLevelMessage(state));
      },
      Watch(call: ServerWritableStream<Buffer, Buffer>): void {
        if (!authenticated(call.metadata)) {
          call.emit('error', UNAUTHENTICATED);
          return;
        }
        try {
          decodeEmptyRequest(call.request, 'Watch request');
        } catch (err) {
          call.emit('error', { code: status.INVALID_ARGUMENT, details: (err as Error).message });
          return;
        }
        if (!acceptingWatchers) {
          call.emit('error', { code: status.UNAVAILABLE, details: 'starlog receiver: closing' });
          return;
        }
        if (watchers.size >= maxLevelWatchers) {
          call.emit('error', {
            code: status.RESOURCE_EXHAUSTED,
            details: `starlog receiver: more than ${maxLevelWatchers} level watchers`,
          });
          return;
        }
        watchers.add(call);
        call.on('cancelled', dropWatcher(call));
        call.on('error', dropWatcher(call));
        call.on('close', dropWatcher(call));
        send(call, current());
      },
    });
  }

  let dir: string | undefined;
  let socketPath: string | undefined;
  let target: string;
  try {
    if (bind.kind === 'tcp') {
      const port = await bindAsync(server, grpcChannelTarget(bind));
      target = endpointUrl({ ...bind, port });
    } else {
      if (bind.kind === 'private-unix') {
        dir = await mkdtemp(join(tmpdir(), 'starlog-'));
        await chmod(dir, 0o700);
        socketPath = join(dir, 'receiver.sock');
      } else {
        socketPath = bind.path;
        await removeStaleSocket(socketPath);
      }
      target = endpointUrl({ kind: 'unix', path: socketPath });
      await bindAsync(server, target);
      await chmod(socketPath, 0o600);
    }
  } catch (err) {
    server.forceShutdown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  unrefServer(server);

  const env: ReceiverEnv = {
    STARLOG_ENDPOINT: target,
    STARLOG_TOKEN: token,
    STARLOG_PRIMARY_PID: String(process.pid),
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: target,
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_LOGS_INSECURE: 'true',
    OTEL_EXPORTER_OTLP_LOGS_HEADERS: `${TOKEN_METADATA_KEY}=${token}`,
  };

  let closing: Promise<void> | undefined;
  async function doClose(): Promise<void> {
    acceptingWatchers = false;
    stopWatching?.();
    for (const call of watchers) {
      try {
        call.end(); // status OK: the child keeps its last table
      } catch {
        // the stream is already gone
      }
    }
    watchers.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, closeTimeoutMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      else if (socketPath !== undefined) await rm(socketPath, { force: true });
    } catch (err) {
      diag.warn('starlog receiver: could not remove the socket', err);
    }
  }

  return {
    endpoint: target,
    get env() {
      return { ...env };
    },
    stats(): ReceiverStats {
      const perChild: Record<string, ReceiverChildStats> = {};
      for (const [pid, child] of children) perChild[pid] = { ...child };
      return {
        requests: counters.requests,
        records: counters.records,
        rejected: {
          unauthenticated: counters.unauthenticated,
          invalidArgument: counters.invalidArgument,
          resourceExhausted: counters.resourceExhausted,
        },
        backpressure: counters.backpressure,
        dropped: sumDrops(evictedDrops, children.values()),
        processorErrors: counters.processorErrors,
        children: perChild,
        levels: levels === undefined ? undefined : { ...levelCounters, watchers: watchers.size },
      };
    },
    close(): Promise<void> {
      closing ??= doClose();
      return closing;
    },
  };
}

function isBusy(backpressure: () => boolean): boolean {
  try {
    return backpressure() === true;
  } catch (err) {
    diag.warn('starlog receiver: the backpressure function threw; accepting the call', err);
    return false;
  }
}

function sumDrops(
  base: DropCounts,
  children: Iterable<ReceiverChildStats>,
): DropCounts & { total: number } {
  const sum = { ...base };
  for (const child of children) {
    const d = child.dropped;
    if (d) for (const [reason] of DROP_REASONS) sum[reason] += d[reason];
  }
  return { ...sum, total: totalDrops(sum) };
}

/**
 * Removes a socket file nobody listens on (left by a primary that crashed), so that a new primary
 * can bind the same path. A path that is not a socket, or a socket that accepts connections, is
 * left alone (the bind then fails with EADDRINUSE).
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return; // no such file
  }
  if (!isSocket) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'ECONNREFUSED'));
  });
  if (!live) {
    diag.info(`starlog receiver: removing the stale socket ${path} (its receiver is gone)`);
    await rm(path, { force: true });
  }
}
