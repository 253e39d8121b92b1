/**
 * The fast path of the pino capture: the record is built from what pino hands its destination
 * through the metadata protocol (`lastObj` after the mixin, `lastMsg` after formatting and the
 * prefix, `lastLevel`, `lastTime`, `lastLogger`) instead of parsing the JSON line pino wrote,
 * and emitted without the SDK's re-validation (`emitDirect`).
 *
 * It applies only where the line would parse back to exactly these values, and says `false`
 * (the caller then parses the line, see `json-record.ts`) otherwise:
 * - the logger: pino's default level field (`{"level":<n>`), `messageKey` `msg`, no `nestedKey`,
 *   no `formatters.log`, no redaction, no `hooks.streamWrite`, no serializer for `msg`, and the
 *   time function `epochTime` (the default) or `nullTime` (`timestamp: false`);
 * - the object: every value a string, a boolean or a number (a non-finite number is dropped,
 *   as pino writes it `null`), no key with a serializer, none of the keys the mapping treats
 *   apart (`level`, `time`, `msg`, `pid`, `hostname`, `name`, `module`, `v`, `err`, the logger's
 *   `errorKey`); the message a string or absent.
 * The bindings (pino's already serialized `chindings`) are parsed once per logger and binding
 * set. The result is the record the JSON path makes: same scope, severity, body, attributes (in
 * the same order), timestamp rule.
 */
import { type Attributes, context } from '@opentelemetry/api';
import { emitDirect, validSpanContext } from '../tasks/direct-emit.ts';
import { getProcessTask, taskInContext } from '../tasks/task.ts';
import { monotonicHrTime } from '../util/clock.ts';
import { LEVEL_NAMES, NOT_ATTRIBUTES, scopeOf, severityOfLevel } from './json-record.ts';
import { scopeLogger } from './scope-loggers.ts';

/** The pino symbols and time functions the fast path reads (from `pino.symbols`). */
export interface PinoInternals {
  chindingsSym: symbol;
  lsCacheSym: symbol;
  serializersSym: symbol;
  formattersSym: symbol;
  stringifiersSym: symbol;
  messageKeySym: symbol;
  errorKeySym: symbol;
  nestedKeySym: symbol;
  timeSym: symbol;
  timeSliceIndexSym: symbol;
  hooksSym: symbol;
  epochTime: unknown;
  nullTime: unknown;
}

/** Reads {@link PinoInternals} from a pino module; `undefined` when something is missing. */
export function pinoInternals(factory: {
  symbols?: Record<string, symbol>;
  stdTimeFunctions?: Record<string, unknown>;
}): PinoInternals | undefined {
  const s = factory.symbols;
  const t = factory.stdTimeFunctions;
  if (s === undefined || t === undefined) return undefined;
  const names = [
    'chindingsSym',
    'lsCacheSym',
    'serializersSym',
    'formattersSym',
    'stringifiersSym',
    'messageKeySym',
    'errorKeySym',
    'nestedKeySym',
    'timeSym',
    'timeSliceIndexSym',
    'hooksSym',
  ] as const;
  for (const n of names) if (typeof s[n] !== 'symbol') return undefined;
  if (typeof t.epochTime !== 'function' || typeof t.nullTime !== 'function') return undefined;
  const out = { epochTime: t.epochTime, nullTime: t.nullTime } as Partial<PinoInternals>;
  for (const n of names) out[n] = s[n];
  return out as PinoInternals;
}

type PinoLogger = { [key: symbol]: unknown; levels?: { labels?: Record<number, string> } };

/** What one logger's configuration allows, computed once per logger and binding set. */
interface Plan {
  chindings: unknown;
  lsCache: unknown;
  /** false: this logger always takes the JSON path */
  ok: boolean;
  /** the bindings as attributes (without the keys the mapping drops), in pino's order */
  base: Attributes;
  baseCount: number;
  baseMaxLength: number;
  /** whether every binding value is a string, number or boolean */
  basePrimitive: boolean;
  scope: string;
  serializers: Record<string, unknown>;
  errorKey: string;
}

const PLAN = Symbol('starlog.pino.plan');

function makePlan(logger: PinoLogger, p: PinoInternals, fallbackScope: string): Plan {
  const chindings = logger[p.chindingsSym];
  const lsCache = logger[p.lsCacheSym] as Record<string, unknown> | undefined;
  const formatters = logger[p.formattersSym] as { log?: unknown } | undefined;
  const stringifiers = logger[p.stringifiersSym] as object | undefined;
  const hooks = logger[p.hooksSym] as { streamWrite?: unknown } | undefined;
  const serializers = (logger[p.serializersSym] ?? {}) as Record<string, unknown>;
  const time = logger[p.timeSym];
  const plan: Plan = {
    chindings,
    lsCache,
    ok: false,
    base: {},
    baseCount: 0,
    baseMaxLength: 0,
    basePrimitive: true,
    scope: fallbackScope,
    serializers,
    errorKey: String(logger[p.errorKeySym] ?? 'err'),
  };
  if (
    typeof chindings !== 'string' ||
    lsCache === undefined ||
    formatters?.log !== undefined ||
    (stringifiers !== undefined && Reflect.ownKeys(stringifiers).length !== 0) ||
    hooks?.streamWrite !== undefined ||
    serializers.msg !== undefined ||
    logger[p.messageKeySym] !== 'msg' ||
    (logger[p.nestedKeySym] !== null && logger[p.nestedKeySym] !== undefined) ||
    (time !== p.epochTime && time !== p.nullTime)
  ) {
    return plan;
  }
  for (const key of Object.keys(lsCache)) {
    if (lsCache[key] !== `{"level":${key}`) return plan;
  }
  let bindings: Record<string, unknown> = {};
  if (chindings !== '') {
    try {
      bindings = JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>;
    } catch {
      return plan;
    }
  }
  for (const key of Object.keys(bindings)) {
    if (NOT_ATTRIBUTES.has(key)) continue;
    const v = bindings[key];
    if (v === undefined || v === null) continue;
    plan.base[key] = v as Attributes[string];
    plan.baseCount++;
    if (typeof v === 'string') plan.baseMaxLength = Math.max(plan.baseMaxLength, v.length);
    else if (typeof v !== 'number' && typeof v !== 'boolean') plan.basePrimitive = false;
  }
  plan.scope = scopeOf(bindings.name, bindings.module, fallbackScope);
  plan.ok = true;
  return plan;
}

/**
 * Captures the record pino just wrote from its metadata; returns `false` (nothing emitted)
 * when the fast path does not apply. May throw (the caller reports it).
 */
export function captureFast(
  logger: PinoLogger,
  p: PinoInternals,
  fallbackScope: string,
  level: number,
  obj: unknown,
  msg: unknown,
  time: unknown,
): boolean {
  let plan = logger[PLAN] as Plan | undefined;
  if (
    plan === undefined ||
    plan.chindings !== logger[p.chindingsSym] ||
    plan.lsCache !== logger[p.lsCacheSym]
  ) {
    plan = makePlan(logger, p, fallbackScope);
    logger[PLAN] = plan;
  }
  if (!plan.ok || typeof level !== 'number' || typeof time !== 'string') return false;
  if (msg !== undefined && typeof msg !== 'string') return false;
  if (obj === null || typeof obj !== 'object') return false;
  const o = obj as Record<string, unknown>;
  const attributes: Attributes = plan.baseCount === 0 ? {} : { ...plan.base };
  let count = plan.baseCount;
  let maxLength = plan.baseMaxLength;
  const serializers = plan.serializers;
  const errorKey = plan.errorKey;
  for (const key in o) {
    if (!Object.hasOwn(o, key)) continue;
    const v = o[key];
    if (v === undefined) continue;
    if (NOT_ATTRIBUTES.has(key) || key === errorKey || serializers[key] !== undefined) return false;
    if (typeof v === 'string') {
      if (v.length > maxLength) maxLength = v.length;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        // pino writes it null, which the mapping drops (a key already bound keeps its place)
        if (key in attributes) {
          delete attributes[key];
          count--;
        }
        continue;
      }
    } else if (typeof v !== 'boolean') return false;
    if (!(key in attributes)) count++;
    attributes[key] = v;
  }
  const severityNumber = severityOfLevel(level);
  const severityText = logger.levels?.labels?.[level] ?? LEVEL_NAMES[(severityNumber - 1) / 4];
  // the timestamp rule of capturedTime(): pino's own time when it is more than 1 ms off now
  const ms = time === '' ? Number.NaN : Number(time);
  const timestamp = Number.isFinite(ms) && Math.abs(ms - Date.now()) > 1 ? ms : undefined;
  const ctx = context.active();
  const task = taskInContext(ctx);
  const sc = validSpanContext(ctx, task);
  const record = {
    severityNumber,
    severityText,
    body: msg ?? '',
    attributes,
    context: ctx,
    spanContext: sc,
    timestamp,
  };
  const out = scopeLogger(plan.scope);
  if (!plan.basePrimitive) {
    out.emit({ ...record, timestamp: timestamp ?? monotonicHrTime() });
    return true;
  }
  // the task attributes TaskAttributesProcessor adds count against the limits too
  const view = (task ?? getProcessTask())?._recordView;
  emitDirect(
    out,
    record,
    count + (view?.keys.length ?? 0),
    Math.max(maxLength, view?.maxLength ?? 0),
  );
  return true;
}
