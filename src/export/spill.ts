/**
 * The spill of a {@link ShippingProcessor}: where batches wait, bounded in bytes, while the
 * destination is unreachable or busy.
 *
 * @module
 */
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { estimateRecordBytes } from '../processors/lookback/record-size.ts';

/** A batch of records, numbered in the order it was opened (`id` 0, 1, 2, ...). */
export interface SpillBatch {
  id: number;
  records: ReadableLogRecord[];
  /** estimated heap bytes of the records, set when the batch first enters a spill */
  bytes?: number;
}

/**
 * Sealed batches kept in memory in id order (oldest first), bounded by an *estimate* of the
 * heap bytes their records occupy ({@link estimateRecordBytes}: the calibrated per-record
 * estimate of the lookback buffer, ±7 % per record shape on Node 24; resources and scopes are
 * shared and not counted). When a batch added makes the total exceed `maxBytes`, the *oldest*
 * batches are dropped until it fits again (the newest records are the most useful, and a
 * restarted primary gets the most recent history). The newest batch is always kept, so the
 * spill may exceed `maxBytes` by one batch (and a spill of 0 bytes holds exactly one batch:
 * the next one to try). Never throws.
 */
export class Spill {
  readonly maxBytes: number;
  private _batches: SpillBatch[] = [];
  private _bytes = 0;
  private _records = 0;

  /** @param maxBytes - bound in estimated bytes (the newest batch is kept regardless) */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this._bytes;
  }

  /** Records held. */
  get records(): number {
    return this._records;
  }

  /** Batches held. */
  get length(): number {
    return this._batches.length;
  }

  /** The oldest batch's id, if any. */
  get firstId(): number | undefined {
    return this._batches[0]?.id;
  }

  /**
   * Adds a batch at its place in id order (after batches with the same id: the halves of a split
   * batch keep their order), then drops the oldest batches while the bound is exceeded.
   *
   * @returns the batches dropped (possibly including `batch` itself, unless it is the newest), oldest first
   */
  add(batch: SpillBatch): SpillBatch[] {
    if (batch.bytes === undefined) {
      let bytes = 0;
      for (const r of batch.records) bytes += estimateRecordBytes(r);
      batch.bytes = bytes;
    }
    const list = this._batches;
    let i = list.length;
    while (i > 0 && (list[i - 1] as SpillBatch).id > batch.id) i--;
    if (i === list.length) list.push(batch);
    else list.splice(i, 0, batch);
    this._bytes += batch.bytes;
    this._records += batch.records.length;
    let dropped: SpillBatch[] | undefined;
    while (this._bytes > this.maxBytes && list.length > 1) {
      const old = this._take() as SpillBatch;
      dropped ??= [];
      dropped.push(old);
    }
    return dropped ?? NONE;
  }

  /** Takes the oldest batch out. */
  shift(): SpillBatch | undefined {
    return this._take();
  }

  /** Takes every batch out, oldest first. */
  takeAll(): SpillBatch[] {
    const all = this._batches;
    this._batches = [];
    this._bytes = 0;
    this._records = 0;
    return all;
  }

  private _take(): SpillBatch | undefined {
    const b = this._batches.shift();
    if (b !== undefined) {
      this._bytes -= b.bytes ?? 0;
      this._records -= b.records.length;
    }
    return b;
  }
}

const NONE: SpillBatch[] = [];
