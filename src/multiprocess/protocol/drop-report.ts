/**
 * Drop reports: how a child tells its primary how many records it lost, by reason.
 *
 * The official OTLP/gRPC exporter 0.301 reads its `metadata` once, when it creates its gRPC
 * client (a clone, so later changes are not seen), and grpc-js refuses call credentials on
 * insecure channels, so per-call metadata is not available. Instead the child's
 * {@link ShippingProcessor} (option `reportDrops`) appends one extra log record to every export
 * request while it has drops to report: instrumentation scope {@link DROP_REPORT_SCOPE}, the
 * child's resource, and one integer attribute per reason (`starlog.dropped.queue_full`, ...)
 * holding the child's *cumulative* count. The primary's receiver takes such records out of the
 * request (they never reach the pipeline) and keeps the latest counts per child.
 *
 * @module
 */
import type { AnyValue, Attributes } from '@opentelemetry/api';
import { DROP_REPORT_SCOPE_NAME, DROPPED_ATTRIBUTES } from '../../semconv.ts';

/** The instrumentation scope name of drop report records. */
export const DROP_REPORT_SCOPE = DROP_REPORT_SCOPE_NAME;

/** A child's cumulative drop counts, in records, by reason. */
export interface DropCounts {
  /** the child's queue held `maxQueueSize` records (the newest record was refused) */
  queueFull: number;
  /** the spill held `maxSpillBytes` while the primary was unreachable (the oldest batch was dropped) */
  spillOverflow: number;
  /** an export failed without a retryable status, or retries ran out at shutdown/exit */
  exportFailed: number;
  /** the primary refused the records (INVALID_ARGUMENT, UNAUTHENTICATED, ...): never retried */
  exportRejected: number;
  /** records emitted after the child's logging was shut down */
  afterShutdown: number;
}

/** The reasons of {@link DropCounts} and their attribute keys on a drop report record. */
export const DROP_REASONS: ReadonlyArray<readonly [keyof DropCounts, string]> = [
  ['queueFull', DROPPED_ATTRIBUTES.queueFull],
  ['spillOverflow', DROPPED_ATTRIBUTES.spillOverflow],
  ['exportFailed', DROPPED_ATTRIBUTES.exportFailed],
  ['exportRejected', DROPPED_ATTRIBUTES.exportRejected],
  ['afterShutdown', DROPPED_ATTRIBUTES.afterShutdown],
];

/** All zero. */
export function emptyDropCounts(): DropCounts {
  return { queueFull: 0, spillOverflow: 0, exportFailed: 0, exportRejected: 0, afterShutdown: 0 };
}

/** The sum over every reason. */
export function totalDrops(d: DropCounts): number {
  return d.queueFull + d.spillOverflow + d.exportFailed + d.exportRejected + d.afterShutdown;
}

/** The attributes of a drop report record. */
export function dropReportAttributes(d: DropCounts): Attributes {
  const out: Attributes = {};
  for (const [reason, key] of DROP_REASONS) out[key] = d[reason];
  return out;
}

const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * Reads the counts of a drop report record's attributes. Missing, negative, fractional or
 * non-numeric values read as 0 (the sender is authenticated but may be any OTLP client).
 */
export function parseDropReport(attributes: Attributes): DropCounts {
  const out = emptyDropCounts();
  for (const [reason, key] of DROP_REASONS) {
    const v: AnyValue = attributes[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
    if (Number.isInteger(n) && n > 0) out[reason] = Math.min(n, MAX_COUNT);
  }
  return out;
}
