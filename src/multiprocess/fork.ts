/**
 * `fork()` and `spawn()`: thin wrappers over `node:child_process` that give the child the
 * environment it needs to log under starlog — the primary's child environment (the receiver's
 * `STARLOG_*`/`OTEL_EXPORTER_OTLP_LOGS_*` variables, see {@link setChildEnvironment}) and the
 * active task as `TRACEPARENT`/`TRACESTATE` (OpenTelemetry environment-variable carrier).
 */

import type {
  ChildProcess,
  ForkOptions,
  SpawnOptions,
  SpawnOptionsWithoutStdio,
} from 'node:child_process';
import * as childProcess from 'node:child_process';
import { taskEnv } from '../tasks/propagation.ts';

let childEnvironment: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Sets the variables every child started through {@link fork}/{@link spawn} gets on top of its
 * base environment (e.g. the receiver's `receiver.env`); `undefined` clears them. Called by
 * `setupLogging()` in the primary.
 */
export function setChildEnvironment(vars: Readonly<Record<string, string>> | undefined): void {
  childEnvironment = Object.freeze({ ...(vars ?? {}) });
}

/** The variables set by {@link setChildEnvironment}. */
export function getChildEnvironment(): Readonly<Record<string, string>> {
  return childEnvironment;
}

/**
 * The environment for a child: `base` (default `process.env`), then the variables of
 * {@link setChildEnvironment} (they win over `base`), then `TRACEPARENT`/`TRACESTATE` for a new
 * slot of the active task (only if a task is active; otherwise `base`'s values are kept).
 * `base` is not modified.
 */
export function childEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return taskEnv({ ...base, ...childEnvironment });
}

/**
 * `child_process.fork()` with the environment of {@link childEnv} (`options.env` is the base,
 * default `process.env`). Same arguments and result as `child_process.fork`; throws what it
 * throws.
 */
export function fork(modulePath: string | URL, options?: ForkOptions): ChildProcess;
export function fork(
  modulePath: string | URL,
  args?: readonly string[],
  options?: ForkOptions,
): ChildProcess;
export function fork(
  modulePath: string | URL,
  argsOrOptions?: readonly string[] | ForkOptions,
  maybeOptions?: ForkOptions,
): ChildProcess {
  const [args, options] = splitArgs<ForkOptions>(argsOrOptions, maybeOptions);
  return childProcess.fork(modulePath, args, { ...options, env: childEnv(options.env) });
}

/**
 * `child_process.spawn()` with the environment of {@link childEnv} (`options.env` is the base,
 * default `process.env`). Same arguments and result as `child_process.spawn`; throws what it
 * throws.
 */
export function spawn(command: string, options?: SpawnOptions): ChildProcess;
export function spawn(
  command: string,
  args?: readonly string[],
  options?: SpawnOptions | SpawnOptionsWithoutStdio,
): ChildProcess;
export function spawn(
  command: string,
  argsOrOptions?: readonly string[] | SpawnOptions,
  maybeOptions?: SpawnOptions,
): ChildProcess {
  const [args, options] = splitArgs<SpawnOptions>(argsOrOptions, maybeOptions);
  return childProcess.spawn(command, args, { ...options, env: childEnv(options.env) });
}

function splitArgs<O extends { env?: NodeJS.ProcessEnv }>(
  argsOrOptions: readonly string[] | O | undefined,
  maybeOptions: O | undefined,
): [readonly string[], O] {
  if (Array.isArray(argsOrOptions)) return [argsOrOptions, maybeOptions ?? ({} as O)];
  return [[], (argsOrOptions as O | undefined) ?? maybeOptions ?? ({} as O)];
}
