import { type Context, diag } from '@opentelemetry/api';
import type {
  ForceFlushOptions,
  LogRecordProcessor,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import { parseLevel } from '../severity.ts';

/** Options of {@link SeverityFilterProcessor}. */
export interface SeverityFilterOptions {
  /**
   * Minimum severity forwarded: a level name (`'trace'`, `'debug'`, `'info'`, `'warn'`,
   * `'error'`, `'fatal'`, `'off'`, case-insensitive, as `parseLevel` in `src/severity.ts`) or a
   * severity number 1–24. `'off'` forwards nothing. The name is the OpenTelemetry SDK's
   * (`minimumSeverity` of its logger configuration).
   */
  minimumSeverity?: string | number;
  /** @deprecated the old name of `minimumSeverity` (accepted, with a warning through `diag`) */
  minSeverity?: string | number;
  /**
   * Also drop records without a severity (severity number absent or 0, UNSPECIFIED).
   * Default `false`: like the OpenTelemetry SDK's `minimumSeverity` logger config, records
   * with an unspecified severity pass (with `'off'` nothing passes).
   */
  dropUnspecified?: boolean;
}

/** The options `LogRecordProcessor.enabled` receives. */
type EnabledOptions = Parameters<NonNullable<LogRecordProcessor['enabled']>>[0];

/**
 * A `LogRecordProcessor` wrapper that forwards to `next` only the records at or above a
 * minimum severity: for example everything to the JSONL file but only errors to the console:
 *
 * ```ts
 * new LoggerProvider({ processors: [
 *   new BatchLogRecordProcessor({ exporter: new JsonlFileExporter() }),
 *   new SeverityFilterProcessor(new SimpleLogRecordProcessor({ exporter: new PrettyConsoleExporter() }),
 *     { minimumSeverity: 'error' }),
 * ] });
 * ```
 *
 * `enabled()` answers `false` for severities below the minimum (so loggers can skip building
 * records nobody wants) and otherwise asks `next`. `forceFlush()`/`shutdown()` are forwarded.
 * Never throws from `onEmit`/`enabled`: an exception from `next` goes to `diag.error`.
 */
export class SeverityFilterProcessor implements LogRecordProcessor {
  /** The minimum severity number (Infinity for `'off'`). */
  readonly minimumSeverity: number;
  private readonly _next: LogRecordProcessor;
  private readonly _dropUnspecified: boolean;

  /** @throws TypeError when `minimumSeverity` is not a known level name or a number 1–24 */
  constructor(next: LogRecordProcessor, options: SeverityFilterOptions) {
    const raw = minimumSeverityOf(options, 'SeverityFilterProcessor');
    const min = typeof raw === 'string' || typeof raw === 'number' ? parseLevel(raw) : undefined;
    if (min === undefined) {
      throw new TypeError(
        `SeverityFilterProcessor: unknown minimumSeverity ${JSON.stringify(raw)} (expected trace, debug, info, warn, error, fatal, off, or a severity number 1-24)`,
      );
    }
    this.minimumSeverity = min;
    this._next = next;
    this._dropUnspecified = options.dropUnspecified === true || min === Number.POSITIVE_INFINITY;
  }

  private _passes(severity: number | undefined): boolean {
    if (severity === undefined || severity === 0) return !this._dropUnspecified;
    return severity >= this.minimumSeverity;
  }

  onEmit(record: ReadWriteLogRecord, context?: Context): void {
    if (!this._passes(record.severityNumber)) return;
    try {
      this._next.onEmit(record, context);
    } catch (err) {
      diag.error('SeverityFilterProcessor: next processor threw in onEmit', err);
    }
  }

  enabled(options: EnabledOptions): boolean {
    // an absent severity in enabled() means "unknown yet", not UNSPECIFIED: only 'off' says no
    if (options?.severityNumber !== undefined && !this._passes(options.severityNumber)) {
      return false;
    }
    if (this.minimumSeverity === Number.POSITIVE_INFINITY) return false;
    try {
      return this._next.enabled ? this._next.enabled(options) : true;
    } catch (err) {
      diag.error('SeverityFilterProcessor: next processor threw in enabled', err);
      return true;
    }
  }

  forceFlush(options?: ForceFlushOptions): Promise<void> {
    return this._next.forceFlush(options);
  }

  shutdown(): Promise<void> {
    return this._next.shutdown();
  }
}

const warned = new Set<string>();

/**
 * `minimumSeverity`, else the deprecated `minSeverity` (warned about once per `where` through
 * `diag`). The one place that reads the old name.
 */
export function minimumSeverityOf(
  options: { minimumSeverity?: string | number; minSeverity?: string | number } | undefined,
  where: string,
): string | number | undefined {
  if (options?.minimumSeverity !== undefined) return options.minimumSeverity;
  if (options?.minSeverity !== undefined && !warned.has(where)) {
    warned.add(where);
    diag.warn(`${where}: minSeverity is deprecated, use minimumSeverity`);
  }
  return options?.minSeverity;
}
