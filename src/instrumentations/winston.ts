/**
 * winston captured into starlog with no change to the application, through winston's public
 * extension point, a Transport: every logger configured while starlog is set up (its
 * constructor runs `configure()`, and so does `logger.configure()`) gets one more transport that
 * emits each record it receives as an OpenTelemetry log record, in the caller's Context.
 *
 * - **Scope.** The record's `label` (winston's `format.label()`), else the logger's id in
 *   `winston.loggers` / a `Container`, else `winston`.
 * - **Severity.** npm levels: error ERROR, warn WARN, info INFO, http INFO2, verbose DEBUG2,
 *   debug DEBUG, silly TRACE; syslog levels: emerg FATAL, alert ERROR4, crit ERROR3, error
 *   ERROR, warning WARN, notice INFO2, info INFO, debug DEBUG.
 * - **Body and attributes.** `message` is the body; every other field an attribute (`stack`,
 *   from `format.errors({ stack: true })`, becomes `exception.stacktrace`).
 * - **Level.** winston's scope is known per record (a `label` is a format applied when a record
 *   is written), so a logger's level cannot be one table entry as pino's is. Instead each
 *   logger's `level` is set to the most verbose level any entry of starlog's table asks for (its
 *   default and every rule; at configure time and whenever the table changes), and the table then
 *   applies per scope to what winston lets through: `starlog level set billing=debug` shows
 *   `billing`'s DEBUG records without touching the application. A `level` set in the application
 *   is replaced while starlog is set up; the application's other transports keep it (those
 *   without a level of their own get the logger's original level, so a file transport writes
 *   what it wrote before).
 * - **Original output.** `winston.transports.Console` transports are silenced while starlog is
 *   set up (the console and the file get the records through starlog; in a child through the
 *   primary), unless `instrumentations: { keepOutput: true }`. Other transports are untouched.
 */
import { diag } from '@opentelemetry/api';
import { capturedTime } from '../util/clock.ts';
import { type CaptureContext, scopeLogger } from './scope-loggers.ts';

const SEVERITY: Readonly<Record<string, number>> = {
  error: 17,
  warn: 13,
  info: 9,
  http: 10,
  verbose: 6,
  debug: 5,
  silly: 1,
  emerg: 21,
  alert: 20,
  crit: 19,
  warning: 13,
  notice: 10,
};

const LEVEL = Symbol.for('level');
const PATCHED = Symbol.for('starlog.winston.patched');
const NAME = Symbol('starlog.winston.name');
const APP_LEVEL = Symbol('starlog.winston.appLevel');
const SKIPPED = new Set(['level', 'message', 'label', 'stack']);

interface WinstonLogger {
  transports: unknown[];
  level: string;
  levels?: Record<string, number>;
  [APP_LEVEL]?: string;
  add(t: unknown): unknown;
  configure(o?: unknown): void;
  [NAME]?: string;
}

interface WinstonModule {
  createLogger(o?: unknown): WinstonLogger;
  Transport: new (o?: unknown) => object;
  transports?: { Console?: new (...a: unknown[]) => object };
  Container?: { prototype: { add(id: string, o?: unknown): WinstonLogger } };
}

/**
 * The winston level (a name of `levels`, winston's priorities: lower is more severe) that lets
 * through every record of severity `min` and above: the least severe such name; the most severe
 * name when none is (`off`).
 */
export function winstonLevelFor(levels: Record<string, number>, min: number): string | undefined {
  let best: string | undefined;
  let mostSevere: string | undefined;
  for (const [name, priority] of Object.entries(levels)) {
    if (mostSevere === undefined || priority < levels[mostSevere]!) mostSevere = name;
    const severity = SEVERITY[name];
    if (
      severity !== undefined &&
      severity >= min &&
      (best === undefined || priority > levels[best]!)
    )
      best = name;
  }
  return best ?? mostSevere;
}

/** The most verbose minimum severity of the table: its default and every rule. */
function mostVerbose(ctx: CaptureContext): number | undefined {
  const table = ctx.levels();
  if (table === undefined) return undefined;
  const spec = table.get();
  let min = spec.defaultMinSeverity;
  for (const rule of spec.rules) min = Math.min(min, rule.minSeverity);
  return min;
}

/**
 * Patches one loaded copy of winston (its `module.exports`). Returns a function that re-applies
 * starlog's levels to every winston logger seen (call it when the level table changes).
 */
export function instrumentWinston(winston: unknown, ctx: CaptureContext): () => void {
  const w = winston as WinstonModule;
  if (typeof w?.createLogger !== 'function' || typeof w.Transport !== 'function') {
    diag.warn('starlog: unknown winston shape; its records are not captured');
    return () => {};
  }
  const probe = w.createLogger({ silent: true });
  const proto = Object.getPrototypeOf(Object.getPrototypeOf(probe)) as WinstonLogger & {
    [PATCHED]?: () => void;
  };
  if (proto[PATCHED] !== undefined) return proto[PATCHED];
  const tracked = new Set<WeakRef<WinstonLogger>>();
  const follow = (logger: WinstonLogger, min: number): void => {
    const app = logger[APP_LEVEL] ?? logger.level;
    for (const t of logger.transports) {
      const transport = t as { level?: string };
      if (!(t instanceof StarlogTransport) && transport.level === undefined) transport.level = app;
    }
    const level = winstonLevelFor(logger.levels ?? {}, min);
    if (level !== undefined && logger.level !== level) logger.level = level;
  };
  const relevel = (): void => {
    const min = mostVerbose(ctx);
    if (min === undefined) return;
    for (const ref of tracked) {
      const logger = ref.deref();
      if (logger === undefined) tracked.delete(ref);
      else {
        try {
          follow(logger, min);
        } catch (err) {
          diag.error('starlog: setting a winston level failed', err);
        }
      }
    }
  };
  proto[PATCHED] = relevel;

  const Base = w.Transport as new (o?: unknown) => { parent?: WinstonLogger };
  class StarlogTransport extends Base {
    log(info: Record<string | symbol, unknown>, callback: () => void): void {
      if (ctx.levels() !== undefined) capture(info, this.parent);
      callback();
    }
  }
  const Console = w.transports?.Console;

  const configure = proto.configure;
  proto.configure = function (this: WinstonLogger, options?: unknown): void {
    configure.call(this, options);
    if (ctx.levels() === undefined) return;
    try {
      if (!this.transports.some((t) => t instanceof StarlogTransport)) {
        this.add(new StarlogTransport());
      }
      if (!ctx.keepOutput && Console !== undefined) {
        for (const t of this.transports)
          if (t instanceof Console) (t as { silent: boolean }).silent = true;
      }
      // configure() sets the application's level: kept for its other transports
      if (!Object.hasOwn(this, APP_LEVEL)) tracked.add(new WeakRef(this));
      this[APP_LEVEL] = this.level;
      follow(this, mostVerbose(ctx)!);
    } catch (err) {
      diag.error('starlog: adding the starlog transport to a winston logger failed', err);
    }
  };
  const containerAdd = w.Container?.prototype.add;
  if (w.Container !== undefined && typeof containerAdd === 'function') {
    w.Container.prototype.add = function (this: unknown, id: string, o?: unknown): WinstonLogger {
      const logger = containerAdd.call(this, id, o);
      if (logger !== null && typeof logger === 'object') logger[NAME] = String(id);
      return logger;
    };
  }
  return relevel;
}

function capture(info: Record<string | symbol, unknown>, parent: WinstonLogger | undefined): void {
  try {
    const level = String(info[LEVEL] ?? info.level ?? 'info');
    const attributes: Record<string, unknown> = {};
    for (const key in info) {
      if (SKIPPED.has(key)) continue;
      const v = info[key];
      if (v !== undefined && v !== null && typeof v !== 'function') attributes[key] = v;
    }
    if (typeof info.stack === 'string') attributes['exception.stacktrace'] = info.stack;
    const label = info.label;
    const scope = typeof label === 'string' && label !== '' ? label : (parent?.[NAME] ?? 'winston');
    const message = info.message;
    scopeLogger(scope).emit({
      severityNumber: SEVERITY[level] ?? 9,
      severityText: level,
      body: typeof message === 'string' ? message : JSON.stringify(message ?? ''),
      attributes: attributes as never,
      timestamp: capturedTime(undefined),
    });
  } catch (err) {
    diag.error('starlog: capturing a winston record failed', err);
  }
}
