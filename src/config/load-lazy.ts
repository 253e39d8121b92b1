/**
 * `loadConfig()` and `loadConfigSync()` that load the YAML parser and the schema library (`yaml`,
 * `zod`, ~170 modules, most of a child's start-up CPU before) only when there is a configuration
 * file to read. The public entry (`index.ts`), `starlog/register` and a primary's set-up import
 * these; `load.ts` holds the parser.
 *
 * @module
 */
import { requireSibling } from '../util/require-sibling.ts';
import { findConfigFile, type LoadConfigOptions, type LoadedConfig } from './find.ts';

type LoadModule = typeof import('./load.ts');

/**
 * Finds, reads and validates the configuration file and applies the environment overrides
 * (see `toSetupOptions`).
 * @returns `undefined` when there is no configuration file (then use `toSetupOptions(undefined, env)`)
 * @throws ConfigError listing every problem (file, key path, what was expected, what was found)
 */
export async function loadConfig(
  options: LoadConfigOptions = {},
): Promise<LoadedConfig | undefined> {
  if (findConfigFile(options) === undefined) return undefined;
  const { loadConfig: load } = await import('./load.ts');
  return load(options);
}

/** The synchronous {@link loadConfig}. */
export function loadConfigSync(options: LoadConfigOptions = {}): LoadedConfig | undefined {
  if (findConfigFile(options) === undefined) return undefined;
  return requireSibling<LoadModule>(import.meta.url, './load').loadConfigSync(options);
}
