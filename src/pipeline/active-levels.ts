import type { LevelTable } from './level-table.ts';

let active: LevelTable | undefined;

/**
 * The level table of this process's starlog Pipeline, set by `setupLogging()`. `getLogger()`
 * loggers read it to skip disabled calls before building anything. `undefined` until set up (then
 * the registered LoggerProvider decides through `enabled()`).
 */
export function activeLevelTable(): LevelTable | undefined {
  return active;
}

/** Makes `table` the process's active level table (`undefined` to clear). */
export function setActiveLevelTable(table: LevelTable | undefined): void {
  active = table;
}
