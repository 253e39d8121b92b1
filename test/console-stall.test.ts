/**
 * A console on a pseudo-terminal that stops reading for 10 s (python3's pty module,
 * fixtures/pty-stall.py): the primary's receiver answers level-control calls throughout, its
 * event loop is never blocked for long, and the lines that did not fit the bounded buffer are
 * dropped and counted. Skipped with a notice where python3 is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getLevels } from '../src/multiprocess/control/level-client.ts';

const PTY = fileURLToPath(new URL('./fixtures/pty-stall.py', import.meta.url));
const PRIMARY = fileURLToPath(new URL('./fixtures/pty-console-primary.ts', import.meta.url));

test('a terminal that stops reading for 10 s never blocks the primary; drops are counted', async (t) => {
  try {
    execFileSync('python3', ['-c', 'import pty'], { stdio: 'pipe' });
  } catch {
    t.skip('python3 with the pty module is not available; console stall test not run');
    process.stderr.write('NOTICE console-stall: no python3 pty, test skipped\n');
    return;
  }
  const cwd = mkdtempSync(join(tmpdir(), 'starlog-pty-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('STARLOG_') && !k.startsWith('OTEL_') && k !== 'NODE_TEST_CONTEXT')
      env[k] = v;
  const py = spawn('python3', [PTY, process.execPath, PRIMARY], {
    cwd,
    env: { ...env, STALL: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  py.stdout!.on('data', (d) => {
    out += String(d);
  });
  py.stderr!.on('data', (d) => {
    err += String(d);
  });
  const until = async (what: string, ok: () => boolean, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen; out=${out} err=${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await until('the stall began', () => out.includes('stalled\n'));
    const recordFile = join(cwd, '.starlog', 'primary.json');
    await until('the primary record appeared', () => existsSync(recordFile));
    const record = JSON.parse(readFileSync(recordFile, 'utf8'));
    let answers = 0;
    let slowest = 0;
    while (!out.includes('resumed\n')) {
      const t0 = Date.now();
      const state = await getLevels({
        endpoint: record.endpoint,
        token: record.token,
        timeoutMs: 3000,
      });
      slowest = Math.max(slowest, Date.now() - t0);
      assert.equal(state.spec, 'info');
      answers++;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(answers >= 10, `the receiver answered ${answers} times during the stall`);
    process.kill(record.pid, 'SIGTERM');
    await until('python saw the primary end', () => /exit 0\n/.test(out));
    const stats = JSON.parse(err.split('\n').find((l) => l.startsWith('{"maxLagMs"')) ?? 'null');
    assert.ok(stats, `no stats line: ${err}`);
    assert.equal(stats.console.mode, 'nonblocking');
    assert.ok(stats.console.droppedRecords > 0, 'lines that did not fit were dropped');
    assert.ok(stats.dropped >= stats.console.droppedRecords, 'and counted in stats().dropped');
    assert.ok(stats.console.bufferedBytes <= 1024 * 1024, 'the buffer stayed within its bound');
    // the issue measured 10.7 s of a 12 s stall blocked; a shared machine adds scheduling noise
    assert.ok(stats.maxLagMs < 2000, `event loop blocked ${stats.maxLagMs} ms`);
    t.diagnostic(
      `answers during the stall: ${answers}, slowest ${slowest} ms; longest event-loop lag ${Math.round(stats.maxLagMs)} ms; ${stats.console.droppedRecords} of ${stats.emitted} records dropped`,
    );
  } finally {
    py.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
});
