import { SeverityNumber } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { LevelTable, parseLevelSpec } from '../../pipeline/level-table.ts';
import { parseLevel } from '../../severity.ts';
import { type Duration, parseDuration } from '../../util/duration.ts';

/** A buffer key: any value usable as a `Map` key (trace id string, Resource object, ...). */
export type LookbackKey = string | number | bigint | boolean | symbol | object;

/** Options of `LookbackProcessor`; every one is optional. */
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
   * flushes its key's buffer (and is written). Default `SeverityNumber.ERROR` (17).
   */
  flushSeverity?: number | string;
  /**
   * The highest level held: records of this level (its whole range: `'debug'` is DEBUG to
   * DEBUG4, 5–8) and below are held; records above it are written at once. A level name
   * (`'trace'`, `'debug'`, `'info'`, `'warn'`), a severity number, or `'off'` (nothing held).
   * Default `'debug'`: TRACE and DEBUG are held, INFO and WARN are written at once. Records
   * without a severity are never held.
   */
  holdSeverity?: number | string;
  /**
   * Per logger (instrumentation scope name) rules for the highest level held, in the form of
   * `STARLOG_LEVEL`: `'debug,app.sql=info,noisy.*=off'`; the same patterns (a name, or a prefix
   * ending in `.*`, the longest match wins). A bare level sets the default (else `holdSeverity`).
   */
  hold?: string;
  /**
   * Whether records without a valid trace (lifecycle lines such as "listening", records outside
   * any request) are held, in one buffer per process (their `resource` object). Default `false`:
   * they are written at once. Only for the default `key` function.
   */
  holdUntraced?: boolean;
  /**
   * Chooses the buffer of a record. Default: the record's trace id (records without a valid
   * span context: see `holdUntraced`). Returning `undefined` passes the record straight to
   * `next`; a key function that throws does the same and counts `errors`.
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
   * After a key has flushed, its later records that would be held pass straight to `next` for
   * this long (the rest of a failing request is kept too); after a key was released (its root
   * task or root span ended well) its later records that would be held are discarded at once for
   * this long (records of other processes that arrive late). Milliseconds or a duration string;
   * 0 turns both off. Default `'30s'`.
   */
  followFor?: Duration;
  /**
   * What `shutdown()` does with records still held: `'drop'` (default, as the Python original:
   * buffered records are written only on a flush; counted as `discarded`) or `'flush'`.
   */
  onShutdown?: 'drop' | 'flush';
  /**
   * Whether the exit record of a root task (scope `starlog.task`, `task.outcome: success`, a
   * `task.id` without `/`) releases its trace's buffer (counted as `discarded`). Default `true`.
   */
  releaseOnTaskEnd?: boolean;
  /** Clock in milliseconds for ages (tests inject one). Default `performance.now`. */
  now?: () => number;
  /**
   * How often an unref'd timer drops expired records and windows, so idle keys are freed
   * (expired records are also dropped at every insert and flush). Default `maxAge / 4`, clamped
   * to 1 s – 60 s.
   */
  sweepInterval?: Duration;
}

/** The options `LookbackProcessor.reconfigure` takes (a configuration reload). */
export type LookbackBounds = Pick<
  LookbackOptions,
  | 'capacity'
  | 'maxAge'
  | 'flushSeverity'
  | 'holdSeverity'
  | 'hold'
  | 'holdUntraced'
  | 'maxKeys'
  | 'maxBytes'
  | 'followFor'
  | 'onShutdown'
>;

/** Counters of a `LookbackProcessor`, from `stats()`. */
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
  /**
   * Records dropped on purpose, since start: held records of a request that ended well (root
   * task exit record, root span, `release()`, `discard()`), records of such a request that
   * arrived after it ended, and what shutdown drops.
   */
  discarded: number;
  /** Records given to `next` directly (not held: above the hold level, following, no key). */
  passed: number;
  /** Records ever held. */
  held: number;
  /** Keys in a `followFor` window (after a flush or a release) now. */
  following: number;
  /** Key functions and `next.onEmit` calls that threw (the record was passed or lost, see diag). */
  errors: number;
}

/** Defaults of {@link LookbackOptions}. */
export const LOOKBACK_DEFAULTS = {
  capacity: 100,
  maxAge: '5m',
  flushSeverity: SeverityNumber.ERROR,
  holdSeverity: 'debug',
  maxKeys: 10_000,
  maxBytes: 64 * 1024 * 1024,
  followFor: '30s',
} as const;

/** The validated options a processor runs with (changed as a whole by a reconfiguration). */
export interface ResolvedBounds {
  capacity: number;
  maxAgeMs: number;
  maxKeys: number;
  maxBytes: number;
  followForMs: number;
  flushSeverity: number;
  /** The highest severity held for loggers without a rule. */
  holdMax: number;
  /** The highest severity held by any rule (a record above it is never held). */
  holdMaxAll: number;
  /** Per-logger rules (`undefined` when there are none). */
  holdTable: LevelTable | undefined;
  holdUntraced: boolean;
  onShutdown: 'drop' | 'flush';
}

/**
 * Validates `options` and applies the defaults.
 * @throws TypeError naming the option when an option is invalid
 */
export function resolveBounds(options: LookbackBounds): ResolvedBounds {
  const maxBytes = options.maxBytes ?? LOOKBACK_DEFAULTS.maxBytes;
  if (typeof maxBytes !== 'number' || !(maxBytes > 0)) {
    throw new TypeError(
      `starlog: maxBytes must be a positive number of bytes; got ${JSON.stringify(maxBytes)}`,
    );
  }
  const flushSeverity = parseLevel(options.flushSeverity ?? LOOKBACK_DEFAULTS.flushSeverity);
  if (flushSeverity === undefined || !Number.isFinite(flushSeverity)) {
    throw new TypeError(
      `starlog: flushSeverity must be a severity number 1–24 or a level name like 'error'; got ${JSON.stringify(options.flushSeverity)}`,
    );
  }
  const holdLevel = parseLevel(options.holdSeverity ?? LOOKBACK_DEFAULTS.holdSeverity);
  if (holdLevel === undefined) {
    throw new TypeError(
      `starlog: holdSeverity must be a severity number 1–24, a level name like 'debug', or 'off'; got ${JSON.stringify(options.holdSeverity)}`,
    );
  }
  let holdMax = rangeEnd(holdLevel);
  let holdMaxAll = holdMax;
  let holdTable: LevelTable | undefined;
  if (options.hold !== undefined) {
    if (typeof options.hold !== 'string') {
      throw new TypeError(
        `starlog: hold must be a string like 'debug,app.sql=info'; got ${typeof options.hold}`,
      );
    }
    let spec: ReturnType<typeof parseLevelSpec>;
    try {
      spec = parseLevelSpec(options.hold, holdLevel);
    } catch (err) {
      throw new TypeError(`starlog: hold: ${(err as Error).message.replace(/^starlog: /, '')}`);
    }
    holdMax = rangeEnd(spec.defaultMinSeverity);
    holdMaxAll = Math.max(holdMax, ...spec.rules.map((r) => rangeEnd(r.minSeverity)));
    if (spec.rules.length > 0) holdTable = new LevelTable(spec);
  }
  const holdUntraced = options.holdUntraced ?? false;
  if (typeof holdUntraced !== 'boolean') {
    throw new TypeError(`starlog: holdUntraced must be true or false; got ${typeof holdUntraced}`);
  }
  const onShutdown = options.onShutdown ?? 'drop';
  if (onShutdown !== 'drop' && onShutdown !== 'flush') {
    throw new TypeError(
      `starlog: onShutdown must be 'drop' or 'flush'; got ${JSON.stringify(onShutdown)}`,
    );
  }
  return {
    capacity: positiveInteger(options.capacity ?? LOOKBACK_DEFAULTS.capacity, 'capacity'),
    maxAgeMs: parseDuration(options.maxAge ?? LOOKBACK_DEFAULTS.maxAge, 'maxAge'),
    maxKeys: positiveInteger(options.maxKeys ?? LOOKBACK_DEFAULTS.maxKeys, 'maxKeys'),
    maxBytes,
    followForMs: parseDuration(options.followFor ?? LOOKBACK_DEFAULTS.followFor, 'followFor', true),
    flushSeverity,
    holdMax,
    holdMaxAll,
    holdTable,
    holdUntraced,
    onShutdown,
  };
}

/**
 * The highest severity number of a level's range (`debug` 5 → 8: DEBUG to DEBUG4); 0 for `off`
 * (nothing held).
 */
export function rangeEnd(level: number): number {
  if (!Number.isFinite(level)) return 0;
  return Math.min(24, ((Math.max(1, Math.trunc(level)) - 1) | 3) + 1);
}

/** The highest severity held for loggers named `name` (see {@link rangeEnd}). */
export function holdMaxFor(bounds: ResolvedBounds, name: string): number {
  return bounds.holdTable === undefined
    ? bounds.holdMax
    : rangeEnd(bounds.holdTable.minSeverity(name));
}

function positiveInteger(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(
      `starlog: ${what} must be a positive integer; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
