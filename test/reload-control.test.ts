/**
 * Reload over the control channel: `starlog config reload` asks the primary recorded in the
 * working directory (same socket and token as `starlog level`); reload precedence equals start
 * precedence (code > file > defaults, STARLOG_LEVEL over the file); `starlog run` with a
 * configuration file reloads on SIGHUP and does not forward it; a stale record is reported, never
 * signalled.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { loadConfig } from '../src/config/load.ts';
import { ControlRefusal } from '../src/multiprocess/control/primary-control.ts';
import type { SetupOptions } from '../src/options.ts';
import { overlay } from '../src/setup/config-options.ts';
import { PrimaryReloader } from '../src/setup/primary-reload.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const PRIMARY = fileURLToPath(new URL('./fixtures/config-primary.ts', import.meta.url));
const WAITER = fileURLToPath(new URL('./fixtures/reload-waiter.ts', import.meta.url));

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-reload-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('STARLOG_') || k.startsWith('OTEL_') || k === 'NODE_OPTIONS') continue;
    if (k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function cli(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd, env: cleanEnv(), timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    void c;
  });
}

const CONFIG = `levels: 'info,app.db=warn'
status:
  enabled: false
exporters:
  file:
    path: out.jsonl
  console:
    enabled: false
`;

/** Starts fixtures/config-primary.ts in `cwd`; returns its line reader. */
async function startPrimary(cwd: string) {
  const child = spawn(process.execPath, [PRIMARY], {
    cwd,
    env: cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = String((await lines.next()).value);
  assert.match(first, /^ready /, `the primary did not start: ${stderr}`);
  const ask = async (): Promise<string> => {
    child.stdin!.write('log\n');
    return String((await lines.next()).value);
  };
  const stop = async () => {
    child.stdin!.end('stop\n');
    const [code] = await once(child, 'exit');
    return { code, stderr };
  };
  return { child, first, ask, stop };
}

describe('starlog config reload over the control channel', () => {
  test('a primary without a configuration file: it answers so, the CLI exits 1, the primary lives on', async () => {
    const cwd = mkdtempSync(join(dir, 'nofile-'));
    const p = await startPrimary(cwd);
    const r = await cli(['config', 'reload'], cwd);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /read no configuration file at start, so there is nothing to reload/);
    assert.match(await p.ask(), /^logged info$/, 'the primary still answers after the reload');
    const end = await p.stop();
    assert.equal(end.code, 0);
    assert.equal(existsSync(join(cwd, '.starlog', 'primary.json')), false);
  });

  test('with a configuration file: applied, reported, only changed keys need a restart', async () => {
    const cwd = mkdtempSync(join(dir, 'file-'));
    writeFileSync(join(cwd, 'starlog.config.yaml'), CONFIG);
    const p = await startPrimary(cwd);
    assert.equal(p.first, 'ready info,app.db=warn');
    writeFileSync(join(cwd, 'starlog.config.yaml'), CONFIG.replace('app.db=warn', 'app.db=debug'));
    const r = await cli(['config', 'reload'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /starlog\.config\.yaml reloaded by the primary \(pid \d+\): applied levels\n$/,
    );
    assert.equal(await p.ask(), 'logged info,app.db=debug');
    // an invalid file: refused with the loader's message, nothing changes
    writeFileSync(join(cwd, 'starlog.config.yaml'), 'status:\n  interval: 5x\n');
    const bad = await cli(['config', 'reload'], cwd);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /nothing changed: .*status\.interval/);
    assert.equal(await p.ask(), 'logged info,app.db=debug');
    assert.equal((await p.stop()).code, 0);
  });

  test('a stale record (its primary is gone) is reported as stale and nothing is signalled', async () => {
    const cwd = mkdtempSync(join(dir, 'stale-'));
    const gone = spawn(process.execPath, ['-e', '0']);
    await once(gone, 'exit');
    mkdirSync(join(cwd, '.starlog'), { mode: 0o700 });
    writeFileSync(
      join(cwd, '.starlog', 'primary.json'),
      JSON.stringify({
        endpoint: 'unix:///nonexistent/receiver.sock',
        token: 'ab'.repeat(16),
        pid: gone.pid,
        startedAt: new Date().toISOString(),
      }),
      { mode: 0o600 },
    );
    const r = await cli(['config', 'reload'], cwd);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`stale record: .*\\(pid ${gone.pid}, .*no longer running`));
    const f = await cli(['file', 'reopen'], cwd);
    assert.equal(f.code, 1);
    assert.match(f.stderr, /stale record/);
  });
});

describe('starlog run with a configuration file', () => {
  test('SIGHUP and `starlog config reload` reload it; the child survives (SIGHUP is not forwarded)', async () => {
    const cwd = mkdtempSync(join(dir, 'run-'));
    writeFileSync(join(cwd, 'starlog.config.yaml'), CONFIG);
    const run = spawn(
      process.execPath,
      [MAIN, 'run', '--config', 'starlog.config.yaml', '--', process.execPath, WAITER],
      { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    run.stdout!.on('data', (d) => {
      stdout += String(d);
    });
    run.stderr!.on('data', (d) => {
      stderr += String(d);
    });
    const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
      const deadline = Date.now() + 20_000;
      while (!(await ok())) {
        if (Date.now() > deadline)
          throw new Error(`${what} did not happen; stdout=${stdout} stderr=${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until('the child printed ready', () => stdout.includes('ready\n'));
    await until('the primary record appeared', () =>
      existsSync(join(cwd, '.starlog', 'primary.json')),
    );
    writeFileSync(join(cwd, 'starlog.config.yaml'), CONFIG.replace('app.db=warn', 'app.db=error'));
    run.kill('SIGHUP');
    await until('the SIGHUP reload applied app.db=error', async () => {
      const g = await cli(['level', 'get'], cwd);
      return g.stdout.trim() === 'info,app.db=error';
    });
    writeFileSync(join(cwd, 'starlog.config.yaml'), CONFIG.replace('app.db=warn', 'app.db=debug'));
    const r = await cli(['config', 'reload'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /applied levels/);
    assert.equal((await cli(['level', 'get'], cwd)).stdout.trim(), 'info,app.db=debug');
    assert.ok(!stdout.includes('SIGHUP'), `the child got a SIGHUP: ${stdout}`);
    assert.equal(run.exitCode, null, 'starlog run is still running');
    run.kill('SIGTERM');
    const [code, signal] = await once(run, 'exit');
    assert.deepEqual({ code, signal }, { code: null, signal: 'SIGTERM' });
    assert.ok(!stdout.includes('SIGHUP'), `the child got a SIGHUP: ${stdout}`);
    assert.equal(existsSync(join(cwd, '.starlog', 'primary.json')), false);
  });
});

describe('reload precedence equals start precedence', () => {
  async function reloader(
    file: string,
    yaml: string,
    code: SetupOptions,
    env: NodeJS.ProcessEnv = {},
  ) {
    writeFileSync(file, yaml);
    const loaded = await loadConfig({ file, env });
    assert.ok(loaded);
    const applied: unknown[] = [];
    const r = new PrimaryReloader({
      code,
      env,
      loaded,
      inForce: overlay(loaded.options, code),
      apply: (diff) => {
        applied.push(diff.apply);
        return [];
      },
    });
    return { r, applied };
  }
  const base = `levels: info
service:
  name: from-file
status:
  interval: 15s
  template: 'file template {TOTAL}'
exporters:
  file:
    path: out.jsonl
`;

  test('options given in code win over the file at reload as at start', async () => {
    const file = join(mkdtempSync(join(dir, 'prec-')), 'starlog.config.yaml');
    const code: SetupOptions = {
      levels: 'warn',
      serviceName: 'from-code',
      file: { path: '/tmp/from-code.jsonl' },
    };
    const { r } = await reloader(file, base, code);
    writeFileSync(
      file,
      base
        .replace('levels: info', 'levels: debug')
        .replace('from-file', 'renamed')
        .replace('out.jsonl', 'moved.jsonl'),
    );
    const answer = await r.reload();
    assert.deepEqual(answer.applied, []);
    assert.deepEqual(answer.needsRestart, [], 'nothing whose effective value changed');
  });

  test('a key removed from the file falls back to its start value (the default), not to the old file value', async () => {
    const file = join(mkdtempSync(join(dir, 'prec-')), 'starlog.config.yaml');
    const { r, applied } = await reloader(file, base, {});
    writeFileSync(file, base.replace(/ {2}template: .*\n/, ''));
    const answer = await r.reload();
    assert.deepEqual(answer.applied, ['status.template']);
    assert.deepEqual(answer.needsRestart, []);
    const last = applied.at(-1) as { status?: { template?: string } };
    assert.equal(last.status?.template, undefined, 'the default template again');
  });

  test('a key removed from the file falls back to the code option', async () => {
    const file = join(mkdtempSync(join(dir, 'prec-')), 'starlog.config.yaml');
    const { r, applied } = await reloader(file, base.replace('levels: info', 'levels: debug'), {
      status: { template: 'code {TOTAL}' },
    });
    writeFileSync(
      file,
      base.replace(/ {2}template: .*\n/, '').replace('interval: 15s', 'interval: 30s'),
    );
    const answer = await r.reload();
    assert.deepEqual(answer.applied, ['levels', 'status.interval']);
    const last = applied.at(-1) as { status?: { template?: string }; levels?: string };
    assert.equal(last.status?.template, 'code {TOTAL}');
    assert.equal(last.levels, 'info');
  });

  test('STARLOG_LEVEL wins over the file at reload as at start', async () => {
    const file = join(mkdtempSync(join(dir, 'prec-')), 'starlog.config.yaml');
    const { r } = await reloader(file, base, {}, { STARLOG_LEVEL: 'error' });
    writeFileSync(file, base.replace('levels: info', 'levels: debug'));
    const answer = await r.reload();
    assert.deepEqual(answer.applied, []);
  });

  test('no configuration file at start: FAILED_PRECONDITION', async () => {
    const r = new PrimaryReloader({
      code: {},
      env: {},
      loaded: undefined,
      inForce: {},
      apply: () => [],
    });
    await assert.rejects(r.reload(), (err: unknown) => {
      assert.ok(err instanceof ControlRefusal);
      assert.equal(err.code, status.FAILED_PRECONDITION);
      return true;
    });
  });
});
