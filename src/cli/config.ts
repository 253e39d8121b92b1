import type { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { readPrimaryRecord } from '../multiprocess/control/primary-record.ts';

/**
 * `starlog config check [FILE]`: validates a configuration file (default: the one the working
 * directory or `STARLOG_CONFIG` names) and prints every error with file, line, key path and
 * what was expected. `starlog config reload`: asks the primary recorded for the working
 * directory to re-read its configuration file (it gets `SIGHUP`), as `kill -HUP <pid>` would.
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
    .description("make this directory's primary re-read its configuration (SIGHUP)")
    .action(async () => {
      const lookup = await readPrimaryRecord(process.cwd());
      if (!lookup.ok) {
        process.stderr.write(`starlog config reload: ${lookup.reason}\n`);
        process.exitCode = 1;
        return;
      }
      const record = lookup.record;
      try {
        process.kill(record.pid, 'SIGHUP');
        process.stdout.write(
          `sent SIGHUP to the primary (pid ${record.pid}); it reports what it applied\n`,
        );
      } catch (err) {
        process.stderr.write(`starlog config reload: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
