/**
 * A hung primary under `starlog run --register` (issue 11 item 4 through the command and
 * `--import starlog/register`, not `setupLogging()` in code): `starlog run` is the primary and is
 * stopped with SIGSTOP; its child, whose logging comes only from `--import starlog/register`,
 * logs and lets its event loop run dry. The child must end within its `shutdownTimeoutMs` (the
 * default 5 s: a register'ed child reads no configuration) with every record handed off or
 * counted; once the primary resumes, every record is in its file exactly once (the requests
 * that were in flight at the hang and the hand-off file carry the same batch ids).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LoggingStats } from '../src/setup/handle.ts';
import { fileBodies } from './support/jsonl.ts';
import { cleanEnv } from './support/process.ts';
import { childDrops } from './support/reliability-children.ts';
import { quietRunArgs } from './support/starlog-run.ts';
import { until, within } from './support/wait.ts';

const APP = fileURLToPath(new URL('./fixtures/run-dry-app.ts', import.meta.url));
/** the default shutdownTimeoutMs (DEFAULT_SHUTDOWN_TIMEOUT_MS) */
const SHUTDOWN_MS = 5000;
/** Start-up, scheduling on a shared machine; the unbounded path took 30 s and more. */
const MARGIN_MS = 4500;
const RECORDS = 2000;

/** Whether a process has ended (gone, or a zombie its stopped parent has not reaped yet). */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

test('starlog run --register: a child whose event loop runs dry while starlog run is hung ends within shutdownTimeoutMs; after the resume every record is in the file once', {
  skip: process.platform !== 'linux' ? 'needs SIGSTOP and /proc (Linux)' : false,
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'starlog-hung-run-'));
  const logFile = join(dir, 'out.jsonl');
  const run = spawn(
    process.execPath,
    quietRunArgs(logFile, ['--register'], [process.execPath, APP]),
    {
      cwd: dir,
      env: cleanEnv({ DRY_DIR: dir, DRY_RECORDS: String(RECORDS) }),
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  let stderr = '';
  run.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const runExit = new Promise<number | null>((resolve) => run.on('exit', resolve));
  try {
    const ready = join(dir, 'ready');
    await until(() => existsSync(ready) && readFileSync(ready, 'utf8') !== '', {
      what: `the child of starlog run to set up logging (${ready}); stderr: ${stderr}`,
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const pid = Number(readFileSync(ready, 'utf8'));
    run.kill('SIGSTOP');
    const t0 = performance.now();
    process.kill(pid, 'SIGUSR2');
    await until(() => ended(pid), {
      what: `the child (pid ${pid}) to end after its event loop ran dry, starlog run hung`,
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const ms = performance.now() - t0;
    const stats = JSON.parse(readFileSync(join(dir, 'stats'), 'utf8')) as LoggingStats;
    const s = stats.destinations.primary as NonNullable<LoggingStats['destinations']['primary']>;
    console.log(
      `# the child ended ${ms.toFixed(0)} ms after logging; exported ${s.exported} (hand-off included), dropped ${stats.dropped}`,
    );
    assert.ok(
      ms < SHUTDOWN_MS + MARGIN_MS,
      `the child took ${ms.toFixed(0)} ms, more than shutdownTimeoutMs ${SHUTDOWN_MS} + ${MARGIN_MS} ms`,
    );
    assert.equal(s.pending, 0, 'nothing left pending');
    assert.equal(s.exported + childDrops(s), RECORDS, 'sent = exported + counted drops');
    run.kill('SIGCONT');
    const code = await within(runExit, {
      what: 'starlog run to end after its child, once resumed',
      timeoutMs: 60_000,
    });
    assert.equal(code, 0, stderr);
    const bodies = fileBodies(logFile).filter((b) => b.startsWith('dry:'));
    const unique = new Set(bodies).size;
    console.log(`# in the file: ${bodies.length} records (${unique} distinct) of ${RECORDS}`);
    assert.equal(unique, s.exported, 'every record the child handed over is in the file');
    assert.equal(bodies.length, unique, 'no record written twice');
  } finally {
    run.kill('SIGCONT');
    run.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
