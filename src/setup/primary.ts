import { diag } from '@opentelemetry/api';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { LoadedConfig } from '../config/load.ts';
import { reloadConfig } from '../config/reload.ts';
import type { ShippingProcessor } from '../export/shipping-processor.ts';
import { getLogger } from '../logger.ts';
import {
  removePrimaryRecord,
  removePrimaryRecordSync,
  writePrimaryRecord,
} from '../multiprocess/control/primary-record.ts';
import { setChildEnvironment } from '../multiprocess/fork.ts';
import { applyLevelChange } from '../multiprocess/receiver/level-control.ts';
import { type Receiver, startReceiver } from '../multiprocess/receiver/receiver.ts';
import type { SetupOptions, StatusSetupOptions } from '../options.ts';
import { setActiveLevelTable } from '../pipeline/active-levels.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { LookbackProcessor } from '../processors/lookback/lookback-processor.ts';
import { withoutCounterRecords } from '../processors/status/counters.ts';
import { StatusProcessor } from '../processors/status/status-processor.ts';
import { CONFIG_SCOPE_NAME } from '../semconv.ts';
import { ensureContextManager } from '../tasks/context-manager.ts';
import { TaskAttributesProcessor } from '../tasks/task-attributes-processor.ts';
import { buildDestinations } from './destinations.ts';
import type { LoggingHandle, LoggingStats } from './handle.ts';
import { registerGlobalLoggerProvider, unregisterGlobalLoggerProvider } from './register-global.ts';
import { buildResource } from './resource.ts';

/**
 * Sets up a primary: the Pipeline (task attributes, status records, lookback buffering, the
 * destinations), the LoggerProvider registered in both global slots, and the receiver whose
 * environment goes into `process.env` (and to starlog's `fork`/`spawn`) for children.
 *
 * Delivery: the receiver answers RESOURCE_EXHAUSTED (children back off and retry) while a
 * destination queue is {@link BACKPRESSURE_FILL} full; children's drop reports show in
 * `stats().receiver.dropped`, `stats().dropped` and the status gauge `CHILD-DROPPED`. The
 * receiver's token is `STARLOG_TOKEN` from the start environment when set (a primary restarted on
 * the same fixed `endpoint` with the same token is taken back by the running children), else
 * fresh. `shutdown()` closes the receiver first (no new connections; exports in flight complete,
 * at most 2 s), then flushes the pipeline and the destinations.
 */
export async function setupPrimary(
  options: SetupOptions,
  startEnv: NodeJS.ProcessEnv,
  loaded?: LoadedConfig,
): Promise<LoggingHandle> {
  ensureContextManager();
  const resource = buildResource('primary', options.serviceName, options.resourceAttributes);
  const destinations = buildDestinations(options);
  const pipeline = new Pipeline({ levels: options.levels ?? 'info' });
  pipeline.addStage(new TaskAttributesProcessor());

  const lookback = options.lookback
    ? new LookbackProcessor(destinations.main, options.lookback)
    : undefined;
  let status: StatusProcessor | undefined;
  const makeStatus = (o: StatusSetupOptions | undefined) =>
    new StatusProcessor({
      interval: o?.interval,
      template: o?.template,
      processor: destinations.status,
      resource,
      gauges: {
        DROPPED: () => dropped(),
        'CHILD-DROPPED': () => receiver?.stats().dropped.total ?? 0,
        'LOOKBACK-HELD': () => lookback?.stats().buffered ?? 0,
        'LOOKBACK-FLUSHED': () => lookback?.stats().flushed ?? 0,
        'LOOKBACK-DISCARDED': () => lookback?.stats().discarded ?? 0,
        'LOOKBACK-DROPPED': () => {
          if (lookback === undefined) return 0;
          const d = lookback.stats().dropped;
          return d.capacity + d.age + d.keys + d.bytes;
        },
      },
    });
  if (options.status !== false) {
    status = makeStatus(options.status);
    pipeline.addStage(status);
  }
  // counter records (count(), disabled inc() calls) are counted by the status processor, not written
  pipeline.addStage(withoutCounterRecords(lookback ?? destinations.main));

  const provider = new LoggerProvider({ resource, processors: [pipeline] });
  registerGlobalLoggerProvider(provider);
  setActiveLevelTable(pipeline.levels);

  let receiver: Receiver;
  try {
    receiver = await startReceiver({
      endpoint: options.endpoint,
      // a primary restarted on the same endpoint keeps its children when given the same token
      token: startEnv.STARLOG_TOKEN || undefined,
      processor: pipeline,
      levels: pipeline.levels,
      backpressure: () => destinationsBusy(destinations.queues),
    });
  } catch (err) {
    await provider.shutdown();
    unregisterGlobalLoggerProvider();
    setActiveLevelTable(undefined);
    throw err;
  }
  const childEnv = { ...receiver.env, STARLOG_LEVEL: pipeline.levels.toString() };
  Object.assign(process.env, childEnv);
  setChildEnvironment(childEnv);
  pipeline.levels.onChange((t) => {
    process.env.STARLOG_LEVEL = t.toString();
    setChildEnvironment({ ...receiver.env, STARLOG_LEVEL: t.toString() });
  });

  // `starlog level` finds this primary through the record in the working directory
  const recordDir = process.cwd();
  const recorded = await writePrimaryRecord(
    { endpoint: receiver.endpoint, token: receiver.env.STARLOG_TOKEN },
    recordDir,
  ).then(
    () => true,
    (err) => {
      diag.warn(`starlog: could not record the primary in ${recordDir}/.starlog`, err);
      return false;
    },
  );
  const removeRecordAtExit = () => removePrimaryRecordSync(recordDir);
  if (recorded) process.once('exit', removeRecordAtExit);

  // SIGHUP re-reads the configuration file and applies what can change while running
  let inForce = options;
  let lastLoaded = loaded;
  const configLog = getLogger(CONFIG_SCOPE_NAME);
  const onSighup = () => {
    reloadConfig(lastLoaded, { env: startEnv, before: inForce }).then(
      ({ config, options: next, diff }) => {
        if (diff.apply.levels !== undefined) pipeline.levels.set(diff.apply.levels);
        const oldStatus = status;
        if (diff.apply.status !== undefined && oldStatus !== undefined) {
          status = makeStatus(diff.apply.status);
          pipeline.replaceStage(oldStatus, status);
          void oldStatus.shutdown();
        }
        const needsRestart = [...diff.needsRestart];
        if (diff.apply.lookback !== undefined) {
          if (lookback !== undefined) lookback.reconfigure(diff.apply.lookback);
          else needsRestart.push('lookback');
        }
        lastLoaded = config;
        inForce = next;
        const applied = diff.applied.filter(
          (k) => lookback !== undefined || !k.startsWith('lookback'),
        );
        configLog.info(
          'configuration reloaded from %s: applied %s',
          config?.file ?? '(no file)',
          applied.length > 0 ? applied.join(', ') : 'nothing',
        );
        if (needsRestart.length > 0) {
          configLog.warn('configuration changed but needs a restart: %s', needsRestart.join(', '));
        }
      },
      (err: unknown) =>
        configLog.error('configuration not reloaded, nothing changed: %s', String(err)),
    );
  };
  if (loaded !== undefined) process.on('SIGHUP', onSighup);

  function dropped(): number {
    let n = pipeline.stats().stageErrors;
    for (const q of Object.values(destinations.queues)) {
      const s = q.stats();
      n += s.queueFull + s.exportFailed + s.exportRejected + s.spillOverflow + s.afterShutdown;
    }
    const r = receiver?.stats();
    return n + (r ? r.processorErrors + r.dropped.total : 0);
  }

  let shutdownPromise: Promise<void> | undefined;
  const handle: LoggingHandle = {
    role: 'primary',
    provider,
    pipeline,
    levels: pipeline.levels,
    resource,
    receiver,
    status,
    setLevels: async (change) =>
      applyLevelChange(pipeline.levels, typeof change === 'string' ? { spec: change } : change)
        .spec,
    stats(): LoggingStats {
      const lbs = lookback?.stats();
      return {
        role: 'primary',
        pipeline: pipeline.stats(),
        receiver: receiver.stats(),
        destinations: Object.fromEntries(
          Object.entries(destinations.queues).map(([k, q]) => [k, q.stats()]),
        ),
        lookback: lbs && {
          buffered: lbs.buffered,
          held: lbs.held,
          flushed: lbs.flushed,
          dropped: { ...lbs.dropped, discarded: lbs.discarded },
        },
        dropped: dropped(),
      };
    },
    forceFlush: () => pipeline.forceFlush(),
    shutdown() {
      shutdownPromise ??= (async () => {
        try {
          await receiver.close();
          await provider.shutdown();
          if (recorded) {
            process.removeListener('exit', removeRecordAtExit);
            await removePrimaryRecord(recordDir);
          }
        } catch (err) {
          diag.error('starlog: shutdown failed', err);
        } finally {
          process.removeListener('SIGHUP', onSighup);
          setActiveLevelTable(undefined);
          setChildEnvironment(undefined);
          unregisterGlobalLoggerProvider();
        }
      })();
      return shutdownPromise;
    },
  };
  return handle;
}

/**
 * Fill (queue records or spill bytes, see `ShippingProcessor.fill`) of a destination at which
 * the receiver starts answering RESOURCE_EXHAUSTED to children: they keep their batches and
 * retry with backoff, instead of this process dropping. The remaining quarter absorbs the
 * request being ingested and the primary's own records.
 */
export const BACKPRESSURE_FILL = 0.75;

function destinationsBusy(queues: Record<string, ShippingProcessor>): boolean {
  for (const name in queues)
    if ((queues[name] as ShippingProcessor).fill >= BACKPRESSURE_FILL) return true;
  return false;
}
