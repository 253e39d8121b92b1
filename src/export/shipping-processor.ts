import { threadId } from 'node:worker_threads';
import { type Context, diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type {
  LogRecordExporter,
  LogRecordProcessor,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  DROP_REPORT_SCOPE,
  dropReportAttributes,
  newDropReporter,
  totalDrops,
} from '../multiprocess/protocol/drop-report.ts';
import { lazyRecordBytes } from '../multiprocess/receiver/ingested-log-record.ts';
import { estimateRecordBytes, RECORD_FIXED_BYTES } from '../processors/lookback/record-size.ts';
import { PlainLogRecord } from '../util/plain-log-record.ts';
import { BatchQueue } from './batch-queue.ts';
import type { ShippingQueueOptions } from './shipping-stats.ts';
import type { QueuedBatch } from './spill.ts';

export type { ShippingQueueOptions, ShippingStats } from './shipping-stats.ts';

/** Options of {@link ShippingProcessor}. */
export interface ShippingProcessorOptions extends ShippingQueueOptions {
  /**
   * Where batches go: in the primary, a destination's exporter (JSON-lines file, pretty console,
   * the official OTLP exporter to a collector). Any sdk-logs `LogRecordExporter` works.
   * `shutdown()` shuts it down.
   */
  exporter: LogRecordExporter;
  /**
   * A synchronous writer for the same destination (the JSON-lines file: `exportSync`), or none.
   * With one, a full queue does not drop: the emitting thread writes the oldest sealed batches
   * with it (oldest first, each taken out of the queue before it is written, so nothing is written
   * twice) until the queue is at most half full, and `onEmit` returns once the record fits — a
   * tight loop gets a slower `emit()`, not drops (counted in `stats().syncFlushes`). Records the
   * writer reports as failed (disk full …) are counted in `exportFailed`, not retried. Not used
   * while a batch is in flight or spilled (the order would break): the record is then dropped and
   * counted in `queueFull` as without a writer. Must return promptly and never throw.
   */
  writeSync?: (records: ReadableLogRecord[]) => { exported: number; failed: number };
}

/** A batch of records, numbered in the order it was opened (`id` 0, 1, 2, ...). */
export type ShippingBatch = QueuedBatch<ReadableLogRecord[]>;

/**
 * A batching `LogRecordProcessor` in front of any `LogRecordExporter` (the primary puts one in
 * front of each destination). Unlike the SDK's `BatchLogRecordProcessor` it never drops
 * silently: every drop is counted by reason in {@link ShippingProcessor.stats}, and its queue and
 * spill can be taken out at process exit ({@link ShippingProcessor.takeAllPending}).
 * Children use {@link OtlpShippingProcessor} instead, which holds encoded bytes.
 *
 * Records collect in an open batch; the batch is sealed when it holds `maxExportBatchSize`
 * records (default 1,024), when `scheduledDelay` has passed since its first record, or on
 * `forceFlush()`. Sealed batches are exported in order, at most `maxConcurrentExports` at a time.
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
 * Queue and spill: the queue (`maxQueueSize` records, default 65,536, and `maxQueueBytes`
 * estimated heap bytes, default 64 MiB, see `estimateRecordBytes`) absorbs bursts while the
 * destination is reachable; when it is full the *newest* record is refused (`queueFull`). The
 * spill (`maxSpillBytes` estimated bytes, default 32 MiB) holds what could not be sent while the
 * destination is unreachable or busy; when it is full the *oldest* batch is dropped
 * (`spillOverflow`). A batch is sealed at `maxExportBatchBytes` (default 4 MiB) too, so the
 * exports in flight hold at most `maxConcurrentExports` × 4 MiB. The worst case in memory is about
 * `maxQueueBytes + maxSpillBytes + maxConcurrentExports × maxExportBatchBytes` (104 MiB).
 */
export class ShippingProcessor
  extends BatchQueue<ReadableLogRecord[]>
  implements LogRecordProcessor
{
  private readonly _exporter: LogRecordExporter;
  private readonly _writeSync: ShippingProcessorOptions['writeSync'];
  private _open: ReadableLogRecord[] = [];
  private _openBytes = 0;
  /** this processor's name in its drop reports (see `DROP_REPORTER_KEY`) */
  private readonly _reporter = newDropReporter(threadId);

  constructor(options: ShippingProcessorOptions) {
    if (!options || typeof options.exporter?.export !== 'function') {
      throw new TypeError(
        'starlog: ShippingProcessor needs options.exporter (a LogRecordExporter)',
      );
    }
    super(options, {
      maxQueueSize: 65_536,
      maxQueueBytes: 64 * 1024 * 1024,
      maxExportBatchSize: 1024,
      // bounds what is in flight too (2 exports): 100 KB records make 100 MB batches of 1,024
      maxExportBatchBytes: 4 * 1024 * 1024,
      retryTimeouts: false,
      timeoutGraceMs: 0,
    });
    this._exporter = options.exporter;
    this._writeSync = options.writeSync;
  }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    try {
      const lazy = lazyRecordBytes(record); // a received record still as bytes: not decoded
      const bytes = lazy >= 0 ? RECORD_FIXED_BYTES + lazy : estimateRecordBytes(record);
      if (!this._admit(bytes)) return;
      this._open.push(record);
      this._openBytes += bytes;
      this._appended(bytes, this._open.length, this._openBytes);
    } catch (err) {
      diag.error('starlog ShippingProcessor: onEmit failed', err);
    }
  }

  /**
   * Takes every record out of the processor, in flight and spilled first (oldest first), then
   * waiting; see `takeAllBatches()`. The caller must report the outcome with
   * {@link ShippingProcessor.countExitResult}.
   */
  takeAllPending(): ReadableLogRecord[] {
    const out: ReadableLogRecord[] = [];
    for (const b of this.takeAllBatches()) for (const r of b.data) out.push(r);
    return out;
  }

  protected _openCount(): number {
    return this._open.length;
  }

  protected _takeOpen(): { data: ReadableLogRecord[]; count: number; bytes: number } {
    const data = this._open;
    const bytes = this._openBytes;
    this._open = [];
    this._openBytes = 0;
    return { data, count: data.length, bytes };
  }

  protected _split(batch: ShippingBatch): [ShippingBatch, ShippingBatch] {
    const half = batch.count >> 1;
    const a = batch.data.slice(0, half);
    const b = batch.data.slice(half);
    const bytesA = Math.round((batch.bytes * a.length) / batch.count);
    return [
      { id: batch.id, count: a.length, bytes: bytesA, data: a },
      { id: batch.id, count: b.length, bytes: batch.bytes - bytesA, data: b },
    ];
  }

  protected _export(batch: ShippingBatch, done: (ok: boolean, error?: unknown) => void): void {
    const records = this._reportDrops ? this._withDropReport(batch.data) : batch.data;
    const exportNow = (): void => {
      try {
        this._exporter.export(records, (result) =>
          done(result.code === ExportResultCode.SUCCESS, result.error),
        );
      } catch (err) {
        done(false, err);
      }
    };
    const pendingResources = resourcesPending(batch.data);
    if (pendingResources === undefined) exportNow();
    else Promise.all(pendingResources).then(exportNow, (err: unknown) => done(false, err));
  }

  protected _shutdownExporter(): Promise<void> {
    return this._exporter.shutdown();
  }

  /**
   * The queue is full: with a `writeSync`, writes the oldest sealed batches now until the queue
   * is at most half full (records and bytes). Returns whether the record of `bytes` now fits.
   */
  protected override _relieve(_count: number, bytes: number): boolean {
    const write = this._writeSync;
    if (write === undefined || this._blocked || !this._nothingAhead()) return false;
    if (this._openCount() > 0) this._seal(false);
    const maxRecords = this._maxQueueSize >> 1;
    const maxBytes = this._maxQueueBytes / 2;
    let wrote = false;
    while (this._waiting > maxRecords || this._waitingBytes > maxBytes) {
      const [batch] = this._takeSealed(1);
      if (batch === undefined) break;
      wrote = true;
      const records = this._reportDrops ? this._withDropReport(batch.data) : batch.data;
      let exported = 0;
      try {
        exported = Math.min(batch.count, write(records).exported);
      } catch (err) {
        diag.error('starlog ShippingProcessor: synchronous write failed', err);
      }
      this._exported += exported;
      if (exported < batch.count) {
        this._exportFailed += batch.count - exported;
        diag.warn(
          `starlog ShippingProcessor: ${batch.count - exported} records not written; counted in stats().exportFailed`,
        );
      }
    }
    if (!wrote) return false;
    this._syncFlushes++;
    this._settled();
    return this._waiting < this._maxQueueSize && this._waitingBytes + bytes <= this._maxQueueBytes;
  }

  /** `records` plus a drop report record when any drop counter is not zero. */
  private _withDropReport(records: ReadableLogRecord[]): ReadableLogRecord[] {
    const counts = this.dropCounts();
    const first = records[0];
    if (first === undefined || totalDrops(counts) === 0) return records;
    const report = new PlainLogRecord({
      resource: first.resource,
      instrumentationScope: { name: DROP_REPORT_SCOPE },
      attributes: dropReportAttributes(counts, this._reporter),
    });
    return [...records, report];
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
