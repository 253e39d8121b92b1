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
 * - **Level.** winston's own `level` still filters first (the application's setting, default
 *   `info`); starlog's level table then applies to what it lets through. To see DEBUG records
 *   from winston, lower both.
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
const SKIPPED = new Set(['level', 'message', 'label', 'stack']);

interface WinstonLogger {
  transports: unknown[];
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

/** Patches one loaded copy of winston (its `module.exports`). */
export function instrumentWinston(winston: unknown, ctx: CaptureContext): void {
  const w = winston as WinstonModule;
  if (typeof w?.createLogger !== 'function' || typeof w.Transport !== 'function') {
    diag.warn('starlog: unknown winston shape; its records are not captured');
    return;
  }
  const probe = w.createLogger({ silent: true });
  const proto = Object.getPrototypeOf(Object.getPrototypeOf(probe)) as WinstonLogger & {
    [PATCHED]?: boolean;
  };
  if (proto[PATCHED] === true) return;
  proto[PATCHED] = true;

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
