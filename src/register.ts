/**
 * `starlog/register`: logging set up from the configuration file and the environment, with no
 * code change:
 *
 * ```sh
 * node --import starlog/register app.js
 * NODE_OPTIONS='--import starlog/register' npm start
 * starlog run --register -- node app.js     # adds the --import to the child's NODE_OPTIONS
 * ```
 *
 * In a child of a primary (`STARLOG_ENDPOINT` set, e.g. under `starlog run`) it runs
 * `setupLogging()`: the process becomes a child that ships its records to the primary, flushed on
 * every exit path; it reads no configuration file (levels and destinations are the primary's).
 * Otherwise it becomes a primary with the options of the configuration file (`STARLOG_CONFIG`,
 * else `./starlog.config.{yaml,yml,json}`) and the environment (`OTEL_SERVICE_NAME`,
 * `STARLOG_LEVEL`, `OTEL_EXPORTER_OTLP_*`, see `toSetupOptions`): the embedded default (a
 * JSON-lines file and the console) or a collector; everything is written on every exit path (the
 * event loop running dry, `process.exit()`, an uncaught exception or unhandled rejection,
 * SIGTERM/SIGINT), as for any primary.
 *
 * It never crashes the host application: an invalid configuration file (or `STARLOG_LEVEL`), or a
 * set-up that fails (e.g. the receiver cannot listen), is reported on stderr, prefixed with
 * `starlog/register: logging is off:`, and the application runs without starlog (the
 * OpenTelemetry Logs API stays a no-op). The application's own later `setupLogging()` call gets
 * the same handle (its options are ignored).
 *
 * @module
 */
import type { LoggingHandle } from './setup/handle.ts';

/** What `starlog/register` set up, or `undefined` when logging is off (see the module doc). */
export const handle: LoggingHandle | undefined = await register();

async function register(): Promise<LoggingHandle | undefined> {
  try {
    // loaded inside the try: a broken install must not crash the host application either
    const { loadConfig } = await import('./config/load-lazy.ts');
    const { toSetupOptions } = await import('./config/to-options.ts');
    const { setupLogging } = await import('./setup/setup-logging.ts');
    const { detectRole } = await import('./setup/role.ts');
    const env = { ...process.env };
    // a child takes what matters (levels, destinations) from its primary and reads no file
    if (detectRole(env) === 'child') return await setupLogging({});
    const loaded = await loadConfig({ env });
    // a primary keeps its records on every exit path by itself (setup/primary-exit-hooks.ts)
    return await setupLogging(loaded?.options ?? toSetupOptions(undefined, env));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    for (const line of message.split('\n')) {
      process.stderr.write(`starlog/register: logging is off: ${line}\n`);
    }
    return undefined;
  }
}
