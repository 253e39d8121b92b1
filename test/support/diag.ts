/** Capturing OpenTelemetry `diag` output in a test. */
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';

/** What {@link captureDiag} collected; `restore()` disables diag again. */
export interface DiagCapture {
  readonly errors: unknown[][];
  readonly warns: unknown[][];
  readonly infos: unknown[][];
  /** Every captured call's arguments joined into one string, in order. */
  readonly messages: string[];
  restore(): void;
}

/** Installs a diag logger that keeps every call at `level` and above (default WARN). */
export function captureDiag(level: DiagLogLevel = DiagLogLevel.WARN): DiagCapture {
  const errors: unknown[][] = [];
  const warns: unknown[][] = [];
  const infos: unknown[][] = [];
  const messages: string[] = [];
  const keep =
    (list: unknown[][] | undefined) =>
    (...args: unknown[]): void => {
      list?.push(args);
      messages.push(args.map(String).join(' '));
    };
  const logger: DiagLogger = {
    error: keep(errors),
    warn: keep(warns),
    info: keep(infos),
    debug: keep(undefined),
    verbose: keep(undefined),
  };
  diag.setLogger(logger, { logLevel: level, suppressOverrideMessage: true });
  return { errors, warns, infos, messages, restore: () => diag.disable() };
}
