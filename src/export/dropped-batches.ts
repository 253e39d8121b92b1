/**
 * The batches a child counted as dropped although they may have reached the receiver, kept
 * until the receiver has surely learnt them (see `DROPPED_BATCHES_KEY` in `drop-report.ts`).
 *
 * @module
 */
import {
  type DropCounts,
  type DroppedBatchId,
  MAX_DROPPED_BATCH_IDS,
} from '../multiprocess/protocol/drop-report.ts';

/**
 * Ids of dropped batches to name in every drop report until a request that named them was
 * answered OK (then the receiver has read the report): {@link DroppedBatches.upTo} before a
 * request is sent, {@link DroppedBatches.acknowledge} with that value when it succeeded. At most
 * `MAX_DROPPED_BATCH_IDS` (128) ids; beyond, the oldest is forgotten (the receiver may then count
 * that batch as dropped although it ingested it: an over-count, never a loss). Never throws.
 */
export class DroppedBatches {
  private entries: Array<DroppedBatchId & { seq: number }> = [];
  private seq = 0;

  /** Adds a batch counted as dropped for `reason`. */
  add(reason: keyof DropCounts, batchId: string): void {
    if (this.entries.length >= MAX_DROPPED_BATCH_IDS) this.entries.shift();
    this.entries.push({ reason, batchId, seq: ++this.seq });
  }

  /** The ids to name in a report now, oldest first (empty most of the time). */
  get list(): readonly DroppedBatchId[] {
    return this.entries;
  }

  /** A mark for {@link DroppedBatches.acknowledge}: every id added so far. */
  get upTo(): number {
    return this.seq;
  }

  /** A request built when {@link DroppedBatches.upTo} was `upTo` was answered OK: forgets those ids. */
  acknowledge(upTo: number): void {
    if (this.entries.length > 0 && (this.entries[0] as { seq: number }).seq <= upTo) {
      this.entries = this.entries.filter((e) => e.seq > upTo);
    }
  }
}
