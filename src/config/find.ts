/**
 * Which configuration file applies, without reading it: the lookup needs neither the YAML parser
 * nor the schema library, so a process without a configuration file (and every child) loads
 * neither (`load-lazy.ts`).
 *
 * @module
 */
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { SetupOptions } from '../options.ts';
import type { StarlogConfig } from './config-types.ts';
import { configFileFromEnvironment, type Env } from './environment.ts';
import { ConfigError } from './errors.ts';

/** File names looked for in the working directory, in this order, when `STARLOG_CONFIG` is not set. */
export const CONFIG_FILE_NAMES = [
  'starlog.config.yaml',
  'starlog.config.yml',
  'starlog.config.json',
] as const;

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Where `starlog.config.*` is looked for and relative paths resolve. Default `process.cwd()`. */
  cwd?: string;
  /**
   * The environment: `STARLOG_CONFIG`, `STARLOG_LEVEL` and the `OTEL_*` overrides are read from it.
   * Default `process.env`. A primary sets `OTEL_EXPORTER_OTLP_LOGS_*` for its children, so pass
   * the environment as it was when the process started.
   */
  env?: Env;
  /** A configuration file to read (relative to `cwd`), instead of `STARLOG_CONFIG` or the lookup. */
  file?: string;
}

/** A configuration file read, validated and turned into `setupLogging()` options. */
export interface LoadedConfig {
  /** Absolute path of the file. */
  file: string;
  /** The file's content as parsed (YAML or JSON), before validation. */
  raw: unknown;
  /** The validated file, normalized (durations in ms, sizes in bytes), without the environment. */
  config: StarlogConfig;
  /** The options for `setupLogging()`: the file, with the environment overrides applied. */
  options: SetupOptions;
  /** Ignored environment values (invalid `OTEL_*` values), also reported through `diag.warn`. */
  warnings: string[];
}

export function displayName(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Which configuration file applies: `options.file`, else `STARLOG_CONFIG` (both relative to
 * `cwd`), else the first of {@link CONFIG_FILE_NAMES} in `cwd`.
 * @returns the absolute path, or `undefined` when there is no configuration file
 * @throws ConfigError when the named file (`options.file` or `STARLOG_CONFIG`) does not exist
 */
export function findConfigFile(options: LoadConfigOptions = {}): string | undefined {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const named = options.file ?? configFileFromEnvironment(env);
  if (named !== undefined) {
    const file = resolve(cwd, named);
    if (!isFile(file)) {
      const by = options.file !== undefined ? '' : ' (named by STARLOG_CONFIG)';
      throw new ConfigError(displayName(file, cwd), [
        { path: '', message: `expected a configuration file${by}, got no such file` },
      ]);
    }
    return file;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const file = resolve(cwd, name);
    if (isFile(file)) return file;
  }
  return undefined;
}
