/**
 * Every name starlog writes into telemetry or onto the wire, in one place: instrumentation scope
 * names, event names, attribute keys, gRPC metadata keys, the `tracestate` key. Modules import
 * these constants instead of typing the strings (their own exports of the same names re-export
 * these).
 *
 * @module
 */

// ---- instrumentation scope names ----
/** Status records (a status record's scope; records with this scope are never counted). */
export const STATUS_SCOPE_NAME = 'starlog.status';
/** Task enter/exit/failure records, and the tracer of task spans. */
export const TASK_SCOPE_NAME = 'starlog.task';
/** Drop reports a child sends to its primary (taken out by the receiver, never in the pipeline). */
export const DROP_REPORT_SCOPE_NAME = 'starlog.drops';
/** Lines of a child's stdout/stderr captured by `starlog run`. */
export const CAPTURE_SCOPE_NAME = 'starlog.capture';
/** `starlog run`'s own records (child started, exited). */
export const RUN_SCOPE_NAME = 'starlog.run';
/** The primary's configuration records (reloaded, refused). */
export const CONFIG_SCOPE_NAME = 'starlog.config';
/**
 * Counter records: no severity (so no level table filters them), no body, attributes
 * `starlog.count.<name>` (sums of counts no written record carried: `count()`, disabled calls).
 * A child ships them like any record; a StatusProcessor adds their counters (they are not counted
 * as records) and setupLogging's primary does not write them.
 */
export const COUNTS_SCOPE_NAME = 'starlog.counts';
/** Access records of the automatic HTTP request tasks (`GET /orders/:id 200 3.2ms`). */
export const HTTP_SCOPE_NAME = 'starlog.http';

// ---- event names ----
/** Event name of status records (`LogRecord.eventName`). */
export const STATUS_EVENT_NAME = 'starlog.status';

// ---- attribute keys ----
/** Resource attribute: `'primary'` or `'child'`. */
export const ROLE_ATTRIBUTE = 'starlog.role';
/** Prefix of counter attributes (`inc('requests')` is `starlog.count.requests`). */
export const COUNT_PREFIX = 'starlog.count.';
/** Set on the pieces of a captured line longer than the line limit. */
export const CAPTURE_SPLIT_ATTRIBUTE = 'starlog.capture.split';
/** Drop report attribute keys, by reason (cumulative counts, records). */
export const DROPPED_ATTRIBUTES = Object.freeze({
  queueFull: 'starlog.dropped.queue_full',
  spillOverflow: 'starlog.dropped.spill_overflow',
  exportFailed: 'starlog.dropped.export_failed',
  exportRejected: 'starlog.dropped.export_rejected',
  afterShutdown: 'starlog.dropped.after_shutdown',
} as const);

// ---- metadata and context keys ----
/** gRPC metadata key carrying the primary's token on every call to its receiver. */
export const TOKEN_METADATA_KEY = 'x-starlog-token';
/** The `tracestate` key under which starlog carries a task id path. */
export const TRACESTATE_KEY = 'starlog';
/** Name of the Context key of the active task (`createContextKey`, shared across copies). */
export const TASK_CONTEXT_KEY_NAME = 'starlog.task';
