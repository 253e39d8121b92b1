import { LEVELS, parseLevel } from '../severity.ts';

/** One `pattern=level` rule of a {@link LevelTable}. */
export interface LevelRule {
  /** A logger (instrumentation scope) name, or a prefix ending in `.*` (`app.*` matches `app.db`, `app.db.pool`). */
  pattern: string;
  /** The minimum severity number (1–24), or `Infinity` for `off`. */
  minSeverity: number;
}

/** A parsed level specification: a default minimum severity plus per-logger rules. */
export interface LevelSpec {
  defaultMinSeverity: number;
  rules: LevelRule[];
}

/** Most rules (logger patterns) a level table holds; a change that would make more is refused. */
export const MAX_LEVEL_RULES = 1000;
/** Longest logger pattern in a level table, in characters. */
export const MAX_LEVEL_PATTERN_LENGTH = 256;

/**
 * Checks the bounds of a level table ({@link MAX_LEVEL_RULES}, {@link MAX_LEVEL_PATTERN_LENGTH}).
 * @throws Error naming the limit
 */
export function checkLevelLimits(spec: LevelSpec): void {
  if (spec.rules.length > MAX_LEVEL_RULES) {
    throw new Error(
      `starlog: a level table holds at most ${MAX_LEVEL_RULES} rules; this one would have ${spec.rules.length}`,
    );
  }
  for (const rule of spec.rules) {
    if (rule.pattern.length > MAX_LEVEL_PATTERN_LENGTH) {
      throw new Error(
        `starlog: a logger pattern is at most ${MAX_LEVEL_PATTERN_LENGTH} characters; got ${rule.pattern.length} ('${rule.pattern.slice(0, 40)}…')`,
      );
    }
  }
}

const PATTERN_RE = /^[A-Za-z0-9_@/:$-]+(?:\.[A-Za-z0-9_@/:$-]+)*(?:\.\*)?$|^\*$/;

/**
 * Parses a level string such as `'info'`, `'info,app.db=debug,app.*=warn'` or `'app.http=off'`.
 * Level names: trace, debug, info, warn (warning), error, fatal (critical), off (silent), or a
 * severity number 1–24. A pattern is a logger name or a prefix ending in `.*`.
 *
 * @throws Error naming the offending entry when a level is unknown or a pattern is malformed
 */
export function parseLevelSpec(spec: string, fallbackDefault = LEVELS.info!): LevelSpec {
  const result: LevelSpec = { defaultMinSeverity: fallbackDefault, rules: [] };
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const levelText = eq === -1 ? entry : entry.slice(eq + 1).trim();
    const min = parseLevel(levelText);
    if (min === undefined) {
      throw new Error(
        `starlog: unknown level '${levelText}' in '${entry}' (expected one of ${Object.keys(LEVELS).join(', ')} or 1-24)`,
      );
    }
    if (eq === -1) {
      result.defaultMinSeverity = min;
      continue;
    }
    const pattern = entry.slice(0, eq).trim();
    if (pattern.length > MAX_LEVEL_PATTERN_LENGTH) {
      throw new Error(
        `starlog: a logger pattern is at most ${MAX_LEVEL_PATTERN_LENGTH} characters; got ${pattern.length} ('${pattern.slice(0, 40)}…')`,
      );
    }
    if (!PATTERN_RE.test(pattern)) {
      throw new Error(
        `starlog: malformed logger pattern '${pattern}' in '${entry}' (expected a name like app.db or a prefix like app.*)`,
      );
    }
    if (pattern === '*') result.defaultMinSeverity = min;
    else result.rules.push({ pattern, minSeverity: min });
  }
  return result;
}

/** Formats a {@link LevelSpec} back into the string form `parseLevelSpec` reads. */
export function formatLevelSpec(spec: LevelSpec): string {
  const name = (n: number): string => {
    if (n === Number.POSITIVE_INFINITY) return 'off';
    for (const key of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
      if (LEVELS[key] === n) return key;
    }
    return String(n);
  };
  return [
    name(spec.defaultMinSeverity),
    ...spec.rules.map((r) => `${r.pattern}=${name(r.minSeverity)}`),
  ].join(',');
}

const MAX_CACHE = 4096;

/**
 * The level table of one process: which severities are enabled for which logger.
 *
 * Resolution (most specific wins): a rule naming the logger exactly; otherwise the rule with the
 * longest matching prefix (`app.db` covers `app.db.pool`, `app.*` covers `app` and `app.x.y`);
 * otherwise the default. Results are cached per logger name (bounded, cleared on change).
 * Records with no severity (UNSPECIFIED) are always enabled, as in the OpenTelemetry SDK.
 * `version` increases on every change so that callers may cache thresholds.
 */
export class LevelTable {
  private spec: LevelSpec;
  private readonly cache = new Map<string, number>();
  private readonly listeners = new Set<(table: LevelTable) => void>();
  /** Increases by one on every successful {@link LevelTable.set}. */
  version = 0;

  /**
   * @param spec - a level string (see {@link parseLevelSpec}) or a parsed spec; default `'info'`
   * @throws Error when the level string is invalid
   */
  constructor(spec: string | LevelSpec = 'info') {
    this.spec = typeof spec === 'string' ? parseLevelSpec(spec) : cloneSpec(spec);
    checkLevelLimits(this.spec);
  }

  /** The minimum severity number for a logger name (`Infinity` when the logger is off). */
  minSeverity(name: string): number {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const min = this.resolve(name);
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(name, min);
    return min;
  }

  /** Whether a record of this severity from this logger is enabled. Never throws. */
  enabled(name: string, severityNumber: number | undefined): boolean {
    if (severityNumber === undefined || severityNumber === 0) return true;
    return severityNumber >= this.minSeverity(name);
  }

  /**
   * Replaces the whole table. On an invalid string, or a table over {@link MAX_LEVEL_RULES} rules,
   * nothing changes and an Error naming the bad entry or the limit is thrown.
   */
  set(spec: string | LevelSpec): void {
    const next = typeof spec === 'string' ? parseLevelSpec(spec) : cloneSpec(spec);
    checkLevelLimits(next);
    this.spec = next;
    this.cache.clear();
    this.version++;
    for (const listener of this.listeners) {
      try {
        listener(this);
      } catch {
        // a listener's failure must not undo or break a level change
      }
    }
  }

  /** The current table as a parsed spec (a copy). */
  get(): LevelSpec {
    return cloneSpec(this.spec);
  }

  /** The current table in string form, e.g. `'info,app.db=debug'`. */
  toString(): string {
    return formatLevelSpec(this.spec);
  }

  /** Calls `listener` after every change; returns a function that unsubscribes. */
  onChange(listener: (table: LevelTable) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private resolve(name: string): number {
    let bestScore = -1;
    let min = this.spec.defaultMinSeverity;
    for (const rule of this.spec.rules) {
      const score = matchScore(rule.pattern, name);
      if (score >= 0 && score >= bestScore) {
        bestScore = score;
        min = rule.minSeverity;
      }
    }
    return min;
  }
}

/**
 * How specifically `pattern` matches `name`: -1 no match; `Infinity` the exact name; otherwise
 * the length of the matched prefix. `app.db` also covers descendants (`app.db.pool`), like
 * Python's logger hierarchy; `app.*` covers `app` and every `app.` descendant.
 */
function matchScore(pattern: string, name: string): number {
  if (pattern === name) return Number.POSITIVE_INFINITY;
  const prefix = pattern.endsWith('.*') ? pattern.slice(0, -2) : pattern;
  if (
    name === prefix ||
    (name.length > prefix.length &&
      name.startsWith(prefix) &&
      name.charCodeAt(prefix.length) === 46)
  ) {
    return prefix.length;
  }
  return -1;
}

function cloneSpec(spec: LevelSpec): LevelSpec {
  return { defaultMinSeverity: spec.defaultMinSeverity, rules: spec.rules.map((r) => ({ ...r })) };
}
