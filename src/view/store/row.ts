/**
 * The shape in which `starlog view` hands log records to its {@link ViewStore}: one plain object per
 * record, the same whether it was read from OTLP/JSON lines (`src/tree/read.ts`) or taken live from
 * a primary's pipeline (`view-stage.ts`). Plain data only: it crosses a `worker_threads` boundary.
 *
 * @module
 */

/** An attribute value as the view keeps it: scalars as they are, arrays/maps rendered as text. */
export type ViewAttributeValue = string | number | boolean;

/** One log record. */
export interface ViewRow {
  /** time in ms since the epoch (fractional; 0 when the record had none) */
  t: number;
  /** severity number 0–24 (OTLP `SeverityNumber`) */
  sev: number;
  /** the process: key of a {@link ViewProcess} announced before */
  proc: number;
  /** instrumentation scope name */
  logger?: string;
  /** body as text (truncated by the producer) */
  body: string;
  /** trace id, lower-case hex (32 chars) */
  trace?: string;
  /** span id, lower-case hex (16 chars) */
  span?: string;
  /** attribute `task.id`: the task path (`root/1/2`) */
  task?: string;
  /** attribute `task.name` */
  tname?: string;
  /** attribute `task.outcome` (`success`/`failure`): present on a task's exit record */
  outcome?: string;
  /** attribute `task.duration_ms` */
  dur?: number;
  /** `exception.type: exception.message` */
  exc?: string;
  /** `exception.stacktrace` */
  stack?: string;
  /** every other attribute */
  attrs?: Record<string, ViewAttributeValue>;
}

/** A process, from the resource of its records. */
export interface ViewProcess {
  /** the key {@link ViewRow.proc} refers to (unique per store) */
  key: number;
  /** resource `process.pid` */
  pid?: string;
  /** resource `service.name` */
  service?: string;
  /** resource `host.name` */
  host?: string;
}

/** Instrumentation scope of status records (see `StatusProcessor`). */
export const STATUS_LOGGER = 'starlog.status';
