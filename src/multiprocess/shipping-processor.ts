import { type Context, context, diag } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing } from '@opentelemetry/core';
import type {
  LogRecordExporter,
  LogRecordProcessor,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import { type Duration, parseDuration } from '../util/duration.ts';

/** Options of {@link ShippingProcessor}. */
export interface ShippingProcessorOptions {
  /**
   * Where batches go: in a child, the official `OTLPLogExporter` of
   * `@opentelemetry/exporter-logs-otlp-grpc` pointed at the primary's receiver. Any sdk-logs
   * `LogRecordExporter` works. `shutdown()` shuts it down.
   */
  exporter: LogRecordExporter;
  /**
   * Records waiting to be exported (not counting the batches in flight). When the queue is full,
   * a new record is dropped and counted in `stats().queueFull`. Default 65,536 records
   * (32× the SDK's 2,048; at ~300 bytes per record about 20 MB at worst).
   */
  maxQueueSize?: number;
  /** Records per export request. Default 1,024 (see `bench/shipping.ts`). */
  maxExportBatchSize?: number;
  /**
   * How long a batch that is not full waits before it is sent, in ms or a duration string.
   * A full batch is sent at once. Default 200 ms.
   */
  scheduledDelay?: Duration;
  /**
   * How long one export may take before its batch is counted in `stats().exportFailed`, in ms
   * or a duration string. Default 30 s. (The gRPC exporter has its own deadline, 10 s by
   * default, after which it fails the export itself.)
   */
  exportTimeout?: Duration;
  /** Exports in flight at the same time. Default 2: one batch is serialized while another travels. */
  maxConcurrentExports?: number;
}

/**
 * Counters of a {@link ShippingProcessor}, in records. Every record given to `onEmit` ends in
 * exactly one of `queued`, `queueFull`, `afterShutdown`; every queued record ends in exactly one of
 * `exported`, `exportFailed`, `pending`:
 * `queued = exported + exportFailed + pending`.
 */
export interface ShippingStats {
  /** Records accepted into the queue since the processor was made (cumulative). */
  queued: number;
  /** Records in batches the exporter acknowledged (including those sent synchronously at exit). */
  exported: number;
  /** Records dropped because the queue held `maxQueueSize` records. */
  queueFull: number;
  /** Records in batches whose export failed or timed out (the gRPC exporter does not retry). */
  exportFailed: number;
  /** Records emitted after `shutdown()` was called (dropped). */
  afterShutdown: number;
  /** Records now waiting or in flight (a gauge). */
  pending: number;
  /** Records now in flight (a gauge, part of `pending`). */
  inFlight: number;
  /**
   * Batches the receiver refused as too large (gRPC RESOURCE_EXHAUSTED) and that were sent again
   * in two halves (not records; a one-record batch that is too large counts in `exportFailed`).
   */
  splitBatches: number;
}

/** A batch of records, numbered in the order it was opened (`id` 0, 1, 2, ...). */
export interface ShippingBatch {
  id: number;
  records: ReadableLogRecord[];
}

interface FlushWaiter {
  /** resolves when every batch with `id <= upTo` is settled */
  upTo: number;
  resolve: () => void;
}

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(
      `starlog: ${what} must be a positive integer; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * A batching `LogRecordProcessor` for shipping a child's records to the primary. Unlike the
 * SDK's `BatchLogRecordProcessor` it never drops silently: every drop is counted by reason in
 * {@link ShippingProcessor.stats}, and its queue can be taken out at process exit
 * ({@link ShippingProcessor.takeAllPending}, used by `installExitHooks`).
 *
 * Records collect in an open batch; the batch is sealed when it holds `maxExportBatchSize`
 * records, when `scheduledDelay` has passed since its first record, or on `forceFlush()`.
 * Sealed batches are exported in order, at most `maxConcurrentExports` at a time.
 * `onEmit` never throws and never calls the exporter itself (exports start from a microtask).
 */
export class ShippingProcessor implements LogRecordProcessor {
  private readonly _exporter: LogRecordExporter;
  private readonly _maxQueueSize: number;
  private readonly _batchSize: number;
  private readonly _delayMs: number;
  private readonly _timeoutMs: number;
  private readonly _maxConcurrent: number;

  private _nextId = 0;
  private _open: ShippingBatch;
  private readonly _sealed: ShippingBatch[] = [];
  /** records in `_open` and `_sealed` */
  private _waiting = 0;
  private readonly _inFlight = new Set<ShippingBatch>();
  private _inFlightRecords = 0;
  private _waiters: FlushWaiter[] = [];
  private _timer: NodeJS.Timeout | undefined;
  private _pumpScheduled = false;
  private _pumping = false;
  private _repump = false;
  private _shutdownPromise: Promise<void> | undefined;

  private _queued = 0;
  private _exported = 0;
  private _queueFull = 0;
  private _exportFailed = 0;
  private _afterShutdown = 0;
  private _splits = 0;

  constructor(options: ShippingProcessorOptions) {
    if (!options || typeof options.exporter?.export !== 'function') {
      throw new TypeError(
        'starlog: ShippingProcessor needs options.exporter (a LogRecordExporter)',
      );
    }
    this._exporter = options.exporter;
    this._maxQueueSize = positiveInt(options.maxQueueSize, 65_536, 'maxQueueSize');
    this._batchSize = positiveInt(options.maxExportBatchSize, 1024, 'maxExportBatchSize');
    this._maxConcurrent = positiveInt(options.maxConcurrentExports, 2, 'maxConcurrentExports');
    this._delayMs = parseDuration(options.scheduledDelay ?? 200, 'scheduledDelay', true);
    this._timeoutMs = parseDuration(options.exportTimeout ?? 30_000, 'exportTimeout');
    this._open = { id: this._nextId++, records: [] };
  }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    try {
      if (this._shutdownPromise !== undefined) {
        this._afterShutdown++;
        return;
      }
      if (this._waiting >= this._maxQueueSize) {
        if (this._queueFull++ === 0) {
          diag.warn(
            `starlog ShippingProcessor: queue full (${this._maxQueueSize} records); dropping records, counted in stats().queueFull`,
          );
        }
        return;
      }
      const open = this._open;
      open.records.push(record);
      this._waiting++;
      this._queued++;
      if (open.records.length >= this._batchSize) {
        this._seal();
        this._schedulePump();
      } else if (open.records.length === 1 && this._timer === undefined) {
        this._startTimer();
      }
    } catch (err) {
      diag.error('starlog ShippingProcessor: onEmit failed', err);
    }
  }

  /**
   * Resolves when every record queued before the call has been exported or counted as failed.
   * Never rejects.
   */
  forceFlush(): Promise<void> {
    if (this._open.records.length > 0) this._seal();
    const upTo = this._open.id - 1;
    if (this._lowestUnsettled() > upTo) return Promise.resolve();
    const promise = new Promise<void>((resolve) => this._waiters.push({ upTo, resolve }));
    this._schedulePump();
    return promise;
  }

  /**
   * Flushes, then shuts the exporter down. Records emitted afterwards are dropped and counted in
   * `stats().afterShutdown`. Idempotent; never rejects.
   */
  shutdown(): Promise<void> {
    this._shutdownPromise ??= this.forceFlush()
      .then(() => this._exporter.shutdown())
      .catch((err: unknown) =>
        diag.error('starlog ShippingProcessor: exporter shutdown failed', err),
      );
    return this._shutdownPromise;
  }

  /** Current counters; see {@link ShippingStats}. */
  stats(): ShippingStats {
    return {
      queued: this._queued,
      exported: this._exported,
      queueFull: this._queueFull,
      exportFailed: this._exportFailed,
      afterShutdown: this._afterShutdown,
      pending: this._waiting + this._inFlightRecords,
      inFlight: this._inFlightRecords,
      splitBatches: this._splits,
    };
  }

  /** Records now waiting or in flight. */
  get pending(): number {
    return this._waiting + this._inFlightRecords;
  }

  /**
   * Takes every record out of the processor, in flight first (oldest first), then waiting: for a
   * last synchronous export when the process is going (`installExitHooks`). The caller must
   * report the outcome with {@link ShippingProcessor.countExitResult}. A late acknowledgement of
   * a batch taken while in flight is ignored; such records may reach the receiver twice.
   */
  takeAllPending(): ReadableLogRecord[] {
    const out: ReadableLogRecord[] = [];
    const inFlight = [...this._inFlight].sort((a, b) => a.id - b.id);
    for (const b of inFlight) for (const r of b.records) out.push(r);
    for (const b of this._sealed) for (const r of b.records) out.push(r);
    for (const r of this._open.records) out.push(r);
    this._inFlight.clear();
    this._inFlightRecords = 0;
    this._sealed.length = 0;
    this._waiting = 0;
    if (this._open.records.length > 0) this._open = { id: this._nextId++, records: [] };
    this._clearTimer();
    this._settle();
    return out;
  }

  /** Counts the outcome of a synchronous export of records taken with `takeAllPending()`. */
  countExitResult(exported: number, failed: number): void {
    this._exported += exported;
    this._exportFailed += failed;
  }

  /**
   * Sends one batch. The place where retries or spilling to disk will go; today a batch refused
   * as too large (RESOURCE_EXHAUSTED) is sent again in two halves, and any other failure counts
   * the batch in `exportFailed` (the gRPC exporter does not retry either).
   */
  protected send(batch: ShippingBatch): void {
    const n = batch.records.length;
    this._inFlight.add(batch);
    this._inFlightRecords += n;
    let done = false;
    const finish = (ok: boolean, error?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // taken out by takeAllPending(): counted by the exit path instead
      if (!this._inFlight.delete(batch)) return;
      this._inFlightRecords -= n;
      if (ok) {
        this._exported += n;
      } else if (isTooLarge(error) && n > 1) {
        // the receiver's message size limit (grpc-js: 4 MiB by default): send it in two halves
        const half = n >> 1;
        this._sealed.unshift(
          { id: batch.id, records: batch.records.slice(0, half) },
          { id: batch.id, records: batch.records.slice(half) },
        );
        this._waiting += n;
        this._splits++;
      } else {
        this._exportFailed += n;
        diag.warn(
          `starlog ShippingProcessor: export of ${n} records failed; counted in stats().exportFailed`,
          error,
        );
      }
      this._settle();
      this._schedulePump();
    };
    const timer = setTimeout(
      () => finish(false, new Error(`export timed out after ${this._timeoutMs} ms`)),
      this._timeoutMs,
    );
    timer.unref();
    const exportNow = (): void => {
      try {
        context.with(suppressTracing(context.active()), () => {
          this._exporter.export(batch.records, (result) =>
            finish(result.code === ExportResultCode.SUCCESS, result.error),
          );
        });
      } catch (err) {
        finish(false, err);
      }
    };
    const pendingResources = resourcesPending(batch.records);
    if (pendingResources === undefined) exportNow();
    else Promise.all(pendingResources).then(exportNow, (err: unknown) => finish(false, err));
  }

  private _seal(): void {
    this._sealed.push(this._open);
    this._open = { id: this._nextId++, records: [] };
    this._clearTimer();
  }

  private _startTimer(): void {
    this._timer = setTimeout(() => {
      this._timer = undefined;
      if (this._open.records.length > 0) {
        this._seal();
        this._pump();
      }
    }, this._delayMs);
    this._timer.unref();
  }

  private _clearTimer(): void {
    if (this._timer !== undefined) {
      clearTimeout(this._timer);
      this._timer = undefined;
    }
  }

  private _schedulePump(): void {
    if (this._pumpScheduled) return;
    this._pumpScheduled = true;
    queueMicrotask(() => {
      this._pumpScheduled = false;
      this._pump();
    });
  }

  private _pump(): void {
    if (this._pumping) {
      this._repump = true;
      return;
    }
    this._pumping = true;
    try {
      do {
        this._repump = false;
        while (this._inFlight.size < this._maxConcurrent && this._sealed.length > 0) {
          const batch = this._sealed.shift() as ShippingBatch;
          this._waiting -= batch.records.length;
          this.send(batch);
        }
      } while (this._repump);
    } catch (err) {
      diag.error('starlog ShippingProcessor: export scheduling failed', err);
    } finally {
      this._pumping = false;
    }
  }

  /** id of the oldest batch that is neither exported nor failed */
  private _lowestUnsettled(): number {
    let lowest = this._sealed.length > 0 ? (this._sealed[0] as ShippingBatch).id : this._open.id;
    for (const b of this._inFlight) if (b.id < lowest) lowest = b.id;
    return lowest;
  }

  private _settle(): void {
    if (this._waiters.length === 0) return;
    const lowest = this._lowestUnsettled();
    const still: FlushWaiter[] = [];
    for (const w of this._waiters) {
      if (w.upTo < lowest) w.resolve();
      else still.push(w);
    }
    this._waiters = still;
  }
}

/** gRPC status RESOURCE_EXHAUSTED (8): the request was larger than the server accepts. */
function isTooLarge(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 8;
}

/** Promises for the resources of `records` whose async attributes are still pending, if any. */
function resourcesPending(records: ReadableLogRecord[]): Promise<void>[] | undefined {
  let out: Promise<void>[] | undefined;
  let last: unknown;
  for (const r of records) {
    const res = r.resource;
    if (res === last) continue;
    last = res;
    if (res.asyncAttributesPending && res.waitForAsyncAttributes) {
      out ??= [];
      out.push(res.waitForAsyncAttributes());
    }
  }
  return out;
}
