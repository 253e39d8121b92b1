/**
 * `starlog level get` / `starlog level set SPEC...`: show or change the level table of a running
 * primary, which passes every change on to all its children (and their children).
 *
 * Which primary: `--endpoint` (with `--token`, else `STARLOG_TOKEN`), else `STARLOG_ENDPOINT`
 * and `STARLOG_TOKEN` from the environment (a shell started by `starlog run` has them), else the
 * primary recorded for the current directory (`.starlog/primary.json`, see `primary-record.ts`).
 */
import type { Writable } from 'node:stream';
import { type Command, InvalidArgumentError } from 'commander';
import { getLevels, setLevels } from '../multiprocess/control/level-client.ts';
import { readPrimaryRecord } from '../multiprocess/control/primary-record.ts';
import type { LevelState } from '../multiprocess/protocol/level-control.ts';

/** Options shared by `level get` and `level set` (commander's camelCase names). */
export interface LevelConnectOptions {
  /** the primary's receiver target */
  endpoint?: string;
  /** the receiver token (hex) */
  token?: string;
  /** deadline of the call, ms; default 5000 */
  timeout?: number;
  /** print `{ endpoint, spec, version }` as JSON instead of the bare spec */
  json?: boolean;
}

/** Options of `level set`. */
export interface LevelSetOptions extends LevelConnectOptions {
  /** the spec replaces the whole table instead of being merged into it */
  replace?: boolean;
  /** logger patterns whose rules are removed */
  unset?: string[];
}

/** Where `starlog level` reads and writes (injectable for tests). */
export interface LevelIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const defaultIo = (): LevelIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});

async function resolvePrimary(
  options: LevelConnectOptions,
  io: LevelIo,
): Promise<{ endpoint: string; token: string } | { error: string }> {
  const envEndpoint = io.env.STARLOG_ENDPOINT?.trim();
  const envToken = io.env.STARLOG_TOKEN?.trim();
  if (options.endpoint !== undefined) {
    const token = options.token ?? envToken;
    if (!token) {
      return { error: `no token for ${options.endpoint}: pass --token or set STARLOG_TOKEN` };
    }
    return { endpoint: options.endpoint, token };
  }
  if (envEndpoint) {
    const token = options.token ?? envToken;
    if (!token) {
      return { error: `STARLOG_ENDPOINT is set but STARLOG_TOKEN is not: pass --token` };
    }
    return { endpoint: envEndpoint, token };
  }
  const found = await readPrimaryRecord(io.cwd);
  if (!found.ok) return { error: found.reason };
  return { endpoint: found.record.endpoint, token: options.token ?? found.record.token };
}

function print(state: LevelState, endpoint: string, options: LevelConnectOptions, io: LevelIo) {
  io.stdout.write(
    options.json === true ? `${JSON.stringify({ endpoint, ...state })}\n` : `${state.spec}\n`,
  );
}

/**
 * Runs `starlog level get` (`specs` undefined) or `starlog level set SPECS...`. Never throws.
 * The specs are joined with commas: `set info app.db=debug` = `set info,app.db=debug`.
 *
 * @returns the exit code: 0, or 1 with a one-line message on stderr (no primary, refused token,
 *   invalid change naming the bad entry, timeout)
 */
export async function runLevel(
  specs: string[] | undefined,
  options: LevelSetOptions,
  io: LevelIo = defaultIo(),
): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`starlog level: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  };
  const primary = await resolvePrimary(options, io);
  if ('error' in primary) return fail(primary.error);
  const where = { endpoint: primary.endpoint, token: primary.token, timeoutMs: options.timeout };
  try {
    if (specs === undefined) {
      print(await getLevels(where), primary.endpoint, options, io);
    } else {
      const spec = specs.join(',');
      const unset = options.unset ?? [];
      if (spec.trim() === '' && unset.length === 0) {
        return fail('nothing to set: give entries like app.db=debug (or --unset PATTERN)');
      }
      const state = await setLevels({ ...where, spec, replace: options.replace === true, unset });
      print(state, primary.endpoint, options, io);
    }
    return 0;
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function connectOptions(command: Command): Command {
  return command
    .option(
      '--endpoint <target>',
      "the primary's receiver, e.g. unix:///tmp/starlog-x/receiver.sock",
    )
    .option('--token <hex>', 'the receiver token (default: STARLOG_TOKEN or the primary record)')
    .option('--timeout <ms>', 'deadline of the call in ms', positiveInt, 5000)
    .option('--json', 'print {"endpoint","spec","version"} as JSON');
}

/**
 * Adds `starlog level get` and `starlog level set` to a commander program.
 *
 * @returns the `level` command
 */
export function registerLevel(program: Command): Command {
  const level = program
    .command('level')
    .description(
      'show or change the level table of a running primary and all its children (at run time)',
    );
  connectOptions(
    level.command('get').description("print the primary's level table, e.g. info,app.db=debug"),
  ).action(async (options: LevelConnectOptions) => {
    process.exitCode = await runLevel(undefined, options);
  });
  connectOptions(
    level
      .command('set')
      .description(
        'change the level table: entries are merged into it (a bare level sets the default, pattern=level sets one rule); --replace replaces it',
      )
      .argument(
        '[spec...]',
        'entries like info, app.db=debug, app.*=warn (comma or space separated)',
      )
      .option('--replace', 'the entries become the whole table (the default is info unless given)')
      .option('--unset <pattern...>', 'remove the rules for these patterns'),
  ).action(async (specs: string[], options: LevelSetOptions) => {
    process.exitCode = await runLevel(specs, options);
  });
  return level;
}
