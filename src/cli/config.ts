import type { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { formatReloadReport } from '../config/reload.ts';
import { requestReload } from '../multiprocess/control/primary-control.ts';
import { readPrimaryRecord } from '../multiprocess/control/primary-record.ts';

/**
 * `starlog config check [FILE]`: validates a configuration file (default: the one the working
 * directory or `STARLOG_CONFIG` names) and prints every error with file, line, key path and
 * what was expected. `starlog config reload`: asks the primary recorded for the working
 * directory (`.starlog/primary.json`) to re-read its configuration file, over the control channel
 * (same socket and token as `starlog level`); it prints what was applied and what needs a
 * restart, or exits 1 with the primary's answer (no configuration file, an invalid one) or why
 * no primary answers (none recorded, a stale record of a primary that is gone: never signalled).
 */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('check or reload the configuration file');
  config
    .command('check [file]')
    .description('validate a starlog.config.yaml/.json; exit 1 listing every error')
    .action(async (file: string | undefined) => {
      try {
        const loaded = await loadConfig({ file, env: process.env });
        if (loaded === undefined) {
          process.stdout.write('no configuration file (defaults apply)\n');
          return;
        }
        process.stdout.write(`${loaded.file}: ok\n`);
      } catch (err) {
        process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });
  config
    .command('reload')
    .description(
      "ask this directory's primary (over its control channel) to re-read its configuration file; exit 1 with its answer when it cannot",
    )
    .action(async () => {
      const lookup = await readPrimaryRecord(process.cwd());
      if (!lookup.ok) {
        process.stderr.write(`starlog config reload: ${lookup.reason}\n`);
        process.exitCode = 1;
        return;
      }
      const { record } = lookup;
      try {
        const answer = await requestReload(record);
        process.stdout.write(
          `${answer.file} reloaded by the primary (pid ${record.pid}): ${formatReloadReport({
            apply: {},
            applied: answer.applied,
            needsRestart: answer.needsRestart,
          })}\n`,
        );
      } catch (err) {
        process.stderr.write(`starlog config reload: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
