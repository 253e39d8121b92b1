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

/**
 * Attribute of a drop report naming its reporter inside the process (one per shipping
 * processor: `t<threadId>.<n>`), so that the reports of a main thread and of worker threads (or
 * of two processors) add up instead of overwriting each other. Reports without it count as one
 * reporter.
 */
export const DROP_REPORTER_KEY = 'starlog.dropped.reporter';

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

/**
 * Attribute of a drop report naming the batch of records its request carries
 * (`<pid>:<reporter>:<batch>[.<half>…]`): a request sent again (a timed-out export retried, the
 * synchronous export at exit of a batch that was in flight) carries the same id, and the
 * receiver ingests it once.
 */
export const BATCH_ID_KEY = 'starlog.batch.id';

/**
 * Attribute of a drop report: the time (ms since the epoch, the child's clock: the receiver is on
 * the same host) after which the child no longer waits for the answer to this request (its
 * gRPC deadline, less a margin for the answer's way back). The receiver refuses a request that
 * arrives later (DEADLINE_EXCEEDED) instead of ingesting it: a primary that was hung reads the
 * requests that timed out meanwhile only when it resumes, and the child has by then retried
 * them, or dropped and counted them (spill overflow, shutdown) — ingesting them would make a
 * record both delivered and counted as dropped.
 */
export const BATCH_DEADLINE_KEY = 'starlog.batch.deadline';

/**
 * Attribute of a drop report: the batches counted as dropped that may nevertheless have reached
 * the receiver (they had been sent at least once, and no answer said they were not ingested),
 * as an array of strings `<reason>:<batch id>` (`reason` a key of {@link DropCounts}, the batch id
 * as in {@link BATCH_ID_KEY}). The case: the primary ingested a request just as it hung, its
 * answer never reached the child, the child retried the batch and its spill then dropped and
 * counted it. The receiver does not count the drop of a batch it ingested, and refuses a batch
 * reported dropped that arrives later (see `BatchLedger`), so sent = delivered + counted drops
 * stays exact. A child repeats an id in every report until a request carrying it was answered
 * (at most {@link MAX_DROPPED_BATCH_IDS} ids).
 */
export const DROPPED_BATCHES_KEY = 'starlog.dropped.batches';

/** Most ids in {@link DROPPED_BATCHES_KEY} (a sender keeps at most these; a receiver reads at most these). */
export const MAX_DROPPED_BATCH_IDS = 128;

/** A batch counted as dropped that may have reached the receiver (see {@link DROPPED_BATCHES_KEY}). */
export interface DroppedBatchId {
  reason: keyof DropCounts;
  /** as in {@link BATCH_ID_KEY} */
  batchId: string;
}

/**
 * The attributes of a drop report record (`reporter`: see {@link DROP_REPORTER_KEY}; `batchId`:
 * see {@link BATCH_ID_KEY}; `deadline`: see {@link BATCH_DEADLINE_KEY}; `droppedBatches`: see
 * {@link DROPPED_BATCHES_KEY}, left out when empty).
 */
export function dropReportAttributes(
  d: DropCounts,
  reporter?: string,
  batchId?: string,
  deadline?: number,
  droppedBatches?: readonly DroppedBatchId[],
): Attributes {
  const out: Attributes = {};
  if (reporter !== undefined) out[DROP_REPORTER_KEY] = reporter;
  if (batchId !== undefined) out[BATCH_ID_KEY] = batchId;
  if (deadline !== undefined) out[BATCH_DEADLINE_KEY] = Math.floor(deadline);
  for (const [reason, key] of DROP_REASONS) out[key] = d[reason];
  if (droppedBatches !== undefined && droppedBatches.length > 0) {
    out[DROPPED_BATCHES_KEY] = droppedBatches
      .slice(-MAX_DROPPED_BATCH_IDS)
      .map((b) => `${b.reason}:${b.batchId}`);
  }
  return out;
}

const REASON_NAMES = new Set<string>(DROP_REASONS.map(([reason]) => reason));

/**
 * The batches a drop report names as dropped (see {@link DROPPED_BATCHES_KEY}): at most
 * {@link MAX_DROPPED_BATCH_IDS}; entries that are not strings, name no known reason or an empty
 * batch id are skipped.
 */
export function droppedBatchesOf(attributes: Attributes): DroppedBatchId[] {
  const v = attributes[DROPPED_BATCHES_KEY];
  if (!Array.isArray(v)) return [];
  const out: DroppedBatchId[] = [];
  for (const entry of v.slice(0, MAX_DROPPED_BATCH_IDS)) {
    if (typeof entry !== 'string') continue;
    const colon = entry.indexOf(':');
    const reason = entry.slice(0, colon);
    const batchId = entry.slice(colon + 1, colon + 1 + 128);
    if (colon > 0 && batchId !== '' && REASON_NAMES.has(reason)) {
      out.push({ reason: reason as keyof DropCounts, batchId });
    }
  }
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

/** The batch id of a drop report record (`''` when it names none). */
export function batchIdOf(attributes: Attributes): string {
  const v = attributes[BATCH_ID_KEY];
  return typeof v === 'string' ? v.slice(0, 128) : '';
}

/** The deadline of a drop report record's request (ms since the epoch), if it names one. */
export function batchDeadlineOf(attributes: Attributes): number | undefined {
  const v = attributes[BATCH_DEADLINE_KEY];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** The reporter of a drop report record (`''` when it names none). */
export function dropReporterOf(attributes: Attributes): string {
  const v = attributes[DROP_REPORTER_KEY];
  return typeof v === 'string' ? v.slice(0, 64) : '';
}

let reporters = 0;

/** A new reporter id for this thread: `t<threadId>.<n>`. */
export function newDropReporter(threadId: number): string {
  return `t${threadId}.${reporters++}`;
}
