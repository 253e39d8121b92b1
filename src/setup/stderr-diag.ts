import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';

/** The OpenTelemetry API's global registry (`@opentelemetry/api` keeps `diag` there, major version 1). */
const API_KEY = Symbol.for('opentelemetry.js.api.1');

function installedDiag(): unknown {
  return (globalThis as Record<symbol, { diag?: unknown } | undefined>)[API_KEY]?.diag;
}

/** Options of {@link installStderrDiag}. */
export interface StderrDiagOptions {
  /** Where lines go. Default `process.stderr`. */
  write?: (line: string) => void;
  /** Lines printed at once before the rate limit applies. Default 5. */
  burst?: number;
  /** One more line per this many ms after the burst. Default 10,000. */
  refillMs?: number;
}

/**
 * Makes starlog's own warnings and errors (write failures, drops, bad configuration — everything
 * reported through the OpenTelemetry `diag` API at WARN or ERROR) visible on stderr, as
 * `starlog: <message>: <error message>` lines, rate-limited (a burst of 5, then one line per 10 s;
 * the number of lines left out is printed with the next one). Only when the application has not
 * installed a `diag` logger of its own; an application that installs one later replaces this one.
 *
 * @returns the uninstaller (disables `diag` only if this logger is still the installed one), or
 *   `undefined` when the application has its own logger
 */
export function installStderrDiag(options: StderrDiagOptions = {}): (() => void) | undefined {
  if (installedDiag() !== undefined) return undefined;
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const burst = options.burst ?? 5;
  const refillMs = options.refillMs ?? 10_000;
  let tokens = burst;
  let last = Date.now();
  let suppressed = 0;
  const print = (message: string, args: unknown[]): void => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + (now - last) / refillMs);
    last = now;
    if (tokens < 1) {
      suppressed++;
      return;
    }
    tokens -= 1;
    let line = message.startsWith('starlog') ? message : `starlog: ${message}`;
    for (const a of args) {
      if (a instanceof Error) line += `: ${a.message}`;
      else if (a !== undefined) line += `: ${String(a)}`;
    }
    if (suppressed > 0) {
      line += ` (${suppressed} more starlog message${suppressed === 1 ? '' : 's'} left out)`;
      suppressed = 0;
    }
    try {
      write(`${line.replace(/\n/g, ' ')}\n`);
    } catch {
      // stderr is gone: nothing left to tell
    }
  };
  const logger: DiagLogger = {
    error: (message, ...args) => print(message, args),
    warn: (message, ...args) => print(message, args),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const ours = installedDiag();
  return () => {
    if (installedDiag() === ours) diag.disable();
  };
}
