import { type Context, context, diag } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing } from '@opentelemetry/core';
import type {
  LogRecordExporter,
  LogRecordProcessor,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  DROP_REPORT_SCOPE,
  type DropCounts,
  dropReportAttributes,
  totalDrops,
} from '../multiprocess/protocol/drop-report.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, type Duration, parseDuration } from '../util/duration.ts';
import { PlainLogRecord } from '../util/plain-log-record.ts';
import { backoffDelay, classifyExportError, type ExportErrorKind } from './retry.ts';
import { Spill, type SpillBatch } from './spill.ts';

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
  /**
   * Bound of the spill, in estimated heap bytes of the records held (see `Spill`): while the
   * destination is unreachable or busy, sealed batches move out of the queue into the spill;
   * when it would exceed this bound, its *oldest* batches are dropped and counted in
   * `stats().spillOverflow`. The newest batch is always kept (the spill may exceed the bound by
   * one batch; 0 keeps just that one). Default 32 MiB.
   */
  maxSpillBytes?: number;
  /** Backoff cap of the first retry, in ms or a duration string (full jitter, doubling per retry). Default 100 ms. */
  retryBaseDelay?: Duration;
  /** Longest wait between two retries, in ms or a duration string. Default 5 s. */
  retryMaxDelay?: Duration;
  /**
   * How long `shutdown()` keeps retrying while the destination is unreachable, in ms or a
   * duration string; then what is left is counted in `stats().exportFailed`. Default 5 s.
   */
  shutdownTimeout?: Duration;
  /**
   * Appends a drop report record (scope `starlog.drops`, see `drop-report.ts`) to every export
   * request while any drop counter is not zero, so that starlog's receiver learns this process's
   * drops. Only for exports to starlog's receiver (children); other destinations would store
   * the record. Default false.
   */
  reportDrops?: boolean;
}

/**
 * Counters of a {@link ShippingProcessor}, in records. Every record given to `onEmit` ends in
 * exactly one of `queued`, `queueFull`, `afterShutdown`; every queued record ends in exactly one of
 * `exported`, `exportFailed`, `exportRejected`, `spillOverflow`, `pending`:
 * `queued = exported + exportFailed + exportRejected + spillOverflow + pending`.
 */
export interface ShippingStats {
  /** Records accepted into the queue since the processor was made (cumulative). */
  queued: number;
  /** Records in batches the exporter acknowledged (including those sent synchronously at exit). */
  exported: number;
  /** Records dropped because the queue held `maxQueueSize` records. */
  queueFull: number;
  /**
   * Records in batches whose export failed without a retryable gRPC status (e.g. a file
   * exporter's I/O error), timed out (`exportTimeout`), or were still unsent when retries
   * stopped (`shutdownTimeout`, or the synchronous export at exit failed).
   */
  exportFailed: number;
  /**
   * Records the destination refused: a non-retryable gRPC status (INVALID_ARGUMENT,
   * UNAUTHENTICATED, ...) or a single record too large for it. Never retried.
   */
  exportRejected: number;
  /** Records in the oldest spilled batches, dropped because the spill exceeded `maxSpillBytes`. */
  spillOverflow: number;
  /** Records emitted after `shutdown()` was called (dropped). */
  afterShutdown: number;
  /** Records now waiting (queue or spill) or in flight (a gauge). */
  pending: number;
  /** Records now in the spill (a gauge, part of `pending`). */
  spilled: number;
  /** Estimated bytes now in the spill (a gauge). */
  spillBytes: number;
  /** Failed export attempts that were (or will be) retried (cumulative; attempts, not records). */
  retries: number;
  /** Whether the destination is now considered unreachable or busy (retrying with backoff). */
  retrying: boolean;
  /** Records now in flight (a gauge, part of `pending`). */
  inFlight: number;
  /**
   * Batches the receiver refused as too large (gRPC RESOURCE_EXHAUSTED) and that were sent again
   * in two halves (not records; a one-record batch that is too large counts in `exportFailed`).
   */
  splitBatches: number;
}

/** A batch of records, numbered in the order it was opened (`id` 0, 1, 2, ...). */
export type ShippingBatch = SpillBatch;

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
 * A batching `LogRecordProcessor` for shipping a child's records to the primary (and, in the
 * primary, records to each destination). Unlike the SDK's `BatchLogRecordProcessor` it never
 * drops silently: every drop is counted by reason in {@link ShippingProcessor.stats}, and its
 * queue and spill can be taken out at process exit ({@link ShippingProcessor.takeAllPending},
 * used by `installExitHooks`).
 *
 * Records collect in an open batch; the batch is sealed when it holds `maxExportBatchSize`
 * records, when `scheduledDelay` has passed since its first record, or on `forceFlush()`.
 * Sealed batches are exported in order, at most `maxConcurrentExports` at a time.
 * `onEmit` never throws and never calls the exporter itself (exports start from a microtask).
 *
 * Failures (see `classifyExportError`): a retryable gRPC status (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED as backpressure, ...) puts the processor in the *retrying* state: the batch
 * goes back, every sealed batch moves from the queue into the spill (bounded in bytes, oldest
 * dropped), and one batch at a time (the oldest) is tried again after an exponential backoff
 * with full jitter (`retryBaseDelay` doubling up to `retryMaxDelay`), for as long as it takes.
 * The first success ends the state and the spill drains in order, then the queue. A batch the
 * peer finds too large is split in two; a non-retryable status counts the batch in
 * `exportRejected`; an error without a gRPC status (or `exportTimeout`) in `exportFailed`.
 *
 * Queue and spill: the queue (records, `maxQueueSize`) absorbs bursts while the destination is
 * reachable; when it is full the *newest* record is refused (`queueFull`). The spill (estimated
 * bytes, `maxSpillBytes`) holds what could not be sent while the destination is unreachable or
 * busy; when it is full the *oldest* batch is dropped (`spillOverflow`). Both are in memory:
 * the worst case is about `maxQueueSize` records plus `maxSpillBytes`.
 */
export class ShippingProcessor implements LogRecordProcessor {
  private readonly _exporter: LogRecordExporter;
  private readonly _maxQueueSize: number;
  private readonly _batchSize: number;
  private readonly _delayMs: number;
  private readonly _timeoutMs: number;
  private readonly _maxConcurrent: number;
  private readonly _retryBaseMs: number;
  private readonly _retryMaxMs: number;
  private readonly _shutdownTimeoutMs: number;
  private readonly _reportDrops: boolean;

  private _nextId = 0;
  private _open: ShippingBatch;
  private readonly _sealed: ShippingBatch[] = [];
  private readonly _spill: Spill;
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

  /** retrying: a retryable failure and no success since */
  private _blocked = false;
  /** retries made in this outage (the backoff exponent) */
  private _attempt = 0;
  private _retryTimer: NodeJS.Timeout | undefined;
  /** after shutdown(): when retries stop */
  private _finalDeadline = Number.POSITIVE_INFINITY;
  private _finalTimer: NodeJS.Timeout | undefined;
  private _lastSpillWarn = 0;
  private _unwarnedSpillDrops = 0;

  private _queued = 0;
  private _exported = 0;
  private _queueFull = 0;
  private _exportFailed = 0;
  private _exportRejected = 0;
  private _spillOverflow = 0;
  private _afterShutdown = 0;
  private _splits = 0;
  private _retries = 0;

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
    this._retryBaseMs = parseDuration(options.retryBaseDelay ?? 100, 'retryBaseDelay');
    this._retryMaxMs = parseDuration(options.retryMaxDelay ?? 5000, 'retryMaxDelay');
    this._shutdownTimeoutMs = parseDuration(
      options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
      'shutdownTimeout',
      true,
    );
    const maxSpillBytes = options.maxSpillBytes ?? 32 * 1024 * 1024;
    if (!Number.isInteger(maxSpillBytes) || maxSpillBytes < 0) {
      throw new TypeError(
        `starlog: maxSpillBytes must be an integer number of bytes >= 0; got ${JSON.stringify(maxSpillBytes)}`,
      );
    }
    this._spill = new Spill(maxSpillBytes);
    this._reportDrops = options.reportDrops === true;
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
   * Resolves when every record queued before the call has been exported or counted as dropped.
   * While the destination is unreachable that takes until it is back (or, after `shutdown()`,
   * until `shutdownTimeout`). Never rejects.
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
   * Flushes (retrying for at most `shutdownTimeout` while the destination is unreachable; then
   * what is left counts in `exportFailed`), then shuts the exporter down. Records emitted
   * afterwards are dropped and counted in `stats().afterShutdown`. Idempotent; never rejects.
   */
  shutdown(): Promise<void> {
    if (this._shutdownPromise === undefined) {
      this._finalDeadline = Date.now() + this._shutdownTimeoutMs;
      this._finalTimer = setTimeout(() => this._giveUp(), this._shutdownTimeoutMs);
      this._shutdownPromise = this.forceFlush()
        .then(() => {
          clearTimeout(this._finalTimer);
          return this._exporter.shutdown();
        })
        .catch((err: unknown) =>
          diag.error('starlog ShippingProcessor: exporter shutdown failed', err),
        );
    }
    return this._shutdownPromise;
  }

  /** Current counters; see {@link ShippingStats}. */
  stats(): ShippingStats {
    return {
      queued: this._queued,
      exported: this._exported,
      queueFull: this._queueFull,
      exportFailed: this._exportFailed,
      exportRejected: this._exportRejected,
      spillOverflow: this._spillOverflow,
      afterShutdown: this._afterShutdown,
      pending: this.pending,
      inFlight: this._inFlightRecords,
      spilled: this._spill.records,
      spillBytes: this._spill.bytes,
      retries: this._retries,
      retrying: this._blocked,
      splitBatches: this._splits,
    };
  }

  /** The cumulative drop counts by reason (what a drop report carries). */
  dropCounts(): DropCounts {
    return {
      queueFull: this._queueFull,
      spillOverflow: this._spillOverflow,
      exportFailed: this._exportFailed,
      exportRejected: this._exportRejected,
      afterShutdown: this._afterShutdown,
    };
  }

  /** Records now waiting (queue or spill) or in flight. */
  get pending(): number {
    return this._waiting + this._spill.records + this._inFlightRecords;
  }

  /**
   * How full the processor is, from 0 to 1: the larger of queue records / `maxQueueSize` and
   * spill bytes / `maxSpillBytes`. The primary's receiver answers RESOURCE_EXHAUSTED
   * (backpressure) while a destination is nearly full.
   */
  get fill(): number {
    const q = this._waiting / this._maxQueueSize;
    const max = this._spill.maxBytes;
    const s = max > 0 ? this._spill.bytes / max : 0;
    return Math.max(q, s);
  }

  /**
   * Takes every record out of the processor, in flight and spilled first (oldest first), then
   * waiting: for a last synchronous export when the process is going (`installExitHooks`). The
   * caller must report the outcome with {@link ShippingProcessor.countExitResult}. A late
   * acknowledgement of a batch taken while in flight is ignored; such records may reach the
   * receiver twice. Retrying stops.
   */
  takeAllPending(): ReadableLogRecord[] {
    const out: ReadableLogRecord[] = [];
    const old = [...this._inFlight, ...this._spill.takeAll()].sort((a, b) => a.id - b.id);
    for (const b of old) for (const r of b.records) out.push(r);
    for (const b of this._sealed) for (const r of b.records) out.push(r);
    for (const r of this._open.records) out.push(r);
    this._inFlight.clear();
    this._inFlightRecords = 0;
    this._sealed.length = 0;
    this._waiting = 0;
    if (this._open.records.length > 0) this._open = { id: this._nextId++, records: [] };
    this._clearTimer();
    this._clearRetry();
    this._settle();
    return out;
  }

  /** Counts the outcome of a synchronous export of records taken with `takeAllPending()`. */
  countExitResult(exported: number, failed: number): void {
    this._exported += exported;
    this._exportFailed += failed;
  }

  /**
   * Sends one batch and handles the outcome: success, retry (the batch goes back to the spill
   * and the processor waits for a backoff), split in two, or counted as rejected/failed.
   */
  protected send(batch: ShippingBatch): void {
    const n = batch.records.length;
    this._inFlight.add(batch);
    this._inFlightRecords += n;
    let done = false;
    const finish = (ok: boolean, error?: unknown, timedOut = false): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // taken out by takeAllPending(): counted by the exit path instead
      if (!this._inFlight.delete(batch)) return;
      this._inFlightRecords -= n;
      if (ok) {
        this._exported += n;
        if (this._blocked && this._retryTimer === undefined) {
          // the probe went through: the destination is back; drain the spill in order
          this._blocked = false;
          this._attempt = 0;
          diag.info('starlog ShippingProcessor: destination reachable again; draining the spill');
        }
      } else {
        const kind: ExportErrorKind = timedOut ? 'fail' : classifyExportError(error);
        if (kind === 'split' && n > 1) {
          // the peer's message size limit (grpc-js: 4 MiB by default): send it in two halves
          const half = n >> 1;
          this._putBack({ id: batch.id, records: batch.records.slice(0, half) });
          this._putBack({ id: batch.id, records: batch.records.slice(half) });
          this._splits++;
        } else if (kind === 'retry' && Date.now() < this._finalDeadline) {
          this._retries++;
          if (!this._blocked) {
            this._blocked = true;
            diag.warn(
              'starlog ShippingProcessor: destination unreachable or busy; retrying with backoff, spilling meanwhile',
              error,
            );
            this._spillSealed();
          }
          this._toSpill(batch);
          this._scheduleRetry();
        } else if (kind === 'reject' || kind === 'split') {
          this._exportRejected += n;
          diag.warn(
            `starlog ShippingProcessor: the destination refused ${n} records; counted in stats().exportRejected`,
            error,
          );
        } else {
          this._exportFailed += n;
          diag.warn(
            `starlog ShippingProcessor: export of ${n} records failed; counted in stats().exportFailed`,
            error,
          );
        }
      }
      this._settle();
      this._schedulePump();
    };
    const timer = setTimeout(
      () => finish(false, new Error(`export timed out after ${this._timeoutMs} ms`), true),
      this._timeoutMs,
    );
    timer.unref();
    const records = this._reportDrops ? this._withDropReport(batch.records) : batch.records;
    const exportNow = (): void => {
      try {
        context.with(suppressTracing(context.active()), () => {
          this._exporter.export(records, (result) =>
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

  /** `records` plus a drop report record when any drop counter is not zero. */
  private _withDropReport(records: ReadableLogRecord[]): ReadableLogRecord[] {
    const counts = this.dropCounts();
    const first = records[0];
    if (first === undefined || totalDrops(counts) === 0) return records;
    const report = new PlainLogRecord({
      resource: first.resource,
      instrumentationScope: { name: DROP_REPORT_SCOPE },
      attributes: dropReportAttributes(counts),
    });
    return [...records, report];
  }

  /** A batch that must be sent again: into the spill while retrying, else back to the queue's front. */
  private _putBack(batch: ShippingBatch): void {
    if (this._blocked || this._spill.length > 0) {
      this._toSpill(batch);
    } else {
      this._sealed.unshift(batch);
      this._waiting += batch.records.length;
    }
  }

  private _toSpill(batch: ShippingBatch): void {
    const dropped = this._spill.add(batch);
    if (dropped.length === 0) return;
    let n = 0;
    for (const b of dropped) n += b.records.length;
    this._spillOverflow += n;
    this._unwarnedSpillDrops += n;
    const now = Date.now();
    if (now - this._lastSpillWarn >= 10_000) {
      diag.warn(
        `starlog ShippingProcessor: spill full (${this._spill.maxBytes} bytes); dropped the oldest ${this._unwarnedSpillDrops} record(s), counted in stats().spillOverflow`,
      );
      this._lastSpillWarn = now;
      this._unwarnedSpillDrops = 0;
    }
  }

  /** Moves every sealed batch from the queue into the spill (they are newer than the spill's). */
  private _spillSealed(): void {
    while (this._sealed.length > 0) {
      const b = this._sealed.shift() as ShippingBatch;
      this._waiting -= b.records.length;
      this._toSpill(b);
    }
  }

  private _scheduleRetry(): void {
    if (this._retryTimer !== undefined) return;
    const delay = backoffDelay(this._attempt++, this._retryBaseMs, this._retryMaxMs);
    this._retryTimer = setTimeout(() => {
      this._retryTimer = undefined;
      this._pump();
    }, delay);
    // a logging library does not keep its process alive; the exit hooks export what is left
    this._retryTimer.unref();
  }

  private _clearRetry(): void {
    if (this._retryTimer !== undefined) {
      clearTimeout(this._retryTimer);
      this._retryTimer = undefined;
    }
  }

  /** `shutdownTimeout` passed while retrying: count what is left as failed. */
  private _giveUp(): void {
    if (!this._blocked) return;
    this._clearRetry();
    let n = 0;
    for (const b of this._spill.takeAll()) n += b.records.length;
    for (const b of this._sealed) n += b.records.length;
    this._sealed.length = 0;
    if (this._open.records.length > 0) {
      n += this._open.records.length;
      this._open = { id: this._nextId++, records: [] };
    }
    this._waiting = 0;
    this._clearTimer();
    if (n > 0) {
      this._exportFailed += n;
      diag.error(
        `starlog ShippingProcessor: destination still unreachable after shutdownTimeout (${this._shutdownTimeoutMs} ms); ${n} records counted in stats().exportFailed`,
      );
    }
    this._settle();
  }

  private _seal(): void {
    const batch = this._open;
    this._open = { id: this._nextId++, records: [] };
    this._clearTimer();
    if (this._blocked) {
      this._waiting -= batch.records.length;
      this._toSpill(batch);
      this._settle();
    } else {
      this._sealed.push(batch);
    }
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
        for (;;) {
          if (this._blocked) {
            // retrying: one probe at a time, after the backoff
            if (this._retryTimer !== undefined || this._inFlight.size > 0) break;
            if (Date.now() >= this._finalDeadline) {
              this._giveUp();
              break;
            }
          } else if (this._inFlight.size >= this._maxConcurrent) {
            break;
          }
          let batch = this._spill.shift();
          if (batch === undefined) {
            batch = this._sealed.shift();
            if (batch === undefined) break;
            this._waiting -= batch.records.length;
          }
          this.send(batch);
        }
      } while (this._repump);
    } catch (err) {
      diag.error('starlog ShippingProcessor: export scheduling failed', err);
    } finally {
      this._pumping = false;
    }
  }

  /** id of the oldest batch that is neither exported nor dropped */
  private _lowestUnsettled(): number {
    let lowest = this._sealed.length > 0 ? (this._sealed[0] as ShippingBatch).id : this._open.id;
    const spilled = this._spill.firstId;
    if (spilled !== undefined && spilled < lowest) lowest = spilled;
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
