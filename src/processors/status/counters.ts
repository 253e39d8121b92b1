import type { Attributes, Context } from '@opentelemetry/api';
import { diag, logs, ROOT_CONTEXT } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { COUNT_PREFIX, COUNTS_SCOPE_NAME } from '../../semconv.ts';

/**
 * Attribute-key prefix of a custom counter carried on a log record: `inc('requests')` sets
 * `starlog.count.requests: 1`. {@link StatusProcessor} sums every attribute with this prefix.
 */
export { COUNT_PREFIX };

/** The chainable methods of a {@link CountAttributes} object (on the prototype, not enumerable). */
export interface CountMethods {
  /**
   * Adds `by` to the counter `name` (attribute `starlog.count.<name>`); incrementing the same
   * name twice sums. An empty/non-string name or a non-finite `by` is reported through `diag`
   * and ignored (never thrown).
   * @returns the same object, for chaining
   */
  inc(name: string, by?: number): CountAttributes;
  /**
   * Copies the own enumerable attributes of `attributes` into this object (later values win,
   * `undefined` values are skipped). A non-object argument is reported through `diag` and ignored.
   * @returns the same object, for chaining
   */
  update(attributes: Attributes): CountAttributes;
}

/**
 * An OpenTelemetry attributes object whose own enumerable properties are only attributes
 * (`Object.keys`, `Object.entries`, spreading, `JSON.stringify` see nothing else), with the
 * chainable {@link CountMethods} on its prototype. Usable wherever `Attributes` are accepted,
 * e.g. `logger.emit({ body, attributes: inc('requests').inc('2xx') })`.
 */
export type CountAttributes = Attributes & CountMethods;

type Bag = Record<string, unknown>;

class Counts implements CountMethods {
  // No instance fields: every own property must be an attribute.

  inc(name: string, by = 1): CountAttributes {
    if (typeof name !== 'string' || name.length === 0) {
      diag.warn(`starlog inc(): counter name must be a non-empty string; got ${describe(name)}`);
    } else if (typeof by !== 'number' || !Number.isFinite(by)) {
      diag.warn(`starlog inc('${name}'): increment must be a finite number; got ${describe(by)}`);
    } else {
      const bag = this as unknown as Bag;
      const key = COUNT_PREFIX + name;
      const current = bag[key];
      bag[key] = typeof current === 'number' ? current + by : by;
    }
    return this as unknown as CountAttributes;
  }

  update(attributes: Attributes): CountAttributes {
    if (attributes === null || typeof attributes !== 'object') {
      diag.warn(
        `starlog inc().update(): attributes must be an object; got ${describe(attributes)}`,
      );
    } else {
      const bag = this as unknown as Bag;
      for (const key of Object.keys(attributes)) {
        const value = attributes[key];
        if (value !== undefined) bag[key] = value;
      }
    }
    return this as unknown as CountAttributes;
  }
}

/**
 * Starts an attributes object that counts: `inc('requests')` is `{ 'starlog.count.requests': 1 }`
 * with chainable `.inc(name, by?)` and `.update(attributes)`. The counters travel with the
 * record (also from child processes to the primary), where {@link StatusProcessor} sums them per
 * interval and renders them as `{requests}` in its template.
 *
 * @param name - counter name (non-empty); the attribute key is `starlog.count.<name>`
 * @param by - increment, any finite number; default 1
 * @returns a fresh {@link CountAttributes}; bad input is reported through `diag` and skipped,
 *   never thrown
 */
export function inc(name: string, by = 1): CountAttributes {
  return new Counts().inc(name, by);
}

/**
 * Counts without logging: adds `by` to the counter `name`, as `inc(name, by)` on a record would,
 * whatever the level table says. The count reaches the status records of the primary (summed
 * across processes) through a counter record (see {@link COUNTS_SCOPE_NAME}) at most
 * {@link COUNTS_FLUSH_MS} later, at the next status report of a StatusProcessor in this process,
 * and at exit. Costs a `Map` update; bad input is reported through `diag` and skipped, never
 * thrown.
 *
 * @param name - counter name (non-empty): `{name}` in status templates, `status.count.<name>`
 * @param by - increment, any finite number; default 1
 */
export function count(name: string, by = 1): void {
  if (typeof name !== 'string' || name.length === 0) {
    diag.warn(`starlog count(): counter name must be a non-empty string; got ${describe(name)}`);
  } else if (typeof by !== 'number' || !Number.isFinite(by)) {
    diag.warn(`starlog count('${name}'): increment must be a finite number; got ${describe(by)}`);
  } else addPending(COUNT_PREFIX + name, by);
}

/*
 * Counts that no written record carries (a logger call whose record is disabled, `count()`, a
 * record the level table filtered out) wait here, per process, until they are emitted as one
 * counter record or taken by a StatusProcessor of this process.
 */

export { COUNTS_SCOPE_NAME };

/** Longest time a count waits before its counter record is emitted, ms. */
export const COUNTS_FLUSH_MS = 1000;

let pending = new Map<string, number>();
let timer: ReturnType<typeof setTimeout> | undefined;
let exitHooked = false;

function addPending(key: string, by: number): void {
  const current = pending.get(key);
  pending.set(key, current === undefined ? by : current + by);
  if (timer === undefined) {
    timer = setTimeout(emitPendingCounts, COUNTS_FLUSH_MS);
    timer.unref?.();
  }
  if (!exitHooked) {
    exitHooked = true;
    // first, before a child's exit hooks flush what is queued
    process.prependListener('beforeExit', emitPendingCounts);
    process.prependListener('exit', emitPendingCounts);
  }
}

/**
 * For a logger call whose record is disabled: when its first argument is an `inc()` object, its
 * counters are counted anyway (no record is built). Anything else costs an `instanceof`.
 */
export function countDisabled(first: unknown): void {
  if (!(first instanceof Counts)) return;
  const bag = first as unknown as Bag;
  for (const key of Object.keys(bag)) {
    const value = bag[key];
    if (typeof value === 'number' && key.startsWith(COUNT_PREFIX)) addPending(key, value);
  }
}

/** For a record dropped before counting (the level table): counts its `starlog.count.*` attributes. */
export function countAttributes(attributes: Attributes | undefined): void {
  if (attributes === undefined) return;
  for (const key in attributes) {
    if (key.charCodeAt(0) !== 115 || !key.startsWith(COUNT_PREFIX)) continue;
    const value = attributes[key];
    if (typeof value === 'number' && Number.isFinite(value)) addPending(key, value);
  }
}

/**
 * For a StatusProcessor: hands `add` the counters of a counter record's `attributes` (if given),
 * then the counts waiting in this process (taken: each is counted once).
 */
export function drainCounts(
  attributes: Attributes | undefined,
  add: (key: string, value: unknown) => void,
): void {
  for (const key in attributes) {
    if (key.startsWith(COUNT_PREFIX)) add(key, attributes[key]);
  }
  const taken = takePendingCounts();
  if (taken !== undefined) for (const [key, n] of taken) add(key, n);
}

/** Takes the counts waiting in this process (attribute key → sum), or `undefined` when none. */
export function takePendingCounts(): Map<string, number> | undefined {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (pending.size === 0) return undefined;
  const taken = pending;
  pending = new Map();
  return taken;
}

/**
 * Emits the waiting counts as one counter record through the global LoggerProvider (see
 * {@link COUNTS_SCOPE_NAME}). Never throws.
 */
export function emitPendingCounts(): void {
  const taken = takePendingCounts();
  if (taken === undefined) return;
  try {
    const attributes: Attributes = {};
    for (const [key, value] of taken) attributes[key] = value;
    logs.getLogger(COUNTS_SCOPE_NAME).emit({ attributes, context: ROOT_CONTEXT });
  } catch (err) {
    diag.error('starlog: emitting a counter record failed', err);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return Object.prototype.toString.call(value);
  return String(value);
}

/**
 * `next` without counter records (see {@link COUNTS_SCOPE_NAME}): the stage after the status
 * processor in setupLogging's primary, so counter records are counted but not written. Costs a
 * scope identity check per record (the scope name is compared once per new scope).
 */
export function withoutCounterRecords(next: LogRecordProcessor): LogRecordProcessor {
  let lastScope: InstrumentationScope | undefined;
  let lastIsCounts = false;
  return {
    onEmit(record: ReadWriteLogRecord, context?: Context): void {
      const scope = record.instrumentationScope;
      if (scope !== lastScope) {
        lastScope = scope;
        lastIsCounts = scope.name === COUNTS_SCOPE_NAME;
      }
      if (!lastIsCounts) next.onEmit(record, context);
    },
    enabled: next.enabled?.bind(next),
    forceFlush: () => next.forceFlush(),
    shutdown: () => next.shutdown(),
  };
}
