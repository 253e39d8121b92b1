/**
 * `starlog run [options] -- COMMAND [ARGS...]`: runs any command as a child of a primary.
 *
 * This process becomes the primary (`setupLogging()`: receiver, status records, destinations);
 * the command gets the receiver's environment, so a Node.js child using starlog (or loaded with
 * `--import starlog/register`, see `--register`) or any OpenTelemetry SDK child honouring
 * `OTEL_EXPORTER_OTLP_LOGS_*` ships its records here. With `--capture-output` every line the
 * child writes becomes a record too. Signals are forwarded, the exit status is the child's, and
 * the children's last records are written before `starlog run` ends.
 */
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';
import { diag, SeverityNumber } from '@opentelemetry/api';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig, toSetupOptions } from '../config/load.ts';
import { spawn } from '../multiprocess/fork.ts';
import { isReceiverEndpoint } from '../multiprocess/protocol/endpoint.ts';
import type { SetupOptions } from '../options.ts';
import { RUN_SCOPE_NAME } from '../semconv.ts';
import type { LoggingHandle } from '../setup/handle.ts';
import { setupLogging } from '../setup/setup-logging.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, parseDuration } from '../util/duration.ts';
import { childResource, defaultServiceName, OutputCapture } from './run/capture.ts';

/** Options of `starlog run` (commander's camelCase names). */
export interface RunCommandOptions {
  /**
   * Configuration file (default: `STARLOG_CONFIG`, else `./starlog.config.{yaml,yml,json}`); also
   * put into the child's `STARLOG_CONFIG`.
   */
  config?: string;
  /** Turn each line of the child's stdout (INFO) and stderr (WARN) into a record. */
  captureOutput?: boolean;
  /** Add `--import starlog/register` to the child's `NODE_OPTIONS`. */
  register?: boolean;
  /** The JSON-lines file (overrides the configuration; also adds the file next to a collector). */
  logFile?: string;
  /** The level table, e.g. `'info,app.db=debug'` (overrides `STARLOG_LEVEL` and the configuration). */
  level?: string;
  /** Status record interval, ms or `'15s'` (turns status records on). */
  statusInterval?: string;
  /**
   * Console: a level name (records at or above it are shown; status records always are) or
   * `off`. Default: the configuration's; without one, every record, or only status records (and
   * FATAL) with `--capture-output` (the child's output is on the terminal already).
   */
  consoleLevel?: string;
  /**
   * The receiver endpoint: `unix` (default), `tcp` (loopback, a free port) or a loopback
   * `host:port`. TCP helps children whose OpenTelemetry SDK cannot dial a unix socket.
   */
  endpoint?: string;
  /** `service.name` of this process and of the captured output. Default: the command's name. */
  serviceName?: string;
  /** Print one summary line to stderr at the end (records, processes, drops, log file). */
  summary?: boolean;
}

/** How the command ended, as {@link runCommand} reports it. */
export interface RunOutcome {
  /** The exit code `starlog run` should end with (the child's, 126/127 if it did not start, 2 for a usage error). */
  exitCode: number;
  /** The signal that ended the child, if one did (`starlog run` then ends by it too). */
  signal?: NodeJS.Signals;
}

/** Where `starlog run` writes its own messages and the passed-through output. */
export interface RunIo {
  stdout: Writable;
  stderr: Writable;
}

/** Signals forwarded to the child. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];

/**
 * Signals a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\): when stdin is
 * a terminal the child got them already, and forwarding would deliver them twice.
 */
const TERMINAL_SIGNALS = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT']);

/**
 * Signals `starlog run` raises on itself when they ended the child (so the parent sees "killed by
 * signal", as with the bare command). For the others (core-dumping ones, SIGPIPE which Node
 * ignores, SIGUSR1 which starts Node's inspector) it exits with 128 + the signal number instead.
 */
const RERAISED_SIGNALS = new Set<NodeJS.Signals>([
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGKILL',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGPOLL',
  'SIGPWR',
  'SIGSTKFLT',
]);

/** How long the child's output pipes may stay open after it exited (a grandchild holding them). */
const OUTPUT_GRACE_MS = 2000;

/**
 * The module `--register` loads into Node.js children: `register.js` next to the built CLI
 * (`dist/register.js`: Node.js does not strip types under `node_modules`), or `src/register.ts`
 * when the CLI itself runs from source.
 */
export function registerModuleUrl(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`../register.${ext}`, import.meta.url).href;
}

/** `NODE_OPTIONS` with `--import=<url>` added (existing options kept; not added twice). */
export function nodeOptionsWithImport(current: string | undefined, url: string): string {
  const flag = `--import=${url}`;
  if (current === undefined || current.trim() === '') return flag;
  if (current.split(/\s+/).includes(flag)) return current;
  return `${current} ${flag}`;
}

/**
 * Runs `command` as a child of a primary and returns how it ended. Sets up starlog in this
 * process (configuration file, then the flags), installs the signal forwarding for the child's
 * lifetime, and shuts starlog down (the receiver waits for in-flight exports) before returning.
 * Never throws: problems are written to `io.stderr` as one line each, with exit code 2 (bad
 * configuration or option), 126 (the command cannot be executed) or 127 (not found).
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions,
  io: RunIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<RunOutcome> {
  const say = (msg: string) => io.stderr.write(`starlog run: ${msg}\n`);
  const startEnv = { ...process.env };

  let setup: SetupOptions;
  try {
    setup = await setupOptions(command, args, options, startEnv);
  } catch (err) {
    for (const line of (err as Error).message.split('\n')) say(line);
    return { exitCode: 2 };
  }
  // The whole tree sees the same configuration file (a --register'ed child, or a setupLogging()
  // that reads the file itself), and --level wins over an inherited STARLOG_LEVEL everywhere.
  if (options.config !== undefined) process.env.STARLOG_CONFIG = resolve(options.config);
  if (options.level !== undefined) process.env.STARLOG_LEVEL = options.level;
  let handle: LoggingHandle;
  try {
    handle = await setupLogging(setup);
  } catch (err) {
    say(`cannot set up logging: ${(err as Error).message}`);
    return { exitCode: 2 };
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.register)
    env.NODE_OPTIONS = nodeOptionsWithImport(env.NODE_OPTIONS, registerModuleUrl());
  const serviceName = setup.serviceName ?? defaultServiceName(command, args);
  const runLog = handle.provider.getLogger(RUN_SCOPE_NAME);

  // Forwarding is installed before the child starts, and stays until starlog run ends: a signal
  // must never end starlog run while the child lives. After the child ended, a signal cuts the
  // final flush short.
  let child: ChildProcess | undefined;
  let childEnded = false;
  let hurry: () => void = () => {};
  const hurried = new Promise<void>((r) => {
    hurry = r;
  });
  const stdinIsTerminal = isatty(0);
  const listeners = new Map<NodeJS.Signals, () => void>();
  for (const signal of FORWARDED_SIGNALS) {
    const listener = () => {
      if (childEnded) {
        hurry();
        return;
      }
      if (stdinIsTerminal && TERMINAL_SIGNALS.has(signal)) return;
      try {
        child?.kill(signal);
      } catch (err) {
        diag.warn(`starlog run: could not forward ${signal}`, err);
      }
    };
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  const removeListeners = () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };

  let capture: OutputCapture | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  let code: number | null = null;
  let signal: NodeJS.Signals | null = null;
  try {
    child = spawn(command, args, {
      env,
      stdio: options.captureOutput ? ['inherit', 'pipe', 'pipe'] : 'inherit',
    });
    const started = child;
    const outcome = await new Promise<
      { error: NodeJS.ErrnoException } | { code: number | null; signal: NodeJS.Signals | null }
    >((resolveOutcome) => {
      started.on('error', (error: NodeJS.ErrnoException) => {
        if (started.pid === undefined) resolveOutcome({ error });
        else diag.warn('starlog run: child process error', error);
      });
      started.once('exit', (c, s) => resolveOutcome({ code: c, signal: s }));
      if (started.pid !== undefined) {
        runLog.emit({
          severityNumber: SeverityNumber.DEBUG,
          severityText: 'DEBUG',
          body: `started ${[command, ...args].join(' ')} (pid ${started.pid})`,
        });
        if (options.captureOutput) {
          capture = new OutputCapture({
            processor: handle.pipeline,
            resource: childResource({
              pid: started.pid,
              command,
              args,
              serviceName,
              parentPid: process.pid,
            }),
          });
          passThrough(started.stdout!, io.stdout, (b) => capture!.stdout.push(b));
          passThrough(started.stderr!, io.stderr, (b) => capture!.stderr.push(b));
        }
      }
    });
    if ('error' in outcome) spawnError = outcome.error;
    else {
      code = outcome.code;
      signal = outcome.signal;
      await outputClosed(started, capture !== undefined);
    }
  } catch (err) {
    spawnError = err as NodeJS.ErrnoException;
  }
  childEnded = true;
  capture?.end();

  let result: RunOutcome;
  if (spawnError !== undefined) {
    const notFound = spawnError.code === 'ENOENT';
    say(
      notFound
        ? `${command}: command not found`
        : `${command}: cannot execute: ${spawnError.code ?? spawnError.message}`,
    );
    result = { exitCode: notFound ? 127 : 126 };
  } else if (signal !== null) {
    const n = osConstants.signals[signal] ?? 0;
    result = { exitCode: 128 + n, signal };
  } else {
    result = { exitCode: code ?? 1 };
  }
  if (spawnError === undefined) {
    const ok = result.exitCode === 0;
    runLog.emit({
      severityNumber: ok ? SeverityNumber.INFO : SeverityNumber.WARN,
      severityText: ok ? 'INFO' : 'WARN',
      body:
        signal !== null
          ? `${serviceName} (pid ${child?.pid}) ended by ${signal}`
          : `${serviceName} (pid ${child?.pid}) exited with code ${code}`,
      attributes:
        signal !== null ? { 'process.exit.signal': signal } : { 'process.exit.code': code ?? -1 },
    });
  }

  const stats = handle.stats();
  const budget = (setup.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS) + 2000;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    handle.shutdown(),
    hurried,
    new Promise<void>((r) => {
      timer = setTimeout(r, budget);
    }),
  ]);
  clearTimeout(timer);
  removeListeners();

  if (options.summary) {
    const captured = capture ? capture.stats().stdout + capture.stats().stderr : 0;
    if (stats.role === 'child') {
      say(
        `${captured} captured lines shipped to the primary (pid ${process.env.STARLOG_PRIMARY_PID ?? '?'}), ${stats.dropped} dropped`,
      );
    } else {
      const children = Object.values(stats.receiver?.children ?? {});
      const fromChildren = children.reduce((n, c) => n + c.records, 0);
      const file = setup.file === false ? undefined : setup.file?.path;
      say(
        `${fromChildren} records from ${children.length} process${children.length === 1 ? '' : 'es'}, ` +
          `${captured} captured lines, ${stats.dropped} dropped` +
          (file !== undefined ? `; log file ${file}` : ''),
      );
    }
  }
  return result;
}

/** The options for `setupLogging()`: configuration file and environment, then the flags. */
async function setupOptions(
  command: string,
  args: readonly string[],
  options: RunCommandOptions,
  startEnv: NodeJS.ProcessEnv,
): Promise<SetupOptions> {
  const loaded = await loadConfig({ file: options.config, env: startEnv });
  const setup: SetupOptions = { ...(loaded?.options ?? toSetupOptions(undefined, startEnv)) };
  setup.serviceName = options.serviceName ?? setup.serviceName ?? defaultServiceName(command, args);
  if (options.level !== undefined) setup.levels = options.level;
  if (options.endpoint !== undefined) setup.endpoint = options.endpoint;
  if (options.logFile !== undefined) {
    setup.file = { ...(setup.file || {}), path: resolve(options.logFile) };
  } else if (setup.file === undefined && !setup.collector) {
    setup.file = { path: resolve('logs/starlog.jsonl') };
  }
  if (options.statusInterval !== undefined) {
    setup.status = { ...(setup.status || {}), interval: options.statusInterval };
  }
  if (options.consoleLevel !== undefined) {
    setup.console =
      options.consoleLevel === 'off'
        ? false
        : { ...(setup.console || {}), minSeverity: options.consoleLevel };
  } else if (setup.console === undefined && options.captureOutput) {
    setup.console = { minSeverity: 'fatal' };
  }
  return setup;
}

/**
 * Copies `from` to `to` byte for byte (pausing `from` while `to` is full) and hands each chunk to
 * `tap`. A failing `to` (e.g. a closed pipe) stops the copy, not the tap.
 */
function passThrough(from: Readable, to: Writable, tap: (chunk: Buffer) => void): void {
  let broken = false;
  const onError = () => {
    broken = true;
    from.resume();
  };
  to.on('error', onError);
  from.on('data', (chunk: Buffer) => {
    tap(chunk);
    if (broken) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.once('close', () => to.removeListener('error', onError));
}

/** Waits until the child's pipes closed, at most {@link OUTPUT_GRACE_MS} after its exit. */
async function outputClosed(child: ChildProcess, piped: boolean): Promise<void> {
  if (!piped) return;
  const open = [child.stdout, child.stderr].filter(
    (s): s is Readable => s !== null && !s.destroyed && !s.readableEnded,
  );
  if (open.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(open.map((s) => new Promise((r) => s.once('close', r)))),
    new Promise((r) => {
      timer = setTimeout(r, OUTPUT_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  for (const s of open) if (!s.destroyed) s.destroy();
}

/**
 * Ends this process as the child ended: with its exit code, or by raising the same signal on
 * itself (exit status 128 + n as seen by a shell); see {@link RERAISED_SIGNALS}.
 */
export function exitLike(outcome: RunOutcome): void {
  const { signal, exitCode } = outcome;
  if (signal !== undefined && RERAISED_SIGNALS.has(signal)) {
    for (const l of process.listeners(signal)) process.removeListener(signal, l);
    try {
      process.kill(process.pid, signal);
    } catch {
      // fall through to the exit code
    }
    // if the signal does not end us (ignored by our parent's disposition), the code says it
    setTimeout(() => process.exit(exitCode), 1000);
    return;
  }
  process.exit(exitCode);
}

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
    .action(async (command: string, args: string[], options: RunCommandOptions) => {
      exitLike(await runCommand(command, args, options));
    });
}
