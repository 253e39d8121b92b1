import type { Attributes } from '@opentelemetry/api';
import type { InstrumentationOptions } from './instrumentations/install.ts';
import type { HttpTaskOptions } from './tasks/http-server.ts';
import type { Duration } from './util/duration.ts';
import type { ViewSetupOptions } from './view/live.ts';

/** Where a destination's records stop: a level name (`'warn'`) or a severity number 1–24. */
export type MinSeverity = string | number;

/** Status records in the primary (see `StatusProcessor`). `false` turns them off. */
export interface StatusSetupOptions {
  /** How often, ms or `'15s'`. Default `'15s'`. */
  interval?: Duration;
  /** Body template with `{NAME}` placeholders. Default: the StatusProcessor's. */
  template?: string;
  /**
   * Which destinations get the status records: `'console'`, `'file'`, or `'all'` (default: every
   * destination, the collector included). The others never see them.
   */
  destination?: 'all' | 'console' | 'file';
}

/** Lookback buffering in the primary (see `LookbackProcessor`). Off unless given. */
export interface LookbackSetupOptions {
  /** Records held per key (trace). Default 100. */
  capacity?: number;
  /** Oldest record age kept, ms or `'5m'`. Default `'5m'`. */
  maxAge?: Duration;
  /** Records at or above this severity flush their key. Default `'error'`. */
  flushSeverity?: MinSeverity;
  /**
   * The highest level held (its whole range); records above it are written at once. Default
   * `'debug'` (TRACE and DEBUG held; INFO and WARN written at once); `'off'` holds nothing.
   */
  holdSeverity?: MinSeverity;
  /** Per-logger hold levels, in the `STARLOG_LEVEL` form: `'debug,app.sql=info'`. */
  hold?: string;
  /** Whether records without a trace are held (one buffer per process). Default false. */
  holdUntraced?: boolean;
  /** Most buffers (keys) at once. Default 10,000. */
  maxKeys?: number;
  /** Bytes held by all buffers together (estimated). Default 64 MiB. */
  maxBytes?: number;
  /** How long a flushed key's later records pass straight through, ms or `'30s'`. Default `'30s'`. */
  followFor?: Duration;
  /** What shutdown does with what is still held. Default `'drop'`. */
  onShutdown?: 'drop' | 'flush';
}

/** The JSON-lines file of the embedded default. `false` turns it off. */
export interface FileSetupOptions {
  /** Default `./logs/starlog.jsonl`. */
  path?: string;
  /** Rotate at this many bytes (no rotation by default). */
  maxSize?: number;
  /** Rotated files kept (with `maxSize`). Default 5. */
  maxFiles?: number;
  /** Permission bits of a file starlog creates (before the umask). Default `0o640`. */
  mode?: number;
  /**
   * A signal that reopens the file (for a logrotate `postrotate`), e.g. `'SIGUSR2'`. Default none:
   * the file is reopened by itself when its path no longer names it (checked at most once a
   * second), and on `starlog file reopen`.
   */
  reopenSignal?: NodeJS.Signals;
  /** Only records at or above this severity. Default: all. */
  minimumSeverity?: MinSeverity;
  /** @deprecated the old name of `minimumSeverity` (accepted, with a warning through `diag`) */
  minSeverity?: MinSeverity;
}

/** The pretty console of the embedded default. `false` turns it off. */
export interface ConsoleSetupOptions {
  /** Line template (see `PrettyConsoleExporter`). */
  template?: string;
  /** Colours; default: on for a TTY unless `NO_COLOR`. */
  colors?: boolean;
  /** Only records at or above this severity (status records always show). Default: all. */
  minimumSeverity?: MinSeverity;
  /** @deprecated the old name of `minimumSeverity` (accepted, with a warning through `diag`) */
  minSeverity?: MinSeverity;
  /**
   * Bytes held while the terminal or pipe does not read (Ctrl-S, a stalled SSH session); then
   * whole batches are dropped and counted. Default 1 MiB (1,048,576).
   */
  maxBufferedBytes?: number;
}

/** Forwarding to an OpenTelemetry Collector over OTLP/gRPC (primary). */
export interface CollectorSetupOptions {
  /**
   * The collector's gRPC endpoint, e.g. `http://127.0.0.1:4317`. Default: the
   * `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` the process started with;
   * without either, the embedded default (file + console) is used instead.
   */
  endpoint?: string;
  /** gRPC metadata sent with every export, e.g. `{ 'api-key': '...' }`. */
  headers?: Record<string, string>;
  /** `'gzip'` or `'none'`. Default `'none'`. */
  compression?: 'gzip' | 'none';
  /** Plaintext (no TLS). Default: true for `http://` endpoints. */
  insecure?: boolean;
  /** Only records at or above this severity are forwarded. Default: all. */
  minimumSeverity?: MinSeverity;
  /** @deprecated the old name of `minimumSeverity` (accepted, with a warning through `diag`) */
  minSeverity?: MinSeverity;
}

/** Options of `setupLogging()`. Every field is optional. */
export interface SetupOptions {
  /**
   * `'primary'`, `'child'`, or `'auto'` (default): a process whose environment holds a primary's
   * `STARLOG_ENDPOINT` (from another process, or another thread) is a child; otherwise a primary.
   */
  role?: 'auto' | 'primary' | 'child';
  /** Resource `service.name`. Default: `OTEL_SERVICE_NAME`, else the main script's name. */
  serviceName?: string;
  /** More resource attributes (`OTEL_RESOURCE_ATTRIBUTES` is read too). */
  resourceAttributes?: Attributes;
  /**
   * The level table, e.g. `'info,app.db=debug'`. Default: `STARLOG_LEVEL`, else `'info'`.
   * A primary passes its table to its children through `STARLOG_LEVEL`.
   */
  levels?: string;
  /** Primary: the receiver endpoint: a unix socket (default, in a private directory) or `'127.0.0.1:0'`. */
  endpoint?: string;
  /** Primary: status records. Default on, every 15 s, to the destinations. */
  status?: StatusSetupOptions | false;
  /** Primary: lookback buffering. Default off. */
  lookback?: LookbackSetupOptions | false;
  /** Primary, embedded default: the JSON-lines file. */
  file?: FileSetupOptions | false;
  /** Primary, embedded default: the console. */
  console?: ConsoleSetupOptions | false;
  /** Primary: forward to an OpenTelemetry Collector instead of the embedded default. */
  collector?: CollectorSetupOptions | false;
  /**
   * Primary: `starlog view`, a live web page of every process on 127.0.0.1 (URL with a fresh
   * token printed to stderr and recorded in `.starlog/view.json`). Default off.
   */
  view?: ViewSetupOptions | boolean;
  /** Child: flush on every exit path (beforeExit, process.exit, signals, crashes). Default true. */
  exitHooks?: boolean;
  /** Upper bound for flushes at exit and shutdown, ms. Default 5,000. */
  shutdownTimeoutMs?: number;
  /**
   * Child: the queue of encoded records waiting for the primary (see `OtlpShippingProcessor`).
   * `maxQueueBytes` default 32 MiB, `maxQueueSize` default 1,048,576 records, `maxSpillBytes`
   * default 32 MiB; `backpressure` (default true): when the queue is full the emitting thread
   * sends the oldest batches synchronously instead of dropping, and batches sealed while the
   * application does not yield to the event loop are handed to the worker thread of that
   * synchronous export (false: neither; a full queue drops, counted).
   * `exportTimeout` (ms or a duration string, default 30 s) is the one deadline of each export:
   * the gRPC deadline of the call; an export that times out (a hung primary) is retried, and the
   * receiver ingests a batch sent twice once (its batch id).
   */
  childQueue?: {
    maxQueueSize?: number;
    maxQueueBytes?: number;
    maxSpillBytes?: number;
    backpressure?: boolean;
    exportTimeout?: Duration;
  };
  /**
   * Primary: the queue in front of each destination (file, console, collector; see
   * `ShippingProcessor`), bounded in estimated heap bytes: `maxQueueBytes` (default 64 MiB) waiting,
   * `maxSpillBytes` (default 32 MiB) held for retries while a collector is unreachable, and
   * `maxExportBatchBytes` (default 4 MiB) per export (at most 2 exports in flight), so a
   * destination holds at most about 104 MiB. A record over the queue's bound is dropped and
   * counted (`stats().destinations.<name>.queueFull`; the oldest spilled batch: `spillOverflow`),
   * except for the JSON-lines file: there the emitting thread writes the oldest batches
   * synchronously (`fs.writeSync`) until the queue is half full, so a tight loop gets a slower
   * `emit()` instead of drops (`stats().destinations.file.syncFlushes`). The console and a
   * collector cannot write synchronously without blocking on a terminal or a network: they drop.
   */
  destinationQueue?: {
    maxQueueBytes?: number;
    maxSpillBytes?: number;
    maxExportBatchBytes?: number;
  };
  /**
   * Primary: the configuration file to read (`starlog.config.yaml`/`.yml`/`.json`), or `false` to
   * read none. Default: `STARLOG_CONFIG`, else the file in the working directory, if any. Options
   * given in code win over the file; the `OTEL_*` variables and `STARLOG_LEVEL` win over both.
   * With a file, `SIGHUP` (or `starlog config reload`) re-reads it and applies the levels, the
   * status interval and template and the lookback bounds; other changes are reported as needing
   * a restart.
   */
  config?: string | false;
  /**
   * Capture pino and winston records (when those packages are loaded), with no change to the
   * application: scope = the logger's name, pino's level = starlog's table, pino's stdout and
   * winston's Console output not duplicated (see README "pino, winston and HTTP servers").
   * Default on; `false` turns it off. Primary and child.
   */
  instrumentations?: boolean | InstrumentationOptions;
  /**
   * A task per incoming HTTP request (node:http, express, fastify, koa …) with one access record
   * when it ends, and `traceparent` on outgoing requests made inside a task. Default on; `false`
   * turns it off. Primary and child.
   */
  httpTasks?: boolean | HttpTaskOptions;
}
