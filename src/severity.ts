import { SeverityNumber } from '@opentelemetry/api';

/**
 * The six severity ranges of the OpenTelemetry Logs data model, plus UNSPECIFIED.
 * Source: opentelemetry-specification, logs/data-model.md "Field: SeverityNumber"
 * (TRACE 1–4, DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20, FATAL 21–24).
 */
export const SEVERITY_NAMES = [
  'UNSPECIFIED',
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'ERROR',
  'FATAL',
] as const;

/** One of {@link SEVERITY_NAMES}. */
export type SeverityName = (typeof SEVERITY_NAMES)[number];

/**
 * Index into {@link SEVERITY_NAMES} for a severity number: 0 for UNSPECIFIED/absent/out of range,
 * 1 (TRACE) … 6 (FATAL).
 */
export function severityBucket(n: number | undefined): number {
  if (n === undefined || n < 1 || n > 24) return 0;
  return ((n - 1) >> 2) + 1;
}

/** The name of the range a severity number falls in (`'INFO'` for 9–12). */
export function severityName(n: number | undefined): SeverityName {
  return SEVERITY_NAMES[severityBucket(n)]!;
}

/** Lower-case level names accepted in level strings, and the severity number each starts at. */
export const LEVELS: Readonly<Record<string, number>> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  warning: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
  critical: SeverityNumber.FATAL,
  off: Number.POSITIVE_INFINITY,
  silent: Number.POSITIVE_INFINITY,
};

/**
 * Parses a level name (`'debug'`, `'WARN'`, `'warning'`, `'off'`) or a severity number 1–24.
 * @returns the minimum severity number, or `undefined` if the name is unknown
 */
export function parseLevel(level: string | number): number | undefined {
  if (typeof level === 'number') return level >= 1 && level <= 24 ? level : undefined;
  const trimmed = level.trim().toLowerCase();
  if (/^\d+$/.test(trimmed)) return parseLevel(Number(trimmed));
  return LEVELS[trimmed];
}
