import type { Attributes } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import { COUNT_PREFIX } from '../../semconv.ts';

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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return Object.prototype.toString.call(value);
  return String(value);
}
