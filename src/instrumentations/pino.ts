/**
 * pino captured into starlog with no change to the application, through pino's integration
 * points (`pino.symbols`, documented "for integration purposes with ecosystem and third-party
 * libraries", and the destination metadata protocol, `Symbol.for('pino.metadata')`):
 *
 * - **Records.** Each root logger's destination is wrapped; each record becomes one
 *   OpenTelemetry log record in the caller's Context (so inside a task it carries the task), see
 *   `json-record.ts` for the mapping. Where the line would parse back to the very values pino
 *   was given, the record is built from those values (`pino-fast.ts`: the destination metadata,
 *   or, for a line that would not be written, asJson's arguments without pino formatting the
 *   line; pino's `tracing:pino_asJson` channel then does not see that line). Otherwise pino
 *   formats the line (its serializers, redaction, formatters and mixins apply) and the wrapper
 *   parses it.
 * - **Original output.** A destination that is the process's stdout or stderr (pino's default,
 *   fastify's `logger: true`) is not written any more while starlog is set up: the record reaches
 *   the console and the file through starlog instead (in a child: through the primary), so no line
 *   appears twice. Any other destination (a file, `pino.transport()`, a multistream) still gets
 *   every line. `instrumentations: { keepOutput: true }` keeps stdout/stderr too.
 * - **Scope.** The logger's `name`, then `.module` when a child has a `module` binding
 *   (`pino({ name: 'shop' }).child({ module: 'db' })` → `shop.db`); a child's own `name` replaces
 *   its parent's; without a name, `pino`.
 * - **Level.** pino's level is starlog's: when a logger is created (or its level set), and whenever
 *   the level table changes, its level becomes the table's level for its scope (`silent` for
 *   `off`). A level set in the application (`level: 'warn'`, `logger.level = …`) is replaced
 *   while starlog is set up; change levels with `STARLOG_LEVEL` / `starlog level set`.
 *
 * Loggers created while `setupLogging()` is under way are adopted when it is done; loggers
 * created before it was called (pino already imported and used) are not captured.
 */
import { diag } from '@opentelemetry/api';
import { fromJsonRecord, pinoLevelOf, scopeOf } from './json-record.ts';
import { captureFast, type PinoInternals, pinoInternals } from './pino-fast.ts';
import { type CaptureContext, emitJsonFields } from './scope-loggers.ts';

interface PinoLogger {
  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): PinoLogger;
  bindings(): Record<string, unknown>;
  levels?: { labels?: Record<number, string> };
  [key: symbol]: unknown;
}

interface Writable {
  write(s: string): unknown;
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
  end?(): void;
  fd?: unknown;
  [key: symbol]: unknown;
}

type PinoFactory = ((...args: unknown[]) => PinoLogger) & { symbols?: Record<string, symbol> };

const SCOPE = Symbol('starlog.pino.scope');
const PATCHED = Symbol.for('starlog.pino.patched');
const METADATA = Symbol.for('pino.metadata');

function toStdio(stream: Writable): boolean {
  return (
    stream === (process.stdout as unknown) ||
    stream === (process.stderr as unknown) ||
    stream.fd === 1 ||
    stream.fd === 2 ||
    stream.fd === '1' ||
    stream.fd === '2'
  );
}

/** The destination starlog puts in front of a pino logger's own. */
class CaptureDestination {
  [METADATA] = true;
  lastLevel = 0;
  lastObj: unknown;
  lastMsg: unknown;
  lastTime: unknown;
  lastLogger: PinoLogger | undefined;
  readonly original: Writable;
  readonly #ctx: CaptureContext;
  readonly #drop: boolean;
  readonly #internals: PinoInternals | undefined;
  #skipNext = false;

  constructor(original: Writable, ctx: CaptureContext, internals: PinoInternals | undefined) {
    this.original = original;
    this.#ctx = ctx;
    this.#internals = internals;
    this.#drop = !ctx.keepOutput && toStdio(original);
  }

  /** Captures a record from pino's `asJson` arguments when its line would not be written. */
  captureBeforeFormat(
    logger: PinoLogger,
    obj: unknown,
    msg: unknown,
    level: number,
    time: unknown,
  ): boolean {
    const p = this.#internals;
    if (!this.#drop || p === undefined || this.#ctx.levels() === undefined) return false;
    try {
      const slice = logger[p.timeSliceIndexSym];
      const t = typeof time === 'string' && typeof slice === 'number' ? time.slice(slice) : time;
      const scope = (logger[SCOPE] as string | undefined) ?? 'pino';
      if (!captureFast(logger, p, scope, level, obj, msg, t)) return false;
    } catch (err) {
      diag.error('starlog: capturing a pino record failed', err);
      return false; // pino formats it and the line is captured the other way
    }
    this.#skipNext = true;
    return true;
  }

  write(s: string): unknown {
    if (this.#skipNext) {
      // captured before pino formatted it (captureBeforeFormat): nothing to write or parse
      this.#skipNext = false;
      return true;
    }
    const on = this.#ctx.levels() !== undefined;
    if (on) this.#capture(s);
    if (on && this.#drop) return true;
    const o = this.original;
    if (o[METADATA] === true) {
      const m = o as unknown as CaptureDestination;
      m.lastLevel = this.lastLevel;
      m.lastObj = this.lastObj;
      m.lastMsg = this.lastMsg;
      m.lastTime = this.lastTime;
      m.lastLogger = this.lastLogger;
    }
    return o.write(s);
  }

  #capture(s: string): void {
    try {
      const logger = this.lastLogger;
      const scope = (logger?.[SCOPE] as string | undefined) ?? 'pino';
      if (
        logger !== undefined &&
        this.#internals !== undefined &&
        captureFast(
          logger,
          this.#internals,
          scope,
          this.lastLevel,
          this.lastObj,
          this.lastMsg,
          this.lastTime,
        )
      ) {
        return;
      }
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(s) as Record<string, unknown>;
      } catch {
        parsed = { msg: s.trimEnd() };
      }
      const fields = fromJsonRecord(
        parsed,
        scope,
        this.lastLevel,
        logger?.levels?.labels?.[this.lastLevel],
      );
      if (fields === undefined) return;
      emitJsonFields(fields);
    } catch (err) {
      diag.error('starlog: capturing a pino record failed', err);
    }
  }

  flush(cb?: (err?: Error) => void): void {
    if (typeof this.original.flush === 'function') this.original.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.original.flushSync?.();
  }

  end(): void {
    this.original.end?.();
  }
}

/**
 * Patches one loaded copy of pino (its `module.exports`). Returns a function that re-applies
 * starlog's levels to every pino logger seen (call it when the level table changes).
 */
export function instrumentPino(pino: unknown, ctx: CaptureContext): () => void {
  const factory = pino as PinoFactory;
  const symbols = factory.symbols;
  const streamSym = symbols?.streamSym;
  const setLevelSym = symbols?.setLevelSym;
  if (typeof factory !== 'function' || streamSym === undefined || setLevelSym === undefined) {
    diag.warn('starlog: this pino has no pino.symbols; its records are not captured');
    return () => {};
  }
  const probe = factory({ level: 'silent' }, { write() {} });
  const shared = Object.getPrototypeOf(Object.getPrototypeOf(probe)) as PinoLogger & {
    [PATCHED]?: () => void;
  };
  if (shared[PATCHED] !== undefined) return shared[PATCHED];
  // what the fast path reads (pino-fast.ts); without it every record takes the JSON path
  const internals = pinoInternals(factory as Parameters<typeof pinoInternals>[0]);
  const setLevel = shared[setLevelSym] as (this: PinoLogger, level: string) => void;
  // A record whose line would be dropped (stdout/stderr while starlog is set up) is captured
  // from asJson's arguments and pino does not format it; anything else is formatted as before.
  const asJsonSym = symbols?.asJsonSym;
  const asJson = asJsonSym === undefined ? undefined : shared[asJsonSym];
  if (asJsonSym !== undefined && typeof asJson === 'function' && internals !== undefined) {
    shared[asJsonSym] = function (
      this: PinoLogger,
      obj: unknown,
      msg: unknown,
      num: number,
      time: unknown,
    ): unknown {
      const stream = this[streamSym];
      if (
        stream instanceof CaptureDestination &&
        stream.captureBeforeFormat(this, obj, msg, num, time)
      ) {
        return '';
      }
      return asJson.call(this, obj, msg, num, time);
    };
  }
  const child = shared.child;
  const tracked = new Set<WeakRef<PinoLogger>>();
  // loggers created while setupLogging() is under way, adopted when its table arrives
  const pending: WeakRef<PinoLogger>[] = [];

  const levelFor = (logger: PinoLogger): string | undefined => {
    const table = ctx.levels();
    return table === undefined
      ? undefined
      : pinoLevelOf(table.minSeverity(logger[SCOPE] as string));
  };
  const adopt = (logger: PinoLogger): void => {
    if (Object.hasOwn(logger, SCOPE)) return;
    const b = logger.bindings();
    logger[SCOPE] = scopeOf(b.name, b.module, 'pino');
    tracked.add(new WeakRef(logger));
    if (Object.hasOwn(logger, streamSym)) {
      const stream = logger[streamSym] as Writable;
      if (!(stream instanceof CaptureDestination)) {
        logger[streamSym] = new CaptureDestination(stream, ctx, internals);
      }
    }
  };

  shared[setLevelSym] = function (this: PinoLogger, level: string): void {
    if (ctx.levels() === undefined) {
      if (ctx.preparing && pending.length < 10_000) pending.push(new WeakRef(this));
      setLevel.call(this, level);
      return;
    }
    try {
      adopt(this);
    } catch (err) {
      diag.error('starlog: adopting a pino logger failed', err);
    }
    setLevel.call(this, levelFor(this) ?? level);
  };
  shared.child = function (
    this: PinoLogger,
    bindings: Record<string, unknown>,
    options?: Record<string, unknown>,
  ): PinoLogger {
    const c = child.call(this, bindings, options);
    if (
      ctx.levels() !== undefined &&
      bindings !== null &&
      typeof bindings === 'object' &&
      (bindings.name !== undefined || bindings.module !== undefined) &&
      !Object.hasOwn(c, SCOPE)
    ) {
      try {
        adopt(c);
        const level = levelFor(c);
        if (level !== undefined) setLevel.call(c, level);
      } catch (err) {
        diag.error('starlog: adopting a pino child logger failed', err);
      }
    }
    return c;
  };

  const relevel = (): void => {
    if (ctx.levels() === undefined) return;
    for (const ref of pending.splice(0)) {
      const logger = ref.deref();
      if (logger === undefined) continue;
      try {
        adopt(logger);
      } catch (err) {
        diag.error('starlog: adopting a pino logger failed', err);
      }
    }
    for (const ref of tracked) {
      const logger = ref.deref();
      if (logger === undefined) {
        tracked.delete(ref);
        continue;
      }
      const level = levelFor(logger);
      if (level !== undefined) {
        try {
          setLevel.call(logger, level);
        } catch (err) {
          diag.error('starlog: setting a pino level failed', err);
        }
      }
    }
  };
  shared[PATCHED] = relevel;
  return relevel;
}
