/*
 * Longer than 450 lines on purpose: `onEmit` and its pass-through paths stay together with the
 * state they read (every record of a primary goes through them; see the class description).
 */
import {
  type Context,
  context,
  isSpanContextValid,
  type SeverityNumber,
  trace,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { parseDuration } from '../../util/duration.ts';
import { CoarseClock } from './coarse-clock.ts';
import { FollowWindows, NO_TOKEN, Window } from './follow-windows.ts';
import { contextOf, HeldStore } from './held-store.ts';
import {
  type LookbackBounds,
  type LookbackKey,
  type LookbackOptions,
  type LookbackStats,
  type ResolvedBounds,
  resolveBounds,
} from './lookback-options.ts';
import { RecordReader, reportError } from './record-reader.ts';
import { LookbackSpanProcessor } from './span-processor.ts';
import { isRootTaskSuccess, isTaskEndScope } from './task-end.ts';

export type { LookbackBounds, LookbackKey, LookbackOptions, LookbackStats };

/**
 * `passAbove` after shutdown: above every severity number. A small integer, not `Infinity`: a
 * field that once held a non-integer is read as a boxed double by every processor afterwards
 * (V8 generalizes the field of the class's objects), one more load per record.
 */
const ABOVE_ALL = 0x3fff_ffff;

/** The fast path's window when there is none: never open (`until` 0). */
const CLOSED = new Window(0, false);

/**
 * Lookback buffering: holds low-severity records per key (by default per trace) and sends them to
 * `next` only when a record at or above `flushSeverity` arrives for the same key, so the detail
 * of failing requests is kept and the detail of successful ones is not written.
 *
 * - Only records up to the hold level are held (`holdSeverity`, default DEBUG: TRACE and DEBUG;
 *   per logger with `hold`); INFO and WARN pass at once. Records without a trace pass at once
 *   unless `holdUntraced`.
 * - A record at or above `flushSeverity` sends the key's held records that are within `maxAge`
 *   (in the order they arrived, unchanged, with their original timestamps), then itself; the key
 *   then passes its records straight through for `followFor`.
 * - A request that ended well releases its buffer at once (counted as `discarded`): the exit
 *   record of its root task (`releaseOnTaskEnd`), its root span ending (see
 *   {@link spanProcessor}), or {@link release}. Records of that key that would be held and arrive
 *   within `followFor` afterwards (e.g. late from another process) are discarded too.
 * - Bounds, enforced at every insert, each drop counted by reason in {@link stats}: `capacity`
 *   per key (oldest goes), `maxAge` (oldest go), `maxKeys` (least recently used buffer goes),
 *   `maxBytes` over all keys (oldest records go, whatever their key).
 * - `forceFlush()` forwards to `next` and does **not** flush the buffers (that would write every
 *   held record at each provider flush); use {@link flush} for that.
 *
 * A record that passes straight through costs a few comparisons: written at once (between the
 * hold and flush levels, or untraced) a severity read, two comparisons and a scope pointer
 * comparison; a failing request's ERRORs and later records, one after the other, a pointer
 * comparison of their span context with the processor's own fast-path fields and their window's
 * end (no `Map` operation, no clock read, no call);
 * an ERROR of another trace than the last record's one `Map` lookup of its window by trace id
 * (~30 ns at 1,000 windows; cheap only when the id is a string already hashed: the SDK's records
 * of a trace share theirs, and a primary's decoder hands out one per trace, see
 * src/otlp/trace-id-cache.ts), and a store lookup only when the key has no open window. Held
 * records are only read,
 * never changed. Flushed records reach `next.onEmit` with a Context holding only their own span
 * context (the original Context is not kept: it would pin spans and baggage in memory). `onEmit`
 * never throws. Works in any sdk-logs `LoggerProvider`; `next` is any LogRecordProcessor (e.g. a
 * BatchLogRecordProcessor: mind its `maxQueueSize`, 2048 by default, when flushing many records
 * at once).
 *
 * `onEmit` is a hot path kept together on purpose (every record of the primary goes through it);
 * the held records live in ./held-store.ts, the windows in ./follow-windows.ts.
 */
export class LookbackProcessor implements LogRecordProcessor {
  private readonly next: LogRecordProcessor;
  private readonly releaseOnTaskEnd: boolean;
  /** The current options, changed in place by {@link reconfigure} (the store reads them too). */
  private readonly b: ResolvedBounds;
  private readonly store: HeldStore;
  private readonly windows = new FollowWindows();
  private readonly clock: CoarseClock;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private readonly reader: RecordReader;
  /** Whether records without a span context pass (the default key, `holdUntraced` false). */
  private untracedPass: boolean;
  /** Whether the follow fast path may pass records: default key, no `hold` rules, not shut down. */
  private followFast: boolean;
  /**
   * The follow fast path, read in {@link onEmit} without a call: the token (span context) of the
   * windows' last lookup when its window follows and {@link followFast} (else `NO_TOKEN`), and
   * that window (else a closed one). Set when a lookup finds a following window; reset by
   * {@link syncFast} whenever a window is opened, switched, removed or the windows cleared (the
   * fast window is then always in the windows, following, and its token stands for its key).
   */
  private fastToken: object = NO_TOKEN;
  private fastWindow: Window = CLOSED;
  /**
   * Whether a traced record's window is looked up by its trace id in {@link onEmit}
   * ({@link followFast} and records without a trace pass: the key is the trace id whenever the
   * record has one to hold by).
   */
  private peekFast: boolean;
  /** `followForMs`, read on the fast path (kept in step by {@link reconfigure}). */
  private followMs: number;
  private readonly defaultKey: boolean;
  /** The pass-through range of the fast path: `passAbove < severity < passBelow`. */
  private passAbove: number;
  private passBelow: number;
  /**
   * One-entry cache: the last scope seen on the pass path when its records cannot end a task
   * (`undefined` after a task scope): its records pass with one pointer comparison.
   */
  private passScope: InstrumentationScope | undefined;

  private flushedCount = 0;
  private discardedCount = 0;
  private passedCount = 0;
  private errorCount = 0;
  private isShutdown = false;

  /**
   * @param next - the processor held records are flushed to and other records pass to
   * @param options - see {@link LookbackOptions}
   * @throws TypeError naming the option when an option is invalid
   */
  constructor(next: LogRecordProcessor, options: LookbackOptions = {}) {
    if (next === null || typeof next !== 'object' || typeof next.onEmit !== 'function') {
      throw new TypeError(
        `starlog: LookbackProcessor needs a LogRecordProcessor as next; got ${String(next)}`,
      );
    }
    this.next = next;
    if (options.key !== undefined && typeof options.key !== 'function') {
      throw new TypeError(`starlog: key must be a function; got ${typeof options.key}`);
    }
    this.releaseOnTaskEnd = options.releaseOnTaskEnd ?? true;
    this.b = resolveBounds(options);
    this.reader = new RecordReader(options.key, this.b, (what, err) => this.countError(what, err));
    this.passAbove = this.b.holdMaxAll;
    this.passBelow = this.b.flushSeverity;
    this.defaultKey = options.key === undefined;
    this.untracedPass = this.defaultKey && !this.b.holdUntraced;
    this.followFast = this.defaultKey && this.b.holdTable === undefined;
    this.peekFast = this.followFast && this.untracedPass;
    this.followMs = this.b.followForMs;
    this.store = new HeldStore(this.b);
    this.clock = new CoarseClock(options.now);
    const sweepMs =
      options.sweepInterval !== undefined
        ? parseDuration(options.sweepInterval, 'sweepInterval')
        : Math.min(60_000, Math.max(1_000, this.b.maxAgeMs / 4));
    this.sweepTimer = setInterval(() => this.prune(), sweepMs);
    this.sweepTimer.unref();
  }

  /** Records held per key. */
  get capacity(): number {
    return this.b.capacity;
  }
  /** Longest time a record is held, ms. */
  get maxAgeMs(): number {
    return this.b.maxAgeMs;
  }
  /** Severity number at and above which a record flushes its key. */
  get flushSeverity(): number {
    return this.b.flushSeverity;
  }
  /** The highest severity number held for loggers without a `hold` rule (0: none). */
  get holdSeverity(): number {
    return this.b.holdMax;
  }
  /** Buffers held at once. */
  get maxKeys(): number {
    return this.b.maxKeys;
  }
  /** Bound of the estimated bytes of all held records. */
  get maxBytes(): number {
    return this.b.maxBytes;
  }
  /** Follow and release window, ms (0: off). */
  get followForMs(): number {
    return this.b.followForMs;
  }

  /** Holds, flushes, passes or discards one record (see the class description). Never throws. */
  onEmit(record: ReadWriteLogRecord, ctx?: Context): void {
    // The common case first, kept small so that it is inlined: written at once, above every hold
    // level and below the flush level (after shutdown `passAbove` is ABOVE_ALL: never taken;
    // `undefined` compares false). One call site of `next.onEmit` for every record that passes.
    const severity = record.severityNumber;
    if ((severity as number) > this.passAbove && (severity as number) < this.passBelow) {
      const scope = record.instrumentationScope;
      if (scope !== this.passScope && this.isTaskScope(scope)) {
        this.passedCount++;
        this.taskRecord(record, ctx);
        return;
      }
    } else {
      const sc = record.spanContext;
      if (sc === undefined) {
        // a record without a trace, not held: passes (an ERROR too: it has no buffer to flush);
        // `untracedPass` is false after shutdown
        if (!this.untracedPass) {
          this.emitOther(record, ctx, severity);
          return;
        }
      } else if (sc === this.fastToken) {
        // the ERRORs and later records of a failing request, one after the other: their span
        // context is the last one looked up and its window follows (no `Map` operation, no clock
        // read: the clock's cached value, -1 when it must be read); an ERROR moves the window's end
        const now = this.clock.cached;
        if (now < 0 || now >= this.fastWindow.until) {
          this.emitOther(record, ctx, severity);
          return;
        }
        if ((severity as number) >= this.passBelow) this.fastWindow.until = now + this.followMs;
      } else if (this.peekFast) {
        // another span than the last one: its trace's window, one `Map` lookup by trace id
        const w = this.windows.peek(sc.traceId);
        if (w === null || !this.follows(w, sc, severity)) {
          this.emitOther(record, ctx, severity, w); // without a second lookup
          return;
        }
      } else {
        this.emitOther(record, ctx, severity);
        return;
      }
    }
    this.passedCount++;
    try {
      this.next.onEmit(record, ctx);
    } catch (err) {
      this.countError('next.onEmit() threw; the record is lost', err);
    }
  }

  /**
   * Whether a traced record passes because `w`, its trace's window, follows (then the record's
   * span becomes the fast path's; an ERROR moves the window's end).
   */
  private follows(w: Window, sc: object, severity: number | undefined): boolean {
    const now = this.clock.cached;
    if (!w.follow || now < 0 || now >= w.until) return false;
    if ((severity as number) >= this.passBelow) w.until = now + this.followMs;
    this.fastToken = sc;
    this.fastWindow = w;
    return true;
  }

  /**
   * The rest of {@link onEmit}: flushing, held, following, no severity. A record of a key whose
   * window is open (the ERRORs and the later records of a failing request) is handled here
   * without a call: its window is found by the record's span context (a pointer comparison for a
   * run of records of one span, else one `Map` lookup), the time is the clock's cached value, and
   * an ERROR only moves the window's end. A key whose window is open holds nothing (its records
   * pass or are discarded while it is open, and a window opens with a take or a discard of the
   * key's records), so such an ERROR has nothing to flush.
   */
  private emitOther(
    record: ReadWriteLogRecord,
    ctx: Context | undefined,
    severity: number | undefined,
    found?: Window | null,
  ): void {
    if (this.isShutdown) return;
    const flushing = severity !== undefined && severity >= this.passBelow;
    if (
      !flushing &&
      (severity === undefined ||
        severity === 0 || // no severity: never held
        severity > this.passAbove ||
        (this.b.holdTable !== undefined && severity > this.reader.holdMax(record)))
    ) {
      this.pass(record, ctx);
      return;
    }
    const key = this.reader.key(record);
    if (key === undefined) {
      this.pass(record, ctx);
      return;
    }
    // `found`: the record's window (null: none) when onEmit looked it up by the same key
    const w = found !== undefined ? found : this.windows.find(key, this.reader.token);
    if (w !== null) {
      const cached = this.clock.cached;
      const now = cached >= 0 ? cached : this.clock.now();
      if (now < w.until) {
        if (flushing) {
          w.until = now + this.b.followForMs;
          w.follow = true;
        } else if (!w.follow) {
          this.discardedCount++;
          return;
        }
        if (this.followFast) {
          // the next records of this span take the fast path
          this.fastToken = this.reader.token ?? NO_TOKEN;
          this.fastWindow = w;
        }
        this.passedCount++;
        try {
          this.next.onEmit(record, ctx);
        } catch (err) {
          this.countError('next.onEmit() threw; the record is lost', err);
        }
        return;
      }
      this.windows.expire(key);
      this.syncFast();
    }
    if (flushing) this.flushing(record, ctx, key);
    else this.hold(record, key);
  }

  /** A record to hold (its key has no open window). */
  private hold(record: ReadWriteLogRecord, key: unknown): void {
    try {
      this.store.hold(key, record, this.clock.now());
    } catch (err) {
      // Not expected (only reads and pointer updates); never let it reach logger.emit().
      this.countError('onEmit failed; the record is lost', err);
    }
  }

  /** A task record written at once: sent, then a root task's success exit releases its trace. */
  private taskRecord(record: ReadWriteLogRecord, ctx: Context | undefined): void {
    this.send(record, ctx);
    try {
      if (isRootTaskSuccess(record)) this.releaseRecordKey(record);
    } catch (err) {
      this.countError('releasing a task failed', err);
    }
  }

  /** Whether records of `scope` can end a task (else it becomes the cached pass scope). */
  private isTaskScope(scope: InstrumentationScope): boolean {
    if (this.releaseOnTaskEnd && isTaskEndScope(scope.name)) {
      this.passScope = undefined;
      return true;
    }
    this.passScope = scope;
    return false;
  }

  /**
   * Records up to the hold level are wanted (they may be held); for the others, `next` decides.
   * False after shutdown.
   */
  enabled(options: {
    context: Context;
    instrumentationScope: InstrumentationScope;
    severityNumber?: SeverityNumber;
    eventName?: string;
  }): boolean {
    if (this.isShutdown) return false;
    const severity = options.severityNumber;
    if (severity !== undefined && severity !== 0 && severity <= this.b.holdMaxAll) return true;
    if (this.next.enabled === undefined) return true;
    try {
      return this.next.enabled(options);
    } catch (err) {
      this.countError('next.enabled() threw', err);
      return true;
    }
  }

  /**
   * Sends one key's held records (those within `maxAge`) to `next` and starts its `followFor`
   * window; without a key, sends every held record, in arrival order, without windows.
   * @returns the number of records sent
   */
  flush(key?: LookbackKey): number {
    if (this.isShutdown) return 0;
    const now = this.clock.now();
    this.store.pruneAge(now);
    if (key !== undefined) this.openWindow(key, undefined, now, true);
    return this.sendAll(this.store.take(key));
  }

  /**
   * Flushes the buffer of the trace in the active Context, e.g. for a request that fails without
   * an ERROR record (an HTTP 500). Uses the trace id as key, i.e. assumes the default key function.
   * @returns the number of records sent (0 without a valid active span context)
   */
  flushActive(): number {
    const sc = trace.getSpanContext(context.active());
    if (sc === undefined || !isSpanContextValid(sc)) return 0;
    return this.flush(sc.traceId);
  }

  /**
   * Drops one key's held records (or all held records) without sending them, counted as
   * `discarded`. See also {@link release}, which also discards what arrives for the key later.
   * @returns the number of records dropped
   */
  discard(key?: LookbackKey): number {
    const n = this.store.remove(key);
    this.discardedCount += n;
    return n;
  }

  /**
   * The request of `key` ended well: drops its held records (counted as `discarded`) and, for
   * `followFor`, discards its later records that would be held (records from other processes
   * that arrive after the end). Records at or above `flushSeverity` still flush and pass.
   * @returns the number of held records dropped
   */
  release(key: LookbackKey): number {
    if (this.isShutdown) return 0;
    this.openWindow(key, undefined, this.clock.now(), false);
    return this.discard(key);
  }

  /**
   * Drops held records older than `maxAge` (counted as `dropped.age`) and ended windows.
   * The sweep timer calls it; inserts and flushes drop expired records anyway.
   * @returns the number of records dropped
   */
  prune(): number {
    const now = this.clock.now();
    const before = this.store.dropped.age;
    this.store.pruneAge(now);
    this.windows.prune(now);
    this.syncFast();
    return this.store.dropped.age - before;
  }

  /** A snapshot of the counters (see {@link LookbackStats}). */
  stats(): LookbackStats {
    const s = this.store;
    return {
      buffered: s.count,
      keys: s.keys,
      bytes: s.bytes,
      flushed: this.flushedCount,
      dropped: { ...s.dropped },
      discarded: this.discardedCount,
      passed: this.passedCount,
      held: s.heldTotal,
      following: this.windows.size,
      errors: this.errorCount,
    };
  }

  /**
   * A SpanProcessor for `@opentelemetry/sdk-trace` (an optional peer dependency): when a local
   * root span (no parent, or a remote one) ends with status ERROR its trace's buffer is flushed,
   * otherwise it is released at once (see {@link release}). Add it to the TracerProvider's
   * `spanProcessors`.
   */
  spanProcessor(): LookbackSpanProcessor {
    return new LookbackSpanProcessor(this);
  }

  /** Forwards to `next.forceFlush()`; held records stay held (use {@link flush}). */
  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  /**
   * Drops the held records (counted as `discarded`), or sends them to `next` with
   * `onShutdown: 'flush'`, stops the sweep timer, then shuts `next` down. Records emitted
   * afterwards are ignored.
   */
  async shutdown(): Promise<void> {
    if (this.isShutdown) return;
    if (this.b.onShutdown === 'flush') this.flush();
    else this.discard();
    this.windows.clear();
    this.isShutdown = true;
    this.passAbove = ABOVE_ALL;
    this.untracedPass = false;
    this.followFast = false;
    this.peekFast = false;
    this.syncFast();
    clearInterval(this.sweepTimer);
    await this.next.shutdown();
  }

  /**
   * Changes the options of a running processor (`SIGHUP` reload of the configuration file): the
   * options not given keep their defaults, as at construction. The new bounds are enforced at
   * once; records they drop are counted by reason, as at an insert. Records already held stay
   * held when the hold level is lowered.
   * @throws TypeError naming the option when an option is invalid (nothing changes then)
   */
  reconfigure(options: LookbackBounds): void {
    Object.assign(this.b, resolveBounds(options)); // validates everything before anything changes
    this.reader.rulesChanged();
    if (!this.isShutdown) {
      this.passAbove = this.b.holdMaxAll;
      this.passBelow = this.b.flushSeverity;
    }
    this.untracedPass = this.defaultKey && !this.b.holdUntraced && !this.isShutdown;
    this.followFast = this.defaultKey && this.b.holdTable === undefined && !this.isShutdown;
    this.peekFast = this.followFast && this.untracedPass;
    this.followMs = this.b.followForMs;
    this.syncFast();
    this.store.enforce(this.clock.now());
  }

  // ---- internals -------------------------------------------------------------------------

  /** A record at or above `flushSeverity` whose key has no open window: flushes, opens, passes. */
  private flushing(record: ReadWriteLogRecord, ctx: Context | undefined, key: unknown): void {
    try {
      const now = this.clock.now();
      this.openWindow(key, this.reader.token, now, true);
      this.takeAndSend(key, now);
    } catch (err) {
      this.countError('flushing failed', err);
    }
    this.pass(record, ctx);
  }

  /** Sends `key`'s held records (those within `maxAge`) to `next`. */
  private takeAndSend(key: unknown, now: number): void {
    if (this.store.count === 0) return;
    this.store.pruneAge(now);
    this.sendAll(this.store.take(key));
  }

  private releaseRecordKey(record: ReadWriteLogRecord): void {
    const key = this.reader.key(record);
    if (key === undefined || this.isShutdown) return;
    this.openWindow(key, this.reader.token, this.clock.now(), false);
    this.discard(key);
  }

  /**
   * Opens (or extends, or switches) `key`'s window.
   * @param token - stands for `key` (see `RecordReader.token`), or `undefined`
   * @param follow - `true`: the key's records pass (after a flush); `false`: discarded (release)
   */
  private openWindow(key: unknown, token: object | undefined, now: number, follow: boolean): void {
    if (this.b.followForMs <= 0) return;
    this.windows.open(key, token, now + this.b.followForMs, follow, this.b.maxKeys);
    this.syncFast();
  }

  /** Sets the follow fast path from the windows' last lookup (see {@link fastToken}). */
  private syncFast(): void {
    const w = this.windows.lastWindow;
    if (w?.follow && this.followFast) {
      this.fastToken = this.windows.lastToken;
      this.fastWindow = w;
    } else {
      this.fastToken = NO_TOKEN;
      this.fastWindow = CLOSED;
    }
  }

  private sendAll(records: ReadWriteLogRecord[]): number {
    // taken out of the store first: next.onEmit may log, and so re-enter onEmit
    this.flushedCount += records.length;
    for (const record of records) this.send(record, contextOf(record));
    return records.length;
  }

  private pass(record: ReadWriteLogRecord, ctx: Context | undefined): void {
    this.passedCount++;
    this.send(record, ctx);
  }

  private send(record: ReadWriteLogRecord, ctx: Context | undefined): void {
    try {
      this.next.onEmit(record, ctx);
    } catch (err) {
      this.countError('next.onEmit() threw; the record is lost', err);
    }
  }

  private countError(what: string, err: unknown): void {
    reportError(++this.errorCount, what, err);
  }
}
