import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import type { OtlpShippingProcessor } from '../../export/otlp-shipping-processor.ts';
import type { ShippingProcessor } from '../../export/shipping-processor.ts';
import { type Duration, parseDuration } from '../../util/duration.ts';
import { HANDOFF_DIR_ENV } from '../protocol/handoff.ts';
import { warmHandoffWriter, writeHandoffSync } from './handoff-writer.ts';
import { SyncExporter, type SyncExportResult } from './sync-export.ts';

/** Options of {@link installExitHooks}. */
export interface ExitHooksOptions {
  /**
   * Budget of each flush at exit, in ms or a duration string: the asynchronous flush on a signal,
   * and the synchronous export in `process.on('exit')` (which blocks the thread that long at
   * most). Default 2,000 ms.
   */
  timeout?: Duration;
  /** Receiver for the synchronous export. Default `STARLOG_ENDPOINT`, then `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`. */
  endpoint?: string;
  /** Token sent as gRPC metadata `x-starlog-token` by the synchronous export. Default `STARLOG_TOKEN`. */
  token?: string;
  /** Signals to flush on (main thread only). Default `['SIGTERM', 'SIGINT']`. */
  signals?: NodeJS.Signals[];
  /** When the synchronous export's worker thread starts; see `SyncExporterOptions.worker`. Default `'lazy'`. */
  worker?: 'lazy' | 'eager' | 'kept';
  /**
   * The primary's hand-off directory (`protocol/handoff.ts`): at `exit`, the encoded requests of
   * an `OtlpShippingProcessor` are written there in one synchronous file write (microseconds,
   * whatever the load) instead of a gRPC round trip; the gRPC export remains the fallback when
   * the write fails (no such directory on this machine, not this user's, disk full).
   * Default `STARLOG_HANDOFF_DIR` (set by a primary whose receiver has one); `false`: gRPC only.
   */
  handoffDir?: string | false;
  /** The synchronous exporter to use (e.g. the one the processor's backpressure already warmed). Default: one made from `endpoint`, `token`, `timeout`, `worker`. */
  syncExporter?: SyncExporter;
  /** The primary's pid (`STARLOG_PRIMARY_PID`): the file {@link ExitHooks.handOff} writes is addressed to it. */
  handoffTo?: number;
  /**
   * Asked at `beforeExit`, on a signal and at `disconnect`: when it returns true (and there is a hand-off
   * directory), the records are handed over in a file ({@link ExitHooks.handOff}) instead of
   * flushed through the processor's exporter. A child passes "the gRPC transport is not loaded
   * yet", so that a short-lived child never loads grpc-js to export its last records. Default:
   * never.
   */
  handOffFirst?: () => boolean;
}

/** Handle returned by {@link installExitHooks}. */
export interface ExitHooks {
  /**
   * Removes every listener installed (and stops an eager worker); with a hand-off directory and
   * nothing pending (after a shutdown), first hands the processor's latest drop report over in a
   * file. Idempotent.
   */
  uninstall(): void;
  /** Outcome of the last synchronous export, if one ran (for tests and diagnostics). */
  readonly lastSyncExport: SyncExportResult | undefined;
  /**
   * Hands every record an `OtlpShippingProcessor` holds over now, as at `exit` (one hand-off
   * file, addressed to `handoffTo`; gRPC through the synchronous exporter if the write fails),
   * and resolves once the primary has ingested the file (it is gone from the directory: the
   * primary deletes a file after ingesting it) or `waitMs` passed (the file then stays for this
   * primary, or the next). Resolves `false` at once, doing nothing, without a hand-off directory,
   * with another processor, or with nothing pending. The flushes at `beforeExit`, on a signal and
   * at `disconnect` use it while `handOffFirst` says so (a child's `shutdown()` needs it not: the
   * shipping processor writes what is left as hand-off files itself). Never rejects.
   */
  handOff(waitMs: number): Promise<boolean>;
}

/** How often {@link ingested} looks at the hand-off directory, ms. */
const INGESTED_POLL_MS = 2;

/**
 * Resolves once the hand-off file `path` is gone from its directory, under its name or claimed
 * (`.<name>.<pid>.claimed`): the primary has ingested and deleted it; or after `waitMs`.
 */
async function ingested(path: string, waitMs: number): Promise<void> {
  const dir = dirname(path);
  const name = basename(path);
  const deadline = Date.now() + waitMs;
  for (;;) {
    let present = false;
    try {
      present = readdirSync(dir).some((n) => n.includes(name));
    } catch {
      return; // the directory is gone: nobody will ingest it here
    }
    if (!present) return;
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(INGESTED_POLL_MS, left)));
  }
}

/** Node's IPC channel object; `refCounted`/`unrefCounted` adjust its listener count (Node ≥ 14). */
function ipcChannel(): { refCounted?: () => void; unrefCounted?: () => void } | undefined {
  return process.channel as { refCounted?: () => void; unrefCounted?: () => void } | undefined;
}

/**
 * Makes sure the records a {@link ShippingProcessor} holds reach the receiver before the process
 * (or worker thread) goes:
 *
 * - `beforeExit` (the event loop ran dry): a flush that keeps the process alive at most `timeout`
 *   (`flushWithin`); beforeExit fires again afterwards, and flushes again only if new records
 *   arrived; what is left when `timeout` passed goes to the synchronous export at `exit`.
 * - `exit` (after `process.exit()`, an uncaught exception or unhandled rejection, or the end
 *   of a worker thread): the records still queued or in flight are delivered synchronously:
 *   written as one hand-off file into the primary's directory (`handoffDir`, see
 *   `protocol/handoff.ts`; an `OtlpShippingProcessor` on the primary's machine), else, or when
 *   that write fails, exported over gRPC ({@link SyncExporter}, at most `timeout`). Each request
 *   names its batch, so a batch that was in flight and arrives twice is ingested once.
 * - signals (`SIGTERM`, `SIGINT`; main thread only): the listener is prepended. If it is the
 *   only listener, it flushes (at most `timeout`, then the rest synchronously), removes itself
 *   and raises the signal again, so the process ends exactly as without starlog; a second
 *   signal during the flush raises at once. If the application listens too, it only flushes
 *   and leaves the exit to the application.
 * - `disconnect` (IPC channel closed, e.g. a cluster worker disconnected by the primary; the
 *   listener does not make the channel keep the process alive):
 *   `forceFlush()` at once.
 *
 * With `handOffFirst` returning true (a child that has not loaded its gRPC transport yet), the
 * flushes at `beforeExit`, on a signal and at `disconnect` hand the records over in a hand-off
 * file instead ({@link ExitHooks.handOff}), as `exit` does.
 *
 * Node's own behaviour is unchanged otherwise: no listener for `uncaughtException` or
 * `unhandledRejection` is added (the `exit` event covers them), so the printed error and exit
 * code stay Node's. Never throws from a listener; failures are reported through `diag` and
 * counted in the processor's `exportFailed`.
 *
 * Not covered: `SIGKILL`, crashes of the runtime, `worker.terminate()` of a worker thread
 * (no event runs), records emitted by `exit` listeners that run after starlog's.
 */
export function installExitHooks(
  processor: ShippingProcessor | OtlpShippingProcessor,
  options: ExitHooksOptions = {},
): ExitHooks {
  const timeoutMs = parseDuration(options.timeout ?? 2000, 'timeout');
  const endpoint =
    options.endpoint ??
    process.env.STARLOG_ENDPOINT ??
    process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ??
    undefined;
  const token = options.token ?? process.env.STARLOG_TOKEN;
  const handoffDir =
    options.handoffDir === false
      ? undefined
      : options.handoffDir || process.env[HANDOFF_DIR_ENV] || undefined;
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[]);
  let syncExporter: SyncExporter | undefined = options.syncExporter;
  if (syncExporter !== undefined) {
    // given by the caller
  } else if (endpoint)
    syncExporter = new SyncExporter({
      endpoint,
      token,
      timeoutMs,
      worker: options.worker ?? 'lazy',
    });
  else
    diag.warn(
      'starlog installExitHooks: no endpoint (STARLOG_ENDPOINT); records pending at process.exit() will be lost',
    );

  if (handoffDir !== undefined) warmHandoffWriter();
  let installed = true;
  let lastSyncExport: SyncExportResult | undefined;
  let beforeExitFlush: Promise<void> | undefined;
  let beforeExitTimedOut = false;
  const signalsHandling = new Set<NodeJS.Signals>();

  /** Hands the latest drop counts over in a file (nothing to send, but drops counted since the last export still reach the primary). */
  const handOffDropReport = (): void => {
    const report =
      handoffDir !== undefined && 'takeAllRequests' in processor
        ? processor.dropReportRequest()
        : undefined;
    if (report !== undefined && handoffDir !== undefined) {
      const written = writeHandoffSync(handoffDir, [report]);
      if (!written.ok)
        diag.warn(`starlog: the last drop report was not delivered: ${written.reason}`);
    }
  };

  const exportRestSync = (to?: number): void => {
    if (processor.pending === 0) {
      handOffDropReport();
      return;
    }
    let total = 0;
    let result: SyncExportResult | undefined;
    if ('takeAllRequests' in processor) {
      const requests = processor.takeAllRequests();
      for (const r of requests) total += r.length;
      if (handoffDir !== undefined) {
        // the primary's machine: one file write, no round trip (the last request carries the
        // drop counts as they are now)
        const report = processor.dropReportRequest();
        const bytes = requests.map((r) => r.bytes as Uint8Array);
        if (report !== undefined) bytes.push(report);
        const written = writeHandoffSync(handoffDir, bytes, to);
        if (written.ok) {
          lastSyncExport = {
            exported: total,
            failed: 0,
            requests: bytes.length,
            timedOut: false,
            elapsedMs: written.elapsedMs,
            handoff: written.path,
          };
          processor.countExitResult(total, 0);
          return;
        }
        diag.warn(`starlog: ${written.reason}; sending the ${total} records at exit over gRPC`);
      }
      if (syncExporter !== undefined) result = syncExporter.exportEncoded(requests, timeoutMs);
    } else {
      const records = processor.takeAllPending();
      total = records.length;
      if (syncExporter !== undefined) result = syncExporter.export(records);
    }
    if (result === undefined) {
      processor.countExitResult(0, total);
      return;
    }
    lastSyncExport = result;
    processor.countExitResult(result.exported, result.failed);
    if (result.failed > 0) {
      diag.error(
        `starlog: ${result.failed} of ${total} records not delivered at exit${result.timedOut ? ` (timeout ${timeoutMs} ms)` : ''}`,
      );
    }
  };

  /** Hands the records over in a file and waits for the primary (see `handOff`). */
  const handOff = async (waitMs: number): Promise<boolean> => {
    try {
      if (handoffDir === undefined || !('takeAllRequests' in processor)) return false;
      if (processor.pending === 0) return false;
      lastSyncExport = undefined;
      exportRestSync(options.handoffTo);
      // set by exportRestSync (TypeScript does not see the closure assign it)
      const path = (lastSyncExport as SyncExportResult | undefined)?.handoff;
      if (path !== undefined) await ingested(path, waitMs);
      return true;
    } catch (err) {
      diag.error('starlog: handing the records over failed', err);
      return false;
    }
  };
  /** Whether the flushes at beforeExit, on a signal and at disconnect hand the records over in a file. */
  const handingOff = (): boolean =>
    handoffDir !== undefined && 'takeAllRequests' in processor && options.handOffFirst?.() === true;

  const onBeforeExit = (): void => {
    try {
      if (beforeExitFlush !== undefined || processor.pending === 0) return;
      if (beforeExitTimedOut) return; // let the process go: `exit` exports the rest synchronously
      // kept alive at most `timeout` (exports in flight do not keep a child alive: a hung
      // primary would hold it until their deadline)
      beforeExitFlush = (
        handingOff()
          ? handOff(timeoutMs).then(() => processor.pending === 0)
          : processor.flushWithin(timeoutMs)
      )
        .then((done) => {
          beforeExitTimedOut = !done;
        })
        .finally(() => {
          beforeExitFlush = undefined;
        });
    } catch (err) {
      diag.error('starlog: flush at beforeExit failed', err);
    }
  };

  const onExit = (): void => {
    try {
      exportRestSync();
    } catch (err) {
      diag.error('starlog: synchronous export at exit failed', err);
    }
  };

  const onDisconnect = (): void => {
    (handingOff() ? handOff(timeoutMs) : processor.forceFlush()).catch(() => {});
  };

  const raise = (sig: NodeJS.Signals): void => {
    uninstallSignal(sig);
    process.kill(process.pid, sig);
  };

  const onSignal = (sig: NodeJS.Signals): void => {
    try {
      // prepended, so every other listener (`once` ones too) is still registered here
      const alone = process.listenerCount(sig) === 1;
      if (signalsHandling.has(sig)) {
        if (alone) raise(sig);
        return;
      }
      signalsHandling.add(sig);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      const flush = handingOff() ? handOff(timeoutMs) : processor.forceFlush();
      Promise.race([flush, timedOut])
        .then(() => {
          clearTimeout(timer);
          signalsHandling.delete(sig);
          if (!alone) return;
          // re-raise unless the application started listening meanwhile (never swallow the signal,
          // even if the hooks were uninstalled during the flush)
          const ours = signalListeners.has(sig) ? 1 : 0;
          if (process.listenerCount(sig) - ours > 0) return;
          exportRestSync();
          raise(sig);
        })
        .catch((err: unknown) => diag.error(`starlog: flush on ${sig} failed`, err));
    } catch (err) {
      diag.error(`starlog: flush on ${sig} failed`, err);
    }
  };

  const signalListeners = new Map<NodeJS.Signals, () => void>();
  const uninstallSignal = (sig: NodeJS.Signals): void => {
    const l = signalListeners.get(sig);
    if (l) process.removeListener(sig, l);
    signalListeners.delete(sig);
  };

  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  if (isMainThread) {
    for (const sig of signals) {
      const l = (): void => onSignal(sig);
      signalListeners.set(sig, l);
      process.prependListener(sig, l);
    }
    if (typeof process.send === 'function') {
      process.on('disconnect', onDisconnect);
      // Node counts 'message'/'disconnect' listeners and keeps the IPC channel (and so a forked
      // child) alive while there are any; ours must not count, or a child that is done would
      // never exit. `unrefCounted()` takes our listener out of that count (the application's own
      // listeners, before or after, still count); uninstall puts it back before removing it.
      ipcChannel()?.unrefCounted?.();
    }
  }

  return {
    uninstall(): void {
      if (!installed) return;
      installed = false;
      // after a shutdown (the hooks go with it): what it gave up on reaches the primary's count,
      // naming the batches that may have arrived (a hung primary that resumes ingests them once)
      try {
        if (processor.pending === 0) handOffDropReport();
      } catch (err) {
        diag.error('starlog: the last drop report failed', err);
      }
      process.removeListener('beforeExit', onBeforeExit);
      process.removeListener('exit', onExit);
      if (typeof process.send === 'function') {
        ipcChannel()?.refCounted?.();
        process.removeListener('disconnect', onDisconnect);
      }
      for (const sig of [...signalListeners.keys()]) uninstallSignal(sig);
      syncExporter?.close();
    },
    get lastSyncExport() {
      return lastSyncExport;
    },
    handOff,
  };
}
