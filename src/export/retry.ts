/**
 * Which failed exports are retried, and when: the classification of an exporter's error by its
 * gRPC status code, and exponential backoff with full jitter.
 *
 * The official `@opentelemetry/exporter-logs-otlp-grpc` 0.301 does not retry: its gRPC transport
 * (`@opentelemetry/otlp-grpc-exporter-base`, `GrpcExporterTransport.send`) resolves every failed
 * call as `{ status: 'failure', error }` where `error` is the grpc-js `ServiceError`
 * (`code`: the numeric gRPC status, `details`: the server's message), and the export delegate
 * hands that error unchanged to the export's result callback (`{ code: FAILED, error }`).
 *
 * @module
 */
import { diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BACKPRESSURE_DETAILS } from '../otlp/grpc-methods.ts';

/** gRPC status codes (`grpc/status.proto`, `google.rpc.Code`) that starlog tells apart. */
export const GrpcCode = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * Codes after which the same request may succeed later: the OTLP specification's retryable
 * list (CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS) plus
 * RESOURCE_EXHAUSTED when it is not about the request's size (backpressure).
 */
const RETRYABLE = new Set<number>([
  GrpcCode.CANCELLED,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.RESOURCE_EXHAUSTED,
  GrpcCode.ABORTED,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNAVAILABLE,
  GrpcCode.DATA_LOSS,
]);

export { BACKPRESSURE_DETAILS };

/** Whether an export error is starlog's receiver saying it is busy (backpressure, not an outage). */
export function isBackpressure(error: unknown): boolean {
  const s = grpcStatusOf(error);
  return (
    s !== undefined && s.code === GrpcCode.RESOURCE_EXHAUSTED && s.details === BACKPRESSURE_DETAILS
  );
}

/**
 * What to do with a batch whose export failed:
 * - `retry`: keep it, try again after a backoff (the peer is unreachable or busy);
 * - `split`: the request was too large for the peer; send it again in two halves;
 * - `reject`: the peer refused the content or the caller (INVALID_ARGUMENT, UNAUTHENTICATED,
 *   any other gRPC status not in the retryable list, a too-large single record): never retried;
 * - `fail`: an error without a gRPC status (a local exporter's I/O error, a serialization
 *   error, starlog's own export timeout): not retried.
 */
export type ExportErrorKind = 'retry' | 'split' | 'reject' | 'fail';

/** The gRPC status of an exporter error (a grpc-js `ServiceError`), if it has one. */
export function grpcStatusOf(error: unknown): { code: number; details: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, details } = error as { code?: unknown; details?: unknown };
  if (typeof code !== 'number' || !Number.isInteger(code)) return undefined;
  return { code, details: typeof details === 'string' ? details : '' };
}

/**
 * Classifies an export error, see {@link ExportErrorKind}. RESOURCE_EXHAUSTED is `split` when
 * the peer says the request is too large (grpc-js: "Received message larger than max"; starlog's
 * decoder: "exceeds maxMessageBytes") or hit one of starlog's decoder limits (nesting depth,
 * collection length: splitting isolates the offending record), `retry` otherwise (backpressure).
 */
export function classifyExportError(error: unknown): ExportErrorKind {
  const s = grpcStatusOf(error);
  if (s === undefined) return 'fail';
  if (s.code === GrpcCode.RESOURCE_EXHAUSTED) {
    if (/larger than max|exceeds maxMessageBytes/i.test(s.details)) return 'split';
    if (s.details.startsWith('starlog receiver:') && s.details !== BACKPRESSURE_DETAILS) {
      return 'split';
    }
    return 'retry';
  }
  return RETRYABLE.has(s.code) ? 'retry' : 'reject';
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * a uniformly random delay in `[0, min(maxMs, baseMs * 2^attempt))`.
 *
 * @param attempt - retries already made for this outage (0 for the first)
 * @param baseMs - delay cap of the first retry, ms
 * @param maxMs - largest delay, ms
 * @param random - a source of uniform numbers in [0, 1); default `Math.random`
 * @returns the delay in ms
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** An exporter of `I` (records for `LogRecordExporter`, encoded requests for the bytes exporter). */
export interface ExporterOf<I> {
  export(items: I, resultCallback: (result: ExportResult) => void): void;
  forceFlush?(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Options of {@link ReconnectingExporter}. */
export interface ReconnectingExporterOptions {
  /** Least time between two new exporters, in ms. Default 1000. */
  minIntervalMs?: number;
}

/**
 * A `LogRecordExporter` that replaces its gRPC exporter (a fresh channel) before the next
 * export once an export failed with UNAVAILABLE, at most every `minIntervalMs`.
 *
 * Why: a grpc-js channel whose peer is gone waits for its own reconnect backoff (1 s, ×1.6 per
 * attempt, up to 120 s) and meanwhile fails every call at once. After a 30 s outage the next
 * connection attempt can be ~15 s away, and the official exporter does not let us set the
 * channel options (`grpc.max_reconnect_backoff_ms`). grpc-js shares subchannels between channels
 * with equal options, so `create(generation)` must give each generation distinct channel options
 * (starlog varies the exporter's `userAgent`). Then the processor's own retry schedule
 * (`ShippingProcessor` backoff, at most `retryMaxDelay`) decides when the primary is tried again.
 * The replaced exporter is shut down (its calls in flight complete first).
 */
export class ReconnectingExporter<I = ReadableLogRecord[]> {
  private readonly _create: (generation: number) => ExporterOf<I>;
  private readonly _minIntervalMs: number;
  private _current: ExporterOf<I>;
  private _generation = 0;
  private _stale = false;
  private _lastSwap = Date.now();

  /** @param create - makes the exporter of a generation (0, 1, 2, ...); must not throw after generation 0 */
  constructor(
    create: (generation: number) => ExporterOf<I>,
    options: ReconnectingExporterOptions = {},
  ) {
    this._create = create;
    this._minIntervalMs = options.minIntervalMs ?? 1000;
    this._current = create(0);
  }

  /** Exporters made so far, minus one (0 until the first reconnection). */
  get generation(): number {
    return this._generation;
  }

  export(records: I, resultCallback: (result: ExportResult) => void): void {
    if (this._stale && Date.now() - this._lastSwap >= this._minIntervalMs) this._swap();
    this._current.export(records, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this._stale = false;
      else if (grpcStatusOf(result.error)?.code === GrpcCode.UNAVAILABLE) this._stale = true;
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this._current.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this._current.shutdown();
  }

  private _swap(): void {
    const old = this._current;
    try {
      this._current = this._create(this._generation + 1);
    } catch (err) {
      diag.warn('starlog: could not make a new exporter; keeping the old one', err);
      this._lastSwap = Date.now();
      return;
    }
    this._generation++;
    this._lastSwap = Date.now();
    this._stale = false;
    old.shutdown().catch((err: unknown) => diag.warn('starlog: old exporter shutdown failed', err));
  }
}
