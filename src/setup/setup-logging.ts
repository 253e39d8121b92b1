import { prepareDropIn } from '../instrumentations/install.ts';
import type { SetupOptions } from '../options.ts';
import { requireSibling } from '../util/require-sibling.ts';
import { setupChild } from './child.ts';
import { resolveOptions } from './config-options.ts';
import type { LoggingHandle } from './handle.ts';
import { detectRole } from './role.ts';

let current: Promise<LoggingHandle> | undefined;

async function startPrimary(options: SetupOptions, env: NodeJS.ProcessEnv): Promise<LoggingHandle> {
  const { options: resolved, loaded } = resolveOptions(options, env);
  // the primary's set-up (receiver, deciding processors, destinations, view) is loaded when a
  // primary starts, synchronously (its provider is registered before setupLogging() returns, as
  // a child's is): a child never loads it
  const { setupPrimary } = requireSibling<typeof import('./primary.ts')>(
    import.meta.url,
    './primary',
  );
  return setupPrimary(resolved, env, loaded, options);
}

/**
 * One-call set-up of starlog in this process (or worker thread).
 *
 * - **Child** (the environment holds a primary's `STARLOG_ENDPOINT`, from another process or
 *   thread): records go to the primary's receiver over OTLP/gRPC (official exporter, bounded
 *   queue, drops counted), flushed on every exit path; the parent's task continues here.
 * - **Primary** (otherwise): starts the receiver (a unix socket in a private directory by
 *   default), builds the Pipeline (task attributes → status records → lookback buffer →
 *   destinations), registers the LoggerProvider in both global API slots, and puts the
 *   receiver's environment into `process.env` so children inherit it. Destinations: an
 *   OpenTelemetry Collector over OTLP/gRPC when `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` or
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` was set at start (or `collector.endpoint` is given); otherwise
 *   the embedded default, a JSON-lines file (`./logs/starlog.jsonl`) and the console.
 *
 * A primary also reads the configuration file (`STARLOG_CONFIG`, else `starlog.config.yaml`/
 * `.yml`/`.json` in the working directory; see `SetupOptions.config`); options given in code win.
 * A child takes everything that matters from its primary (levels, destinations) and reads none.
 *
 * Calling it again returns the same handle (the options of later calls are ignored); after
 * `handle.shutdown()` it sets up anew.
 *
 * @throws Error for invalid options (e.g. an unknown level, a bad interval) or when the receiver
 * cannot listen; logging calls themselves never throw
 */
export function setupLogging(options: SetupOptions = {}): Promise<LoggingHandle> {
  if (current !== undefined) return current;
  const env = { ...process.env };
  const role =
    options.role === undefined || options.role === 'auto' ? detectRole(env) : options.role;
  // pino/winston/bunyan capture and HTTP request tasks (src/instrumentations, src/tasks/http-*)
  const dropIn = prepareDropIn(options.instrumentations, options.httpTasks);
  const started = (role === 'child' ? setupChild(options, env) : startPrimary(options, env)).then(
    (handle) => {
      const shutdown = handle.shutdown.bind(handle);
      dropIn.activate(handle.levels);
      return Object.assign(handle, {
        shutdown: () =>
          shutdown().finally(() => {
            dropIn.uninstall();
            if (current === started) current = undefined;
          }),
      });
    },
  );
  current = started;
  started.catch(() => {
    dropIn.uninstall();
    if (current === started) current = undefined;
  });
  return started;
}
