import type { OtlpDecodeResult } from '../../otlp/logs-decoder.ts';
import {
  DROP_REASONS,
  type DropCounts,
  emptyDropCounts,
  parseDropReport,
  totalDrops,
} from '../protocol/drop-report.ts';
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

  /** Keeps each report's cumulative counts as its child's latest (after {@link tally}). */
  takeDropReports(result: OtlpDecodeResult, reports: IngestedLogRecord[]): void {
    for (const report of reports) {
      const entry = result.perResource.find((p) => p.entry.resource === report.resource)?.entry;
      const child = entry && this.children.get(entry.pid);
      if (child === undefined) continue;
      child.records--;
      const counts = parseDropReport(report.attributes);
      child.dropped = { ...counts, total: totalDrops(counts) };
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
