import type { LookbackSetupOptions, SetupOptions, StatusSetupOptions } from '../options.ts';
import { formatLevelSpec, parseLevelSpec } from '../pipeline/level-table.ts';
import { parseLevel } from '../severity.ts';
import { parseDuration } from '../util/duration.ts';
import type { LoadConfigOptions, LoadedConfig } from './find.ts';
import { loadConfig } from './load-lazy.ts';
import { toSetupOptions } from './to-options.ts';

/**
 * What a configuration reload changes (see {@link diffReloadable}). Key paths are those of the
 * configuration file (`status.interval`, `exporters.otlp.endpoint`, `service.name`).
 */
export interface ReloadDiff {
  /** What can change in a running process; only the parts that changed are present. */
  apply: {
    /** The new level table, e.g. `'info,app.db=debug'` (`'info'` when the new config has none). */
    levels?: string;
    /**
     * The complete new status options (not only the changed keys: a key left out means its
     * default), present when `status.interval` or `status.template` changed.
     */
    status?: StatusSetupOptions;
    /**
     * The complete new lookback bounds (a key left out means its default), present when any of
     * `capacity`, `maxAge`, `flushSeverity`, `maxKeys`, `maxBytes`, `followFor`, `onShutdown`
     * changed.
     */
    lookback?: LookbackSetupOptions;
  };
  /** The key paths that changed and are in `apply`, e.g. `['levels', 'status.interval']`. */
  applied: string[];
  /**
   * The key paths that changed but only take effect after a restart (the receiver endpoint,
   * exporters, service name and attributes, turning status or lookback on or off, the status
   * destination, the shutdown timeout).
   */
  needsRestart: string[];
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function ms(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value, 'duration', true);
  } catch {
    return Number.NaN;
  }
}

function severity(value: number | string | undefined): number | undefined {
  return value === undefined ? undefined : parseLevel(value);
}

function levelsOf(levels: string | undefined): string {
  try {
    return formatLevelSpec(parseLevelSpec(levels ?? 'info'));
  } catch {
    return levels ?? 'info';
  }
}

/** Compares the keys of two sections (either may be absent) and pushes `prefix.key` for each change. */
function diffKeys(
  prefix: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  normalize: Record<string, (v: never) => unknown>,
  out: string[],
  configKey: (key: string) => string = (k) => k,
): void {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    const norm = normalize[key] ?? ((v: unknown) => v);
    if (!same(norm(before[key] as never), norm(after[key] as never))) {
      out.push(`${prefix}.${configKey(key)}`);
    }
  }
}

/**
 * Sections that are on by default (`undefined` ≡ `{}`) or off by default (`undefined` ≡ `false`).
 * Returns `'enabled'` when the section was turned on or off, else the two objects to compare.
 */
function sectionState(
  before: object | false | undefined,
  after: object | false | undefined,
  onByDefault: boolean,
): 'enabled' | [Record<string, unknown>, Record<string, unknown>] | undefined {
  const norm = (x: object | false | undefined) =>
    x === undefined ? (onByDefault ? {} : false) : x;
  const b = norm(before);
  const a = norm(after);
  if ((b === false) !== (a === false)) return 'enabled';
  if (b === false || a === false) return undefined;
  return [b as Record<string, unknown>, a as Record<string, unknown>];
}

/**
 * Compares the options before and after a configuration reload.
 *
 * Applied at run time: `levels`, `status.interval`, `status.template`, and the lookback bounds
 * (`capacity`, `maxAge`, `flushSeverity`, `maxKeys`, `maxBytes`, `followFor`, `onShutdown`).
 * Everything else that changed is listed in `needsRestart`. Values are compared after
 * normalization (`'15s'` equals `15000`, `'WARN'` equals `'warn'`, `'info, app=debug'` equals
 * `'info,app=debug'`).
 */
export function diffReloadable(before: SetupOptions, after: SetupOptions): ReloadDiff {
  const diff: ReloadDiff = { apply: {}, applied: [], needsRestart: [] };
  const restart = diff.needsRestart;

  if (levelsOf(before.levels) !== levelsOf(after.levels)) {
    diff.apply.levels = levelsOf(after.levels);
    diff.applied.push('levels');
  }

  const status = sectionState(before.status, after.status, true);
  if (status === 'enabled') restart.push('status.enabled');
  else if (status !== undefined) {
    const changed: string[] = [];
    diffKeys('status', status[0], status[1], { interval: ms }, changed);
    for (const path of changed) {
      if (path === 'status.interval' || path === 'status.template') diff.applied.push(path);
      else restart.push(path);
    }
    if (changed.some((p) => p === 'status.interval' || p === 'status.template')) {
      diff.apply.status = { ...(status[1] as StatusSetupOptions) };
    }
  }

  const lookback = sectionState(before.lookback, after.lookback, false);
  if (lookback === 'enabled') restart.push('lookback.enabled');
  else if (lookback !== undefined) {
    const changed: string[] = [];
    diffKeys(
      'lookback',
      lookback[0],
      lookback[1],
      { maxAge: ms, followFor: ms, flushSeverity: severity },
      changed,
    );
    if (changed.length > 0) {
      diff.applied.push(...changed);
      diff.apply.lookback = { ...(lookback[1] as LookbackSetupOptions) };
    }
  }

  if (!same(before.role ?? 'auto', after.role ?? 'auto')) restart.push('role');
  if (!same(before.serviceName, after.serviceName)) restart.push('service.name');
  if (!same(before.resourceAttributes ?? {}, after.resourceAttributes ?? {})) {
    restart.push('service.attributes');
  }
  if (!same(before.endpoint ?? 'unix', after.endpoint ?? 'unix')) restart.push('receiver.endpoint');

  const destinations = [
    ['collector', 'exporters.otlp', false],
    ['file', 'exporters.file', true],
    ['console', 'exporters.console', true],
  ] as const;
  for (const [option, path, onByDefault] of destinations) {
    const state = sectionState(before[option], after[option], onByDefault);
    if (state === 'enabled') restart.push(`${path}.enabled`);
    else if (state !== undefined) {
      diffKeys(
        path,
        state[0],
        state[1],
        { minimumSeverity: severity, minSeverity: severity },
        restart,
      );
    }
  }

  for (const key of ['httpTasks', 'instrumentations'] as const) {
    if (!same(before[key] ?? true, after[key] ?? true)) restart.push(key);
  }
  if (!same(before.exitHooks ?? true, after.exitHooks ?? true)) restart.push('exitHooks');
  if (!same(before.shutdownTimeoutMs, after.shutdownTimeoutMs)) restart.push('shutdownTimeout');
  return diff;
}

/** The result of {@link reloadConfig}. */
export interface ReloadResult {
  /** The configuration now in force (`undefined`: there is no configuration file any more). */
  config: LoadedConfig | undefined;
  /** The options now in force: `config.options`, or the environment alone. */
  options: SetupOptions;
  /** What changed, and what of it needs a restart. */
  diff: ReloadDiff;
}

/**
 * Re-reads the configuration (for `SIGHUP` or `starlog config reload`) and compares it with the
 * options in force. The same file is read again when `previous` came from one (even if
 * `STARLOG_CONFIG` changed since); otherwise the lookup runs again (a file may have appeared).
 * Pass the environment as it was at start (`options.env`), not the primary's modified one.
 *
 * @param previous - the configuration loaded at start (or at the last reload), if any
 * @param before - the options in force; default `previous.options`, or `toSetupOptions(undefined, env)`
 * @throws ConfigError when the file is now invalid or gone; nothing should be applied then
 */
export async function reloadConfig(
  previous: LoadedConfig | undefined,
  options: LoadConfigOptions & { before?: SetupOptions } = {},
): Promise<ReloadResult> {
  const env = options.env ?? process.env;
  const before = options.before ?? previous?.options ?? toSetupOptions(undefined, env);
  const config = await loadConfig(previous ? { ...options, file: previous.file } : options);
  const after = config?.options ?? toSetupOptions(undefined, env);
  return { config, options: after, diff: diffReloadable(before, after) };
}

/**
 * One line for the operator, e.g. `applied levels, status.interval; needs a restart:
 * exporters.otlp.endpoint` or `no changes`.
 */
export function formatReloadReport(diff: ReloadDiff): string {
  const parts: string[] = [];
  if (diff.applied.length > 0) parts.push(`applied ${diff.applied.join(', ')}`);
  if (diff.needsRestart.length > 0) {
    parts.push(`changed but needs a restart: ${diff.needsRestart.join(', ')}`);
  }
  return parts.length === 0 ? 'no changes' : parts.join('; ');
}
