import { diag } from '@opentelemetry/api';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { LoadedConfig } from '../config/find.ts';
import { dropInEnvironment } from '../config/to-options.ts';
import type { ShippingProcessor } from '../export/shipping-processor.ts';
import { ControlRefusal, primaryControlService } from '../multiprocess/control/primary-control.ts';
import {
  ensureRecordDirectory,
  removePrimaryRecord,
  removePrimaryRecordSync,
  writePrimaryRecord,
} from '../multiprocess/control/primary-record.ts';
import { setChildEnvironment } from '../multiprocess/fork.ts';
import { applyLevelChange } from '../multiprocess/protocol/level-control.ts';
import { type Receiver, startReceiver } from '../multiprocess/receiver/receiver.ts';
import type { SetupOptions, StatusSetupOptions } from '../options.ts';
import { setActiveLevelTable } from '../pipeline/active-levels.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { LookbackProcessor } from '../processors/lookback/lookback-processor.ts';
import { withoutCounterRecords } from '../processors/status/counters.ts';
import { DEFAULT_STATUS_TEMPLATE, StatusProcessor } from '../processors/status/status-processor.ts';
import { compileStatusTemplate, type StatusTemplate } from '../processors/status/template.ts';
import { ensureContextManager } from '../tasks/context-manager.ts';
import { TaskAttributesProcessor } from '../tasks/task-attributes-processor.ts';
import { startLiveView } from '../view/live.ts';
import { buildDestinations } from './destinations.ts';
import type { LoggingHandle, LoggingStats } from './handle.ts';
import { type ExitWriter, installPrimaryExitHooks } from './primary-exit-hooks.ts';
import { PrimaryReloader } from './primary-reload.ts';
import { registerGlobalLoggerProvider, unregisterGlobalLoggerProvider } from './register-global.ts';
import { buildResource } from './resource.ts';
import { installStderrDiag } from './stderr-diag.ts';

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
  code?: SetupOptions,
): Promise<LoggingHandle> {
  ensureContextManager();
  // starlog's own warnings and errors on stderr, unless the application has its own diag logger
  const uninstallDiag = installStderrDiag();
  const resource = buildResource('primary', options.serviceName, options.resourceAttributes);
  const destinations = buildDestinations(options);
  const pipeline = new Pipeline({ levels: options.levels ?? 'info' });
  pipeline.addStage(new TaskAttributesProcessor());
  // starlog view: a stage that feeds the view's worker (status records reach it through tee)
  const view = options.view ? startLiveView(options.view === true ? {} : options.view) : undefined;

  const lookback = options.lookback
    ? new LookbackProcessor(destinations.main, options.lookback)
    : undefined;
  let status: StatusProcessor | undefined;
  const withDropped = new WeakSet<StatusProcessor>();
  const makeStatus = (o: StatusSetupOptions | undefined): StatusProcessor => {
    const made: StatusProcessor = new StatusProcessor({
      interval: o?.interval,
      template: o?.template,
      processor: view ? view.tee(destinations.status) : destinations.status,
      resource,
      gauges: {
        DROPPED: () => {
          const n = dropped();
          // the default template shows drops from the first status record after one
          if (n > 0 && o?.template === undefined && !withDropped.has(made)) {
            withDropped.add(made);
            (made as { template: StatusTemplate }).template = compileStatusTemplate(
              DEFAULT_STATUS_TEMPLATE_WITH_DROPPED,
            );
          }
          return n;
        },
        'DROPPED-DISK-FULL': () => destinations.file?.stats().failedBy.noSpace ?? 0,
        'DROPPED-FILE-OPEN': () => destinations.file?.stats().failedBy.openFailed ?? 0,
        'DROPPED-FILE-WRITE': () => destinations.file?.stats().failedBy.writeFailed ?? 0,
        'DROPPED-CONSOLE': () => destinations.console?.writerStats()?.droppedRecords ?? 0,
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
    return made;
  };
  if (options.status !== false) {
    status = makeStatus(options.status);
    pipeline.addStage(status);
  }
  // counter records (count(), disabled inc() calls) are counted by the status processor, not written
  pipeline.addStage(withoutCounterRecords(lookback ?? destinations.main));
  if (view) pipeline.addStage(withoutCounterRecords(view.stage));

  const provider = new LoggerProvider({ resource, processors: [pipeline] });
  registerGlobalLoggerProvider(provider);
  setActiveLevelTable(pipeline.levels);

  // `starlog config reload` (control channel) and SIGHUP re-read the configuration file
  const reloader = new PrimaryReloader({
    code: code ?? options,
    env: startEnv,
    loaded,
    inForce: options,
    apply: (diff) => {
      if (diff.apply.levels !== undefined) pipeline.levels.set(diff.apply.levels);
      const oldStatus = status;
      if (diff.apply.status !== undefined && oldStatus !== undefined) {
        status = makeStatus(diff.apply.status);
        pipeline.replaceStage(oldStatus, status);
        void oldStatus.shutdown();
      }
      if (diff.apply.lookback === undefined) return [];
      if (lookback === undefined) return diff.applied.filter((k) => k.startsWith('lookback'));
      lookback.reconfigure(diff.apply.lookback);
      return [];
    },
  });
  const onSighup = () => {
    reloader.reload().catch(() => {
      // logged by the reloader
    });
  };

  // exiting children hand what they still hold over as files in `.starlog/` (protocol/handoff.ts);
  // a primary started later here picks up what was left
  const handoffDir = await ensureRecordDirectory(process.cwd()).catch((err: unknown) => {
    diag.warn('starlog: no hand-off directory; children deliver at exit over gRPC only', err);
    return undefined;
  });
  let receiver: Receiver;
  try {
    receiver = await startReceiver({
      handoffDir,
      endpoint: options.endpoint,
      // a primary restarted on the same endpoint keeps its children when given the same token
      token: startEnv.STARLOG_TOKEN || undefined,
      processor: pipeline,
      levels: pipeline.levels,
      backpressure: () => destinationsBusy(destinations.queues),
      services: [
        primaryControlService({
          reload: () => reloader.reload(),
          reopenFile: () => {
            if (destinations.file === undefined) {
              throw new ControlRefusal('this primary writes no JSON-lines file');
            }
            return { path: destinations.file.path, open: destinations.file.reopen() };
          },
        }),
      ],
    });
  } catch (err) {
    await provider.shutdown();
    await view?.close();
    uninstallDiag?.();
    unregisterGlobalLoggerProvider();
    setActiveLevelTable(undefined);
    throw err;
  }
  const viewUrl = await view
    ?.connect({ endpoint: receiver.endpoint, token: receiver.env.STARLOG_TOKEN })
    .catch((err: unknown) => void diag.error('starlog: the view did not start', err));
  // the table as at start; children learn every later change from the control channel (Watch),
  // so the environment never grows with the table
  // and the configuration file's httpTasks/instrumentations (STARLOG_HTTP_TASKS, …)
  const childEnv = {
    ...receiver.env,
    STARLOG_LEVEL: pipeline.levels.toString(),
    ...dropInEnvironment(loaded?.options ?? {}),
  };
  Object.assign(process.env, childEnv);
  setChildEnvironment(childEnv);

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
  const removeRecordAtExit = () => {
    if (recorded) removePrimaryRecordSync(recordDir);
  };

  if (reloader.hasFile) process.on('SIGHUP', onSighup);

  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5000;
  const exitHooks =
    options.exitHooks === false
      ? undefined
      : installPrimaryExitHooks({
          destinations: Object.entries(destinations.queues).map(([name, queue]) => ({
            name,
            queue,
            writeSync: destinations.exitWriters[name] as ExitWriter,
          })),
          finalStatus: () => {
            void status?.shutdown();
          },
          lookbackAtExit: () => {
            if (lookback === undefined) return;
            if ((reloader.inForce.lookback || undefined)?.onShutdown === 'flush') lookback.flush();
            else lookback.discard();
          },
          forceFlush: () => pipeline.forceFlush(),
          shutdown: () => handle.shutdown(),
          atExit: removeRecordAtExit,
          timeoutMs: shutdownTimeoutMs,
        });
  if (exitHooks === undefined) process.once('exit', removeRecordAtExit);

  function dropped(): number {
    let n = pipeline.stats().stageErrors;
    for (const q of Object.values(destinations.queues)) {
      const s = q.stats();
      n += s.queueFull + s.exportFailed + s.exportRejected + s.spillOverflow + s.afterShutdown;
    }
    // lines the console had accepted, then could not write (its queue counts the rest)
    n += destinations.console?.writerStats()?.droppedQueuedRecords ?? 0;
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
    viewUrl: viewUrl ?? undefined,
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
        ...(destinations.file ? { file: destinations.file.stats() } : {}),
        ...(destinations.console?.writerStats()
          ? { console: destinations.console.writerStats() }
          : {}),
      };
    },
    forceFlush: () => pipeline.forceFlush(),
    shutdown() {
      shutdownPromise ??= (async () => {
        try {
          await receiver.close();
          await provider.shutdown();
          await view?.close();
          if (recorded) await removePrimaryRecord(recordDir);
        } catch (err) {
          diag.error('starlog: shutdown failed', err);
        } finally {
          exitHooks?.uninstall();
          process.removeListener('exit', removeRecordAtExit);
          uninstallDiag?.();
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
 * The primary's status template when none is configured and anything was dropped:
 * `DEFAULT_STATUS_TEMPLATE` followed by `; {DROPPED} dropped`.
 */
export const DEFAULT_STATUS_TEMPLATE_WITH_DROPPED = `${DEFAULT_STATUS_TEMPLATE}; {DROPPED} dropped`;

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
