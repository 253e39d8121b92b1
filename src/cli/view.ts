/**
 * `starlog view [FILE...]`: commander wiring only. With files: index them and serve the page
 * (`src/view/view-files.ts`). Without: print the URL of the view of the primary recorded for the
 * current directory (`src/view/live-record.ts`).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { findLiveView } from '../view/live-record.ts';
import { viewFiles } from '../view/view-files.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number');
  return n;
}

/** Adds the `view` subcommand to the `starlog` program. */
export function registerView(program: Command): Command {
  return program
    .command('view')
    .description(
      'a web view (127.0.0.1 only, with a token) of OTLP/JSON lines files, or of the running primary of this directory',
    )
    .argument('[file...]', 'OTLP/JSON lines files (JsonlFileExporter, Collector file exporter)')
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)', port)
    .option('--db <file>', 'keep the SQLite index in this file (default: a temporary one)')
    .action(async (files: string[], options: { port?: number; db?: string }) => {
      if (files.length === 0) {
        const found = await findLiveView(process.cwd());
        if (!found.ok) {
          process.stderr.write(`starlog view: ${found.reason}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`starlog view of the primary (pid ${found.pid}): ${found.url}\n`);
        return;
      }
      const view = await viewFiles(files, options);
      for (const f of view.loaded.files) {
        if (f.error) process.stderr.write(`starlog view: ${f.path}: ${f.error}\n`);
        else if (f.stats && f.stats.badLines > 0)
          process.stderr.write(
            `starlog view: ${f.path}: ${f.stats.badLines} malformed lines skipped\n`,
          );
      }
      process.stdout.write(
        `starlog view: ${view.loaded.records} records indexed; open ${view.server.url}\n(Ctrl-C to stop)\n`,
      );
      const stop = () => {
        void view.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
