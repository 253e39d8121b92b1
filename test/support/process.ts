/** Running a real process in a test: output collected, a deadline, no leftovers. */
import { spawn } from 'node:child_process';

/** What a finished process left. */
export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runProcess}. */
export interface RunProcessOptions {
  cwd?: string;
  /** The whole environment (default `process.env`); see {@link cleanEnv}. */
  env?: NodeJS.ProcessEnv;
  /** Deadline in ms (default 30,000); then the process (group) is killed and the run rejects. */
  timeoutMs?: number;
  /** Sends `signal` once stdout contains `readyText` (default `'ready\n'`), once. */
  signal?: NodeJS.Signals;
  readyText?: string;
  /**
   * Start the process in its own process group and kill the whole group at the deadline, so that
   * a grandchild left behind cannot keep the pipes open (default false).
   */
  group?: boolean;
  /** Written to stdin, which is then closed (default: stdin ignored). */
  input?: string;
}

/**
 * Runs `command args`, collecting stdout and stderr (utf8) until the process and its pipes close.
 * @throws Error naming the command and its output when it does not end within `timeoutMs`
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunProcessOptions = {},
): Promise<ProcessResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let stdout = '';
  let stderr = '';
  let signalled = false;
  const readyText = options.readyText ?? 'ready\n';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (options.signal && !signalled && stdout.includes(readyText)) {
      signalled = true;
      child.kill(options.signal);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (options.group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
      reject(
        new Error(
          `${[command, ...args].join(' ')} did not end within ${timeoutMs} ms; stdout=${stdout} stderr=${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * This process's environment without any primary's or collector's variables of the test run
 * itself (`STARLOG_*`, `OTEL_*`, `NODE_OPTIONS`, `NODE_TEST_CONTEXT`, `TRACEPARENT`), plus `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      k.startsWith('STARLOG_') ||
      k.startsWith('OTEL_') ||
      k === 'NODE_OPTIONS' ||
      k === 'NODE_TEST_CONTEXT' ||
      k === 'TRACEPARENT'
    )
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
