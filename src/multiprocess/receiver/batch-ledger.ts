/**
 * What the receiver knows of each recent batch (`BATCH_ID_KEY`): ingested, or counted as dropped
 * by its sender. It keeps sent = delivered + counted drops exact when a batch is both ingested
 * and dropped by its sender (see `DROPPED_BATCHES_KEY` in `drop-report.ts`).
 *
 * @module
 */

/** Batch ids remembered (a retried request or a drop report arrives within seconds or minutes). */
export const MAX_LEDGER_BATCHES = 65_536;

/** The batch was reported dropped before it arrived: it is refused if it arrives. */
const DROPPED = -1;
/** The batch was ingested, then reported dropped: its drop was not counted. */
const UNCOUNTED = -2;

/** What to do with an arriving request, see {@link BatchLedger.arrive}. */
export type BatchArrival = 'ingest' | 'duplicate' | 'dropped';

/**
 * The rule, for a batch id (at most {@link MAX_LEDGER_BATCHES} remembered, the oldest forgotten
 * first):
 * - a request arrives: `ingest` it the first time, answer OK without ingesting it again
 *   (`duplicate`), and refuse it (`dropped`, not written) if its sender reported it dropped
 *   before: its drop is counted, so ingesting it would count it twice;
 * - a drop report names it: if it was ingested, the drop is *not* counted (the caller subtracts
 *   its records from the sender's cumulative count, once); else it is remembered as dropped.
 *
 * A batch ingested and then forgotten (65,536 batches later) before its sender names it dropped
 * is counted both ways (an over-count, never a loss). Never throws.
 */
export class BatchLedger {
  /** batch id → records ingested (≥ 0), {@link DROPPED} or {@link UNCOUNTED}; insertion order = age */
  private readonly batches = new Map<string, number>();

  /** A request naming `batchId` with `records` records arrived; see the class comment. */
  arrive(batchId: string, records: number): BatchArrival {
    const state = this.batches.get(batchId);
    if (state === DROPPED) return 'dropped';
    if (state !== undefined) return 'duplicate';
    this.remember(batchId, records);
    return 'ingest';
  }

  /**
   * A drop report names `batchId` as dropped: returns the records not to count as dropped (those
   * ingested, the first time the batch is named; 0 otherwise).
   */
  reportedDropped(batchId: string): number {
    const state = this.batches.get(batchId);
    if (state === undefined) {
      this.remember(batchId, DROPPED);
      return 0;
    }
    if (state < 0) return 0;
    this.batches.set(batchId, UNCOUNTED);
    return state;
  }

  /** Batch ids remembered. */
  get size(): number {
    return this.batches.size;
  }

  private remember(batchId: string, state: number): void {
    const batches = this.batches;
    batches.set(batchId, state);
    if (batches.size > MAX_LEDGER_BATCHES) batches.delete(batches.keys().next().value as string);
  }
}
