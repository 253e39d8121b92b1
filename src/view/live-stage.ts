/**
 * The live view's pipeline stage: a `LogRecordProcessor` in the primary that appends each record
 * to a flat batch (`live-encoding.ts`) and posts batches to the view's worker thread (which
 * indexes them and serves the page), so that SQLite never runs on the primary's event loop and
 * the primary's thread does as little as it can per record.
 *
 * Hot path (`onEmit`): no object per record; a batch leaves when it holds 2,000 records or
 * 1 MiB (estimated), or 50 ms after its first record. Bounded: while the batches posted and not
 * yet acknowledged by the worker hold `maxPendingBytes` (default 8 MiB, estimated) or number
 * `maxPendingBatches` (default 10: the view's lag stays short when its worker gets little CPU),
 * new records are dropped and counted in {@link ViewStage.dropped} before any work is done on
 * them (the view is best effort; the primary's own work comes first). Also bounded in rate: it
 * takes at most `maxRate` records per second (default 60,000; a token bucket holding one
 * second's worth, so bursts pass), which bounds its cost on the primary's thread (~1 µs per
 * record taken: at most ~6 % of that thread) and the CPU its worker takes from a primary running
 * flat out; the clock is read only when a batch leaves, or for one record in 32 while the bucket
 * is empty. And bounded by the primary's load: every 50 ms (when a batch leaves or the bucket is
 * empty) it looks at the primary's event-loop utilization; while that is ≥ 0.9 (two windows in a
 * row: the primary is saturated, every µs the view takes is a µs of its own work), the bucket
 * fills at a tenth of `maxRate` and holds a tenth of a second's worth. Records beyond are dropped
 * and counted as always; when the primary has room again the view takes `maxRate`. Never throws.
 *
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BatchEncoder, type EncodedBatch } from './live-encoding.ts';

/** Messages from the stage to the worker. */
export type ToWorker =
  | { type: 'rows'; batch: EncodedBatch; bytes: number; dropped: number }
  | { type: 'proc'; key: number; pid?: string; service?: string; host?: string }
  | { type: 'levels'; endpoint: string; token: string }
  | { type: 'close' };

/** Messages from the worker to the stage (and to `live.ts`). */
export type FromWorker =
  | { type: 'ack'; bytes: number }
  | { type: 'ready'; url: string }
  | { type: 'error'; message: string }
  | { type: 'closed' };

const BATCH = 2000;
const BATCH_BYTES = 1 << 20;
const BATCH_DELAY_MS = 50;

type Resource = ReadableLogRecord['resource'];

/** Options of {@link ViewStage}. */
export interface ViewStageOptions {
  /** estimated bytes posted and not yet indexed above which records are dropped; default 8 MiB */
  maxPendingBytes?: number;
  /** batches posted and not yet indexed at which records are dropped; default 10 */
  maxPendingBatches?: number;
  /** records per second the stage takes at most (the rest dropped, counted); default 60,000 */
  maxRate?: number;
  /**
   * records per second the stage takes at most while the primary's event loop is saturated
   * (utilization ≥ {@link ViewStageOptions.busyUtilization} in two 50 ms windows in a row; the rest
   * dropped, counted); default a tenth of `maxRate`
   */
  busyRate?: number;
  /** event-loop utilization (0–1) from which the primary counts as saturated; default 0.9 */
  busyUtilization?: number;
}

/**
 * Records dropped by an empty bucket before it reads the clock again (a clock read per record
 * was ~0.25 µs of the primary's thread per dropped record; the bucket's rate is off by at most
 * this many records).
 */
const SKIP_CLOCK = 32;
/** How often the stage looks at the primary's event-loop utilization, ms. */
const BUSY_CHECK_MS = 50;
/** A longer window since the last look (the stage had nothing to do) only starts a new one. */
const STALE_CHECK_MS = 150;

/** Default of {@link ViewStageOptions.maxRate}, records/s. */
export const DEFAULT_VIEW_MAX_RATE = 60_000;

/** The stage; see the module documentation. */
export class ViewStage implements LogRecordProcessor {
  /** records dropped because the worker fell behind or was gone */
  dropped = 0;
  private readonly encoder = new BatchEncoder();
  private pendingBytes = 0;
  private pendingBatches = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly procs = new WeakMap<Resource, number>();
  private lastResource: Resource | undefined;
  private lastProc = 0;
  private nextProc = 1;
  private postedDropped = 0;
  private closed = false;
  private readonly worker: Worker;
  private readonly maxPendingBytes: number;
  private readonly maxPendingBatches: number;
  /** records per ms the bucket fills with; its capacity is one second's worth */
  private readonly ratePerMs: number;
  private readonly capacity: number;
  private tokens: number;
  private filledAt = performance.now();
  /** records to drop before the empty bucket reads the clock again */
  private skipClock = 0;
  /** the bucket's rate and capacity while the primary is saturated */
  private readonly busyPerMs: number;
  private readonly busyCapacity: number;
  private readonly busyUtilization: number;
  /** the primary's event loop was saturated at the last two checks */
  busy = false;
  /** checks in a row that found the event loop saturated */
  private saturated = 0;
  /** when the utilization was last looked at; the first look (at the first batch) only starts */
  private checkedAt = Number.NEGATIVE_INFINITY;
  private elu = performance.eventLoopUtilization();

  constructor(worker: Worker, options: ViewStageOptions = {}) {
    this.worker = worker;
    this.maxPendingBytes = options.maxPendingBytes ?? 8 << 20;
    this.maxPendingBatches = options.maxPendingBatches ?? 10;
    const rate = options.maxRate ?? DEFAULT_VIEW_MAX_RATE;
    this.capacity = rate > 0 && Number.isFinite(rate) ? rate : Number.POSITIVE_INFINITY;
    this.ratePerMs = this.capacity / 1000;
    this.tokens = this.capacity;
    const busyRate = options.busyRate ?? this.capacity / 10;
    this.busyPerMs = busyRate / 1000;
    // a tenth of a second's worth: a saturated primary gives the view no burst
    this.busyCapacity = Math.max(1, busyRate / 10);
    this.busyUtilization = options.busyUtilization ?? 0.9;
    worker.on('message', (m: FromWorker) => {
      if (m?.type !== 'ack') return;
      this.pendingBytes -= m.bytes;
      this.pendingBatches--;
    });
  }

  onEmit(record: ReadableLogRecord): void {
    if (this.closed) return;
    if (
      this.pendingBytes >= this.maxPendingBytes ||
      this.pendingBatches >= this.maxPendingBatches
    ) {
      this.dropped++;
      this.arm();
      return;
    }
    if (this.tokens >= 1) this.tokens--;
    else if (this.skipClock > 0 || !this.refill()) {
      // the bucket is empty: dropped; the clock is read again only after SKIP_CLOCK drops
      this.skipClock = this.skipClock > 0 ? this.skipClock - 1 : SKIP_CLOCK;
      this.dropped++;
      this.arm();
      return;
    }
    const encoder = this.encoder;
    try {
      const resource = record.resource;
      encoder.add(record, resource === this.lastResource ? this.lastProc : this.procKey(resource));
    } catch (err) {
      this.dropped++;
      diag.error('starlog view: could not take a record', err);
      return;
    }
    if (encoder.records >= BATCH || encoder.bytes >= BATCH_BYTES) this.flush();
    else this.arm();
  }

  /** Fills the empty bucket for the time since it was last filled; takes one token if it can. */
  private refill(): boolean {
    const now = performance.now();
    if (now - this.checkedAt >= BUSY_CHECK_MS) this.check(now);
    else this.settle(now);
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Adds the tokens of the time since the bucket was last filled, at the current rate. */
  private settle(now: number): void {
    const busy = this.busy;
    this.tokens = Math.min(
      busy ? this.busyCapacity : this.capacity,
      this.tokens + (now - this.filledAt) * (busy ? this.busyPerMs : this.ratePerMs),
    );
    this.filledAt = now;
  }

  /**
   * Looks at the primary's event-loop utilization since the last check: saturated, the bucket
   * fills at `busyRate` and holds a tenth of a second's worth (what it held beyond is given up).
   */
  private check(now: number): void {
    // the time since the last fill counts at the rate it passed at, before the rate can change
    // (else a flip to saturated credited the whole unsaturated stretch again at the busy rate)
    this.settle(now);
    const u = performance.eventLoopUtilization(this.elu).utilization;
    this.elu = performance.eventLoopUtilization();
    const stale = now - this.checkedAt > STALE_CHECK_MS;
    this.checkedAt = now;
    if (stale) return;
    // saturated for two windows in a row: a single one is often a start-up or a GC pause
    this.saturated = u >= this.busyUtilization ? this.saturated + 1 : 0;
    this.busy = this.saturated >= 2;
    if (this.busy && this.tokens > this.busyCapacity) this.tokens = this.busyCapacity;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), BATCH_DELAY_MS);
    this.timer.unref();
  }

  private procKey(resource: Resource): number {
    let key = this.procs.get(resource);
    if (key === undefined) {
      key = this.nextProc++;
      this.procs.set(resource, key);
      const a = resource.attributes;
      const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
      this.post({
        type: 'proc',
        key,
        pid: str(a['process.pid']),
        service: str(a['service.name']),
        host: str(a['host.name']),
      });
    }
    this.lastResource = resource;
    this.lastProc = key;
    return key;
  }

  /** Sends the current batch (and the drop count) to the worker now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = performance.now();
    if (now - this.checkedAt >= BUSY_CHECK_MS) this.check(now);
    if (this.encoder.records === 0 && this.dropped === this.postedDropped) return;
    const { batch, records, bytes } = this.encoder.take();
    this.pendingBytes += bytes;
    this.pendingBatches++;
    this.postedDropped = this.dropped;
    if (!this.post({ type: 'rows', batch, bytes, dropped: this.dropped })) {
      this.pendingBytes -= bytes;
      this.pendingBatches--;
      this.dropped += records;
    }
  }

  private post(m: ToWorker): boolean {
    try {
      this.worker.postMessage(m);
      return true;
    } catch (err) {
      diag.error('starlog view: the view worker is gone', err);
      return false;
    }
  }

  async forceFlush(): Promise<void> {
    this.flush();
  }

  async shutdown(): Promise<void> {
    this.flush();
    this.closed = true;
  }
}
