import type { Command } from 'commander';
import { requestFileReopen } from '../multiprocess/control/primary-control.ts';
import { readPrimaryRecord } from '../multiprocess/control/primary-record.ts';

/**
 * `starlog file reopen`: asks the primary recorded for the working directory to reopen its
 * JSON-lines file (for a logrotate `postrotate`), over the control channel. Exit 1 with the
 * reason when there is no primary, it writes no file, or the file cannot be opened.
 */
export function registerFile(program: Command): void {
  const file = program.command('file').description("the primary's JSON-lines file");
  file
    .command('reopen')
    .description(
      "make this directory's primary reopen its JSON-lines file (after logrotate moved it)",
    )
    .action(async () => {
      const lookup = await readPrimaryRecord(process.cwd());
      if (!lookup.ok) {
        process.stderr.write(`starlog file reopen: ${lookup.reason}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        const answer = await requestFileReopen(lookup.record);
        if (answer.open) process.stdout.write(`reopened ${answer.path}\n`);
        else {
          process.stderr.write(
            `starlog file reopen: ${answer.path} could not be opened; the primary counts its records as dropped and retries every second\n`,
          );
          process.exitCode = 1;
        }
      } catch (err) {
        process.stderr.write(`starlog file reopen: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
