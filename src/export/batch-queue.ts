/**
 * The batching queue shared by starlog's shipping processors: batches, the queue bounded in
 * records and bytes, exports in order with bounded concurrency, retries with backoff, the spill,
 * drop counting, flush waiters and the bounded shutdown. What a batch holds (record objects or
 * encoded OTLP bytes) and how it is exported is the subclass's business.
 *
 * Over 450 lines on purpose: one state machine (open batch, queue, spill, in flight, retry and
 * busy timers, flush waiters, shutdown deadline) whose invariant
 * (`queued = exported + dropped + pending`) every method keeps, with the `onEmit` hot path
 * (`_admit`, `_appended`) in it; split, its parts would share all of that state.
 *
 * @module
 */
import { type Context, context, diag } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import type { DropCounts } from '../multiprocess/protocol/drop-report.ts';
import { parseDuration } from '../util/duration.ts';
import {
  backoffDelay,
  classifyExportError,
  type ExportErrorKind,
  isBackpressure,
} from './retry.ts';
import {
  byteCount,
  positiveInt,
  type ShippingQueueOptions,
  type ShippingStats,
} from './shipping-stats.ts';
import { type QueuedBatch, Spill } from './spill.ts';

/** Extra time `shutdown()` gives the exporter's own shutdown beyond `shutdownTimeout`, ms. */
const SHUTDOWN_EXPORTER_MARGIN_MS = 100;

interface FlushWaiter {
  /** resolves when every batch with `id <= upTo` is settled */
  upTo: number;
  resolve: () => void;
  /** whether the process is kept alive for this waiter while exports are in flight */
  holds: boolean;
}

/** Defaults a subclass chooses. */
export interface BatchQueueDefaults {
  maxQueueSize: number;
  maxQueueBytes: number;
  maxExportBatchSize: number;
  maxExportBatchBytes: number;
  /** whether a timed-out export is retried (true) or counted in `exportFailed` (false) */
  retryTimeouts: boolean;
  /** extra ms our own export timer waits beyond `exportTimeout` (the exporter's own deadline goes first) */
  timeoutGraceMs: number;
}

/**
 * The queue behind `ShippingProcessor` and `OtlpShippingProcessor`; see those for the behaviour
 * users see. Records collect in an open batch (the subclass's), sealed when it holds
 * `maxExportBatchSize` records or `maxExportBatchBytes` bytes, when `scheduledDelay` has passed
 * since its first record, or on `forceFlush()`. Sealed batches are exported in order, at most
 * `maxConcurrentExports` at a time, from a microtask (never from `onEmit`).
 */
export abstract class BatchQueue<T> {
  protected readonly _maxQueueSize: number;
  protected readonly _maxQueueBytes: number;
  protected readonly _batchSize: number;
  protected readonly _batchBytes: number;
  protected readonly _timeoutMs: number;
  protected readonly _shutdownTimeoutMs: number;
  protected readonly _reportDrops: boolean;
  private readonly _delayMs: number;
  private readonly _maxConcurrent: number;
  private readonly _retryBaseMs: number;
  private readonly _retryMaxMs: number;
  private readonly _retryTimeouts: boolean;
  private readonly _graceMs: number;

  /** id of the open batch */
  protected _openId = 0;
  protected readonly _sealed: QueuedBatch<T>[] = [];
  protected readonly _spill: Spill<QueuedBatch<T>>;
  /** records and bytes in the open batch and `_sealed` */
  protected _waiting = 0;
  protected _waitingBytes = 0;
  private readonly _inFlight = new Set<QueuedBatch<T>>();
  private _inFlightRecords = 0;
  private _waiters: FlushWaiter[] = [];
  /** a ref'd timer: keeps the process alive while a flush waits for exports in flight */
  private _hold: NodeJS.Timeout | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private _pumpScheduled = false;
  private _pumping = false;
  private _repump = false;
  protected _shutdownPromise: Promise<void> | undefined;
  /** retrying: a retryable failure and no success since */
  protected _blocked = false;
  private _attempt = 0;
  private _retryTimer: NodeJS.Timeout | undefined;
  /** the receiver said it is busy: nothing is sent before this time (ms since the epoch) */
  private _busyUntil = 0;
  private _busyAttempt = 0;
  private _busyTimer: NodeJS.Timeout | undefined;
  /** when the last export succeeded (ms since the epoch) */
  private _lastProgress = 0;
  /** since when exports have been in flight without any answer (ms since the epoch), if they are */
  private _unansweredSince: number | undefined;
  /** after shutdown(): when retries stop */
  protected _finalDeadline = Number.POSITIVE_INFINITY;
  private _finalTimer: NodeJS.Timeout | undefined;
  private _lastSpillWarn = 0;
  private _unwarnedSpillDrops = 0;

  protected _queued = 0;
  protected _exported = 0;
  protected _queueFull = 0;
  protected _exportFailed = 0;
  protected _exportRejected = 0;
  protected _spillOverflow = 0;
  protected _afterShutdown = 0;
  protected _syncFlushes = 0;
  private _splits = 0;
  private _retries = 0;

  constructor(options: ShippingQueueOptions, defaults: BatchQueueDefaults) {
    this._maxQueueSize = positiveInt(options.maxQueueSize, defaults.maxQueueSize, 'maxQueueSize');
    this._maxQueueBytes = positiveInt(
      options.maxQueueBytes,
      defaults.maxQueueBytes,
      'maxQueueBytes',
    );
    this._batchSize = positiveInt(
      options.maxExportBatchSize,
      defaults.maxExportBatchSize,
      'maxExportBatchSize',
    );
    this._batchBytes = positiveInt(
      options.maxExportBatchBytes,
      defaults.maxExportBatchBytes,
      'maxExportBatchBytes',
    );
    this._maxConcurrent = positiveInt(options.maxConcurrentExports, 2, 'maxConcurrentExports');
    this._delayMs = parseDuration(options.scheduledDelay ?? 200, 'scheduledDelay', true);
    this._timeoutMs = parseDuration(options.exportTimeout ?? 30_000, 'exportTimeout');
    this._retryBaseMs = parseDuration(options.retryBaseDelay ?? 100, 'retryBaseDelay');
    this._retryMaxMs = parseDuration(options.retryMaxDelay ?? 5000, 'retryMaxDelay');
    this._shutdownTimeoutMs = parseDuration(
      options.shutdownTimeout ?? 5000,
      'shutdownTimeout',
      true,
    );
    this._spill = new Spill(byteCount(options.maxSpillBytes, 32 * 1024 * 1024, 'maxSpillBytes'));
    this._reportDrops = options.reportDrops === true;
    this._retryTimeouts = defaults.retryTimeouts;
    this._graceMs = defaults.timeoutGraceMs;
  }

  // ---- what a subclass provides ----------------------------------------------------------------

  /** Records in the open batch. */
  protected abstract _openCount(): number;
  /** Takes the open batch's content out (a new open batch starts empty). */
  protected abstract _takeOpen(): { data: T; count: number; bytes: number };
  /** Exports a batch; calls `done` once (late or repeated calls are ignored). May throw. */
  protected abstract _export(
    batch: QueuedBatch<T>,
    done: (ok: boolean, error?: unknown) => void,
  ): void;
  /** Two halves of a batch the peer found too large, or undefined when it cannot be split. */
  protected abstract _split(batch: QueuedBatch<T>): [QueuedBatch<T>, QueuedBatch<T>] | undefined;
  /** Shuts the exporter down (after the last flush). */
  protected abstract _shutdownExporter(): Promise<void>;
  /** Called when a record does not fit: may free room (synchronously); returns whether it did. */
  protected _relieve(_count: number, _bytes: number): boolean {
    return false;
  }

  // ---- onEmit helpers --------------------------------------------------------------------------

  /**
   * Whether a record of `bytes` may enter the open batch now; counts it in `afterShutdown` or
   * `queueFull` when not.
   */
  protected _admit(bytes: number): boolean {
    if (this._shutdownPromise !== undefined) {
      this._afterShutdown++;
      return false;
    }
    if (
      (this._waiting >= this._maxQueueSize || this._waitingBytes + bytes > this._maxQueueBytes) &&
      !this._relieve(1, bytes)
    ) {
      if (this._queueFull++ === 0) {
        diag.warn(
          `starlog shipping: queue full (${this._maxQueueSize} records or ${this._maxQueueBytes} bytes); dropping records, counted in stats().queueFull`,
        );
      }
      return false;
    }
    return true;
  }

  /** Accounts a record just added to the open batch (`bytes` as the subclass counts them). */
  protected _appended(bytes: number, openCount: number, openBytes: number): void {
    this._waiting++;
    this._waitingBytes += bytes;
    this._queued++;
    if (openCount >= this._batchSize || openBytes >= this._batchBytes) {
      this._seal();
      this._schedulePump();
    } else if (openCount === 1 && this._timer === undefined) {
      this._startTimer();
    }
  }

  // ---- public API (the subclasses' LogRecordProcessor methods) ---------------------------------

  /** See the subclasses. */
  abstract onEmit(record: ReadWriteLogRecord, context?: Context): void;

  /**
   * Resolves when every record queued before the call has been exported or counted as dropped.
   * While the destination is unreachable that takes until it is back (or, after `shutdown()`,
   * until `shutdownTimeout`). Never rejects.
   */
  forceFlush(): Promise<void> {
    if (this._openCount() > 0) this._seal();
    const upTo = this._openId - 1;
    if (this._lowestUnsettled() > upTo) return Promise.resolve();
    const promise = new Promise<void>((resolve) =>
      this._waiters.push({ upTo, resolve, holds: true }),
    );
    this._schedulePump();
    return promise;
  }

  /**
   * Like `forceFlush()`, but the process is kept alive for it (a ref'd timer) at most `ms`
   * *without progress* (while exports keep succeeding the bound runs from the last success), and
   * the exports in flight do not keep it alive longer: for a flush when the event loop ran dry
   * (`beforeExit`), which must not wait for the deadline of an export to a hung destination.
   * Resolves `true` when every record queued before the call is exported or counted as dropped,
   * `false` when the bound passed first (the records stay queued). Never rejects.
   */
  flushWithin(ms: number): Promise<boolean> {
    if (this._openCount() > 0) this._seal();
    const upTo = this._openId - 1;
    if (this._lowestUnsettled() > upTo) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter: FlushWaiter = {
        upTo,
        holds: false,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const start = Date.now();
      const onTimer = (): void => {
        const sinceProgress = Date.now() - Math.max(start, this._lastProgress);
        if (sinceProgress < ms) {
          // still delivering: the bound runs from the last success
          timer = setTimeout(onTimer, ms - sinceProgress);
          return;
        }
        this._waiters = this._waiters.filter((w) => w !== waiter);
        resolve(false);
      };
      let timer = setTimeout(onTimer, ms);
      this._waiters.push(waiter);
      this._schedulePump();
    });
  }

  /**
   * Flushes, then shuts the exporter down; bounded by `shutdownTimeout` without progress (while
   * exports keep succeeding, the bound runs from the last success): then retries stop, and what
   * is still queued, spilled or in flight is counted in `exportFailed` (a late acknowledgement
   * is ignored). Records emitted afterwards are dropped and counted in `stats().afterShutdown`.
   * Idempotent; never rejects.
   */
  shutdown(): Promise<void> {
    if (this._shutdownPromise === undefined) {
      const start = Date.now();
      this._finalDeadline = start + this._shutdownTimeoutMs;
      const onDeadline = (): void => {
        const sinceProgress = Date.now() - this._lastProgress;
        if (this._lastProgress >= start && sinceProgress < this._shutdownTimeoutMs) {
          // still delivering: the bound runs from the last success
          const wait = this._shutdownTimeoutMs - sinceProgress;
          this._finalDeadline = Date.now() + wait;
          this._finalTimer = setTimeout(onDeadline, wait);
          return;
        }
        this._giveUp(true);
      };
      this._finalTimer = setTimeout(onDeadline, this._shutdownTimeoutMs);
      this._shutdownPromise = this.forceFlush()
        .then(() => {
          clearTimeout(this._finalTimer);
          return this._shutdownExporterWithin(
            Math.max(0, this._finalDeadline - Date.now()) + SHUTDOWN_EXPORTER_MARGIN_MS,
          );
        })
        .catch((err: unknown) => diag.error('starlog shipping: exporter shutdown failed', err));
    }
    return this._shutdownPromise;
  }

  /**
   * The exporter's shutdown, waited for at most `ms` (exports abandoned at the deadline may still
   * be open in the exporter: they end at their own deadline without keeping the process alive).
   */
  private _shutdownExporterWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        diag.warn(
          `starlog shipping: the exporter did not shut down within shutdownTimeout (${this._shutdownTimeoutMs} ms); not waiting for it`,
        );
        resolve();
      }, ms);
    });
    return Promise.race([this._shutdownExporter(), late]).finally(() => clearTimeout(timer));
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
      queueBytes: this._waitingBytes,
      inFlight: this._inFlightRecords,
      spilled: this._spill.records,
      spillBytes: this._spill.bytes,
      retries: this._retries,
      retrying: this._blocked,
      splitBatches: this._splits,
      syncFlushes: this._syncFlushes,
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
   * How full the processor is, from 0 to 1: the largest of queue records / `maxQueueSize`,
   * queue bytes / `maxQueueBytes` and spill bytes / `maxSpillBytes`. The primary's receiver
   * answers RESOURCE_EXHAUSTED (backpressure) while a destination is nearly full.
   */
  get fill(): number {
    const q = Math.max(
      this._waiting / this._maxQueueSize,
      this._waitingBytes / this._maxQueueBytes,
    );
    const max = this._spill.maxBytes;
    const s = max > 0 ? this._spill.bytes / max : 0;
    return Math.max(q, s);
  }

  /**
   * Takes every batch out of the processor, in flight and spilled first (oldest first), then
   * waiting: for a last synchronous export when the process is going. The caller reports the
   * outcome with {@link BatchQueue.countExitResult}. A late acknowledgement of a batch taken
   * while in flight is ignored; such records may reach the receiver twice. Retrying stops.
   */
  takeAllBatches(): QueuedBatch<T>[] {
    if (this._openCount() > 0) this._seal(false);
    const out = [...this._inFlight, ...this._spill.takeAll()].sort((a, b) => a.id - b.id);
    for (const b of this._sealed) out.push(b);
    this._inFlight.clear();
    this._inFlightRecords = 0;
    this._sealed.length = 0;
    this._waiting = 0;
    this._waitingBytes = 0;
    this._clearTimer();
    this._clearRetry();
    this._settle();
    return out;
  }

  /** Counts the outcome of a synchronous export of records taken with `takeAllBatches()`. */
  countExitResult(exported: number, failed: number): void {
    this._exported += exported;
    this._exportFailed += failed;
  }

  // ---- sending ---------------------------------------------------------------------------------

  /**
   * Sends one batch and handles the outcome: success, retry (the batch goes back to the spill
   * and the processor waits for a backoff), split in two, or counted as rejected/failed.
   */
  protected send(batch: QueuedBatch<T>): void {
    const n = batch.count;
    if (this._inFlight.size === 0) this._unansweredSince = Date.now();
    this._inFlight.add(batch);
    this._inFlightRecords += n;
    this._updateHold();
    let done = false;
    const finish = (ok: boolean, error?: unknown, timedOut = false): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // any answer (even a failure) shows the destination alive
      this._unansweredSince = this._inFlight.size > 1 ? Date.now() : undefined;
      // taken out by takeAllBatches() or given up at shutdown: counted there
      if (!this._inFlight.delete(batch)) return;
      this._inFlightRecords -= n;
      if (ok) {
        this._exported += n;
        this._busyAttempt = 0;
        this._lastProgress = Date.now();
        if (this._blocked && this._retryTimer === undefined) {
          // the probe went through: the destination is back; drain the spill in order
          this._blocked = false;
          this._attempt = 0;
          diag.info('starlog shipping: destination reachable again; draining the spill');
        }
      } else {
        const kind: ExportErrorKind = timedOut
          ? this._retryTimeouts
            ? 'retry'
            : 'fail'
          : classifyExportError(error);
        this._failed(batch, kind, error);
      }
      this._settle();
      this._schedulePump();
    };
    const timer = setTimeout(
      () => finish(false, new Error(`export timed out after ${this._timeoutMs} ms`), true),
      this._timeoutMs + this._graceMs,
    );
    timer.unref();
    try {
      context.with(suppressTracing(context.active()), () => this._export(batch, finish));
    } catch (err) {
      finish(false, err);
    }
  }

  private _failed(batch: QueuedBatch<T>, kind: ExportErrorKind, error: unknown): void {
    const n = batch.count;
    const halves = kind === 'split' && n > 1 ? this._split(batch) : undefined;
    if (
      kind === 'retry' &&
      !this._blocked &&
      isBackpressure(error) &&
      Date.now() < this._finalDeadline
    ) {
      // the primary is alive but its destinations are behind: keep the batch at the front of the
      // queue (the queue's bound, and with it the application's backpressure, still applies) and
      // send again shortly, without the outage's backoff and spill
      this._retries++;
      this._putBack(batch);
      this._busy();
    } else if (halves !== undefined) {
      // the peer's message size limit (grpc-js: 4 MiB by default): send it in two halves
      this._putBack(halves[0]);
      this._putBack(halves[1]);
      this._splits++;
    } else if (kind === 'retry' && Date.now() < this._finalDeadline) {
      this._retries++;
      if (!this._blocked) {
        this._blocked = true;
        diag.warn(
          'starlog shipping: destination unreachable or busy; retrying with backoff, spilling meanwhile',
          error,
        );
        this._spillSealed();
      }
      this._toSpill(batch);
      this._scheduleRetry();
    } else if (kind === 'reject' || kind === 'split') {
      this._exportRejected += n;
      diag.warn(
        `starlog shipping: the destination refused ${n} records; counted in stats().exportRejected`,
        error,
      );
    } else {
      this._exportFailed += n;
      diag.warn(
        `starlog shipping: export of ${n} records failed; counted in stats().exportFailed`,
        error,
      );
    }
  }

  /** A batch that must be sent again: into the spill while retrying, else back to the queue's front. */
  private _putBack(batch: QueuedBatch<T>): void {
    if (this._blocked || this._spill.length > 0) {
      this._toSpill(batch);
    } else {
      this._sealed.unshift(batch);
      this._waiting += batch.count;
      this._waitingBytes += batch.bytes;
    }
  }

  private _toSpill(batch: QueuedBatch<T>): void {
    const dropped = this._spill.add(batch);
    if (dropped.length === 0) return;
    let n = 0;
    for (const b of dropped) n += b.count;
    this._spillOverflow += n;
    this._unwarnedSpillDrops += n;
    const now = Date.now();
    if (now - this._lastSpillWarn >= 10_000) {
      diag.warn(
        `starlog shipping: spill full (${this._spill.maxBytes} bytes); dropped the oldest ${this._unwarnedSpillDrops} record(s), counted in stats().spillOverflow`,
      );
      this._lastSpillWarn = now;
      this._unwarnedSpillDrops = 0;
    }
  }

  /** Moves every sealed batch from the queue into the spill (they are newer than the spill's). */
  private _spillSealed(): void {
    while (this._sealed.length > 0) {
      const b = this._sealed.shift() as QueuedBatch<T>;
      this._waiting -= b.count;
      this._waitingBytes -= b.bytes;
      this._toSpill(b);
    }
  }

  private _busy(): void {
    const delay = 5 + backoffDelay(this._busyAttempt++, 20, 500);
    this._busyUntil = Math.max(this._busyUntil, Date.now() + delay);
    if (this._busyTimer !== undefined) return;
    this._busyTimer = setTimeout(() => {
      this._busyTimer = undefined;
      this._pump();
    }, delay);
    this._busyTimer.unref();
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

  /**
   * Retries stop: what is queued or spilled (and, when `inFlightToo`, in flight: the
   * `shutdownTimeout` passed) is counted in `exportFailed`.
   */
  private _giveUp(inFlightToo = false): void {
    if (!this._blocked && !inFlightToo) return;
    this._clearRetry();
    if (this._openCount() > 0) this._seal(false);
    let n = 0;
    const spill = this._spill;
    // a batch sent before may have arrived: its id goes into the next drop report (spill.ts)
    for (const b of spill.takeAll()) {
      n += b.count;
      spill.noteDropped(b, 'exportFailed');
    }
    for (const b of this._sealed) {
      n += b.count;
      spill.noteDropped(b, 'exportFailed');
    }
    this._sealed.length = 0;
    this._waiting = 0;
    this._waitingBytes = 0;
    if (inFlightToo) {
      n += this._inFlightRecords;
      for (const b of this._inFlight) spill.noteDropped(b, 'exportFailed');
      this._inFlight.clear();
      this._inFlightRecords = 0;
    }
    this._clearTimer();
    if (n > 0) {
      this._exportFailed += n;
      diag.error(
        `starlog shipping: not delivered within shutdownTimeout (${this._shutdownTimeoutMs} ms); ${n} records counted in stats().exportFailed`,
      );
    }
    this._settle();
  }

  /** Seals the open batch (to the spill while retrying, unless `toSpill` is false). */
  protected _seal(toSpill = true): void {
    const { data, count, bytes } = this._takeOpen();
    const batch: QueuedBatch<T> = { id: this._openId++, count, bytes, data };
    this._clearTimer();
    if (this._blocked && toSpill) {
      this._waiting -= count;
      this._waitingBytes -= bytes;
      this._toSpill(batch);
      this._settle();
    } else {
      this._sealed.push(batch);
    }
  }

  private _startTimer(): void {
    this._timer = setTimeout(() => {
      this._timer = undefined;
      if (this._openCount() > 0) {
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

  protected _schedulePump(): void {
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
          } else if (this._busyUntil > Date.now()) {
            if (this._busyTimer === undefined) this._busy();
            break;
          }
          let batch = this._spill.shift();
          if (batch === undefined) {
            batch = this._sealed.shift();
            if (batch === undefined) break;
            this._waiting -= batch.count;
            this._waitingBytes -= batch.bytes;
          }
          this.send(batch);
        }
      } while (this._repump);
    } catch (err) {
      diag.error('starlog shipping: export scheduling failed', err);
    } finally {
      this._pumping = false;
    }
  }

  /**
   * How long exports have been in flight without any answer, ms (0 when none is in flight): a
   * hung destination (its socket accepts, nothing answers) until their deadline.
   */
  protected _unansweredMs(): number {
    return this._unansweredSince === undefined ? 0 : Date.now() - this._unansweredSince;
  }

  /** Takes the oldest sealed batches (not spilled, not in flight) out of the queue, up to `records`. */
  protected _takeSealed(records: number): QueuedBatch<T>[] {
    const out: QueuedBatch<T>[] = [];
    let n = 0;
    while (n < records && this._sealed.length > 0) {
      const b = this._sealed.shift() as QueuedBatch<T>;
      this._waiting -= b.count;
      this._waitingBytes -= b.bytes;
      n += b.count;
      out.push(b);
    }
    return out;
  }

  /** Whether nothing is in flight or spilled (so the oldest sealed batch is the oldest unsettled). */
  protected _nothingAhead(): boolean {
    return this._inFlight.size === 0 && this._spill.length === 0;
  }

  /** Call after batches taken with `_takeSealed` were settled elsewhere. */
  protected _settled(): void {
    this._settle();
  }

  /** id of the oldest batch that is neither exported nor dropped */
  private _lowestUnsettled(): number {
    let lowest = this._sealed.length > 0 ? (this._sealed[0] as QueuedBatch<T>).id : this._openId;
    const spilled = this._spill.firstId;
    if (spilled !== undefined && spilled < lowest) lowest = spilled;
    for (const b of this._inFlight) if (b.id < lowest) lowest = b.id;
    return lowest;
  }

  private _settle(): void {
    if (this._waiters.length > 0) {
      const lowest = this._lowestUnsettled();
      const still: FlushWaiter[] = [];
      for (const w of this._waiters) {
        if (w.upTo < lowest) w.resolve();
        else still.push(w);
      }
      this._waiters = still;
    }
    this._updateHold();
  }

  /**
   * Exports do not keep the process alive by themselves (a child's transport unrefs its calls,
   * see `unref-grpc-transport.ts`); a `forceFlush()` or `shutdown()` waiting for exports in
   * flight does, as an awaited call should (bounded by the exports' deadline, and by
   * `shutdownTimeout` after `shutdown()`).
   */
  private _updateHold(): void {
    const want = this._inFlight.size > 0 && this._waiters.some((w) => w.holds);
    if (want && this._hold === undefined) {
      this._hold = setInterval(() => {}, 1 << 30);
    } else if (!want && this._hold !== undefined) {
      clearInterval(this._hold);
      this._hold = undefined;
    }
  }
}
