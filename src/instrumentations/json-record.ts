/**
 * pino and bunyan records (the objects they write as JSON lines) as OpenTelemetry log record
 * fields. One mapping for the pino capture, the bunyan capture and `starlog run --capture-output`.
 *
 * - severity: pino/bunyan level numbers 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
 *   → TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21 (a custom level in between takes the
 *   range of the next standard level above it); a level name (`formatters.level`) is read too;
 * - body: `msg`; timestamp: `time` (epoch ms, or an ISO string as bunyan writes);
 * - scope: `name`, then `.module` when the record has a `module` binding (`app.db`); without
 *   either the fallback (`pino`, `bunyan`);
 * - `err` (pino's and bunyan's error serializers: `type`/`name`, `message`, `stack`) → the
 *   OpenTelemetry `exception.type`, `exception.message`, `exception.stacktrace` attributes;
 * - every other field → an attribute, nested objects as maps (OTLP kvlist; the Logs SDK takes any AnyValue); `pid`, `hostname` and
 *   bunyan's `v` are dropped (the resource has the process).
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';

const SEVERITY_BY_NAME: Readonly<Record<string, number>> = {
  trace: 1,
  debug: 5,
  info: 9,
  warn: 13,
  warning: 13,
  error: 17,
  fatal: 21,
};

/** The standard level names, by `(severityNumber - 1) / 4` (TRACE 1 … FATAL 21). */
export const LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** OpenTelemetry severity number of a pino/bunyan level number. */
export function severityOfLevel(level: number): number {
  if (level <= 10) return 1;
  if (level <= 20) return 5;
  if (level <= 30) return 9;
  if (level <= 40) return 13;
  if (level <= 50) return 17;
  return 21;
}

/** The pino level name for a starlog minimum severity (`Infinity`: `silent`). */
export function pinoLevelOf(minSeverity: number): string {
  if (minSeverity <= 4) return 'trace';
  if (minSeverity <= 8) return 'debug';
  if (minSeverity <= 12) return 'info';
  if (minSeverity <= 16) return 'warn';
  if (minSeverity <= 20) return 'error';
  if (minSeverity <= 24) return 'fatal';
  return 'silent';
}

/** What a pino/bunyan JSON record becomes. */
export interface JsonRecordFields {
  severityNumber: number;
  severityText: string | undefined;
  body: string;
  /** ms since the epoch, when the record had a usable `time` */
  timestamp: number | undefined;
  scope: string;
  attributes: Attributes;
}

/** Fields that are not attributes: mapped to other record fields, or the resource's (`pid`, `hostname`, `v`). */
export const NOT_ATTRIBUTES: ReadonlySet<string> = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'name',
  'module',
  'v',
  'err',
]);

/** The scope rule: `name`, `name.module`, `module`, else `fallback`. */
export function scopeOf(name: unknown, module: unknown, fallback: string): string {
  const n = typeof name === 'string' && name !== '' ? name : undefined;
  const m = typeof module === 'string' && module !== '' ? module : undefined;
  if (n !== undefined) return m === undefined ? n : `${n}.${m}`;
  return m ?? fallback;
}

/**
 * Maps a parsed pino/bunyan record. `levelNumber`/`levelLabel`, when known (pino's metadata),
 * win over the record's `level` field. `undefined` when it has no usable level.
 */
export function fromJsonRecord(
  o: Record<string, unknown>,
  fallbackScope: string,
  levelNumber?: number,
  levelLabel?: string,
): JsonRecordFields | undefined {
  let severityNumber: number;
  let severityText = levelLabel;
  const level = levelNumber ?? o.level;
  if (typeof level === 'number' && Number.isFinite(level)) {
    severityNumber = severityOfLevel(level);
    severityText ??= LEVEL_NAMES[(severityNumber - 1) / 4];
  } else if (typeof level === 'string' && SEVERITY_BY_NAME[level.toLowerCase()] !== undefined) {
    severityNumber = SEVERITY_BY_NAME[level.toLowerCase()]!;
    severityText ??= level;
  } else {
    return undefined;
  }
  const time = o.time;
  let timestamp: number | undefined;
  if (typeof time === 'number' && Number.isFinite(time)) timestamp = time;
  else if (typeof time === 'string') {
    const t = Date.parse(time);
    if (!Number.isNaN(t)) timestamp = t;
  }
  const attributes: Attributes = {};
  for (const key in o) {
    if (NOT_ATTRIBUTES.has(key)) continue;
    const v = o[key];
    if (v !== undefined && v !== null) attributes[key] = v as AttributeValue;
  }
  const err = o.err;
  if (err !== null && typeof err === 'object') {
    const e = err as { type?: unknown; name?: unknown; message?: unknown; stack?: unknown };
    const type = typeof e.type === 'string' ? e.type : e.name;
    if (typeof type === 'string') attributes['exception.type'] = type;
    if (typeof e.message === 'string') attributes['exception.message'] = e.message;
    if (typeof e.stack === 'string') attributes['exception.stacktrace'] = e.stack;
  } else if (err !== undefined && err !== null) {
    attributes.err = err as AttributeValue;
  }
  return {
    severityNumber,
    severityText,
    body: typeof o.msg === 'string' ? o.msg : o.msg === undefined ? '' : String(o.msg),
    timestamp,
    scope: scopeOf(o.name, o.module, fallbackScope),
    attributes,
  };
}

/**
 * Recognises one output line as a pino or bunyan record: a JSON object with a numeric `level`
 * and a `time` or `msg`. `undefined` for anything else (the line stays plain text).
 */
export function parseJsonLogLine(line: string): JsonRecordFields | undefined {
  if (line.length < 2 || line.charCodeAt(0) !== 0x7b /* { */) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  if (typeof r.level !== 'number' || (r.time === undefined && r.msg === undefined)) {
    return undefined;
  }
  return fromJsonRecord(r, r.v === 0 ? 'bunyan' : 'pino');
}
