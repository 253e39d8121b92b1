/**
 * `starlog run [options] -- COMMAND [ARGS...]`: runs any command as a child of a primary.
 *
 * This process becomes the primary (`setupLogging()`: receiver, status records, destinations);
 * the command gets the receiver's environment, so a Node.js child using starlog (or loaded with
 * `--import starlog/register`, see `--register`) or any OpenTelemetry SDK child honouring
 * `OTEL_EXPORTER_OTLP_LOGS_*` ships its records here. With `--capture-output` every line the
 * child writes becomes a record too. Signals are forwarded, the exit status is the child's, and
 * the children's last records are written before `starlog run` ends. A SIGHUP reloads the
 * configuration file when one was read (and is not forwarded); otherwise it is forwarded.
 *
 * The parts are in `run/`: options, signals, the command itself, output capture.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { isReceiverEndpoint } from '../multiprocess/protocol/endpoint.ts';
import { parseDuration } from '../util/duration.ts';
import { runCommand } from './run/command.ts';
import type { RunCommandOptions } from './run/options.ts';
import { exitLike } from './run/signals.ts';

export { runCommand } from './run/command.ts';
export {
  nodeOptionsWithImport,
  type RunCommandOptions,
  type RunIo,
  type RunOutcome,
  registerModuleUrl,
} from './run/options.ts';
export { exitLike, FORWARDED_SIGNALS } from './run/signals.ts';

function receiverEndpoint(value: string): string {
  if (!isReceiverEndpoint(value)) {
    throw new InvalidArgumentError(
      "expected 'unix', 'unix:///absolute/path.sock', 'tcp' or a loopback host:port like '127.0.0.1:0'",
    );
  }
  return value;
}

function duration(value: string): string {
  try {
    parseDuration(value, '--status-interval');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

/** Adds the `run` subcommand to the `starlog` program. */
export function registerRun(program: Command): Command {
  // `starlog run CMD -x` passes -x to CMD: options after the command are the command's
  program.enablePositionalOptions();
  return program
    .command('run')
    .description(
      'run any command as a child of a primary: it gets the receiver environment (Node.js children with starlog, any OpenTelemetry SDK); signals are forwarded, the exit status is the child’s',
    )
    .usage('[options] -- <command> [args...]')
    .argument('<command>', 'the command to run (looked up in PATH)')
    .argument('[args...]', 'its arguments')
    .passThroughOptions()
    .option(
      '--config <file>',
      'configuration file (default: STARLOG_CONFIG, else ./starlog.config.{yaml,yml,json})',
    )
    .option(
      '--capture-output',
      'also turn each line the command writes into a record (stdout INFO, stderr WARN)',
    )
    .option(
      '--register',
      'add --import starlog/register to NODE_OPTIONS: Node.js children log with no code change',
    )
    .option(
      '--log-file <path>',
      'the JSON-lines log file (default: the configuration’s, else ./logs/starlog.jsonl)',
    )
    .option(
      '--level <levels>',
      "the level table, e.g. 'info,app.db=debug' (default: STARLOG_LEVEL, else the configuration’s, else info)",
    )
    .option(
      '--status-interval <duration>',
      "status records every <duration>, e.g. '15s' or 15000 (ms)",
      duration,
    )
    .option(
      '--console-level <level>',
      "console: records at or above <level>, or 'off' (status records always show; default with --capture-output: status records only)",
    )
    .option(
      '--endpoint <endpoint>',
      "the receiver: 'unix' (default, a private socket), 'tcp' (127.0.0.1, a free port) or a loopback host:port",
      receiverEndpoint,
    )
    .option(
      '--service-name <name>',
      'service.name of this process and of the captured output (default: the command’s name)',
    )
    .option('--summary', 'print one summary line to stderr at the end')
    .option('--view', 'serve starlog view, a live web page of every process (URL on stderr)')
    .action(async (command: string, args: string[], options: RunCommandOptions) => {
      exitLike(await runCommand(command, args, options));
    });
}
