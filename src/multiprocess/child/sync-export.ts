import { Worker } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { grpcTargetOfUrl } from '../protocol/endpoint.ts';
import type { SyncExportJob } from './sync-export-worker.ts';

/** Options of {@link SyncExporter}. */
export interface SyncExporterOptions {
  /**
   * The primary's receiver: `unix:///path/receiver.sock`, `http://127.0.0.1:4711` or
   * `127.0.0.1:4711` (the format of `STARLOG_ENDPOINT`). Always plaintext (insecure credentials):
   * the receiver listens on a unix socket or on loopback.
   */
  endpoint: string;
  /** Sent as gRPC metadata `x-starlog-token` (the value of `STARLOG_TOKEN`). */
  token?: string;
  /** How long `export()` may block the calling thread, in ms. */
  timeoutMs: number;
  /**
   * `'lazy'` (default): the worker thread starts inside `export()` (about 100–150 ms of the
   * budget on an idle machine, loading grpc-js included). `'eager'`: it starts now and waits,
   * unref'd (one more thread and ~10 MB of memory per process, but `export()` only pays the
   * connection and the round trip).
   */
  worker?: 'lazy' | 'eager';
  /** Records per request. Default 4,096. */
  maxRequestRecords?: number;
  /**
   * A request above this size is split in two (grpc-js servers accept 4 MiB by default).
   * Default 3,500,000 bytes.
   */
  maxRequestBytes?: number;
}

/** Outcome of one {@link SyncExporter.export} call, in records. */
export interface SyncExportResult {
  /** records in requests the receiver acknowledged */
  exported: number;
  /** records in requests that failed, got no answer before the timeout, or could not be serialized */
  failed: number;
  /** requests sent */
  requests: number;
  /** true when the wait ended because `timeoutMs` passed */
  timedOut: boolean;
  /** time spent blocked, ms */
  elapsedMs: number;
}

function workerUrl(): URL {
  // same extension as this module: .ts when run from source, .js from dist/
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./sync-export-worker${ext}`, import.meta.url);
}

/**
 * Exports records synchronously: serializes them on the calling thread with the official
 * `ProtobufLogsSerializer` (`@opentelemetry/otlp-transformer`), hands the bytes to a worker
 * thread that sends them with grpc-js unary calls to the OTLP `LogsService/Export` method, and
 * blocks in `Atomics.wait` until the worker reports or `timeoutMs` passes. Meant for
 * `process.on('exit')`, where asynchronous work cannot run. Never throws.
 */
export class SyncExporter {
  private readonly _target: string;
  private readonly _token: string | undefined;
  private readonly _timeoutMs: number;
  private readonly _maxRecords: number;
  private readonly _maxBytes: number;
  private _worker: Worker | undefined;

  constructor(options: SyncExporterOptions) {
    if (!options?.endpoint) throw new TypeError('starlog: SyncExporter needs options.endpoint');
    this._target = grpcTargetOfUrl(options.endpoint);
    this._token = options.token;
    this._timeoutMs = options.timeoutMs;
    this._maxRecords = options.maxRequestRecords ?? 4096;
    this._maxBytes = options.maxRequestBytes ?? 3_500_000;
    if (options.worker === 'eager') this._worker = startWorker({ eager: true });
  }

  /** Sends `records` and blocks until acknowledged or `timeoutMs`; see {@link SyncExportResult}. */
  export(records: ReadableLogRecord[]): SyncExportResult {
    const t0 = performance.now();
    const result: SyncExportResult = {
      exported: 0,
      failed: 0,
      requests: 0,
      timedOut: false,
      elapsedMs: 0,
    };
    if (records.length === 0) return result;
    try {
      const requests: Uint8Array[] = [];
      const counts: number[] = [];
      for (let i = 0; i < records.length; i += this._maxRecords) {
        this._serialize(records.slice(i, i + this._maxRecords), requests, counts, result);
      }
      result.requests = requests.length;
      if (requests.length === 0) return result;
      const sab = new SharedArrayBuffer(4 * (1 + requests.length));
      const cells = new Int32Array(sab);
      const deadline = Date.now() + this._timeoutMs;
      const job: SyncExportJob = {
        target: this._target,
        token: this._token,
        requests,
        deadline,
        sab,
      };
      if (this._worker) this._worker.postMessage(job);
      else startWorker({ job });
      for (;;) {
        const left = deadline - Date.now();
        if (Atomics.load(cells, 0) === 1) break;
        if (left <= 0) {
          result.timedOut = true;
          break;
        }
        Atomics.wait(cells, 0, 0, left);
      }
      for (let i = 0; i < requests.length; i++) {
        if (Atomics.load(cells, 1 + i) === 1) result.exported += counts[i] as number;
        else result.failed += counts[i] as number;
      }
    } catch (err) {
      diag.error('starlog SyncExporter: export failed', err);
      result.failed = records.length - result.exported;
    }
    result.elapsedMs = performance.now() - t0;
    return result;
  }

  /** Stops an eager worker. */
  close(): void {
    this._worker?.terminate().catch(() => {});
    this._worker = undefined;
  }

  private _serialize(
    chunk: ReadableLogRecord[],
    requests: Uint8Array[],
    counts: number[],
    result: SyncExportResult,
  ): void {
    let bytes: Uint8Array | undefined;
    try {
      bytes = ProtobufLogsSerializer.serializeRequest(chunk);
    } catch (err) {
      diag.error(`starlog SyncExporter: could not serialize ${chunk.length} records`, err);
    }
    if (bytes === undefined) {
      result.failed += chunk.length;
      return;
    }
    if (bytes.byteLength > this._maxBytes && chunk.length > 1) {
      const half = chunk.length >> 1;
      this._serialize(chunk.slice(0, half), requests, counts, result);
      this._serialize(chunk.slice(half), requests, counts, result);
      return;
    }
    requests.push(bytes);
    counts.push(chunk.length);
  }
}

function startWorker(data: { job?: SyncExportJob; eager?: boolean }): Worker {
  const worker = new Worker(workerUrl(), { workerData: data, execArgv: [], env: {} });
  worker.on('error', (err) => diag.error('starlog SyncExporter: worker failed', err));
  worker.unref();
  return worker;
}
