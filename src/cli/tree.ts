/** `starlog tree FILE...`: commander wiring only; the report is `src/tree/run-tree.ts`. */
import { setFlagsFromString } from 'node:v8';
import { type Command, InvalidArgumentError } from 'commander';
import { type NodeState, STATE_LEGEND, STATE_MARK } from '../tree/format.ts';
import { runTree, type TreeCommandOptions } from '../tree/run-tree.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** Adds the `tree` subcommand to the `starlog` program. */
export function registerTree(program: Command): Command {
  return program
    .command('tree')
    .description(
      'print task trees from OTLP/JSON log lines (JsonlFileExporter files, Collector file exporter output)',
    )
    .argument('<file...>', 'OTLP/JSON lines files, e.g. one per host')
    .option(
      '--failed',
      'only the branches that lead to a failure (failed task or ERROR/FATAL record)',
    )
    .option('--trace <id>', 'only the trace with this id (hex; a prefix is enough)')
    .option(
      '--html <file>',
      'write one self-contained, foldable HTML page to <file> instead of text',
    )
    .option('--all', 'also show records outside any trace or task, grouped per process')
    .option('--max-body <chars>', 'characters kept per record body', positiveInt, 200)
    .option('--stack', 'print exception stack traces under error records (text output)')
    .option('--attrs', 'print the attributes of each record (order ids, users, status codes, ...)')
    .option('--color', 'force colours (default: when stdout is a terminal and NO_COLOR is unset)')
    .option('--no-color', 'no colours')
    .addHelpText(
      'after',
      `\nMarks:\n${(Object.keys(STATE_MARK) as NodeState[]).map((s) => `  ${STATE_MARK[s]}  ${STATE_LEGEND[s]}`).join('\n')}\n`,
    )
    .action(async (files: string[], options: TreeCommandOptions) => {
      // V8 then keeps the heap close to the live set instead of growing it generously: for a
      // 200 MB input this halves peak RSS (bench/tree.ts). The flag only tunes GC heuristics.
      setFlagsFromString('--optimize-for-size');
      process.exitCode = await runTree(files, options);
    });
}
