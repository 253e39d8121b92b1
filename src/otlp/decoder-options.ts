/**
 * Options and limits of the OTLP logs decoder (`logs-decoder.ts`).
 *
 * @module
 */

/** Hard limits of the decoder. A hostile or broken peer cannot exceed them. */
export interface OtlpDecodeLimits {
  /** Largest request accepted, in bytes. Default 16 MiB (the receiver's gRPC max receive size). Larger → `limit` error. */
  maxMessageBytes?: number;
  /** Deepest AnyValue nesting (arrays/kvlists in arrays/kvlists), counting the outer value as 1. Default 32. Deeper → `limit` error. */
  maxDepth?: number;
  /**
   * Most attributes kept per record, per resource and per scope. Default 1024. Extra attributes are
   * dropped and counted in the record's (scope's, resource's) `droppedAttributesCount`, as the SDK does.
   */
  maxAttributes?: number;
  /** Most elements in one AnyValue array or kvlist. Default 65,536. More → `limit` error. */
  maxCollectionLength?: number;
}

/** Cache sizes of the decoder (least recently used entries are evicted beyond them). */
export interface OtlpDecoderOptions extends OtlpDecodeLimits {
  /** Distinct resources cached (one `Resource` object each). Default 1024. */
  maxResources?: number;
  /** Distinct (resource, scope) pairs cached (one scope object each). Default 4096. */
  maxScopes?: number;
  /**
   * Estimated bytes each of the two caches may hold (twice the encoded size of a cached
   * resource or scope, plus 256 per entry). Default 16 MiB each. A resource or scope heavier than
   * this is decoded afresh for every request instead of being cached.
   */
  maxCacheBytes?: number;
}

/** `value`, or `fallback` when undefined. @throws TypeError naming `what` when not a positive integer */
export function checkPositiveInt(
  value: number | undefined,
  fallback: number,
  what: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(
      `starlog: ${what} must be a positive integer; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
