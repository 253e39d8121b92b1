import { diag, INVALID_TRACEID } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { holdMaxFor, type LookbackKey, type ResolvedBounds } from './lookback-options.ts';

/**
 * What the lookback buffer reads of a record besides its severity: its buffer key (with an
 * identity token for the follow windows' cache) and the hold level of its logger.
 */
export class RecordReader {
  /**
   * An object that stands for the key the last {@link key} call returned (the record's span
   * context, or an object key itself), or `undefined`: the same token always means the same key.
   */
  token: object | undefined;
  /** The key {@link token} stands for (default key function only). */
  private lastKey: LookbackKey | undefined;
  private readonly keyOf: ((record: ReadableLogRecord) => LookbackKey | undefined) | undefined;
  private readonly bounds: ResolvedBounds;
  private readonly onError: (what: string, err: unknown) => void;
  /** One-entry cache of the hold level by scope (with `hold` rules). */
  private cachedScope: InstrumentationScope | undefined;
  private cachedHoldMax = 0;

  constructor(
    keyOf: ((record: ReadableLogRecord) => LookbackKey | undefined) | undefined,
    bounds: ResolvedBounds,
    onError: (what: string, err: unknown) => void,
  ) {
    this.keyOf = keyOf;
    this.bounds = bounds;
    this.onError = onError;
  }

  /**
   * The buffer key of a record, `undefined` when it is not to be held: by default its trace id,
   * or without a valid one its Resource object when `holdUntraced`; else the key function's
   * answer (one that throws is reported and counts as `undefined`). Sets {@link token}. Small on
   * purpose (inlined in the processor's hot path): the records of one span, one after the other,
   * cost a pointer comparison.
   */
  key(record: ReadableLogRecord): LookbackKey | undefined {
    const sc = record.spanContext;
    if (sc !== undefined && sc === this.token && this.keyOf === undefined) return this.lastKey;
    return this.readKey(record, sc);
  }

  private readKey(
    record: ReadableLogRecord,
    sc: ReadableLogRecord['spanContext'],
  ): LookbackKey | undefined {
    if (this.keyOf === undefined) {
      if (sc !== undefined) {
        const id = sc.traceId;
        // compared with INVALID_TRACEID only when it may be equal: comparing two different
        // strings costs ~40 ns on V8, more than the rest of the pass-through path
        if (id.charCodeAt(0) !== 48 || id !== INVALID_TRACEID) {
          this.token = sc;
          this.lastKey = id;
          return id;
        }
      }
      if (!this.bounds.holdUntraced) return undefined;
      this.token = record.resource;
      this.lastKey = record.resource;
      return record.resource;
    }
    this.token = undefined;
    let key: LookbackKey | undefined;
    try {
      key = this.keyOf(record);
    } catch (err) {
      this.onError('the key function threw; the record passes unbuffered', err);
      return undefined;
    }
    if (typeof key === 'object') this.token = key;
    return key;
  }

  /** The highest severity held for the record's logger (`hold` rules, cached per scope). */
  holdMax(record: ReadableLogRecord): number {
    const scope = record.instrumentationScope;
    if (scope !== this.cachedScope) {
      this.cachedScope = scope;
      this.cachedHoldMax = holdMaxFor(this.bounds, scope.name);
    }
    return this.cachedHoldMax;
  }

  /** Forgets the cached hold levels (the rules changed). */
  rulesChanged(): void {
    this.cachedScope = undefined;
  }
}

/**
 * Reports the `n`th internal error of a LookbackProcessor through `diag`: errors number 1, 2, 4,
 * 8, ... at error level, the others at debug level (no flood).
 */
export function reportError(n: number, what: string, err: unknown): void {
  if (n === 1 || (n & (n - 1)) === 0) {
    diag.error(`starlog LookbackProcessor: ${what} (${n} errors so far)`, err);
  } else {
    diag.debug(`starlog LookbackProcessor: ${what}`, err);
  }
}
