import type { OtlpDecodeResult } from '../../otlp/logs-decoder.ts';
import {
  DROP_REASONS,
  type DropCounts,
  droppedBatchesOf,
  dropReporterOf,
  emptyDropCounts,
  parseDropReport,
  totalDrops,
} from '../protocol/drop-report.ts';
import { BatchLedger } from './batch-ledger.ts';
import type { IngestedLogRecord } from './ingested-log-record.ts';
import type { ReceiverChildStats } from './receiver-types.ts';

/** Most children kept in the per-child stats (least recently seen dropped first). */
export const MAX_CHILDREN = 1024;

/**
 * The receiver's per-child counters, keyed by the resource's `process.pid` (as a string) or
 * `'unknown'`, in least-recently-seen order; a child evicted beyond {@link MAX_CHILDREN} keeps its
 * last drop counts in the total.
 */
export class ChildStatsTable {
  private readonly children = new Map<string, ReceiverChildStats>();
  /** drop counts of children evicted from `children` */
  private readonly evictedDrops = emptyDropCounts();
  /** each child's latest counts per reporter (thread, processor), see `DROP_REPORTER_KEY` */
  private readonly reporters = new WeakMap<ReceiverChildStats, Map<string, DropCounts>>();
  /**
   * per child and reporter, records reported dropped that were ingested (`DROPPED_BATCHES_KEY`),
   * subtracted from the reporter's counts
   */
  private readonly uncounted = new WeakMap<ReceiverChildStats, Map<string, DropCounts>>();
  /** the recent batches: ingested, or reported dropped (de-duplication, exact drop counts) */
  readonly batches = new BatchLedger();
  /** records reported dropped that had been ingested, in all (not counted as dropped) */
  uncountedDrops = 0;

  /** Counts an accepted request's records per child. */
  tally(result: OtlpDecodeResult): void {
    const now = Date.now();
    for (const { entry, records } of result.perResource) {
      let child = this.children.get(entry.pid);
      if (child === undefined) {
        child = { records: 0, requests: 0, lastSeenMs: now, serviceName: entry.serviceName };
        if (this.children.size >= MAX_CHILDREN) {
          const oldest = this.children.keys().next().value as string;
          const gone = this.children.get(oldest)?.dropped;
          if (gone) for (const [reason] of DROP_REASONS) this.evictedDrops[reason] += gone[reason];
          this.children.delete(oldest);
        }
      } else {
        this.children.delete(entry.pid); // re-insert: Map order = least recently seen first
      }
      this.children.set(entry.pid, child);
      child.records += records;
      child.requests++;
      child.lastSeenMs = now;
      if (entry.serviceName !== undefined) child.serviceName = entry.serviceName;
    }
  }

  /**
   * Keeps each report's cumulative counts as its reporter's latest (after {@link tally}); a
   * child's drops are the sum over its reporters (main thread, worker threads, processors).
   * Counts never go down (a late, older report does not lower them).
   */
  takeDropReports(result: OtlpDecodeResult, reports: IngestedLogRecord[]): void {
    for (const report of reports) {
      const entry = result.perResource.find((p) => p.entry.resource === report.resource)?.entry;
      const child = entry && this.children.get(entry.pid);
      if (child === undefined) continue;
      child.records--;
      let byReporter = this.reporters.get(child);
      if (byReporter === undefined) {
        byReporter = new Map();
        this.reporters.set(child, byReporter);
      }
      const reporter = dropReporterOf(report.attributes);
      if (byReporter.size >= 256 && !byReporter.has(reporter)) continue;
      const counts = parseDropReport(report.attributes);
      const before = byReporter.get(reporter);
      if (before !== undefined)
        for (const [reason] of DROP_REASONS)
          counts[reason] = Math.max(counts[reason], before[reason]);
      byReporter.set(reporter, counts);
      this.uncount(child, reporter, report);
      const sum = emptyDropCounts();
      const uncounted = this.uncounted.get(child);
      for (const [name, d] of byReporter) {
        const u = uncounted?.get(name);
        for (const [reason] of DROP_REASONS)
          sum[reason] += Math.max(0, d[reason] - (u?.[reason] ?? 0));
      }
      child.dropped = { ...sum, total: totalDrops(sum) };
    }
  }

  /**
   * The batches a report names as dropped (`DROPPED_BATCHES_KEY`): those ingested are not
   * counted (once each), the others are remembered so that a late copy is refused.
   */
  private uncount(child: ReceiverChildStats, reporter: string, report: IngestedLogRecord): void {
    const named = droppedBatchesOf(report.attributes);
    if (named.length === 0) return;
    for (const { reason, batchId } of named) {
      const n = this.batches.reportedDropped(batchId);
      if (n === 0) continue;
      let byReporter = this.uncounted.get(child);
      if (byReporter === undefined) {
        byReporter = new Map();
        this.uncounted.set(child, byReporter);
      }
      let u = byReporter.get(reporter);
      if (u === undefined) {
        u = emptyDropCounts();
        byReporter.set(reporter, u);
      }
      u[reason] += n;
      this.uncountedDrops += n;
    }
  }

  /** A copy of the per-child counters. */
  snapshot(): Record<string, ReceiverChildStats> {
    const out: Record<string, ReceiverChildStats> = {};
    for (const [pid, child] of this.children) out[pid] = { ...child };
    return out;
  }

  /** The latest drop counts of every child seen, summed. */
  dropped(): DropCounts & { total: number } {
    const sum = { ...this.evictedDrops };
    for (const child of this.children.values()) {
      const d = child.dropped;
      if (d) for (const [reason] of DROP_REASONS) sum[reason] += d[reason];
    }
    return { ...sum, total: totalDrops(sum) };
  }
}
