import { diag } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ShippingProcessor } from '../export/shipping-processor.ts';

/** Writes records at once (blocking at most `timeoutMs`), for process exit. Never throws. */
export type ExitWriter = (
  records: ReadableLogRecord[],
  timeoutMs: number,
) => { exported: number; failed: number };

/** What the primary's exit hooks act on. */
export interface PrimaryExitParts {
  /** The destination queues by name, with the synchronous writer of each. */
  destinations: { name: string; queue: ShippingProcessor; writeSync: ExitWriter }[];
  /** Emits the last status record now (synchronously), if status records are on. */
  finalStatus(): void;
  /** Applies the lookback buffer's `onShutdown` (flush or drop what it holds), if there is one. */
  lookbackAtExit(): void;
  /** Flushes everything asynchronously (`beforeExit`, a signal the application also listens to). */
  forceFlush(): Promise<void>;
  /** The whole shutdown (receiver first), for a signal that ends the process. */
  shutdown(): Promise<void>;
  /** Runs last at `exit` (e.g. removes `.starlog/primary.json`). */
  atExit?(): void;
  /** Budget of the synchronous export at exit and of the flush on a signal, ms. */
  timeoutMs: number;
  /** Signals to handle. Default `['SIGTERM', 'SIGINT']`. */
  signals?: NodeJS.Signals[];
}

/** Returned by {@link installPrimaryExitHooks}. */
export interface PrimaryExitHooks {
  /** Removes every listener. Idempotent. */
  uninstall(): void;
  /** Does what `exit` does now, once (for `starlog run`'s own end and tests). */
  finish(): void;
}

/**
 * Makes a primary keep every record on every exit path, as a child does (see the child's
 * `installExitHooks`), with destinations written in this process:
 *
 * - `beforeExit` (the event loop ran dry, `process.exitCode` set or not): `forceFlush()`; it
 *   fires again afterwards and flushes again only if records arrived meanwhile.
 * - `exit` (after `beforeExit`, `process.exit()`, an uncaught exception, an unhandled
 *   rejection): synchronously, the last status record, the lookback buffer's `onShutdown`, then
 *   every record still queued in a destination (the primary's own and those ingested from
 *   children) is written: the JSON-lines file and the console with `fs.writeSync`, a collector
 *   through the children's worker-thread synchronous export — all within `timeoutMs`. Records
 *   that cannot be written are counted (`exportFailed`).
 * - `SIGTERM`/`SIGINT`: if the application does not listen to the signal, the whole shutdown
 *   (receiver first, so children's exports in flight land) runs for at most `timeoutMs`, the
 *   rest is written synchronously as at `exit`, and the signal is raised again so that the
 *   process ends by it exactly as without starlog. A second signal meanwhile finishes at once.
 *   If the application listens, records are only flushed and the exit is the application's.
 *
 * No `uncaughtException`/`unhandledRejection` listener is added (`exit` covers them), so Node
 * prints the same error and sets the same exit code. Not covered: `SIGKILL`, crashes of the
 * runtime, records emitted by `exit` listeners that run after this one.
 */
export function installPrimaryExitHooks(parts: PrimaryExitParts): PrimaryExitHooks {
  const signals = parts.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[]);
  let installed = true;
  let finished = false;
  let beforeExitFlush: Promise<void> | undefined;
  const handling = new Set<NodeJS.Signals>();

  const finish = (): void => {
    if (finished) return;
    finished = true;
    const deadline = Date.now() + parts.timeoutMs;
    const step = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        diag.error(`starlog: ${what} at exit failed`, err);
      }
    };
    step('the last status record', () => parts.finalStatus());
    step('the lookback buffer', () => parts.lookbackAtExit());
    for (const d of parts.destinations) {
      step(`writing to ${d.name}`, () => {
        const records = d.queue.takeAllPending();
        const left = Math.max(0, deadline - Date.now());
        const r = records.length > 0 ? d.writeSync(records, left) : d.writeSync([], left);
        if (records.length > 0) d.queue.countExitResult(r.exported, r.failed);
        if (r.failed > 0) {
          diag.error(
            `starlog: ${r.failed} of ${records.length} records not written to ${d.name} at exit`,
          );
        }
      });
    }
    if (parts.atExit) step('cleaning up', parts.atExit);
  };

  const onBeforeExit = (): void => {
    if (beforeExitFlush !== undefined) return;
    let pending = 0;
    for (const d of parts.destinations) pending += d.queue.pending;
    if (pending === 0) return;
    try {
      beforeExitFlush = parts.forceFlush().finally(() => {
        beforeExitFlush = undefined;
      });
      beforeExitFlush.catch((err: unknown) =>
        diag.error('starlog: flush at beforeExit failed', err),
      );
    } catch (err) {
      diag.error('starlog: flush at beforeExit failed', err);
    }
  };

  const onExit = (): void => finish();

  const listeners = new Map<NodeJS.Signals, () => void>();
  const others = (sig: NodeJS.Signals): number =>
    process.listenerCount(sig) - (listeners.has(sig) ? 1 : 0);
  const raise = (sig: NodeJS.Signals): void => {
    finish();
    uninstall();
    process.kill(process.pid, sig);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    try {
      if (others(sig) > 0) {
        // the application decides when (and whether) to exit; `exit` writes the rest
        parts
          .forceFlush()
          .catch((err: unknown) => diag.error(`starlog: flush on ${sig} failed`, err));
        return;
      }
      if (handling.has(sig)) {
        raise(sig);
        return;
      }
      handling.add(sig);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, parts.timeoutMs);
      });
      Promise.race([parts.shutdown(), timedOut])
        .catch((err: unknown) => diag.error(`starlog: shutdown on ${sig} failed`, err))
        .then(() => {
          clearTimeout(timer);
          // never swallow the signal, but leave the exit to an application that started listening
          if (others(sig) > 0) return;
          raise(sig);
        });
    } catch (err) {
      diag.error(`starlog: handling ${sig} failed`, err);
    }
  };

  const uninstall = (): void => {
    if (!installed) return;
    installed = false;
    process.removeListener('beforeExit', onBeforeExit);
    process.removeListener('exit', onExit);
    for (const [sig, l] of listeners) process.removeListener(sig, l);
    listeners.clear();
  };

  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  for (const sig of signals) {
    const l = (): void => onSignal(sig);
    listeners.set(sig, l);
    process.on(sig, l);
  }
  return { uninstall, finish };
}
