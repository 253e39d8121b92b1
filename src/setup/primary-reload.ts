import { status as grpcStatus } from '@grpc/grpc-js';
import { ConfigError } from '../config/errors.ts';
import type { LoadedConfig } from '../config/find.ts';
import { loadConfig } from '../config/load-lazy.ts';
import { diffReloadable, type ReloadDiff } from '../config/reload.ts';
import { getLogger } from '../logger.ts';
import { ControlRefusal, type ReloadAnswer } from '../multiprocess/control/primary-control.ts';
import type { SetupOptions } from '../options.ts';
import { CONFIG_SCOPE_NAME } from '../semconv.ts';
import { overlay } from './config-options.ts';

/** What a {@link PrimaryReloader} needs. */
export interface PrimaryReloaderOptions {
  /** The options given in code (`setupLogging(options)`), which win over the file, at reload as at start. */
  code: SetupOptions;
  /** The environment the primary started with (`OTEL_*`, `STARLOG_LEVEL` apply over the file). */
  env: NodeJS.ProcessEnv;
  /** The configuration file read at start; without one there is nothing to reload. */
  loaded: LoadedConfig | undefined;
  /** The options in force now (those the primary was built with). */
  inForce: SetupOptions;
  /**
   * Applies what can change while running; returns more key paths that changed but need a
   * restart (e.g. lookback bounds when the primary runs without lookback).
   */
  apply(diff: ReloadDiff, next: SetupOptions): string[];
}

/**
 * Reloads the primary's configuration file, for `starlog config reload` (control channel) and
 * `SIGHUP` (only where a file was read at start). The options are computed exactly as at start:
 * the file's (with `OTEL_*`/`STARLOG_LEVEL` applied by the loader) overlaid with the options given
 * in code; a key removed from the file falls back to what it would be at start without it.
 * "needs a restart" lists only keys whose effective value changed. Reloads run one at a time.
 * The outcome is logged (scope `starlog.config`).
 */
export class PrimaryReloader {
  private readonly _o: PrimaryReloaderOptions;
  private _loaded: LoadedConfig | undefined;
  private _inForce: SetupOptions;
  private _queue: Promise<unknown> = Promise.resolve();
  private readonly _log = getLogger(CONFIG_SCOPE_NAME);

  constructor(options: PrimaryReloaderOptions) {
    this._o = options;
    this._loaded = options.loaded;
    this._inForce = options.inForce;
  }

  /** Whether a configuration file was read at start (only then is there a SIGHUP handler). */
  get hasFile(): boolean {
    return this._o.loaded !== undefined;
  }

  /** The options in force. */
  get inForce(): SetupOptions {
    return this._inForce;
  }

  /**
   * Reads the file again and applies it.
   *
   * @throws ControlRefusal (rejects): `FAILED_PRECONDITION` when no file was read at start,
   *   `INVALID_ARGUMENT` with the loader's message when the file is now invalid or gone (nothing
   *   changes)
   */
  reload(): Promise<ReloadAnswer> {
    const run = this._queue.then(() => this._reload());
    this._queue = run.catch(() => {});
    return run;
  }

  private async _reload(): Promise<ReloadAnswer> {
    const previous = this._loaded;
    if (previous === undefined) {
      throw new ControlRefusal(
        'this primary read no configuration file at start, so there is nothing to reload (start it with a starlog.config.yaml in its working directory, or STARLOG_CONFIG)',
      );
    }
    let config: LoadedConfig | undefined;
    try {
      config = await loadConfig({ env: this._o.env, file: previous.file });
    } catch (err) {
      const message = err instanceof ConfigError ? err.message : String(err);
      this._log.error('configuration not reloaded, nothing changed: %s', message);
      throw new ControlRefusal(
        `configuration not reloaded, nothing changed: ${message}`,
        grpcStatus.INVALID_ARGUMENT,
      );
    }
    if (config === undefined) {
      throw new ControlRefusal(
        `${previous.file} is gone; nothing changed`,
        grpcStatus.INVALID_ARGUMENT,
      );
    }
    const next = overlay(config.options, this._o.code);
    const diff = diffReloadable(this._inForce, next);
    const needsRestart = [...diff.needsRestart, ...this._o.apply(diff, next)];
    const applied = diff.applied.filter((k) => !needsRestart.includes(k));
    this._loaded = config;
    this._inForce = next;
    this._log.info(
      'configuration reloaded from %s: applied %s',
      config.file,
      applied.length > 0 ? applied.join(', ') : 'nothing',
    );
    if (needsRestart.length > 0) {
      this._log.warn('configuration changed but needs a restart: %s', needsRestart.join(', '));
    }
    return { file: config.file, applied, needsRestart };
  }
}
