/**
 * The drop-in part of `setupLogging()`: the pino/winston captures (when those packages are
 * loaded, now or later) and the automatic HTTP request tasks with `traceparent` propagation.
 * Everything here is set up in primaries and children alike.
 */
import { diag } from '@opentelemetry/api';
import type { LevelTable } from '../pipeline/level-table.ts';
import { installHttpPropagation } from '../tasks/http-client.ts';
import { type HttpTaskOptions, installHttpTasks } from '../tasks/http-server.ts';
import { instrumentBunyan } from './bunyan.ts';
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
  /** Capture bunyan records. Default `true` (when bunyan is loaded). */
  bunyan?: boolean;
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
  preparing: false,
};

/** The drop-in part of one `setupLogging()`: prepared at its start, activated when it is done. */
export interface DropIn {
  /** Starts capturing with `levels` and installs the HTTP request tasks. Never throws. */
  activate(levels: LevelTable): void;
  /** Turns everything off (the libraries write to their own destinations again). */
  uninstall(): void;
}

/**
 * Prepares the captures at the start of `setupLogging()`: the module hook is installed at once,
 * so pino/winston/bunyan loaded (and loggers created) while set-up is under way are captured
 * too. Never throws.
 */
export function prepareDropIn(
  instrumentations: boolean | InstrumentationOptions | undefined,
  httpTasks: boolean | HttpTaskOptions | undefined,
): DropIn {
  const undo: (() => void)[] = [];
  const capture = instrumentations !== false;
  const o: InstrumentationOptions = typeof instrumentations === 'object' ? instrumentations : {};
  try {
    if (capture) {
      ctx.keepOutput = o.keepOutput === true;
      ctx.preparing = true;
      watchPackages((name, exports) => {
        if (name === 'pino' && o.pino !== false) relevels.push(instrumentPino(exports, ctx));
        else if (name === 'winston' && o.winston !== false)
          relevels.push(instrumentWinston(exports, ctx));
        else if (name === 'bunyan' && o.bunyan !== false) instrumentBunyan(exports, ctx);
      });
      undo.push(() => {
        unwatchPackages();
        stopListening?.();
        stopListening = undefined;
        table = undefined;
        ctx.preparing = false;
      });
    }
  } catch (err) {
    diag.error('starlog: preparing the pino/winston/bunyan capture failed', err);
  }
  return {
    activate(levels) {
      try {
        if (capture) {
          table = levels;
          ctx.preparing = false;
          stopListening?.();
          stopListening = levels.onChange(() => {
            for (const r of relevels) r();
          });
          for (const r of relevels) r();
        }
        if (httpTasks !== false) {
          const h = httpTasks === true || httpTasks === undefined ? {} : httpTasks;
          undo.push(installHttpTasks(h));
          undo.push(installHttpPropagation());
        }
      } catch (err) {
        diag.error('starlog: starting the pino/winston capture or HTTP tasks failed', err);
      }
    },
    uninstall() {
      for (const u of undo.splice(0)) u();
    },
  };
}
