/**
 * `node --import starlog/register app`: logging from the configuration file and the environment
 * with no code change, in a process that is alone (it becomes a primary). The child case (under
 * `starlog run --register`) is in run.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, type ProcessResult, runProcess } from './support/process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REGISTER_SRC = new URL('../src/register.ts', import.meta.url).href;
const OTEL_CHILD = fileURLToPath(new URL('./fixtures/run-otel-child.ts', import.meta.url));

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-register-test-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runNode(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; signal?: NodeJS.Signals },
): Promise<ProcessResult> {
  return runProcess(process.execPath, args, {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    signal: opts.signal,
    group: true,
  });
}

/** A working directory with a starlog.config.yaml that writes to `<dir>/out.jsonl`. */
function project(name: string, config: string): string {
  const cwd = join(dir, name);
  execFileSync('mkdir', ['-p', cwd]);
  writeFileSync(join(cwd, 'starlog.config.yaml'), config);
  return cwd;
}

const CONFIG = `service:
  name: registered-app
status:
  enabled: false
exporters:
  file:
    path: out.jsonl
  console:
    enabled: false
`;

function fileRecords(file: string): { body: string; role: string; service: string }[] {
  const out: { body: string; role: string; service: string }[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of JSON.parse(line).resourceLogs) {
      const a = Object.fromEntries(
        rl.resource.attributes.map((x: { key: string; value: { stringValue?: string } }) => [
          x.key,
          x.value.stringValue,
        ]),
      );
      for (const sl of rl.scopeLogs) {
        for (const r of sl.logRecords) {
          out.push({
            body: r.body.stringValue,
            role: a['starlog.role'],
            service: a['service.name'],
          });
        }
      }
    }
  }
  return out;
}

describe('starlog/register in a process of its own (a primary)', () => {
  test('the configuration file applies; the records are written when the event loop ends', async () => {
    const cwd = project('normal', CONFIG);
    const r = await runNode(['--import', REGISTER_SRC, OTEL_CHILD], { cwd, env: { N: '5' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const records = fileRecords(join(cwd, 'out.jsonl'));
    assert.deepEqual(
      records.map((x) => x.body),
      ['record 0', 'record 1', 'record 2', 'record 3', 'record 4'],
    );
    assert.ok(records.every((x) => x.role === 'primary' && x.service === 'registered-app'));
  });

  test('SIGTERM without an application handler: written, then the process ends by SIGTERM', async () => {
    const cwd = project('sigterm', CONFIG);
    const r = await runNode(['--import', REGISTER_SRC, OTEL_CHILD], {
      cwd,
      env: { N: '20', END: 'wait' },
      signal: 'SIGTERM',
    });
    assert.equal(r.signal, 'SIGTERM', r.stderr);
    assert.equal(fileRecords(join(cwd, 'out.jsonl')).length, 20);
  });

  test('an invalid configuration: one clear message per problem, the application runs on', async () => {
    const cwd = project('bad', 'status:\n  interval: 5x\n');
    const r = await runNode(['--import', REGISTER_SRC, OTEL_CHILD], { cwd });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /emitted 3/);
    // the wording after "expected" is the config loader's (its own tests snapshot it)
    assert.match(
      r.stderr,
      /^starlog\/register: logging is off: starlog\.config\.yaml:2:13: status\.interval: expected a duration [^\n]*, got "5x"\n$/,
    );
    assert.equal(existsSync(join(cwd, 'logs')), false);
  });

  test('the built package entry: node --import starlog/register', async () => {
    // Node.js does not strip types under node_modules: installed, the .js build is what loads
    if (!existsSync(join(ROOT, 'dist', 'register.js'))) {
      // the JavaScript of `npm run build` (the declarations are not needed here)
      execFileSync(process.execPath, [join(ROOT, 'scripts/build-dist.ts')], { cwd: ROOT });
    }
    const cwd = project('built', CONFIG);
    const specifier = import.meta.resolve('starlog/register');
    assert.match(specifier, /\/dist\/register\.js$/);
    const r = await runNode(['--import', specifier, OTEL_CHILD], { cwd, env: { N: '2' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fileRecords(join(cwd, 'out.jsonl')).length, 2);
  });
});
