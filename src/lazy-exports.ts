/**
 * The public functions of the parts a child (and most applications) never runs — the receiver,
 * the live view, the files view, the tree viewer, the control clients (grpc-js) — as thin functions that load their module on
 * the first call. `import … from 'starlog'` thus loads none of them (issue 11: a short-lived
 * child started with ~670 modules, ~1 s of CPU on a busy core); signatures, results and what
 * is thrown are those of the modules named in each (`typeof` their function).
 *
 * @module
 */
import type * as LevelClientModule from './multiprocess/control/level-client.ts';
import type * as PrimaryControlModule from './multiprocess/control/primary-control.ts';
import type * as ReceiverModule from './multiprocess/receiver/receiver.ts';
import type * as RunTreeModule from './tree/run-tree.ts';
import { requireSibling } from './util/require-sibling.ts';
import type * as LiveModule from './view/live.ts';
import type * as ViewFilesModule from './view/view-files.ts';

/**
 * Starts the OTLP/gRPC logs receiver of the primary: see `startReceiver` in
 * `multiprocess/receiver/receiver.ts` (token, limits, what is thrown).
 */
export const startReceiver: typeof ReceiverModule.startReceiver = async (options) =>
  (await import('./multiprocess/receiver/receiver.ts')).startReceiver(options);

/**
 * Starts the live view of a primary's records: see `startLiveView` in `view/live.ts`. Loaded
 * synchronously on the first call (it returns the view at once).
 */
export const startLiveView: typeof LiveModule.startLiveView = (options) =>
  requireSibling<typeof LiveModule>(import.meta.url, './view/live').startLiveView(options);

/** `starlog view FILE…`: see `viewFiles` in `view/view-files.ts`. */
export const viewFiles: typeof ViewFilesModule.viewFiles = async (...args) =>
  (await import('./view/view-files.ts')).viewFiles(...args);

/** `starlog tree`: see `runTree` in `tree/run-tree.ts`. */
export const runTree: typeof RunTreeModule.runTree = async (...args) =>
  (await import('./tree/run-tree.ts')).runTree(...args);

/** Gets a primary's level table: see `getLevels` in `multiprocess/control/level-client.ts`. */
export const getLevels: typeof LevelClientModule.getLevels = async (options) =>
  (await import('./multiprocess/control/level-client.ts')).getLevels(options);

/** Changes a primary's level table: see `setLevels` in `multiprocess/control/level-client.ts`. */
export const setLevels: typeof LevelClientModule.setLevels = async (options) =>
  (await import('./multiprocess/control/level-client.ts')).setLevels(options);

/** Asks a primary to reload its configuration: see `requestReload` in `multiprocess/control/primary-control.ts`. */
export const requestReload: typeof PrimaryControlModule.requestReload = async (where) =>
  (await import('./multiprocess/control/primary-control.ts')).requestReload(where);

/** Asks a primary to reopen its files: see `requestFileReopen` in `multiprocess/control/primary-control.ts`. */
export const requestFileReopen: typeof PrimaryControlModule.requestFileReopen = async (where) =>
  (await import('./multiprocess/control/primary-control.ts')).requestFileReopen(where);
