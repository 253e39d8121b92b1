/**
 * Every way a primary can end (fixtures/primary-exit-app.ts, a real process): a single-process
 * application set up in code, the same under `node --import starlog/register`, and a primary with
 * 4 children. After 2,000 INFO records and a FATAL, all 2,001 must be in the JSON-lines file, the
 * FATAL on the console (stdout), and the exit code, signal and stderr must equal those of the same
 * application without starlog.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fileBodies } from './support/jsonl.ts';
import { cleanEnv, type ProcessResult, runProcess } from './support/process.ts';

const APP = fileURLToPath(new URL('./fixtures/primary-exit-app.ts', import.meta.url));
const REGISTER_SRC = new URL('../src/register.ts', import.meta.url).href;
const N = 2000;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-primary-exit-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function runApp(
  mode: string,
  opts: { cwd: string; env: Record<string, string>; register?: boolean; signal?: NodeJS.Signals },
): Promise<ProcessResult> {
  const args = opts.register ? ['--import', REGISTER_SRC, APP, mode] : [APP, mode];
  return runProcess(process.execPath, args, {
    cwd: opts.cwd,
    env: cleanEnv({ NO_COLOR: '1', ...opts.env }),
    signal: opts.signal,
    timeoutMs: 60_000,
  });
}

function assertAll(bodies: string[], expected: string[]): void {
  const seen = new Set(bodies);
  const missing = expected.filter((b) => !seen.has(b));
  assert.equal(
    missing.length,
    0,
    `${missing.length} of ${expected.length} records missing from the file (first: ${missing.slice(0, 3).join(', ')})`,
  );
}

const own = [...Array.from({ length: N }, (_, i) => `r ${i}`), 'config missing'];

const PATHS: { mode: string; signal?: NodeJS.Signals }[] = [
  { mode: 'dry' },
  { mode: 'exit' },
  { mode: 'exitCode' },
  { mode: 'throw' },
  { mode: 'reject' },
  { mode: 'signal', signal: 'SIGTERM' },
  { mode: 'signal', signal: 'SIGINT' },
];

const REGISTER_CONFIG = `status:
  enabled: false
exporters:
  file:
    path: out.jsonl
  console:
    minimumSeverity: fatal
`;

for (const variant of ['setupLogging', 'register'] as const) {
  describe(`primary exit paths (${variant})`, { concurrency: 2 }, () => {
    for (const p of PATHS) {
      const name = p.signal ?? p.mode;
      test(`${name}: 2,001 records in the file, FATAL on the console, ending as without starlog`, async () => {
        const cwd = mkdtempSync(join(dir, `${variant}-${name}-`));
        const file = join(cwd, 'out.jsonl');
        const register = variant === 'register';
        if (register) writeFileSync(join(cwd, 'starlog.config.yaml'), REGISTER_CONFIG);
        const env = {
          N: String(N),
          LOG_FILE: file,
          ...(register ? { STARLOG_TEST_REGISTER: '1' } : {}),
        };
        const on = await runApp(p.mode, { cwd, env, register, signal: p.signal });
        const off = await runApp(p.mode, {
          cwd,
          env: { ...env, STARLOG_TEST_DISABLED: '1' },
          signal: p.signal,
        });
        assert.deepEqual(
          { code: on.code, signal: on.signal, stderr: on.stderr },
          { code: off.code, signal: off.signal, stderr: off.stderr },
        );
        assertAll(fileBodies(file), own);
        assert.match(on.stdout, /FATAL .*config missing/);
        assert.equal(
          existsSync(join(cwd, '.starlog', 'primary.json')),
          false,
          '.starlog/primary.json was left behind',
        );
      });
    }
  });
}

describe('primary with 4 children: records already received are written on every exit path', {
  concurrency: 2,
}, () => {
  for (const p of PATHS) {
    const name = p.signal ?? p.mode;
    test(name, async () => {
      const cwd = mkdtempSync(join(dir, `children-${name}-`));
      const file = join(cwd, 'out.jsonl');
      const r = await runApp(p.mode, {
        cwd,
        env: { N: String(N), LOG_FILE: file, CHILDREN: '4' },
        signal: p.signal,
      });
      assert.ok(r.code !== null || r.signal !== null);
      const expected = [...own];
      for (let c = 0; c < 4; c++) for (let i = 0; i < N; i++) expected.push(`c${c} ${i}`);
      assertAll(fileBodies(file), expected);
    });
  }
});

describe('lookback at exit follows its onShutdown on every path', { concurrency: 2 }, () => {
  for (const p of PATHS.filter((x) => x.signal !== 'SIGINT')) {
    for (const onShutdown of ['flush', 'drop'] as const) {
      const name = p.signal ?? p.mode;
      test(`${name}, onShutdown ${onShutdown}`, async () => {
        const cwd = mkdtempSync(join(dir, `lookback-${name}-${onShutdown}-`));
        const file = join(cwd, 'out.jsonl');
        await runApp(p.mode, {
          cwd,
          env: { N: '100', LOG_FILE: file, LOOKBACK: onShutdown },
          signal: p.signal,
        });
        const bodies = fileBodies(file);
        const held = bodies.filter((b) => /^held \d$/.test(b));
        assert.equal(
          held.length,
          onShutdown === 'flush' ? 5 : 0,
          `held records: ${held.join(', ')}`,
        );
        assert.ok(bodies.includes('config missing'));
      });
    }
  }
});
