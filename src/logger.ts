import {
  type AnyValue,
  type Attributes,
  diag,
  type LoggerProvider,
  logs,
  type Logger as OtelLogger,
  SeverityNumber,
} from '@opentelemetry/api';
import { activeLevelTable } from './pipeline/active-levels.ts';
import type { LevelTable } from './pipeline/level-table.ts';
import { countDisabled } from './processors/status/counters.ts';
import { emitPrimitive } from './tasks/direct-emit.ts';
import { monotonicHrTime } from './util/clock.ts';
import { format } from './util/format.ts';

/**
 * A log method: `(msg, ...args)` with printf-style formatting like `util.format`, or
 * `(attributes, msg, ...args)`, or `(error, msg?, ...args)` which adds the OpenTelemetry
 * `exception.type`, `exception.message` and `exception.stacktrace` attributes.
 */
export interface LogMethod {
  (msg: string, ...args: unknown[]): void;
  (attributes: Attributes | Error, msg?: string, ...args: unknown[]): void;
}

/** The `getLogger()` facade over the OpenTelemetry Logs API. Methods never throw. */
export interface Logger {
  /** The logger name: the OpenTelemetry instrumentation scope name, matched by level patterns. */
  readonly name: string;
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  /** Logs `err` at ERROR with the `exception.*` attributes; body `msg`, else the error's message. */
  exception(err: unknown, msg?: string, attributes?: Attributes): void;
  /** Whether a record of this severity would be emitted now. */
  isEnabled(severityNumber: SeverityNumber): boolean;
  /** A logger with the same name whose records all carry `attributes` (the call's own win). */
  child(attributes: Attributes): Logger;
}

/**
 * Returns a logger whose records go to the global OpenTelemetry LoggerProvider (the one
 * `setupLogging()` registers; records emitted before that are dropped by the API's no-op
 * provider). The instrumentation scope name is `name`; the level table matches it by pattern.
 *
 * A disabled call costs a level lookup cached per logger (a few ns) and builds nothing; its
 * `inc()` counters (an `inc()` object as first argument, or `exception()`'s attributes) are
 * still counted (see `count()`), so status counters do not depend on the level.
 *
 * An enabled call whose attributes are all strings, numbers and booleans (and within the
 * provider's attribute limits) reaches the processors without the SDK's `LogRecordImpl` and its
 * per-attribute re-validation (`tasks/direct-emit.ts`: the same `enabled()` decision, Context and
 * span context; the record is a `ReadWriteLogRecord`, its attributes a copy of the caller's);
 * every other call goes through the Logs API's `Logger.emit()`.
 */
export function getLogger(name: string, version?: string): Logger {
  return new FacadeLogger(name, version, undefined);
}

class FacadeLogger implements Logger {
  readonly name: string;
  private readonly otel: OtelLogger;
  private readonly version: string | undefined;
  /** the global provider's logger for this name, re-fetched when the provider changes */
  private provider: LoggerProvider | undefined;
  private direct: OtelLogger | undefined;
  private readonly bindings: Attributes | undefined;
  private table: LevelTable | undefined;
  private tableVersion = -1;
  private min = 0;

  constructor(name: string, version: string | undefined, bindings: Attributes | undefined) {
    this.name = String(name);
    this.otel = logs.getLogger(this.name, version);
    this.version = version;
    this.bindings = bindings;
  }

  /** The minimum severity now in force for this logger (0: let the provider decide). */
  private threshold(): number {
    const t = activeLevelTable();
    if (t === undefined) return 0;
    if (t !== this.table || t.version !== this.tableVersion) {
      this.table = t;
      this.tableVersion = t.version;
      this.min = t.minSeverity(this.name);
    }
    return this.min;
  }

  trace(...args: unknown[]): void {
    if (this.threshold() > SeverityNumber.TRACE) {
      if (args.length !== 0) countDisabled(args[0]);
      return;
    }
    this.write(SeverityNumber.TRACE, 'TRACE', args);
  }

  debug(...args: unknown[]): void {
    if (this.threshold() > SeverityNumber.DEBUG) {
      if (args.length !== 0) countDisabled(args[0]);
      return;
    }
    this.write(SeverityNumber.DEBUG, 'DEBUG', args);
  }

  info(...args: unknown[]): void {
    if (this.threshold() > SeverityNumber.INFO) {
      if (args.length !== 0) countDisabled(args[0]);
      return;
    }
    this.write(SeverityNumber.INFO, 'INFO', args);
  }

  warn(...args: unknown[]): void {
    if (this.threshold() > SeverityNumber.WARN) {
      if (args.length !== 0) countDisabled(args[0]);
      return;
    }
    this.write(SeverityNumber.WARN, 'WARN', args);
  }

  error(...args: unknown[]): void {
    if (this.threshold() > SeverityNumber.ERROR) {
      if (args.length !== 0) countDisabled(args[0]);
      return;
    }
    this.write(SeverityNumber.ERROR, 'ERROR', args);
  }

  fatal(...args: unknown[]): void {
    if (this.threshold() > SeverityNumber.FATAL) {
      if (args.length !== 0) countDisabled(args[0]);
      return;
    }
    this.write(SeverityNumber.FATAL, 'FATAL', args);
  }

  exception(err: unknown, msg?: string, attributes?: Attributes): void {
    if (this.threshold() > SeverityNumber.ERROR) {
      countDisabled(attributes);
      return;
    }
    try {
      const body =
        msg ?? (err instanceof Error ? err.message : typeof err === 'string' ? err : format(err));
      const now = monotonicHrTime(); // µs resolution, never backwards (util/clock.ts)
      this.otel.emit({
        timestamp: now,
        observedTimestamp: now,
        severityNumber: SeverityNumber.ERROR,
        severityText: 'ERROR',
        body,
        attributes: this.merge(attributes),
        exception: err,
      });
    } catch (e) {
      diag.error(`starlog: logger '${this.name}' failed to emit`, e);
    }
  }

  isEnabled(severityNumber: SeverityNumber): boolean {
    const min = this.threshold();
    if (min === 0) return this.otel.enabled({ severityNumber });
    return severityNumber >= min;
  }

  child(attributes: Attributes): Logger {
    const child = new FacadeLogger(this.name, undefined, this.merge(attributes));
    return child;
  }

  private merge(attributes: Attributes | undefined): Attributes | undefined {
    if (this.bindings === undefined) return attributes;
    if (attributes === undefined) return this.bindings;
    return { ...this.bindings, ...attributes };
  }

  /** The global provider's logger (not a proxy made before `setupLogging()`), cached. */
  private sdkLogger(): OtelLogger {
    const provider = logs.getLoggerProvider();
    if (provider !== this.provider || this.direct === undefined) {
      this.provider = provider;
      this.direct = provider.getLogger(this.name, this.version);
    }
    return this.direct;
  }

  private write(severityNumber: SeverityNumber, severityText: string, args: unknown[]): void {
    try {
      let attributes: Attributes | undefined;
      let exception: unknown;
      let rest = args;
      const first = args[0];
      if (first instanceof Error) {
        exception = first;
        rest = args.slice(1);
        if (rest.length === 0) rest = [first.message];
      } else if (first !== null && typeof first === 'object') {
        attributes = first as Attributes;
        rest = args.slice(1);
      }
      let body: AnyValue;
      if (rest.length === 0) body = '';
      else if (rest.length === 1 && typeof rest[0] === 'string') body = rest[0];
      else body = format(...rest);
      const merged = this.merge(attributes);
      // string, number and boolean attributes (the usual call) skip the SDK's re-validation
      // (tasks/direct-emit.ts); anything else goes through Logger.emit(), which validates
      if (
        exception === undefined &&
        typeof body === 'string' &&
        emitPrimitive(this.sdkLogger(), severityNumber, severityText, body, merged)
      )
        return;
      const now = monotonicHrTime(); // µs resolution, never backwards (util/clock.ts)
      this.otel.emit({
        timestamp: now,
        observedTimestamp: now,
        severityNumber,
        severityText,
        body,
        attributes: merged,
        exception,
      });
    } catch (err) {
      diag.error(`starlog: logger '${this.name}' failed to emit`, err);
    }
  }
}
