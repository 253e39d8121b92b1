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

/**
 * The `details` of the RESOURCE_EXHAUSTED answer of starlog's receiver when the primary's own
 * destination queues are nearly full: the child keeps the batch and retries with backoff.
 */
export const BACKPRESSURE_DETAILS = 'starlog receiver: busy, destination queues nearly full; retry';

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
