import {
  type Context,
  context,
  diag,
  INVALID_TRACEID,
  isSpanContextValid,
  ROOT_CONTEXT,
  SeverityNumber,
  trace,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type {
  LogRecordProcessor,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import { parseLevel } from '../../severity.ts';
import { type Duration, parseDuration } from '../../util/duration.ts';
import { HeldRecord, KeyBuffer } from './held-record.ts';
import { estimateRecordBytes, RECORD_FIXED_BYTES } from './record-size.ts';
import { LookbackSpanProcessor } from './span-processor.ts';

/** A buffer key: any value usable as a `Map` key (trace id string, Resource object, ...). */
export type LookbackKey = string | number | bigint | boolean | symbol | object;

/** Options of {@link LookbackProcessor}; every one is optional. */
export interface LookbackOptions {
  /** Records held per key; when a key holds more, its oldest record is dropped. Default 100. */
  capacity?: number;
  /**
   * Longest time a record is held, measured from when the processor received it (not from the
   * record's own timestamp, which may be skewed or late for records from other processes).
   * Milliseconds or `'30s'`, `'5m'`, `'1h'`. Default `'5m'`.
   */
  maxAge?: Duration;
  /**
   * Severity number (1–24) or level name (`'error'`, `'warn'`, ...) at and above which a record
   * flushes its key's buffer. Records below it (and records without a severity) are held.
   * Default `SeverityNumber.ERROR` (17).
   */
  flushSeverity?: number | string;
  /**
   * Chooses the buffer of a record. Default: the record's trace id, or, for a record without a
   * valid span context, its `resource` object (one buffer per process, as records ingested from
   * a child keep that child's Resource object). Returning `undefined` passes the record straight
   * to `next`; a key function that throws does the same and counts `errors`.
   */
  key?: (record: ReadableLogRecord) => LookbackKey | undefined;
  /** Buffers (keys) held at once; a new key evicts the least recently used buffer. Default 10,000. */
  maxKeys?: number;
  /**
   * Estimated heap bytes of all held records together (record objects included, estimated per
   * record by `estimateRecordBytes`); when exceeded, the oldest records go. Default 64 MiB.
   */
  maxBytes?: number;
  /**
   * After a key has flushed, its later records below `flushSeverity` pass straight to `next` for
   * this long, so that the rest of a failing request is kept too. Milliseconds or a duration
   * string; 0 turns it off. Default `'30s'`.
   */
  followFor?: Duration;
  /**
   * What `shutdown()` does with records still held: `'drop'` (default, as the Python original:
   * buffered records are written only on a flush; counted as `discarded`) or `'flush'`.
   */
  onShutdown?: 'drop' | 'flush';
  /** Clock in milliseconds for ages (tests inject one). Default `performance.now`. */
  now?: () => number;
  /**
   * How often an unref'd timer drops expired records and follow marks, so idle keys are freed
   * (expired records are also dropped at every insert and flush). Default `maxAge / 4`, clamped
   * to 1 s – 60 s.
   */
  sweepInterval?: Duration;
}

/** Counters of a {@link LookbackProcessor}, from {@link LookbackProcessor.stats}. */
export interface LookbackStats {
  /** Records held now. */
  buffered: number;
  /** Buffers (keys) holding records now. */
  keys: number;
  /** Estimated heap bytes of the records held now. */
  bytes: number;
  /** Held records sent to `next` by flushes, since start. */
  flushed: number;
  /** Held records dropped by a bound, since start, by bound. */
  dropped: {
    /** the key already held `capacity` records (its oldest went) */
    capacity: number;
    /** older than `maxAge` */
    age: number;
    /** their buffer was the least recently used one when a new key exceeded `maxKeys` */
    keys: number;
    /** the oldest records when the estimate exceeded `maxBytes` */
    bytes: number;
  };
  /** Held records dropped on purpose: `discard()`, the span processor on success, shutdown. */
  discarded: number;
  /** Records given to `next` directly (at/above `flushSeverity`, `undefined` key, following). */
  passed: number;
  /** Records ever held. */
  held: number;
  /** Keys in their `followFor` window now. */
  following: number;
  /** Key functions and `next.onEmit` calls that threw (the record was passed or lost, see diag). */
  errors: number;
}

const DEFAULTS = {
  capacity: 100,
  maxAge: '5m',
  flushSeverity: SeverityNumber.ERROR,
  maxKeys: 10_000,
  maxBytes: 64 * 1024 * 1024,
  followFor: '30s',
} as const;

/**
 * Lookback buffering: holds low-severity records per key (by default per trace) and sends them to
 * `next` only when a record at or above `flushSeverity` arrives for the same key, so the detail
 * of failing requests is kept and the detail of successful ones is not written.
 *
 * - A record below `flushSeverity` is held in its key's buffer instead of going to `next`.
 * - A record at or above it sends the key's held records that are within `maxAge` (in the
 *   order they arrived, unchanged, with their original timestamps), then itself; the key then
 *   passes its records straight through for `followFor`.
 * - Bounds, enforced at every insert, each drop counted by reason in {@link stats}: `capacity`
 *   per key (oldest goes), `maxAge` (oldest go), `maxKeys` (least recently used buffer goes),
 *   `maxBytes` over all keys (oldest records go, whatever their key). Every bound costs O(1)
 *   amortised per insert: held records are in one list in arrival order, which is also age order.
 * - `forceFlush()` forwards to `next` and does **not** flush the buffers (that would write every
 *   held record at each provider flush); use {@link flush} for that.
 *
 * Held records are only read, never changed (sdk-logs makes them read-only after `onEmit`).
 * Flushed records reach `next.onEmit` with a Context holding only their own span context (the
 * original Context is not kept: it would pin spans and baggage in memory). `onEmit` never throws.
 * Works in any sdk-logs `LoggerProvider`; `next` is any LogRecordProcessor (e.g. a
 * BatchLogRecordProcessor: mind its `maxQueueSize`, 2048 by default, when flushing many records
 * at once).
 */
export class LookbackProcessor implements LogRecordProcessor {
  /** Records held per key. */
  capacity!: number;
  /** Longest time a record is held, ms. */
  maxAgeMs!: number;
  /** Severity number at and above which a record flushes its key. */
  flushSeverity!: number;
  /** Buffers held at once. */
  maxKeys!: number;
  /** Bound of the estimated bytes of all held records. */
  maxBytes!: number;
  /** Pass-through window after a flush, ms (0: off). */
  followForMs!: number;

  private readonly next: LogRecordProcessor;
  private readonly keyOf: ((record: ReadableLogRecord) => LookbackKey | undefined) | undefined;
  private onShutdownMode!: 'drop' | 'flush';
  private readonly clock: () => number;
  /** Whether to read the clock at most once per event-loop turn (the default clock only). */
  private readonly coarseClock: boolean;
  private readonly origin: number;
  /** The cached time (ms since origin), or -1 when it must be read again. */
  private nowCache = -1;
  private nowReads = 0;
  private readonly invalidateNow = (): void => {
    this.nowCache = -1;
  };
  private readonly sweepTimer: ReturnType<typeof setInterval>;

  private readonly buffers = new Map<unknown, KeyBuffer>();
  private lruHead: KeyBuffer | null = null;
  private lruTail: KeyBuffer | null = null;
  private oldest: HeldRecord | null = null;
  private newest: HeldRecord | null = null;
  /** key → end of its follow window (ms since origin); insertion order ≈ expiry order. */
  private readonly following = new Map<unknown, number>();

  private count = 0;
  private heldBytes = 0;
  private flushedCount = 0;
  private droppedCapacity = 0;
  private droppedAge = 0;
  private droppedKeys = 0;
  private droppedBytes = 0;
  private discardedCount = 0;
  private passedCount = 0;
  private heldCount = 0;
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
    this.keyOf = options.key;
    this.applyBounds(options);
    this.clock = options.now ?? performance.now.bind(performance);
    this.coarseClock = options.now === undefined;
    this.origin = this.clock();
    const sweepMs =
      options.sweepInterval !== undefined
        ? parseDuration(options.sweepInterval, 'sweepInterval')
        : Math.min(60_000, Math.max(1_000, this.maxAgeMs / 4));
    this.sweepTimer = setInterval(() => this.prune(), sweepMs);
    this.sweepTimer.unref();
  }

  /** Holds, flushes or passes one record (see the class description). Never throws. */
  onEmit(record: ReadWriteLogRecord, ctx?: Context): void {
    if (this.isShutdown) return;
    let key: unknown;
    try {
      if (this.keyOf === undefined) {
        const sc = record.spanContext;
        key = sc !== undefined && sc.traceId !== INVALID_TRACEID ? sc.traceId : record.resource;
      } else {
        try {
          key = this.keyOf(record);
        } catch (err) {
          this.countError('the key function threw; the record passes unbuffered', err);
          key = undefined;
        }
        if (key === undefined) {
          this.pass(record, ctx);
          return;
        }
      }
      const severity = record.severityNumber;
      const now = this.time();
      if (severity !== undefined && severity >= this.flushSeverity) {
        this.pruneAge(now);
        const buffer = this.buffers.get(key);
        this.follow(key, now);
        if (buffer !== undefined) this.sendBuffer(buffer);
        this.pass(record, ctx);
        return;
      }
      if (this.following.size !== 0) {
        const until = this.following.get(key);
        if (until !== undefined) {
          if (now < until) {
            this.pass(record, ctx);
            return;
          }
          this.following.delete(key);
        }
      }
      this.hold(key, record, now);
    } catch (err) {
      // Not expected (only reads and pointer updates above); never let it reach logger.emit().
      this.countError('onEmit failed; the record is lost', err);
    }
  }

  /**
   * Records below `flushSeverity` are wanted (they are held); for the others, `next` decides.
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
    if (severity === undefined || severity < this.flushSeverity) return true;
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
   * window; without a key, sends every held record, in arrival order, without follow windows.
   * @returns the number of records sent
   */
  flush(key?: LookbackKey): number {
    if (this.isShutdown) return 0;
    const now = this.time();
    this.pruneAge(now);
    if (key === undefined) return this.sendAll();
    this.follow(key, now);
    const buffer = this.buffers.get(key);
    return buffer === undefined ? 0 : this.sendBuffer(buffer);
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
   * `discarded`: for a request known to have succeeded.
   * @returns the number of records dropped
   */
  discard(key?: LookbackKey): number {
    if (key === undefined) {
      const n = this.count;
      this.clear();
      this.discardedCount += n;
      return n;
    }
    const buffer = this.buffers.get(key);
    if (buffer === undefined) return 0;
    const n = buffer.count;
    this.removeAll(buffer);
    this.discardedCount += n;
    return n;
  }

  /**
   * Drops held records older than `maxAge` (counted as `dropped.age`) and ended follow windows.
   * The sweep timer calls it; inserts and flushes drop expired records anyway.
   * @returns the number of records dropped
   */
  prune(): number {
    const now = this.time();
    const before = this.droppedAge;
    this.pruneAge(now);
    for (const [key, until] of this.following) {
      if (until > now) break;
      this.following.delete(key);
    }
    return this.droppedAge - before;
  }

  /** A snapshot of the counters (see {@link LookbackStats}). */
  stats(): LookbackStats {
    return {
      buffered: this.count,
      keys: this.buffers.size,
      bytes: this.heldBytes,
      flushed: this.flushedCount,
      dropped: {
        capacity: this.droppedCapacity,
        age: this.droppedAge,
        keys: this.droppedKeys,
        bytes: this.droppedBytes,
      },
      discarded: this.discardedCount,
      passed: this.passedCount,
      held: this.heldCount,
      following: this.following.size,
      errors: this.errorCount,
    };
  }

  /**
   * A SpanProcessor for `@opentelemetry/sdk-trace` (an optional peer dependency): when a local
   * root span (no parent, or a remote one) ends with status ERROR its trace's buffer is flushed,
   * otherwise the buffer is discarded at once. Add it to the TracerProvider's `spanProcessors`.
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
    if (this.onShutdownMode === 'flush') this.flush();
    else this.discard();
    this.following.clear();
    this.isShutdown = true;
    clearInterval(this.sweepTimer);
    await this.next.shutdown();
  }

  // ---- internals -------------------------------------------------------------------------

  /**
   * Now, in whole ms since the clock origin. Reading a clock costs 50–150 ns (more than the rest
   * of the buffering path on some VMs), so the default clock is read at most once per event-loop
   * turn and per 256 records: insertion times are late by at most one synchronous run of code.
   * An injected clock (`now` option) is read every time.
   */
  private time(): number {
    if (!this.coarseClock) return Math.floor(this.clock() - this.origin);
    if (this.nowCache >= 0 && ++this.nowReads < 256) return this.nowCache;
    const first = this.nowCache < 0;
    this.nowReads = 0;
    this.nowCache = Math.floor(this.clock() - this.origin);
    if (first) setImmediate(this.invalidateNow).unref();
    return this.nowCache;
  }

  /**
   * Changes the bounds of a running processor (`SIGHUP` reload of the configuration file): the
   * options not given keep their defaults, as at construction. The new bounds are enforced at
   * once; records they drop are counted by reason, as at an insert.
   * @throws TypeError naming the option when an option is invalid (nothing changes then)
   */
  reconfigure(
    options: Pick<
      LookbackOptions,
      'capacity' | 'maxAge' | 'flushSeverity' | 'maxKeys' | 'maxBytes' | 'followFor' | 'onShutdown'
    >,
  ): void {
    const probe = Object.create(LookbackProcessor.prototype) as LookbackProcessor;
    probe.applyBounds(options); // validates everything before anything changes
    this.applyBounds(options);
    for (const buffer of [...this.buffers.values()]) {
      while (buffer.count > this.capacity) {
        this.dropOldestOf(buffer);
        this.droppedCapacity++;
      }
    }
    while (this.buffers.size > this.maxKeys && this.lruHead !== null) {
      const victim = this.lruHead;
      this.droppedKeys += victim.count;
      this.removeAll(victim);
    }
    while (this.heldBytes > this.maxBytes && this.oldest !== null) {
      this.dropOldestOf(this.oldest.buffer);
      this.droppedBytes++;
    }
    this.pruneAge(this.time());
  }

  private applyBounds(options: LookbackOptions): void {
    this.capacity = positiveInteger(options.capacity ?? DEFAULTS.capacity, 'capacity');
    this.maxAgeMs = parseDuration(options.maxAge ?? DEFAULTS.maxAge, 'maxAge');
    this.maxKeys = positiveInteger(options.maxKeys ?? DEFAULTS.maxKeys, 'maxKeys');
    const maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
    if (typeof maxBytes !== 'number' || !(maxBytes > 0)) {
      throw new TypeError(
        `starlog: maxBytes must be a positive number of bytes; got ${JSON.stringify(maxBytes)}`,
      );
    }
    this.maxBytes = maxBytes;
    this.followForMs = parseDuration(options.followFor ?? DEFAULTS.followFor, 'followFor', true);
    const severity = parseLevel(options.flushSeverity ?? DEFAULTS.flushSeverity);
    if (severity === undefined || !Number.isFinite(severity)) {
      throw new TypeError(
        `starlog: flushSeverity must be a severity number 1–24 or a level name like 'error'; got ${JSON.stringify(options.flushSeverity)}`,
      );
    }
    this.flushSeverity = severity;
    const onShutdown = options.onShutdown ?? 'drop';
    if (onShutdown !== 'drop' && onShutdown !== 'flush') {
      throw new TypeError(
        `starlog: onShutdown must be 'drop' or 'flush'; got ${JSON.stringify(onShutdown)}`,
      );
    }
    this.onShutdownMode = onShutdown;
  }

  private hold(key: unknown, record: ReadWriteLogRecord, now: number): void {
    this.pruneAge(now);
    let buffer = this.buffers.get(key);
    if (buffer === undefined) {
      if (this.buffers.size >= this.maxKeys && this.lruHead !== null) {
        const victim = this.lruHead;
        this.droppedKeys += victim.count;
        this.removeAll(victim);
      }
      buffer = new KeyBuffer(key);
      this.buffers.set(key, buffer);
      this.lruAppend(buffer);
    } else if (buffer !== this.lruTail) {
      this.lruUnlink(buffer);
      this.lruAppend(buffer);
    }
    let bytes: number;
    try {
      bytes = estimateRecordBytes(record);
    } catch {
      bytes = RECORD_FIXED_BYTES;
    }
    const node = new HeldRecord(record, now, bytes, buffer);
    if (buffer.tail === null) buffer.head = node;
    else buffer.tail.nextInKey = node;
    buffer.tail = node;
    buffer.count++;
    node.prev = this.newest;
    if (this.newest === null) this.oldest = node;
    else this.newest.next = node;
    this.newest = node;
    this.count++;
    this.heldBytes += bytes;
    this.heldCount++;
    if (buffer.count > this.capacity) {
      this.dropOldestOf(buffer);
      this.droppedCapacity++;
    }
    while (this.heldBytes > this.maxBytes && this.oldest !== null) {
      this.dropOldestOf(this.oldest.buffer);
      this.droppedBytes++;
    }
  }

  private pruneAge(now: number): void {
    const limit = now - this.maxAgeMs;
    while (this.oldest !== null && this.oldest.at < limit) {
      // The processor-wide oldest record is also the oldest of its key.
      this.dropOldestOf(this.oldest.buffer);
      this.droppedAge++;
    }
  }

  /** Removes the oldest record of a buffer (and the buffer, when it becomes empty). */
  private dropOldestOf(buffer: KeyBuffer): void {
    const node = buffer.head!;
    buffer.head = node.nextInKey;
    if (buffer.head === null) buffer.tail = null;
    buffer.count--;
    this.unlink(node);
    if (buffer.count === 0) this.removeBuffer(buffer);
  }

  /** Takes a buffer's records out of every structure. */
  private removeAll(buffer: KeyBuffer): void {
    for (let node = buffer.head; node !== null; node = node.nextInKey) this.unlink(node);
    buffer.head = buffer.tail = null;
    buffer.count = 0;
    this.removeBuffer(buffer);
  }

  /** Takes a buffer's records out of every structure; returns them oldest first. */
  private detach(buffer: KeyBuffer): ReadWriteLogRecord[] {
    const records: ReadWriteLogRecord[] = new Array(buffer.count);
    let i = 0;
    for (let node = buffer.head; node !== null; node = node.nextInKey) {
      records[i++] = node.record;
      this.unlink(node);
    }
    buffer.head = buffer.tail = null;
    buffer.count = 0;
    this.removeBuffer(buffer);
    return records;
  }

  private sendBuffer(buffer: KeyBuffer): number {
    // Detach first: next.onEmit may log, and so re-enter onEmit.
    const records = this.detach(buffer);
    this.flushedCount += records.length;
    for (const record of records) this.send(record, contextOf(record));
    return records.length;
  }

  private sendAll(): number {
    const records: ReadWriteLogRecord[] = [];
    for (let node = this.oldest; node !== null; node = node.next) records.push(node.record);
    this.clear();
    this.flushedCount += records.length;
    for (const record of records) this.send(record, contextOf(record));
    return records.length;
  }

  private clear(): void {
    this.buffers.clear();
    this.lruHead = this.lruTail = null;
    this.oldest = this.newest = null;
    this.count = 0;
    this.heldBytes = 0;
  }

  /** Unlinks a record from the processor-wide list and takes it out of the totals. */
  private unlink(node: HeldRecord): void {
    if (node.prev === null) this.oldest = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.newest = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = null;
    this.count--;
    this.heldBytes -= node.bytes;
  }

  private removeBuffer(buffer: KeyBuffer): void {
    this.buffers.delete(buffer.key);
    this.lruUnlink(buffer);
  }

  private lruAppend(buffer: KeyBuffer): void {
    buffer.lruPrev = this.lruTail;
    buffer.lruNext = null;
    if (this.lruTail === null) this.lruHead = buffer;
    else this.lruTail.lruNext = buffer;
    this.lruTail = buffer;
  }

  private lruUnlink(buffer: KeyBuffer): void {
    if (buffer.lruPrev === null) {
      if (this.lruHead === buffer) this.lruHead = buffer.lruNext;
    } else buffer.lruPrev.lruNext = buffer.lruNext;
    if (buffer.lruNext === null) {
      if (this.lruTail === buffer) this.lruTail = buffer.lruPrev;
    } else buffer.lruNext.lruPrev = buffer.lruPrev;
    buffer.lruPrev = buffer.lruNext = null;
  }

  private follow(key: unknown, now: number): void {
    if (this.followForMs <= 0) return;
    this.following.delete(key);
    this.following.set(key, now + this.followForMs);
    if (this.following.size > this.maxKeys) {
      const first = this.following.keys().next();
      if (!first.done) this.following.delete(first.value);
    }
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
    this.errorCount++;
    // Errors number 1, 2, 4, 8, ... at error level, the others at debug level: no flood.
    if (this.errorCount === 1 || (this.errorCount & (this.errorCount - 1)) === 0) {
      diag.error(`starlog LookbackProcessor: ${what} (${this.errorCount} errors so far)`, err);
    } else {
      diag.debug(`starlog LookbackProcessor: ${what}`, err);
    }
  }
}

function contextOf(record: ReadWriteLogRecord): Context {
  const sc = record.spanContext;
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
}

function positiveInteger(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(
      `starlog: ${what} must be a positive integer; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
