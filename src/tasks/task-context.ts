/**
 * The OpenTelemetry Context of a task: its parent Context plus two values, the task's span (under
 * the API's span key, as `trace.setSpan` stores it) and the task (under `TASK_KEY`).
 *
 * The API's `BaseContext` copies its parent's `Map` and makes three closures on every
 * `setValue`: `trace.setSpan(parent, span).setValue(TASK_KEY, task)` made two copies, the largest
 * part of starting a task (one per HTTP request). A {@link TaskContext} keeps a reference to its
 * parent instead and answers the two keys itself; every other key is read from the parent, and
 * `setValue`/`deleteValue` of another key make the change on the parent (copied as the parent
 * does it) under a new TaskContext with the same span and task. So a chain is only as deep as
 * the nesting of tasks. It implements the API's `Context` interface, nothing more.
 */
import {
  type Context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  trace,
} from '@opentelemetry/api';

/** The key under which `trace.setSpan` stores a span (read once, through the API itself). */
const SPAN_KEY: symbol = (() => {
  let key: symbol | undefined;
  const probe = {
    getValue: () => undefined,
    setValue(k: symbol): Context {
      key = k;
      return ROOT_CONTEXT;
    },
    deleteValue: () => ROOT_CONTEXT,
  };
  trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return key ?? Symbol.for('OpenTelemetry Context Key SPAN');
})();

/** Marks a key deleted on this TaskContext (its parent's value is not visible then either). */
const ABSENT: unique symbol = Symbol('starlog.absent');

export class TaskContext implements Context {
  readonly #parent: Context;
  readonly #taskKey: symbol;
  readonly #span: unknown;
  readonly #task: unknown;

  /** `span`/`task`: the values of the span key and of `taskKey` (ABSENT: deleted) */
  constructor(parent: Context, span: Span | unknown, taskKey: symbol, task: unknown) {
    this.#parent = parent;
    this.#span = span;
    this.#taskKey = taskKey;
    this.#task = task;
  }

  getValue(key: symbol): unknown {
    if (key === SPAN_KEY) return this.#span === ABSENT ? undefined : this.#span;
    if (key === this.#taskKey) return this.#task === ABSENT ? undefined : this.#task;
    return this.#parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    if (key === SPAN_KEY) return new TaskContext(this.#parent, value, this.#taskKey, this.#task);
    if (key === this.#taskKey) return new TaskContext(this.#parent, this.#span, key, value);
    return new TaskContext(
      this.#parent.setValue(key, value),
      this.#span,
      this.#taskKey,
      this.#task,
    );
  }

  deleteValue(key: symbol): Context {
    if (key === SPAN_KEY) return new TaskContext(this.#parent, ABSENT, this.#taskKey, this.#task);
    if (key === this.#taskKey) return new TaskContext(this.#parent, this.#span, key, ABSENT);
    return new TaskContext(this.#parent.deleteValue(key), this.#span, this.#taskKey, this.#task);
  }
}
