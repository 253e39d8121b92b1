import { fileURLToPath } from 'node:url';

/** The CLI's entry point in the sources (`starlog` as a test runs it). */
export const STARLOG_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/**
 * Arguments for `process.execPath` that run a quiet `starlog run`: records to `logFile`, no
 * status records (`--status-interval 1h`), nothing on the console (`--console-level off`), then
 * `flags`, then `--` and `command`.
 */
export function quietRunArgs(
  logFile: string,
  flags: readonly string[],
  command: readonly string[],
): string[] {
  return [
    STARLOG_MAIN,
    'run',
    '--log-file',
    logFile,
    '--status-interval',
    '1h',
    '--console-level',
    'off',
    ...flags,
    '--',
    ...command,
  ];
}
