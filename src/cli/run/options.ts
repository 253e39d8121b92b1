import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { type LoadedConfig, loadConfig, toSetupOptions } from '../../config/load.ts';
import type { SetupOptions } from '../../options.ts';
import { overlay } from '../../setup/config-options.ts';
import { defaultServiceName } from './capture.ts';

/** Options of `starlog run` (commander's camelCase names). */
export interface RunCommandOptions {
  /**
   * Configuration file (default: `STARLOG_CONFIG`, else `./starlog.config.{yaml,yml,json}`); also
   * put into the child's `STARLOG_CONFIG`.
   */
  config?: string;
  /** Turn each line of the child's stdout (INFO) and stderr (WARN) into a record. */
  captureOutput?: boolean;
  /** Add `--import starlog/register` to the child's `NODE_OPTIONS`. */
  register?: boolean;
  /** The JSON-lines file (overrides the configuration; also adds the file next to a collector). */
  logFile?: string;
  /** The level table, e.g. `'info,app.db=debug'` (overrides `STARLOG_LEVEL` and the configuration). */
  level?: string;
  /** Status record interval, ms or `'15s'` (turns status records on). */
  statusInterval?: string;
  /**
   * Console: a level name (records at or above it are shown; status records always are) or
   * `off`. Default: the configuration's; without one, every record, or only status records (and
   * FATAL) with `--capture-output` (the child's output is on the terminal already).
   */
  consoleLevel?: string;
  /**
   * The receiver endpoint: `unix` (default), `tcp` (loopback, a free port) or a loopback
   * `host:port`. TCP helps children whose OpenTelemetry SDK cannot dial a unix socket.
   */
  endpoint?: string;
  /** `service.name` of this process and of the captured output. Default: the command's name. */
  serviceName?: string;
  /** Print one summary line to stderr at the end (records, processes, drops, log file). */
  summary?: boolean;
  /** Serve `starlog view` (a live web page on 127.0.0.1; the URL is printed to stderr). */
  view?: boolean;
}

/** How the command ended, as {@link runCommand} reports it. */
export interface RunOutcome {
  /** The exit code `starlog run` should end with (the child's, 126/127 if it did not start, 2 for a usage error). */
  exitCode: number;
  /** The signal that ended the child, if one did (`starlog run` then ends by it too). */
  signal?: NodeJS.Signals;
}

/** Where `starlog run` writes its own messages and the passed-through output. */
export interface RunIo {
  stdout: Writable;
  stderr: Writable;
}

/**
 * The module `--register` loads into Node.js children: `register.js` next to the built CLI
 * (`dist/register.js`: Node.js does not strip types under `node_modules`), or `src/register.ts`
 * when the CLI itself runs from source.
 */
export function registerModuleUrl(): string {
  // built, every module of dist/ is in one directory (scripts/build-dist.ts)
  const file = import.meta.url.endsWith('.ts') ? '../../register.ts' : './register.js';
  return new URL(file, import.meta.url).href;
}

/** `NODE_OPTIONS` with `--import=<url>` added (existing options kept; not added twice). */
export function nodeOptionsWithImport(current: string | undefined, url: string): string {
  const flag = `--import=${url}`;
  if (current === undefined || current.trim() === '') return flag;
  if (current.split(/\s+/).includes(flag)) return current;
  return `${current} ${flag}`;
}

/** The options of `starlog run`'s primary: see {@link runSetupOptions}. */
export interface RunSetup {
  /**
   * What `starlog run` passes to `setupLogging()` as options given in code: the flags (and the
   * defaults `starlog run` derives at start), plus `config` naming the file read. At a reload
   * they win over the file exactly as at start.
   */
  code: SetupOptions;
  /** The configuration file read, if any. */
  loaded: LoadedConfig | undefined;
  /** The options in force: the file (or the environment alone) overlaid with `code`. */
  effective: SetupOptions;
}

/**
 * The options of `starlog run`'s primary: the configuration file and the environment, then the
 * flags. Only the flags (and defaults that depend on them) become code options, so that
 * `starlog config reload` applies a changed file as `setupLogging()` would at start.
 *
 * @throws ConfigError when the configuration file is invalid
 */
export async function runSetupOptions(
  command: string,
  args: readonly string[],
  options: RunCommandOptions,
  startEnv: NodeJS.ProcessEnv,
): Promise<RunSetup> {
  const loaded = await loadConfig({ file: options.config, env: startEnv });
  const base: SetupOptions = loaded?.options ?? toSetupOptions(undefined, startEnv);
  const code: SetupOptions =
    loaded === undefined ? { ...base, config: false } : { config: loaded.file };
  if (options.serviceName !== undefined) code.serviceName = options.serviceName;
  else if (base.serviceName === undefined) code.serviceName = defaultServiceName(command, args);
  if (options.level !== undefined) code.levels = options.level;
  if (options.endpoint !== undefined) code.endpoint = options.endpoint;
  if (options.logFile !== undefined) {
    code.file = { ...(code.file || {}), path: resolve(options.logFile) };
  } else if (base.file === undefined && !base.collector) {
    code.file = { path: resolve('logs/starlog.jsonl') };
  }
  if (options.view === true) code.view = base.view || true;
  if (options.statusInterval !== undefined) {
    code.status = { ...(code.status || {}), interval: options.statusInterval };
  }
  if (options.consoleLevel !== undefined) {
    code.console =
      options.consoleLevel === 'off'
        ? false
        : { ...(code.console || {}), minimumSeverity: options.consoleLevel };
  } else if (base.console === undefined && options.captureOutput) {
    code.console = { minimumSeverity: 'fatal' };
  }
  return { code, loaded, effective: loaded === undefined ? code : overlay(base, code) };
}
