import { Worker } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { EncodedLogsRequest } from '../../export/otlp-bytes-exporter.ts';
import { encodeLogsRequest } from '../../otlp/logs-encoder.ts';
import { splitLogsRequest } from '../../otlp/request-split.ts';
import { grpcTargetOfUrl } from '../protocol/endpoint.ts';
import { SYNC_EXPORT_WORKER_SOURCE, type SyncExportJob } from './sync-export-worker.ts';

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
   * `'lazy'` (default): the worker thread starts inside `export()` (a few ms of the
   * budget: the worker loads nothing from disk). `'eager'`: it starts now and waits,
   * unref'd (one more thread and ~10 MB of memory per process, but `export()` only pays the
   * connection and the round trip). `'kept'`: it starts at the first `export()` and then stays,
   * unref'd (for repeated synchronous exports: backpressure).
   */
  worker?: 'lazy' | 'eager' | 'kept';
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
  /** the hand-off file written instead of gRPC calls (exit hooks, `handoffDir`), if one was */
  handoff?: string;
}

/**
 * Exports records synchronously: encodes them on the calling thread (`logs-encoder.ts`, the
 * bytes of the official `ProtobufLogsSerializer`) unless they are already encoded, hands the bytes to a worker
 * thread that sends them as gRPC unary calls (over `node:http2`, see `sync-export-worker.ts`) to
 * the OTLP `LogsService/Export` method, and
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
  private readonly _keep: boolean;

  constructor(options: SyncExporterOptions) {
    if (!options?.endpoint) throw new TypeError('starlog: SyncExporter needs options.endpoint');
    this._target = grpcTargetOfUrl(options.endpoint);
    this._token = options.token;
    this._timeoutMs = options.timeoutMs;
    this._maxRecords = options.maxRequestRecords ?? 4096;
    this._maxBytes = options.maxRequestBytes ?? 3_500_000;
    this._keep = options.worker === 'kept';
    if (options.worker === 'eager') this._worker = startWorker({ eager: true });
  }

  /** The default budget of one export, ms (`options.timeoutMs`). */
  get timeoutMs(): number {
    return this._timeoutMs;
  }

  /** Sends `records` and blocks until acknowledged or `timeoutMs`; see {@link SyncExportResult}. */
  export(records: ReadableLogRecord[]): SyncExportResult {
    const result = emptyResult();
    const requests: Uint8Array[] = [];
    const counts: number[] = [];
    for (let i = 0; i < records.length; i += this._maxRecords) {
      this._serialize(records.slice(i, i + this._maxRecords), requests, counts, result);
    }
    return this._send(requests, counts, result, performance.now());
  }

  /**
   * Sends requests already encoded (split in two while above `maxRequestBytes`) and blocks until
   * acknowledged or `timeoutMs`; see {@link SyncExportResult}.
   */
  exportEncoded(encoded: readonly EncodedLogsRequest[], timeoutMs?: number): SyncExportResult {
    const t0 = performance.now();
    const result = emptyResult();
    const requests: Uint8Array[] = [];
    const counts: number[] = [];
    const add = (bytes: Uint8Array, count: number): void => {
      if (bytes.byteLength > this._maxBytes && count > 1) {
        const half = count >> 1;
        const [a, b] = splitLogsRequest(bytes, half);
        add(a, half);
        add(b, count - half);
      } else {
        requests.push(bytes);
        counts.push(count);
      }
    };
    for (const r of encoded) {
      try {
        add(r.bytes, r.length);
      } catch (err) {
        diag.error('starlog SyncExporter: could not split a request', err);
        result.failed += r.length;
      }
    }
    return this._send(requests, counts, result, t0, timeoutMs);
  }

  private _send(
    requests: Uint8Array[],
    counts: number[],
    result: SyncExportResult,
    t0: number,
    timeoutMs = this._timeoutMs,
  ): SyncExportResult {
    try {
      result.requests = requests.length;
      if (requests.length === 0) return result;
      const deadline = Date.now() + timeoutMs;
      // requests still to send; a busy receiver (backpressure) gets them again shortly
      let todo = requests.map((_, i) => i);
      let rest = 5;
      while (todo.length > 0) {
        const { cells, timedOut } = this._round(
          todo.map((i) => requests[i] as Uint8Array),
          deadline,
        );
        const busy: number[] = [];
        todo.forEach((r, k) => {
          const cell = Atomics.load(cells, 1 + k);
          if (cell === 1) result.exported += counts[r] as number;
          else if (cell === 3) busy.push(r);
          else result.failed += counts[r] as number;
        });
        if (timedOut) result.timedOut = true;
        todo = busy;
        const left = deadline - Date.now();
        if (todo.length === 0) break;
        if (left <= rest) {
          for (const r of todo) result.failed += counts[r] as number;
          result.timedOut = true;
          break;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, rest);
        rest = Math.min(rest * 2, 200);
      }
    } catch (err) {
      diag.error('starlog SyncExporter: export failed', err);
      let all = 0;
      for (const c of counts) all += c;
      result.failed += all - result.exported;
    }
    result.elapsedMs = performance.now() - t0;
    return result;
  }

  /**
   * Hands already encoded requests to the kept worker thread and returns at once: the worker
   * sends them while the calling thread goes on (backpressure while an application does not
   * yield to the event loop, see `OtlpShippingProcessor`). Returns the job's result cells (see
   * `sync-export-worker.ts`: `[0]` becomes 1 when every request is answered, `[1 + i]` the
   * outcome of request i; `Atomics.wait`/`waitAsync` on `[0]`), or undefined when no worker is
   * running (`'lazy'`, or an eager worker closed). A `'kept'` worker starts here. Requests are not
   * split. With `transfer`, a request that is the whole of its `ArrayBuffer` is moved to the
   * worker instead of copied (the caller must not use it afterwards; a 0.5–1 MiB request was
   * copied twice by the structured clone). Never throws.
   */
  post(
    requests: readonly Uint8Array[],
    deadline: number,
    transfer = false,
  ): Int32Array | undefined {
    if (this._worker === undefined && this._keep) this._worker = startWorker({ eager: true });
    const worker = this._worker;
    if (worker === undefined) return undefined;
    try {
      const sab = new SharedArrayBuffer(4 * (1 + requests.length));
      const job: SyncExportJob = {
        target: this._target,
        token: this._token,
        requests: [...requests],
        deadline,
        sab,
      };
      const moved = transfer ? wholeBuffers(requests) : [];
      try {
        worker.postMessage(job, moved);
      } catch (err) {
        if (moved.length === 0) throw err;
        worker.postMessage(job); // not transferable (e.g. a pooled buffer): copied
      }
      return new Int32Array(sab);
    } catch (err) {
      diag.error('starlog SyncExporter: could not hand requests to the worker', err);
      return undefined;
    }
  }

  /** Stops an eager worker. */
  close(): void {
    this._worker?.terminate().catch(() => {});
    this._worker = undefined;
  }

  /** One round of requests: the result cells (as far as they got before the deadline). */
  private _round(
    requests: Uint8Array[],
    deadline: number,
  ): { cells: Int32Array; timedOut: boolean } {
    const sab = new SharedArrayBuffer(4 * (1 + requests.length));
    const cells = new Int32Array(sab);
    const job: SyncExportJob = {
      target: this._target,
      token: this._token,
      requests,
      deadline,
      sab,
    };
    if (this._worker === undefined && this._keep) this._worker = startWorker({ eager: true });
    if (this._worker) this._worker.postMessage(job);
    else startWorker({ job });
    for (;;) {
      if (Atomics.load(cells, 0) === 1) return { cells, timedOut: false };
      const left = deadline - Date.now();
      if (left <= 0) return { cells, timedOut: true };
      Atomics.wait(cells, 0, 0, left);
    }
  }

  private _serialize(
    chunk: ReadableLogRecord[],
    requests: Uint8Array[],
    counts: number[],
    result: SyncExportResult,
  ): void {
    let bytes: Uint8Array | undefined;
    try {
      bytes = encodeLogsRequest(chunk);
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

/** The `ArrayBuffer`s that `requests` fill entirely (safe to transfer: no other view shares them). */
function wholeBuffers(requests: readonly Uint8Array[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const r of requests) {
    const b = r.buffer;
    if (b instanceof ArrayBuffer && r.byteOffset === 0 && r.byteLength === b.byteLength)
      out.push(b);
  }
  return out;
}

function emptyResult(): SyncExportResult {
  return { exported: 0, failed: 0, requests: 0, timedOut: false, elapsedMs: 0 };
}

function startWorker(data: { job?: SyncExportJob; eager?: boolean }): Worker {
  const worker = new Worker(SYNC_EXPORT_WORKER_SOURCE, {
    eval: true,
    workerData: data,
    execArgv: [],
    env: {},
  });
  worker.on('error', (err) => diag.error('starlog SyncExporter: worker failed', err));
  worker.unref();
  return worker;
}
