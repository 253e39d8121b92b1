/**
 * The drop-in part of `setupLogging()`: the pino/winston captures (when those packages are
 * loaded, now or later) and the automatic HTTP request tasks with `traceparent` propagation.
 * Everything here is set up in primaries and children alike.
 */
import { diag } from '@opentelemetry/api';
import type { LevelTable } from '../pipeline/level-table.ts';
import { installHttpPropagation } from '../tasks/http-client.ts';
import { type HttpTaskOptions, installHttpTasks } from '../tasks/http-server.ts';
import { unwatchPackages, watchPackages } from './module-hook.ts';
import { instrumentPino } from './pino.ts';
import type { CaptureContext } from './scope-loggers.ts';
import { instrumentWinston } from './winston.ts';

/** `setupLogging({ instrumentations })`: which libraries are captured. */
export interface InstrumentationOptions {
  /** Capture pino records. Default `true` (when pino is loaded). */
  pino?: boolean;
  /** Capture winston records. Default `true` (when winston is loaded). */
  winston?: boolean;
  /**
   * Keep the libraries' own stdout/stderr output (pino's default destination, winston's Console
   * transport) next to what starlog ships. Default `false`: those lines would appear twice.
   */
  keepOutput?: boolean;
}

let table: LevelTable | undefined;
let stopListening: (() => void) | undefined;
const relevels: (() => void)[] = [];

const ctx: CaptureContext = {
  levels: () => table,
  keepOutput: false,
};

/**
 * Installs the captures and the HTTP request tasks for a set-up process whose level table is
 * `levels`; returns the function that turns them off (records then go to the libraries' own
 * destinations again). Never throws.
 */
export function installDropIn(
  levels: LevelTable,
  instrumentations: boolean | InstrumentationOptions | undefined,
  httpTasks: boolean | HttpTaskOptions | undefined,
): () => void {
  const undo: (() => void)[] = [];
  try {
    if (instrumentations !== false) {
      const o = instrumentations === true || instrumentations === undefined ? {} : instrumentations;
      ctx.keepOutput = o.keepOutput === true;
      table = levels;
      stopListening?.();
      stopListening = levels.onChange(() => {
        for (const r of relevels) r();
      });
      watchPackages((name, exports) => {
        if (name === 'pino' && o.pino !== false) relevels.push(instrumentPino(exports, ctx));
        else if (name === 'winston' && o.winston !== false) instrumentWinston(exports, ctx);
      });
      for (const r of relevels) r();
      undo.push(() => {
        unwatchPackages();
        stopListening?.();
        stopListening = undefined;
        table = undefined;
      });
    }
    if (httpTasks !== false) {
      undo.push(installHttpTasks(httpTasks === true || httpTasks === undefined ? {} : httpTasks));
      undo.push(installHttpPropagation());
    }
  } catch (err) {
    diag.error('starlog: setting up the pino/winston capture or HTTP tasks failed', err);
  }
  return () => {
    for (const u of undo) u();
  };
}
