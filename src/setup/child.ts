import { diag } from '@opentelemetry/api';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { levelsFromEnvironment } from '../config/environment.ts';
import {
  createPrimaryBytesExporter,
  grpcTransportRequested,
} from '../export/otlp-bytes-exporter.ts';
import { OtlpShippingProcessor } from '../export/otlp-shipping-processor.ts';
import { installExitHooks } from '../multiprocess/child/exit-hooks.ts';
import { type LevelSubscription, subscribeLevels } from '../multiprocess/child/level-subscriber.ts';
import { primaryTarget } from '../multiprocess/child/primary-target.ts';
import { SyncExporter } from '../multiprocess/child/sync-export.ts';
import type { SetupOptions } from '../options.ts';
import { setActiveLevelTable } from '../pipeline/active-levels.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { ensureContextManager } from '../tasks/context-manager.ts';
import { continueTaskFromEnv } from '../tasks/propagation.ts';
import { TaskAttributesProcessor } from '../tasks/task-attributes-processor.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, parseDuration } from '../util/duration.ts';
import type { LoggingHandle, LoggingStats } from './handle.ts';
import { registerGlobalLoggerProvider, unregisterGlobalLoggerProvider } from './register-global.ts';
import { buildResource } from './resource.ts';

/**
 * Sets up a child: its records go through a Pipeline (level table, task attributes) into an
 * {@link OtlpShippingProcessor} that encodes them once and exports to the primary's receiver
 * with the official OTLP/gRPC export delegate (slowing the application down when the primary
 * cannot keep up, retrying with backoff while the primary is unreachable or busy, spilling meanwhile,
 * and reporting its drops to the primary); exit hooks flush on every exit path; the parent's
 * task (`TRACEPARENT`) is continued. The gRPC transport (grpc-js) is loaded at the first gRPC
 * export; on the primary's machine a child that has not needed it by its end hands its last
 * records over in hand-off files instead and never loads it.
 * The processors that decide (status, lookback) run once, in the primary.
 */
export async function setupChild(
  options: SetupOptions,
  env: NodeJS.ProcessEnv,
): Promise<LoggingHandle> {
  ensureContextManager();
  const resource = buildResource('child', options.serviceName, options.resourceAttributes);
  const timeout = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const target = primaryTarget(env);
  // backpressure and exit: the oldest batches go out synchronously through one kept worker
  const syncExporter = new SyncExporter({
    endpoint: target.endpoint,
    token: target.token,
    timeoutMs: timeout,
    // the worker thread starts when first needed (a backpressure flush, an offload while the
    // application does not yield, the exit export over gRPC) and then stays: a thread started at
    // setup costs every child ~20 MB of resident memory (a V8 isolate and node:http2) although
    // most never use it. With a hand-off directory the exit export writes a file (no worker);
    // without one, the exit export starts the thread first (no module loads from disk)
    worker: 'kept',
  });
  // one deadline per export: the gRPC deadline of the call (the processor's own timer is a
  // backstop 5 s later); a timed-out export is retried and de-duplicated by the receiver
  const exportTimeoutMs = parseDuration(
    options.childQueue?.exportTimeout ?? 30_000,
    'childQueue.exportTimeout',
  );
  const shipping = new OtlpShippingProcessor({
    // the official OTLP/gRPC export delegate with bytes encoded at emit, on a fresh channel
    // after an outage (see ReconnectingExporter)
    exporter: createPrimaryBytesExporter(env, { timeoutMillis: exportTimeoutMs }),
    exportTimeout: exportTimeoutMs,
    // the primary learns this child's drops (status records, receiver.stats().dropped)
    reportDrops: true,
    shutdownTimeout: timeout,
    maxQueueSize: options.childQueue?.maxQueueSize,
    maxQueueBytes: options.childQueue?.maxQueueBytes,
    maxSpillBytes: options.childQueue?.maxSpillBytes,
    syncExporter: options.childQueue?.backpressure === false ? undefined : syncExporter,
    // on the primary's machine, batches offloaded while the application does not yield are
    // written as hand-off files (no worker thread: ~160-200 ms less CPU per child, README)
    handoffDir: target.handoffDir,
    handoffTo: target.primaryPid,
  });
  const pipeline = new Pipeline({
    stages: [new TaskAttributesProcessor(), shipping],
    levels: options.levels ?? levelsFromEnvironment(env) ?? 'info',
  });
  const provider = new LoggerProvider({ resource, processors: [pipeline] });
  registerGlobalLoggerProvider(provider);
  setActiveLevelTable(pipeline.levels);
  continueTaskFromEnv(env);
  // follow the primary's level table (a change applies here within milliseconds)
  let levels: LevelSubscription | undefined;
  try {
    levels = subscribeLevels(pipeline.levels, env);
    await levels.ready;
  } catch (err) {
    diag.warn('starlog: not following the primary level table', err);
  }
  const hooks =
    options.exitHooks === false
      ? undefined
      : // the flush at beforeExit and the synchronous export at exit after it share shutdownTimeoutMs
        installExitHooks(shipping, {
          timeout: Math.min(timeout / 2, 2000),
          syncExporter,
          handoffDir: target.handoffDir ?? false,
          handoffTo: target.primaryPid,
          // before the first gRPC export, the flushes at beforeExit and on a signal hand the
          // records over in a file too (a short-lived child never loads grpc-js)
          handOffFirst: () => !grpcTransportRequested(),
        });

  let shutdownPromise: Promise<void> | undefined;
  return {
    role: 'child',
    provider,
    pipeline,
    levels: pipeline.levels,
    resource,
    async setLevels(change) {
      const request = typeof change === 'string' ? { spec: change } : change;
      // loaded when used: the level client is a grpc-js client (not loaded at start-up)
      const { setLevels: setLevelsOnPrimary } = await import(
        '../multiprocess/control/level-client.ts'
      );
      const state = await setLevelsOnPrimary({
        endpoint: env.STARLOG_ENDPOINT ?? '',
        token: env.STARLOG_TOKEN ?? '',
        ...request,
      });
      return state.spec;
    },
    stats(): LoggingStats {
      const s = shipping.stats();
      return {
        role: 'child',
        pipeline: pipeline.stats(),
        destinations: { primary: s },
        dropped:
          s.queueFull +
          s.spillOverflow +
          s.exportFailed +
          s.exportRejected +
          s.afterShutdown +
          pipeline.stats().stageErrors,
      };
    },
    forceFlush: () => pipeline.forceFlush(),
    shutdown() {
      shutdownPromise ??= (async () => {
        try {
          await provider.shutdown();
        } catch (err) {
          diag.error('starlog: shutdown failed', err);
        } finally {
          levels?.close();
          hooks?.uninstall();
          setActiveLevelTable(undefined);
          unregisterGlobalLoggerProvider();
        }
      })();
      return shutdownPromise;
    },
  };
}
