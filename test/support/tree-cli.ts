import { fileURLToPath } from 'node:url';
import { runProcess } from './process.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/tree/', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `starlog` CLI (src/cli/main.ts) on this Node; NO_COLOR unless env says otherwise. */
export function starlog(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: undefined,
    ...env,
  };
  for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k];
  return runProcess(process.execPath, [MAIN, ...args], { cwd: ROOT, env: fullEnv });
}
