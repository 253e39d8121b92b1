import { threadId } from 'node:worker_threads';
import { type Context, diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import type { SyncExporter } from '../multiprocess/child/sync-export.ts';
import {
  DROP_REPORT_SCOPE,
  type DropCounts,
  type DroppedBatchId,
  dropReportAttributes,
  newDropReporter,
  totalDrops,
} from '../multiprocess/protocol/drop-report.ts';
import { encodeLogsRequest, LogsRequestBuilder, writerPool } from '../otlp/logs-encoder.ts';
import { splitLogsRequest } from '../otlp/request-split.ts';
import { PlainLogRecord } from '../util/plain-log-record.ts';
import { BatchQueue } from './batch-queue.ts';
import { DroppedBatches } from './dropped-batches.ts';
import { Offloader } from './offloader.ts';
import type { EncodedLogsExporter, EncodedLogsRequest } from './otlp-bytes-exporter.ts';
import type { ShippingQueueOptions, ShippingStats } from './shipping-stats.ts';
import type { QueuedBatch } from './spill.ts';

/** Options of {@link OtlpShippingProcessor}. */
export interface OtlpShippingProcessorOptions extends ShippingQueueOptions {
  /**
   * Where encoded requests go: in a child, the official OTLP/gRPC export delegate pointed at the
   * primary's receiver (`createPrimaryBytesExporter`). `shutdown()` shuts it down.
   */
  exporter: EncodedLogsExporter;
  /**
   * Backpressure: when a record does not fit in the queue, the emitting thread sends the oldest
   * queued batches through this synchronous exporter (blocking until the receiver acknowledged
   * them, at most its `timeoutMs`), so that a producer faster than the primary is slowed down
   * instead of losing records. Without it (or while it fails) the record is dropped and counted
   * in `stats().queueFull`. Default: none.
   */
  syncExporter?: SyncExporter;
  /**
   * The primary's hand-off directory (`STARLOG_HANDOFF_DIR`, same machine): with `syncExporter`,
   * batches offloaded while the application does not yield are written there as hand-off files
   * (`handoff-offload.ts`: synchronous, no worker thread) instead of sent by the worker thread,
   * and count as exported once the primary has ingested and deleted them. Default: none (the
   * worker thread).
   */
  handoffDir?: string;
  /** The primary's pid (`STARLOG_PRIMARY_PID`): the offloaded files are addressed to it. */
  handoffTo?: number;
}

/** An encoded batch: its request bytes, or the builder while a resource is still resolving. */
export type EncodedBatchData = Buffer | LogsRequestBuilder;

/**
 * How much earlier than its gRPC deadline a request's stamped deadline is (`BATCH_DEADLINE_KEY`),
 * ms, at most a quarter of `exportTimeout`: the receiver's answer must still reach the child.
 */
const DEADLINE_MARGIN_MS = 1000;

/** How long the synchronous flush rests after it failed (the primary is gone or hung), ms. */
const SYNC_FLUSH_REST_MS = 1000;
/** Longest rest after failed synchronous flushes in a row (the rest doubles per failure), ms. */
const SYNC_FLUSH_MAX_REST_MS = 30_000;
/**
 * The child's shipping processor: each record becomes OTLP protobuf bytes once, in `onEmit`
 * (`LogsRequestBuilder`, byte-identical to the official `ProtobufLogsSerializer`), and the
 * queue, the spill and the retries hold those bytes, not record objects (the garbage collector
 * has nothing to promote). Batches of up to `maxExportBatchSize` records (default 4,096) or
 * `maxExportBatchBytes` (default 1 MiB) go out through the official OTLP/gRPC export delegate.
 *
 * Bounds (defaults): the queue holds `maxQueueBytes` encoded bytes (32 MiB) or `maxQueueSize`
 * records (1,048,576); the spill `maxSpillBytes` (32 MiB). Retries, backoff, splitting and
 * drop counting are those of `ShippingProcessor`, except that a timed-out export is retried
 * (the receiver drops a batch it already ingested; the gRPC deadline `exportTimeout` comes
 * first, our own timer 5 s later).
 *
 * Nothing is dropped while the primary is merely slower than the producer: when the queue is
 * full, `onEmit` sends the oldest queued batches synchronously (`syncExporter`) until the queue
 * is half empty, and the application feels a slower `emit()` only then. Records are dropped
 * (`queueFull`) only when that fails too (the primary is gone or hung; the synchronous flush
 * then rests for a second before it is tried again).
 *
 * An application that logs in one long synchronous stretch (a loop, a large handler) never lets
 * the event loop run the exports: when a second batch is sealed before the event loop turned,
 * the oldest sealed batches are handed to the synchronous exporter's worker thread, which sends
 * them while the application goes on (at most 4 unanswered; their answers are read at the next
 * seal or when the event loop turns). With the primary's hand-off directory (`handoffDir`, same
 * machine) they are written there as hand-off files instead, synchronously and without a thread,
 * and count as exported once the primary has ingested and deleted them (`handoff-offload.ts`; at
 * most 4 outstanding). The primary then works while the children still emit, instead of after
 * them. With that directory, what is left at `shutdown()` goes as hand-off files too (unless the
 * primary was found unreachable): a short-lived process does not open its gRPC connection, and
 * pay for it, for its last batches. When and how batches are offloaded is the business of its {@link Offloader}
 * (`offloader.ts`); what each offloaded request holds (its drop report, its deadline) is this
 * class's.
 */
export class OtlpShippingProcessor
  extends BatchQueue<EncodedBatchData>
  implements LogRecordProcessor
{
  private readonly _exporter: EncodedLogsExporter;
  private readonly _sync: SyncExporter | undefined;
  private readonly _pool = writerPool(8, 64 * 1024);
  private _builder = new LogsRequestBuilder(this._pool);
  private _syncRestUntil = 0;
  /** synchronous flushes failed in a row */
  private _syncFailures = 0;
  /** offloads sealed batches while the application does not yield (see the class comment) */
  private readonly _offloader: Offloader<EncodedBatchData>;
  /** this processor's name in its drop reports (see `DROP_REPORTER_KEY`) */
  private readonly _reporter = newDropReporter(threadId);
  /** dropped batches that may have reached the receiver, named in drop reports until answered */
  private readonly _droppedIds = new DroppedBatches();

  constructor(options: OtlpShippingProcessorOptions) {
    if (!options || typeof options.exporter?.export !== 'function') {
      throw new TypeError(
        'starlog: OtlpShippingProcessor needs options.exporter (an exporter of encoded requests)',
      );
    }
    super(options, {
      maxQueueSize: 1_048_576,
      maxQueueBytes: 32 * 1024 * 1024,
      maxExportBatchSize: 4096,
      maxExportBatchBytes: 1024 * 1024,
      retryTimeouts: true,
      timeoutGraceMs: 5000,
    });
    this._exporter = options.exporter;
    this._sync = options.syncExporter;
    this._offloader = new Offloader(
      {
        sealed: this._sealed,
        paused: () => this._blocked || this._shutdownPromise !== undefined,
        takeSealed: (records) => this._takeSealed(records),
        send: (batch) => this.send(batch),
      },
      options.syncExporter,
      options.handoffDir,
      options.handoffTo,
    );
  }

  /** See {@link ShippingStats}; with `offloaded`, `offloadWaits` and `offloadWaitMs`. */
  override stats(): ShippingStats {
    const s = super.stats();
    this._offloader.addStats(s);
    return s;
  }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    try {
      if (!this._admit(0)) return;
      const b = this._builder;
      const before = b.bytes;
      try {
        b.add(record);
      } catch (err) {
        this._queued++;
        this._exportFailed++;
        diag.error(
          'starlog OtlpShippingProcessor: a record could not be encoded; counted in stats().exportFailed',
          err,
        );
        return;
      }
      const open = this._openId;
      this._appended(b.bytes - before, b.count, b.bytes);
      if (this._openId !== open) this._offloader.onSealed();
    } catch (err) {
      diag.error('starlog OtlpShippingProcessor: onEmit failed', err);
    }
  }

  /**
   * Takes every batch out (see `takeAllBatches()`) as encoded requests, for the synchronous
   * export at exit; report the outcome with `countExitResult`.
   */
  takeAllRequests(): EncodedLogsRequest[] {
    const out: EncodedLogsRequest[] = [];
    for (const b of this.takeAllBatches()) {
      const bytes = this._bytesOf(b);
      if (bytes === undefined) this._exportFailed += b.count;
      else out.push({ bytes: this._withReport(b, bytes), length: b.count });
    }
    return out;
  }

  /**
   * With `reportDrops` and drops to report: a request holding only a drop report (no batch id)
   * with this processor's cumulative counts now, for the last step of the exit export (drops
   * counted after the last batch was sent). `undefined` otherwise.
   */
  dropReportRequest(): Buffer | undefined {
    if (!this._reportDrops || this._lastResource === undefined) return undefined;
    const counts = this.dropCounts();
    if (totalDrops(counts) === 0) return undefined;
    return this._encodeReport(this._lastResource, counts);
  }

  /** One drop report request (see `drop-report.ts`) with `counts`, naming `batchId` if given. */
  private _encodeReport(
    resource: PlainLogRecord['resource'],
    counts: DropCounts,
    batchId?: string,
    deadline?: number,
  ): Buffer {
    return encodeLogsRequest([
      new PlainLogRecord({
        resource,
        instrumentationScope: { name: DROP_REPORT_SCOPE },
        attributes: dropReportAttributes(
          counts,
          this._reporter,
          batchId,
          deadline,
          this._takeDroppedIds(),
        ),
      }),
    ]);
  }

  /** This processor's batch id of `batch` (`BATCH_ID_KEY`): `<pid>:<reporter>:<id>[<part>]`. */
  private _batchId(id: number, part: string | undefined): string {
    return `${process.pid}:${this._reporter}:${id}${part ?? ''}`;
  }

  /** The dropped batches to name in a report now (the spill's latest drops of sent batches added). */
  private _takeDroppedIds(): readonly DroppedBatchId[] {
    for (const b of this._spill.takeDroppedSent()) {
      this._droppedIds.add(b.reason, this._batchId(b.id, b.part));
    }
    return this._droppedIds.list;
  }

  /**
   * With `reportDrops`: the request of `batch` followed by a drop report (see `drop-report.ts`)
   * that names the batch (so that the receiver ingests a request sent twice once) and carries
   * this processor's drop counts. Its resource is the one of the last batch encoded.
   */
  private _withReport(
    batch: QueuedBatch<EncodedBatchData>,
    bytes: Buffer,
    deadline?: number,
  ): Buffer {
    const report = this._reportOf(batch, deadline);
    return report === undefined ? bytes : Buffer.concat([bytes, report]);
  }

  /**
   * With `reportDrops`: the drop report to append to `batch`'s request (see `_withReport`),
   * else undefined.
   */
  private _reportOf(batch: QueuedBatch<EncodedBatchData>, deadline?: number): Buffer | undefined {
    if (!this._reportDrops || this._lastResource === undefined) return undefined;
    batch.sent = true;
    return this._encodeReport(
      this._lastResource,
      this.dropCounts(),
      this._batchId(batch.id, batch.part),
      deadline,
    );
  }

  private _lastResource: PlainLogRecord['resource'] | undefined;

  protected _openCount(): number {
    return this._builder.count;
  }

  protected _takeOpen(): { data: EncodedBatchData; count: number; bytes: number } {
    const b = this._builder;
    const count = b.count;
    const bytes = b.bytes;
    this._lastResource = b.lastResource ?? this._lastResource;
    if (b.pendingResources() === undefined) {
      const data = b.build();
      return { data, count, bytes };
    }
    // a resource still resolving: build at export time, with a fresh builder meanwhile
    this._builder = new LogsRequestBuilder(this._pool);
    return { data: b, count, bytes };
  }

  protected _split(
    batch: QueuedBatch<EncodedBatchData>,
  ): [QueuedBatch<EncodedBatchData>, QueuedBatch<EncodedBatchData>] | undefined {
    const bytes = this._bytesOf(batch);
    if (bytes === undefined) return undefined;
    const half = batch.count >> 1;
    try {
      const [a, b] = splitLogsRequest(bytes, half);
      const part = batch.part ?? '';
      return [
        { id: batch.id, count: half, bytes: a.length, data: a, part: `${part}.0` },
        { id: batch.id, count: batch.count - half, bytes: b.length, data: b, part: `${part}.1` },
      ];
    } catch (err) {
      diag.error('starlog OtlpShippingProcessor: could not split a batch', err);
      return undefined;
    }
  }

  protected _export(
    batch: QueuedBatch<EncodedBatchData>,
    done: (ok: boolean, error?: unknown) => void,
  ): void {
    const data = batch.data;
    if (data instanceof LogsRequestBuilder) {
      Promise.all(data.pendingResources() ?? []).then(
        () => {
          batch.data = data.build();
          this._export(batch, done);
        },
        (err: unknown) => done(false, err),
      );
      return;
    }
    const offloader = this._offloader;
    // offloaded, or what is left at shutdown (a short-lived process need not open its gRPC
    // connection for its last batches): a hand-off file, while the primary is not unreachable
    const toFile = offloader.sending || (this._shutdownPromise !== undefined && !this._blocked);
    if (toFile && offloader.toFiles && this._offloadToFile(batch, data, done)) return;
    // the receiver refuses the request after this time (the export has timed out here by then)
    const deadline = Math.min(
      Date.now() + this._timeoutMs - Math.min(DEADLINE_MARGIN_MS, this._timeoutMs / 4),
      this._finalDeadline,
    );
    const bytes = this._withReport(batch, data, deadline);
    // an answered request carried the dropped batch ids named so far: the receiver has them
    const named = this._droppedIds.upTo;
    const answer = done;
    done = (ok, error) => {
      if (ok) this._droppedIds.acknowledge(named);
      answer(ok, error);
    };
    // a request with its drop report is a fresh buffer nobody else holds: moved, not copied
    if (offloader.sending && offloader.postToWorker(bytes, bytes !== data, this._timeoutMs, done))
      return;
    this._exporter.export({ bytes, length: batch.count }, (result) =>
      done(result.code === ExportResultCode.SUCCESS, result.error),
    );
  }

  /**
   * Offloads `batch` as a hand-off file (without a deadline: a file may be read later; see
   * `Offloader.postToFile`); false when the file could not be written (then no more files for
   * this process: the worker thread).
   */
  private _offloadToFile(
    batch: QueuedBatch<EncodedBatchData>,
    data: Buffer,
    done: (ok: boolean, error?: unknown) => void,
  ): boolean {
    // the batch and its drop report as two parts of one request: written, not concatenated
    const report = this._reportOf(batch);
    const request = report === undefined ? data : [data, report];
    const named = this._droppedIds.upTo;
    return this._offloader.postToFile(request, this._timeoutMs, (ok, error) => {
      if (ok) this._droppedIds.acknowledge(named);
      done(ok, error);
    });
  }

  protected _shutdownExporter(): Promise<void> {
    this._offloader.close();
    this._sync?.close();
    return this._exporter.shutdown();
  }

  /**
   * Backpressure (see the class comment): sends the oldest queued batches synchronously until
   * the queue is at most half full. Returns whether the record now fits.
   */
  protected override _relieve(_count: number, bytes: number): boolean {
    const sync = this._sync;
    if (sync === undefined || this._blocked) return false;
    const now = Date.now();
    if (now < this._syncRestUntil) return false;
    // the primary has not answered anything for longer than a synchronous flush may take: it is
    // hung, and a flush would only block the application and hand the worker bytes it cannot send
    if (this._unansweredMs() > sync.timeoutMs) return false;
    if (this._openCount() > 0) this._seal(false);
    const target = this._maxQueueBytes / 2;
    const taken: QueuedBatch<EncodedBatchData>[] = [];
    let freed = 0;
    for (const b of this._sealed) {
      if (this._waitingBytes - freed <= target && taken.length > 0) break;
      taken.push(b);
      freed += b.bytes;
    }
    if (taken.length === 0) return false;
    const requests: EncodedLogsRequest[] = [];
    // a request the primary reads after this flush gave up is refused, not ingested (it stays queued here)
    const deadline = now + sync.timeoutMs - Math.min(DEADLINE_MARGIN_MS, sync.timeoutMs / 4);
    for (const b of taken) {
      const bytes = this._bytesOf(b);
      if (bytes === undefined) return false;
      requests.push({ bytes: this._withReport(b, bytes, deadline), length: b.count });
    }
    this._syncFlushes++;
    const named = this._droppedIds.upTo;
    const result = sync.exportEncoded(requests);
    if (result.failed > 0 || result.timedOut) {
      // keep them queued (they may have arrived: a retry is de-duplicated by the receiver)
      // a hung primary: each attempt blocks the application up to the flush's timeout and
      // hands the worker more bytes it cannot send; rest longer after each failure
      const rest = Math.min(SYNC_FLUSH_MAX_REST_MS, SYNC_FLUSH_REST_MS * 2 ** this._syncFailures++);
      this._syncRestUntil = Date.now() + rest;
      diag.warn(
        `starlog OtlpShippingProcessor: queue full and the synchronous flush failed (${result.failed} records); dropping new records for ${rest} ms`,
      );
      return false;
    }
    this._syncFailures = 0;
    this._droppedIds.acknowledge(named);
    this._takeSealed(taken.reduce((n, b) => n + b.count, 0));
    this._exported += result.exported;
    this._settled();
    return this._waitingBytes + bytes <= this._maxQueueBytes;
  }

  private _bytesOf(batch: QueuedBatch<EncodedBatchData>): Buffer | undefined {
    const data = batch.data;
    if (!(data instanceof LogsRequestBuilder)) return data;
    if (data.pendingResources() !== undefined) return undefined;
    batch.data = data.build();
    return batch.data;
  }
}
