import type { LoadedConfig } from '../config/find.ts';
import { loadConfigSync } from '../config/load-lazy.ts';
import { toSetupOptions } from '../config/to-options.ts';
import type { SetupOptions } from '../options.ts';

const SECTIONS = [
  'status',
  'lookback',
  'file',
  'console',
  'collector',
  'httpTasks',
  'instrumentations',
] as const;

/**
 * The options a primary runs with: the configuration file (if any; see `SetupOptions.config`)
 * overlaid with the options given in code, section by section (a section given as `false` in
 * code turns it off). The environment (`OTEL_*`, `STARLOG_LEVEL`) applies the same way with or
 * without a file (`toSetupOptions`, the one reader of the environment); options in code win.
 *
 * @throws ConfigError naming the file, key path and expectation when the file is invalid
 */
export function resolveOptions(
  options: SetupOptions,
  env: NodeJS.ProcessEnv,
): { options: SetupOptions; loaded: LoadedConfig | undefined } {
  const loaded =
    options.config === false ? undefined : loadConfigSync({ env, file: options.config });
  if (loaded === undefined)
    return { options: overlay(toSetupOptions(undefined, env), options), loaded };
  return { options: overlay(loaded.options, options), loaded };
}

/** `code` over `file`: top-level keys replace, object sections merge key by key. */
export function overlay(file: SetupOptions, code: SetupOptions): SetupOptions {
  const out: Record<string, unknown> = { ...file };
  for (const [key, value] of Object.entries(code)) {
    if (value === undefined) continue;
    const base = out[key];
    const isSection = (SECTIONS as readonly string[]).includes(key);
    out[key] =
      isSection && value !== false && base !== null && typeof base === 'object'
        ? { ...(base as object), ...(value as object) }
        : value;
  }
  return out as SetupOptions;
}
