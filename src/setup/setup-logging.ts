import { diag } from '@opentelemetry/api';
import { dropInOptions } from '../config/to-options.ts';
import { prepareDropIn } from '../instrumentations/install.ts';
import type { SetupOptions } from '../options.ts';
import { requireSibling } from '../util/require-sibling.ts';
import { setupChild } from './child.ts';
import { resolveOptions } from './config-options.ts';
import type { LoggingHandle } from './handle.ts';
import { detectRole } from './role.ts';

let current: Promise<LoggingHandle> | undefined;

/**
 * Starts a primary. Its set-up (receiver, deciding processors, destinations, view) is loaded
 * here, synchronously (the provider is registered before setupLogging() returns, as a child's
 * is), so a child never loads it; what loading or the set-up throws becomes the rejection.
 */
async function startPrimary(
  resolved: SetupOptions,
  env: NodeJS.ProcessEnv,
  loaded: ReturnType<typeof resolveOptions>['loaded'],
  options: SetupOptions,
): Promise<LoggingHandle> {
  const { setupPrimary } = requireSibling<typeof import('./primary.ts')>(
    import.meta.url,
    './primary',
  );
  return setupPrimary(resolved, env, loaded, options);
}

/** The primary's options (configuration file, environment, code), or the error reading them. */
function resolvePrimary(
  options: SetupOptions,
  env: NodeJS.ProcessEnv,
): ReturnType<typeof resolveOptions> | { error: unknown } {
  try {
    return resolveOptions(options, env);
  } catch (error) {
    return { error };
  }
}

/** A child's `httpTasks`/`instrumentations`: its code's, else its primary's (environment). */
function childDropIn(options: SetupOptions, env: NodeJS.ProcessEnv): SetupOptions {
  const fromEnv = dropInOptions({}, env, (m) => diag.warn(`starlog: ${m}`));
  return {
    httpTasks: options.httpTasks ?? fromEnv.httpTasks,
    instrumentations: options.instrumentations ?? fromEnv.instrumentations,
  };
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
  // the primary's configuration file is read first: its httpTasks/instrumentations apply to the
  // capture, which must be in place before anything else loads (setup imports pino-using code)
  const primary = role === 'child' ? undefined : resolvePrimary(options, env);
  const dropInFrom =
    primary === undefined
      ? childDropIn(options, env)
      : 'error' in primary
        ? options
        : primary.options;
  // pino/winston/bunyan capture and HTTP request tasks (src/instrumentations, src/tasks/http-*)
  const dropIn = prepareDropIn(dropInFrom.instrumentations, dropInFrom.httpTasks);
  const start =
    primary === undefined
      ? setupChild(options, env)
      : 'error' in primary
        ? Promise.reject(primary.error)
        : startPrimary(primary.options, env, primary.loaded, options);
  const started = start.then((handle) => {
    const shutdown = handle.shutdown.bind(handle);
    dropIn.activate(handle.levels);
    return Object.assign(handle, {
      shutdown: () =>
        shutdown().finally(() => {
          dropIn.uninstall();
          if (current === started) current = undefined;
        }),
    });
  });
  current = started;
  started.catch(() => {
    dropIn.uninstall();
    if (current === started) current = undefined;
  });
  return started;
}
