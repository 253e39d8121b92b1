/**
 * Options and counters shared by the two shipping processors (`ShippingProcessor`: records to any
 * exporter; `OtlpShippingProcessor`: OTLP bytes to the primary).
 *
 * @module
 */
import type { Duration } from '../util/duration.ts';

/** Queue, batch, retry and spill settings of a shipping processor. */
export interface ShippingQueueOptions {
  /**
   * Records waiting to be exported (not counting the batches in flight or spilled). When the
   * queue is full, a new record is refused (see each processor for what then happens).
   * Default 65,536 records for `ShippingProcessor`, 1,048,576 for `OtlpShippingProcessor`
   * (where `maxQueueBytes` is the bound that matters).
   */
  maxQueueSize?: number;
  /**
   * Bytes waiting to be exported (estimated heap bytes for `ShippingProcessor`, encoded OTLP bytes
   * for `OtlpShippingProcessor`); like `maxQueueSize`, whichever is reached first.
   * Default 64 MiB.
   */
  maxQueueBytes?: number;
  /** Records per export request. Default 1,024 (`ShippingProcessor`), 4,096 (`OtlpShippingProcessor`). */
  maxExportBatchSize?: number;
  /**
   * Bytes per export request (encoded bytes for `OtlpShippingProcessor`, estimated heap bytes
   * for `ShippingProcessor`): a batch is sealed when it reaches this size. Default 1 MiB
   * (`OtlpShippingProcessor`), 4 MiB (`ShippingProcessor`).
   */
  maxExportBatchBytes?: number;
  /**
   * How long a batch that is not full waits before it is sent, in ms or a duration string.
   * A full batch is sent at once. Default 200 ms.
   */
  scheduledDelay?: Duration;
  /**
   * How long one export may take before its batch is counted as failed (or, for
   * `OtlpShippingProcessor`, retried), in ms or a duration string. Default 30 s.
   */
  exportTimeout?: Duration;
  /** Exports in flight at the same time. Default 2: one batch is prepared while another travels. */
  maxConcurrentExports?: number;
  /**
   * Bound of the spill in bytes (as `maxQueueBytes` counts them): while the destination is
   * unreachable or busy, sealed batches move out of the queue into the spill; when it would
   * exceed this bound, its *oldest* batches are dropped and counted in `stats().spillOverflow`.
   * The newest batch is always kept (the spill may exceed the bound by one batch; 0 keeps just
   * that one). Default 32 MiB.
   */
  maxSpillBytes?: number;
  /** Backoff cap of the first retry, in ms or a duration string (full jitter, doubling per retry). Default 100 ms. */
  retryBaseDelay?: Duration;
  /** Longest wait between two retries, in ms or a duration string. Default 5 s. */
  retryMaxDelay?: Duration;
  /**
   * How long `shutdown()` keeps retrying while the destination is unreachable, in ms or a
   * duration string; then what is left is counted in `stats().exportFailed`. Default 5 s.
   */
  shutdownTimeout?: Duration;
  /**
   * Appends a drop report (scope `starlog.drops`, see `drop-report.ts`) to every export request
   * while any drop counter is not zero, so that starlog's receiver learns this process's drops.
   * Only for exports to starlog's receiver (children); other destinations would store the
   * record. Default false.
   */
  reportDrops?: boolean;
}

/**
 * Counters of a shipping processor, in records. Every record given to `onEmit` ends in
 * exactly one of `queued`, `queueFull`, `afterShutdown`; every queued record ends in exactly one of
 * `exported`, `exportFailed`, `exportRejected`, `spillOverflow`, `pending`:
 * `queued = exported + exportFailed + exportRejected + spillOverflow + pending`.
 */
export interface ShippingStats {
  /** Records accepted into the queue since the processor was made (cumulative). */
  queued: number;
  /** Records in batches the exporter acknowledged (including those sent synchronously). */
  exported: number;
  /** Records dropped because the queue was full (`maxQueueSize` or `maxQueueBytes`). */
  queueFull: number;
  /**
   * Records in batches whose export failed without a retryable gRPC status (e.g. a file
   * exporter's I/O error), timed out (`exportTimeout`, `ShippingProcessor`), could not be
   * encoded, or were still unsent when retries stopped (`shutdownTimeout`, or the synchronous
   * export at exit failed).
   */
  exportFailed: number;
  /**
   * Records the destination refused: a non-retryable gRPC status (INVALID_ARGUMENT,
   * UNAUTHENTICATED, ...) or a single record too large for it. Never retried.
   */
  exportRejected: number;
  /** Records in the oldest spilled batches, dropped because the spill exceeded `maxSpillBytes`. */
  spillOverflow: number;
  /** Records emitted after `shutdown()` was called (dropped). */
  afterShutdown: number;
  /** Records now waiting (queue or spill) or in flight (a gauge). */
  pending: number;
  /** Bytes now waiting in the queue (a gauge; see `maxQueueBytes` for what is counted). */
  queueBytes: number;
  /** Records now in the spill (a gauge, part of `pending`). */
  spilled: number;
  /** Bytes now in the spill (a gauge). */
  spillBytes: number;
  /** Failed export attempts that were (or will be) retried (cumulative; attempts, not records). */
  retries: number;
  /** Whether the destination is now considered unreachable or busy (retrying with backoff). */
  retrying: boolean;
  /** Records now in flight (a gauge, part of `pending`). */
  inFlight: number;
  /**
   * Batches the receiver refused as too large (gRPC RESOURCE_EXHAUSTED) and that were sent again
   * in two halves (not records; a one-record batch that is too large counts in `exportRejected`).
   */
  splitBatches: number;
  /**
   * Times the emitting thread was held because the queue was full, while the oldest batches
   * went out synchronously (`OtlpShippingProcessor` backpressure; 0 for `ShippingProcessor`).
   */
  syncFlushes: number;
  /**
   * `OtlpShippingProcessor` only: batches handed to the worker thread of the synchronous exporter
   * because the application emitted them without letting the event loop turn (records in them
   * count in `exported` etc. as any batch's).
   */
  offloaded?: number;
  /**
   * `OtlpShippingProcessor` only: times `emit()` waited for the primary's answer to a offloaded
   * batch (the primary was behind), and the milliseconds waited in all.
   */
  offloadWaits?: number;
  offloadWaitMs?: number;
}

/** A positive integer option, or its default; throws a TypeError naming the option. */
export function positiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(
      `starlog: ${what} must be a positive integer; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** An integer number of bytes ≥ 0, or its default; throws a TypeError naming the option. */
export function byteCount(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(
      `starlog: ${what} must be an integer number of bytes >= 0; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
