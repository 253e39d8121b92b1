import { Buffer } from 'node:buffer';
import type { Attributes, Context } from '@opentelemetry/api';
import { diag, ROOT_CONTEXT, SeverityNumber } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { defaultResource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import {
  hasNoCounterKeys,
  lazyStringBodyBytes,
} from '../../multiprocess/receiver/ingested-log-record.ts';
import { STATUS_EVENT_NAME, STATUS_SCOPE_NAME } from '../../semconv.ts';
import { SEVERITY_NAMES, type SeverityName, severityBucket } from '../../severity.ts';
import { type Duration, formatDuration, parseDuration } from '../../util/duration.ts';
import { PlainLogRecord } from '../../util/plain-log-record.ts';
import { estimateBodyBytes } from './body-bytes.ts';
import { COUNT_PREFIX, COUNTS_SCOPE_NAME, drainCounts } from './counters.ts';
import { defaultStatusProcessor } from './default-template.ts';
import { compileStatusTemplate, type StatusTemplate } from './template.ts';

/** Instrumentation scope name of status records; records with this scope are never counted. */
export { estimateBodyBytes, STATUS_EVENT_NAME, STATUS_SCOPE_NAME };

/** The one instrumentation scope object every status record carries. */
export const STATUS_SCOPE: InstrumentationScope = Object.freeze({ name: STATUS_SCOPE_NAME });

/** Default {@link StatusProcessorOptions.template}. */
export const DEFAULT_STATUS_TEMPLATE =
  '{INFO} info, {WARN} warn, {ERROR} error, {FATAL} fatal, {DEBUG} debug, {TRACE} trace; ' +
  '{TOTAL} records, {TOTAL-SIZE} bytes in {window}';

/** Default {@link StatusProcessorOptions.interval}. */
export const DEFAULT_STATUS_INTERVAL = '15s';

/** Default {@link StatusProcessorOptions.maxCounters}. */
export const DEFAULT_MAX_COUNTERS = 1000;

/** Largest interval a Node.js timer accepts (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * `Buffer.byteLength` (exact UTF-8 length; it does not use `this`), read once at load: calling
 * it as `Buffer.byteLength(...)` on every record measured 10–30 ns more per record inside a
 * LoggerProvider (Node 24, A/B in one process).
 */
const utf8Length: (text: string) => number = Buffer.byteLength;

const PREFIX_LENGTH = COUNT_PREFIX.length;
const CHAR_S = 115; // 's', first char of COUNT_PREFIX
const BUCKETS = SEVERITY_NAMES.length;

/** Options of {@link StatusProcessor}. */
export interface StatusProcessorOptions {
  /**
   * How often a status record is emitted: milliseconds, or `'<n>ms' | '<n>s' | '<n>m' | '<n>h'`
   * (`'15s'`, `'5m'`, `'1h'`). Between 1 ms and 2^31 − 1 ms. Default `'15s'`.
   */
  interval?: Duration;
  /**
   * Body of each status record, with `{NAME}` placeholders (see README, "Status records"):
   * `{TRACE}` … `{FATAL}`, `{UNSPECIFIED}` (records per severity range), `{INFO-SIZE}` etc.
   * (body bytes), `{TOTAL}`, `{TOTAL-SIZE}`, aliases `{WARNING}`, `{CRITICAL}`, `{UNKNOWN}`,
   * custom counters by name (`{requests}`), gauges by name, `{time}` (ISO 8601 time of the
   * report), `{interval}` (configured interval, e.g. `15s`), `{window}` (time this record covers),
   * `{{`/`}}` for literal braces. Unknown names render `0`. Default
   * {@link DEFAULT_STATUS_TEMPLATE}.
   */
  template?: string;
  /**
   * Where status records go (e.g. a processor in front of your exporters). Default: a new
   * {@link defaultStatusProcessor} (console), which this StatusProcessor owns.
   */
  processor?: LogRecordProcessor;
  /**
   * Whether {@link StatusProcessor.shutdown} also shuts down `processor`. Default: `true` when
   * `processor` was omitted (the default one is ours), `false` when you passed one (it is only
   * force-flushed: it may be shared, e.g. the pipeline the StatusProcessor itself sits in).
   */
  shutdownProcessor?: boolean;
  /** Resource of status records. Default: `defaultResource()` of @opentelemetry/resources. */
  resource?: Resource;
  /**
   * Extra named values read at each report: rendered as `{name}` and added as attributes
   * `status.gauge.<name>`. A gauge that throws or returns a non-finite number gives 0 and is
   * reported through `diag`.
   */
  gauges?: Record<string, () => number>;
  /**
   * Whether body bytes (`{INFO-SIZE}`, `status.INFO-SIZE`, …) are counted. Measuring the UTF-8
   * length of string bodies is most of the per-record cost of this processor; `false` skips it
   * (every `-SIZE` value is then 0). Default `true`.
   */
  countBytes?: boolean;
  /**
   * Most distinct custom counter names kept; increments of further names are ignored and
   * counted in `status.counters_ignored`. Default 1000.
   */
  maxCounters?: number;
}

/** Records and body bytes of one severity range. */
export interface StatusCount {
  /** log records */
  count: number;
  /** body bytes (see {@link estimateBodyBytes}) */
  bytes: number;
}

/** What {@link StatusProcessor.snapshot} returns: the counts of the current interval so far. */
export interface StatusSnapshot {
  /** Start of the current interval, ms since the epoch. */
  intervalStart: number;
  /** Per severity range (`UNSPECIFIED`, `TRACE` … `FATAL`). */
  severities: Record<SeverityName, StatusCount>;
  /** All ranges together. */
  total: StatusCount;
  /** Custom counters by name (`requests` for `starlog.count.requests`), summed. */
  counters: Record<string, number>;
  /** Counter increments ignored (non-numeric value, or over `maxCounters`). */
  countersIgnored: number;
  /** Records whose counting failed (see `diag`). */
  internalErrors: number;
}

/**
 * A `LogRecordProcessor` that counts the records it sees and emits one *status record* per
 * interval (the successor of Python starlog's StatusHandler).
 *
 * Per severity range (by OpenTelemetry severity number: TRACE 1–4 … FATAL 21–24, anything else
 * UNSPECIFIED) it counts records and body bytes ({@link estimateBodyBytes}); it sums custom
 * counters, i.e. numeric attributes with the prefix `starlog.count.` set by `inc()` (numbers,
 * bigints and numeric strings are accepted; anything else is ignored and counted).
 * Counters reset after each status record; an interval without records still gets one (zeros).
 * Records with the instrumentation scope `starlog.status` (its own status records, also when
 * they come back through the same pipeline) are never counted.
 *
 * The status record (a `PlainLogRecord`) has severity INFO, event name `starlog.status`, scope
 * {@link STATUS_SCOPE}, the body rendered from the template, no trace context, and attributes:
 * - `status.<RANGE>` records and `status.<RANGE>-SIZE` body bytes for each of `UNSPECIFIED`,
 *   `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`, `TOTAL`;
 * - `status.count.<name>` for every custom counter seen since start (0 in quiet intervals);
 * - `status.gauge.<name>` for every gauge;
 * - `status.interval_ms` (configured), `status.window_ms` (time covered by this record),
 *   `status.counters_ignored`, `status.internal_errors`.
 *
 * The timer is `unref()`ed. `shutdown()` stops it, emits a final status record for the pending
 * counts, force-flushes the processor and shuts it down only if it owns it
 * ({@link StatusProcessorOptions.shutdownProcessor}). `onEmit` never throws.
 */
export class StatusProcessor implements LogRecordProcessor {
  /** Configured interval, ms. */
  readonly intervalMs: number;
  /** The compiled template. */
  readonly template: StatusTemplate;

  private readonly _processor: LogRecordProcessor;
  private readonly _shutdownProcessor: boolean;
  private readonly _resource: Resource;
  private readonly _gauges: ReadonlyArray<readonly [string, () => number]>;
  private readonly _maxCounters: number;
  private readonly _countBytes: boolean;
  private readonly _counts = new Float64Array(BUCKETS);
  private readonly _bytes = new Float64Array(BUCKETS);
  /** attribute key (`starlog.count.requests`) → sum in this interval */
  private readonly _custom = new Map<string, number>();
  private _countersIgnored = 0;
  private _internalErrors = 0;
  private _intervalStart: number;
  private _timer: ReturnType<typeof setInterval> | undefined;
  private _shutdownPromise: Promise<void> | undefined;
  private _flushing = false;
  private _shuttingDownProcessor = false;
  /** The last scope seen that is not a status scope: most records then skip the name compare. */
  private _countedScope: InstrumentationScope | undefined;

  /** @throws TypeError naming the option when an option is invalid */
  constructor(options: StatusProcessorOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`starlog: StatusProcessor options must be an object; got ${options}`);
    }
    this.intervalMs = parseInterval(options.interval ?? DEFAULT_STATUS_INTERVAL);
    this.template = compileStatusTemplate(options.template ?? DEFAULT_STATUS_TEMPLATE);
    const processor = options.processor;
    if (processor !== undefined && (processor === null || typeof processor.onEmit !== 'function')) {
      throw new TypeError(
        'starlog: StatusProcessor processor must be a LogRecordProcessor (with onEmit, forceFlush, shutdown)',
      );
    }
    this._processor = processor ?? defaultStatusProcessor();
    this._shutdownProcessor = options.shutdownProcessor ?? processor === undefined;
    this._resource = options.resource ?? cachedDefaultResource();
    const gauges: Array<readonly [string, () => number]> = [];
    for (const [name, fn] of Object.entries(options.gauges ?? {})) {
      if (typeof fn !== 'function') {
        throw new TypeError(`starlog: StatusProcessor gauges.${name} must be a function`);
      }
      gauges.push([name, fn]);
    }
    this._gauges = gauges;
    const maxCounters = options.maxCounters ?? DEFAULT_MAX_COUNTERS;
    if (!Number.isInteger(maxCounters) || maxCounters < 0) {
      throw new TypeError(
        `starlog: StatusProcessor maxCounters must be an integer >= 0; got ${maxCounters}`,
      );
    }
    this._maxCounters = maxCounters;
    this._countBytes = options.countBytes ?? true;
    this._intervalStart = Date.now();
    this._timer = setInterval(() => this._report(), this.intervalMs);
    this._timer.unref?.();
  }

  /** Counts `record` (hot path: no allocation for plain records, never throws). */
  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    if (this._shutdownPromise !== undefined) return;
    try {
      const scope = record.instrumentationScope;
      if (scope !== this._countedScope) {
        if (scope === STATUS_SCOPE || scope.name === STATUS_SCOPE_NAME) return;
        if (scope.name === COUNTS_SCOPE_NAME) {
          drainCounts(record.attributes, this._add); // a counter record: counters, not a record
          return;
        }
        this._countedScope = scope;
      }
      const bucket = severityBucket(record.severityNumber);
      this._counts[bucket]! += 1;
      if (this._countBytes) {
        const lazy = lazyStringBodyBytes(record); // a received record's body still as bytes
        if (lazy >= 0) this._bytes[bucket]! += lazy;
        else {
          const body = record.body;
          if (typeof body === 'string') this._bytes[bucket]! += utf8Length(body);
          else if (body !== undefined && body !== null)
            this._bytes[bucket]! += estimateBodyBytes(body);
        }
      }
      if (hasNoCounterKeys(record)) return;
      const attributes = record.attributes;
      for (const key in attributes) {
        if (
          key.length > PREFIX_LENGTH &&
          key.charCodeAt(0) === CHAR_S &&
          key.startsWith(COUNT_PREFIX)
        ) {
          this._addCounter(key, attributes[key]);
        }
      }
    } catch (err) {
      this._internalErrors++;
      if (this._internalErrors === 1) diag.error('starlog StatusProcessor: counting failed', err);
    }
  }

  private readonly _add = (key: string, value: unknown): void => this._addCounter(key, value);

  private _addCounter(key: string, value: unknown): void {
    let n: number;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'bigint') n = Number(value);
    else if (typeof value === 'string' && value.trim() !== '') n = Number(value);
    else n = Number.NaN;
    if (!Number.isFinite(n)) {
      this._countersIgnored++;
      return;
    }
    const current = this._custom.get(key);
    if (current === undefined) {
      if (this._custom.size >= this._maxCounters) {
        this._countersIgnored++;
        return;
      }
      this._custom.set(key, n);
    } else {
      this._custom.set(key, current + n);
    }
  }

  /** The counts of the current interval so far; does not reset them. */
  snapshot(): StatusSnapshot {
    drainCounts(undefined, this._add);
    const severities = {} as Record<SeverityName, StatusCount>;
    let count = 0;
    let bytes = 0;
    for (let b = 0; b < BUCKETS; b++) {
      severities[SEVERITY_NAMES[b]!] = { count: this._counts[b]!, bytes: this._bytes[b]! };
      count += this._counts[b]!;
      bytes += this._bytes[b]!;
    }
    const counters: Record<string, number> = Object.create(null);
    for (const [key, value] of this._custom) counters[key.slice(PREFIX_LENGTH)] = value;
    return {
      intervalStart: this._intervalStart,
      severities,
      total: { count, bytes },
      counters,
      countersIgnored: this._countersIgnored,
      internalErrors: this._internalErrors,
    };
  }

  /**
   * Forwards to the processor status records go through. A call made while that flush is still
   * in progress (the processor is a pipeline that contains this StatusProcessor and flushes its
   * stages) resolves at once instead of recursing.
   */
  forceFlush(): Promise<void> {
    if (this._flushing) return Promise.resolve();
    this._flushing = true;
    let flushed: Promise<void>;
    try {
      flushed = Promise.resolve(this._processor.forceFlush());
    } catch (err) {
      flushed = Promise.reject(err);
    }
    return flushed.finally(() => {
      this._flushing = false;
    });
  }

  /**
   * Stops the timer, emits a final status record for the counts since the last one,
   * force-flushes the processor and, if owned ({@link StatusProcessorOptions.shutdownProcessor}),
   * shuts it down. Later calls return the same promise; records after shutdown are not counted.
   */
  shutdown(): Promise<void> {
    // Re-entered from processor.shutdown() (a pipeline containing us): don't wait on ourselves.
    if (this._shuttingDownProcessor) return Promise.resolve();
    this._shutdownPromise ??= this._shutdown();
    return this._shutdownPromise;
  }

  private async _shutdown(): Promise<void> {
    if (this._timer !== undefined) clearInterval(this._timer);
    this._timer = undefined;
    this._report();
    try {
      await this.forceFlush();
    } catch (err) {
      diag.error('starlog StatusProcessor: forceFlush of the status processor failed', err);
    }
    if (this._shutdownProcessor) {
      this._shuttingDownProcessor = true;
      try {
        await this._processor.shutdown();
      } finally {
        this._shuttingDownProcessor = false;
      }
    }
  }

  /** Emits one status record for the current counts and resets them. Never throws. */
  private _report(): void {
    try {
      drainCounts(undefined, this._add);
      const now = Date.now();
      const windowMs = Math.max(0, now - this._intervalStart);
      const values = new Map<string, number | string>();
      const attributes: Attributes = {};
      // Lowest precedence first: a built-in name shadows a gauge, a gauge a custom counter.
      for (const [key, value] of this._custom) {
        const name = key.slice(PREFIX_LENGTH);
        values.set(name, value);
        attributes[`status.count.${name}`] = value;
        this._custom.set(key, 0);
      }
      for (const [name, fn] of this._gauges) {
        const value = readGauge(name, fn);
        values.set(name, value);
        attributes[`status.gauge.${name}`] = value;
      }
      let total = 0;
      let totalBytes = 0;
      for (let b = 0; b < BUCKETS; b++) {
        const name = SEVERITY_NAMES[b]!;
        const count = this._counts[b]!;
        const bytes = this._bytes[b]!;
        total += count;
        totalBytes += bytes;
        values.set(name, count);
        values.set(`${name}-SIZE`, bytes);
        attributes[`status.${name}`] = count;
        attributes[`status.${name}-SIZE`] = bytes;
      }
      values.set('TOTAL', total);
      values.set('TOTAL-SIZE', totalBytes);
      attributes['status.TOTAL'] = total;
      attributes['status.TOTAL-SIZE'] = totalBytes;
      const interval = formatDuration(this.intervalMs);
      const window = formatDuration(windowMs);
      values.set('time', new Date(now).toISOString());
      values.set('interval', interval);
      values.set('window', window);
      attributes['status.interval_ms'] = this.intervalMs;
      attributes['status.window_ms'] = windowMs;
      attributes['status.counters_ignored'] = this._countersIgnored;
      attributes['status.internal_errors'] = this._internalErrors;

      this._counts.fill(0);
      this._bytes.fill(0);
      this._countersIgnored = 0;
      this._internalErrors = 0;
      this._intervalStart = now;

      const record = new PlainLogRecord({
        resource: this._resource,
        instrumentationScope: STATUS_SCOPE,
        hrTime: [Math.floor(now / 1000), (now % 1000) * 1e6],
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        eventName: STATUS_EVENT_NAME,
        body: this.template.render(values),
        attributes,
      });
      // ROOT_CONTEXT: a status record belongs to no task, whatever context the timer inherited.
      this._processor.onEmit(record, ROOT_CONTEXT);
    } catch (err) {
      diag.error('starlog StatusProcessor: emitting the status record failed', err);
    }
  }
}

function readGauge(name: string, fn: () => number): number {
  try {
    const value = fn();
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    diag.warn(`starlog StatusProcessor: gauge ${name} returned ${String(value)}; reporting 0`);
  } catch (err) {
    diag.warn(`starlog StatusProcessor: gauge ${name} threw; reporting 0`, err);
  }
  return 0;
}

function parseInterval(value: unknown): number {
  let ms: number | undefined;
  try {
    ms = parseDuration(value as Duration, 'StatusProcessor interval');
  } catch {
    ms = undefined;
  }
  if (ms === undefined || ms < 1 || ms > MAX_TIMER_MS) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    const type = typeof value === 'object' && value !== null ? ' (an object)' : '';
    throw new TypeError(
      `starlog: StatusProcessor interval must be a number of milliseconds (1 to ${MAX_TIMER_MS}) or a string like '15s', '5m', '1h'; got ${shown}${type}`,
    );
  }
  return ms;
}

let defaultResourceCache: Resource | undefined;
function cachedDefaultResource(): Resource {
  defaultResourceCache ??= defaultResource();
  return defaultResourceCache;
}
