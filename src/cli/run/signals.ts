import { diag } from '@opentelemetry/api';
import type { RunOutcome } from './options.ts';

/** Signals forwarded to the child. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];

/**
 * Signals a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\): when stdin is
 * a terminal the child got them already, and forwarding would deliver them twice.
 */
export const TERMINAL_SIGNALS = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT']);

/**
 * Signals `starlog run` raises on itself when they ended the child (so the parent sees "killed by
 * signal", as with the bare command). For the others (core-dumping ones, SIGPIPE which Node
 * ignores, SIGUSR1 which starts Node's inspector) it exits with 128 + the signal number instead.
 */
const RERAISED_SIGNALS = new Set<NodeJS.Signals>([
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGKILL',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGPOLL',
  'SIGPWR',
  'SIGSTKFLT',
]);

/**
 * Ends this process as the child ended: with its exit code, or by raising the same signal on
 * itself (exit status 128 + n as seen by a shell); see {@link RERAISED_SIGNALS}.
 */
export function exitLike(outcome: RunOutcome): void {
  const { signal, exitCode } = outcome;
  if (signal !== undefined && RERAISED_SIGNALS.has(signal)) {
    for (const l of process.listeners(signal)) process.removeListener(signal, l);
    try {
      process.kill(process.pid, signal);
    } catch {
      // fall through to the exit code
    }
    // if the signal does not end us (ignored by our parent's disposition), the code says it
    setTimeout(() => process.exit(exitCode), 1000);
    return;
  }
  process.exit(exitCode);
}

/** Options of {@link forwardSignals}. */
export interface ForwardSignalsOptions {
  /** The child to forward to (undefined until it started). */
  child(): { kill(signal: NodeJS.Signals): boolean } | undefined;
  /** Whether the child ended: a signal then only hurries the final flush. */
  childEnded(): boolean;
  /** Called for a signal after the child ended. */
  hurry(): void;
  /** Whether stdin is a terminal (then Ctrl-C / Ctrl-\ reached the child already). */
  stdinIsTerminal: boolean;
  /**
   * Whether this process's primary reloads its configuration on SIGHUP (a configuration file was
   * read): then SIGHUP is handled here and not forwarded.
   */
  handlesSighup: boolean;
}

/**
 * Installs the forwarding of {@link FORWARDED_SIGNALS} to the child, for `starlog run`'s
 * lifetime: a signal must never end `starlog run` while the child lives. Returns the uninstaller.
 */
export function forwardSignals(o: ForwardSignalsOptions): () => void {
  const listeners = new Map<NodeJS.Signals, () => void>();
  for (const signal of FORWARDED_SIGNALS) {
    if (signal === 'SIGHUP' && o.handlesSighup) continue;
    const listener = () => {
      if (o.childEnded()) {
        o.hurry();
        return;
      }
      if (o.stdinIsTerminal && TERMINAL_SIGNALS.has(signal)) return;
      try {
        o.child()?.kill(signal);
      } catch (err) {
        diag.warn(`starlog run: could not forward ${signal}`, err);
      }
    };
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  return () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}
