/**
 * The spill of a shipping processor: where batches wait, bounded in bytes, while the
 * destination is unreachable or busy.
 *
 * @module
 */

/** A batch as the queue and the spill see it: numbered in the order it was opened. */
export interface QueuedBatch<T = unknown> {
  /** 0, 1, 2, ... in the order batches were opened (the halves of a split batch share it) */
  id: number;
  /** records in the batch */
  count: number;
  /** bytes of the batch, as the processor counts them (encoded or estimated) */
  bytes: number;
  /** the records or their encoded request */
  data: T;
  /** which half of a split batch (`.0`, `.1`, `.1.0`, …), none for a whole batch */
  part?: string;
  /**
   * set once the batch was handed to the transport: it may have reached the receiver although
   * no answer said so (the primary ingested it and hung before answering)
   */
  sent?: boolean;
}

/** Most dropped batches the spill remembers for {@link Spill.takeDroppedSent}. */
const MAX_DROPPED_SENT = 128;

/** A dropped batch that had been sent (see {@link Spill.takeDroppedSent}). */
export interface DroppedSent {
  id: number;
  part?: string;
  /** the drop counter its records went to */
  reason: 'spillOverflow' | 'exportFailed';
}

/**
 * Sealed batches kept in memory in id order (oldest first), bounded in bytes (as the processor
 * counts them). When a batch added makes the total exceed `maxBytes`, the *oldest* batches are
 * dropped until it fits again (the newest records are the most useful, and a restarted primary
 * gets the most recent history). The newest batch is always kept, so the spill may exceed
 * `maxBytes` by one batch (and a spill of 0 bytes holds exactly one batch: the next one to try).
 * Never throws.
 */
export class Spill<B extends QueuedBatch = QueuedBatch> {
  readonly maxBytes: number;
  private _batches: B[] = [];
  private _bytes = 0;
  private _records = 0;
  private _droppedSent: DroppedSent[] = [];

  /** @param maxBytes - bound in bytes (the newest batch is kept regardless) */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes held. */
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
  add(batch: B): B[] {
    const list = this._batches;
    let i = list.length;
    while (i > 0 && (list[i - 1] as B).id > batch.id) i--;
    if (i === list.length) list.push(batch);
    else list.splice(i, 0, batch);
    this._bytes += batch.bytes;
    this._records += batch.count;
    let dropped: B[] | undefined;
    while (this._bytes > this.maxBytes && list.length > 1) {
      const old = this._take() as B;
      dropped ??= [];
      dropped.push(old);
      this.noteDropped(old, 'spillOverflow');
    }
    return dropped ?? [];
  }

  /**
   * Takes out the ids of the batches dropped since the last call that had been sent before
   * (`sent`: they may have reached the receiver), oldest first, at most the newest 128: a drop
   * report names them (`DROPPED_BATCHES_KEY`) so that the receiver does not count as dropped a
   * batch it ingested.
   */
  takeDroppedSent(): DroppedSent[] {
    const out = this._droppedSent;
    if (out.length > 0) this._droppedSent = [];
    return out;
  }

  /**
   * Notes a batch counted as dropped (by the spill, or by the processor: retries given up at
   * shutdown) for {@link Spill.takeDroppedSent}, if it had been sent.
   */
  noteDropped(b: QueuedBatch, reason: DroppedSent['reason']): void {
    if (b.sent !== true) return;
    const list = this._droppedSent;
    if (list.length >= MAX_DROPPED_SENT) list.shift();
    list.push(b.part === undefined ? { id: b.id, reason } : { id: b.id, part: b.part, reason });
  }

  /** Takes the oldest batch out. */
  shift(): B | undefined {
    return this._take();
  }

  /** Takes every batch out, oldest first. */
  takeAll(): B[] {
    const all = this._batches;
    this._batches = [];
    this._bytes = 0;
    this._records = 0;
    return all;
  }

  private _take(): B | undefined {
    const b = this._batches.shift();
    if (b !== undefined) {
      this._bytes -= b.bytes;
      this._records -= b.count;
    }
    return b;
  }
}
