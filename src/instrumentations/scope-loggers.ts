import { type Logger, type LoggerProvider, logs } from '@opentelemetry/api';
import type { LevelTable } from '../pipeline/level-table.ts';
import { capturedTime } from '../util/clock.ts';
import type { JsonRecordFields } from './json-record.ts';

/** What the captures read from the running set-up; `levels()` is `undefined` when starlog is off. */
export interface CaptureContext {
  /** The level table in force, or `undefined` when starlog is not set up (then: pass-through). */
  levels(): LevelTable | undefined;
  /** Keep the library's own stdout/stderr output next to what starlog ships. Default false. */
  keepOutput: boolean;
  /**
   * `setupLogging()` is under way (no table yet): loggers created now are remembered and adopted
   * when the table arrives.
   */
  preparing: boolean;
}

let cachedProvider: LoggerProvider | undefined;
const loggers = new Map<string, Logger>();

/** The Logs API logger for a scope name (one per name, re-fetched when the provider changes). */
export function scopeLogger(name: string): Logger {
  const provider = logs.getLoggerProvider();
  if (provider !== cachedProvider) {
    cachedProvider = provider;
    loggers.clear();
  }
  let logger = loggers.get(name);
  if (logger === undefined) {
    if (loggers.size >= 1000) loggers.clear();
    logger = provider.getLogger(name);
    loggers.set(name, logger);
  }
  return logger;
}

/**
 * Emits a captured pino/bunyan record (see `json-record.ts`) through its scope's logger, stamped
 * with the process clock when it was written just now (`capturedTime`).
 */
export function emitJsonFields(fields: JsonRecordFields): void {
  scopeLogger(fields.scope).emit({
    severityNumber: fields.severityNumber,
    severityText: fields.severityText,
    body: fields.body,
    attributes: fields.attributes,
    timestamp: capturedTime(fields.timestamp),
  });
}
