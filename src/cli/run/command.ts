import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';
import { diag, SeverityNumber } from '@opentelemetry/api';
import type { LoadedConfig } from '../../config/load.ts';
import { spawn } from '../../multiprocess/fork.ts';
import type { SetupOptions } from '../../options.ts';
import { RUN_SCOPE_NAME } from '../../semconv.ts';
import type { LoggingHandle } from '../../setup/handle.ts';
import { setupLogging } from '../../setup/setup-logging.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../../util/duration.ts';
import { childResource, defaultServiceName, OutputCapture } from './capture.ts';
import {
  nodeOptionsWithImport,
  type RunCommandOptions,
  type RunIo,
  type RunOutcome,
  registerModuleUrl,
  runSetupOptions,
} from './options.ts';
import { forwardSignals } from './signals.ts';

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
  let codeOptions: SetupOptions;
  let loaded: LoadedConfig | undefined;
  try {
    ({
      code: codeOptions,
      loaded,
      effective: setup,
    } = await runSetupOptions(command, args, options, startEnv));
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
    handle = await setupLogging(codeOptions);
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
  const removeListeners = forwardSignals({
    child: () => child,
    childEnded: () => childEnded,
    hurry: () => hurry(),
    stdinIsTerminal: isatty(0),
    handlesSighup: handle.role === 'primary' && loaded !== undefined,
  });

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

/** How long the child's output pipes may stay open after it exited (a grandchild holding them). */
const OUTPUT_GRACE_MS = 2000;

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
