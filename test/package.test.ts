/**
 * The package as a consumer gets it: `npm pack` (the `dist/` that `npm test` built first), the
 * tarball installed into a fresh temp project with npm (from npm's cache, the registry when a
 * package is not cached), then imported from ESM and CommonJS, its bin run through `npx`,
 * `-r starlog/register` refused with a clear message, and a consumer file type-checked with
 * `skipLibCheck: false` under `module: nodenext` (ESM and CommonJS files) and `module: commonjs`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPE_ROOTS = join(ROOT, 'node_modules', '@types');

let dir: string;
/** The environment of every command: this Node first on PATH, nothing of starlog's or npm's run. */
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], timeoutMs = 90_000) {
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', timeout: timeoutMs });
  const what = `${cmd} ${args.join(' ')}`;
  assert.ok(r.error === undefined, `${what} could not run or timed out: ${r.error?.message}`);
  return { what, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: string[], timeoutMs?: number): string {
  const r = run(cmd, args, timeoutMs);
  assert.equal(r.code, 0, `${r.what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'index.js')), 'dist/ missing: npm test builds it first');
  dir = mkdtempSync(join(tmpdir(), 'starlog-package-test-'));
  env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('STARLOG_') || k.startsWith('OTEL_') || k.startsWith('npm_')) continue;
    if (k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
  // no prepare here: `npm test` built dist/ already, and other test files are reading it
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {
    cwd: ROOT,
    env,
    stdio: 'ignore',
  });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote no tarball');
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  const install = run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', `./${tarball}`],
    180_000,
  );
  assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.stderr}`);
  assert.doesNotMatch(install.stderr, /EBADENGINE/, 'engine warnings on a supported Node');
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the packed package, installed in a fresh project', () => {
  test('ships dist/ (JavaScript and declarations) and the bin', () => {
    for (const file of ['index.js', 'index.d.ts', 'register.js', 'register.cjs', 'cli/main.js']) {
      assert.ok(existsSync(join(dir, 'node_modules/starlog/dist', file)), `dist/${file} shipped`);
    }
  });

  test('imports from ESM and requires from CommonJS', () => {
    const esm = ok(process.execPath, [
      '--input-type=module',
      '-e',
      `import * as s from 'starlog'; console.log(typeof s.setupLogging, typeof s.getLogger, typeof s.LookbackProcessor)`,
    ]);
    assert.equal(esm.trim(), 'function function function');
    const cjs = ok(process.execPath, [
      '-e',
      `const s = require('starlog'); console.log(typeof s.setupLogging, typeof s.getLogger, typeof s.count)`,
    ]);
    assert.equal(cjs.trim(), 'function function function');
  });

  test('npx starlog --help', () => {
    const out = ok('npx', ['--no-install', 'starlog', '--help']);
    assert.match(out, /Usage: starlog/);
    for (const command of ['run', 'tree', 'level'])
      assert.match(out, new RegExp(`\\b${command}\\b`));
  });

  test('-r starlog/register says to use --import, and the application runs', () => {
    const r = run(process.execPath, ['-r', 'starlog/register', '-e', 'console.log("app ran")']);
    assert.equal(r.code, 0, `the application failed: ${r.stderr}`);
    assert.equal(r.stdout, 'app ran\n');
    assert.match(r.stderr, /starlog\/register: logging is off: .*--import starlog\/register/);
  });

  test('--import starlog/register sets up logging (a primary: the JSON-lines file)', () => {
    const r = run(process.execPath, [
      '--import',
      'starlog/register',
      '--input-type=module',
      '-e',
      `import { getLogger } from 'starlog'; getLogger('app').info('from the package'); console.log('app ran')`,
    ]);
    assert.equal(r.code, 0, `the application failed: ${r.stderr}`);
    assert.equal(r.stdout.split('\n').filter((l) => l === 'app ran').length, 1, r.stdout);
    assert.doesNotMatch(r.stderr, /logging is off/);
  });

  const consumer = `
import { count, getLogger, inc, type LoadedConfig, loadConfigSync, LookbackProcessor,
  type LookbackOptions, type SetupOptions, setupLogging, StatusProcessor } from 'starlog';
import { handle } from 'starlog/register';
const options: SetupOptions = { lookback: { holdSeverity: 'debug', hold: 'debug,app.sql=info' }, console: false };
const lookback: LookbackOptions = { capacity: 10, holdUntraced: false };
const loaded: LoadedConfig | undefined = loadConfigSync({ cwd: '.' });
const maxAge: number | undefined = loaded?.config.lookback?.maxAge;
getLogger('app').info(inc('requests'), 'hello %s', 'world');
count('requests');
void [options, lookback, maxAge, handle, setupLogging, LookbackProcessor, StatusProcessor];
`;

  function typecheck(files: string[], module: 'nodenext' | 'commonjs'): void {
    const config = `tsconfig.${module}.json`;
    writeFileSync(
      join(dir, config),
      JSON.stringify({
        compilerOptions: {
          module,
          ...(module === 'nodenext' ? { moduleResolution: 'nodenext' } : {}),
          target: 'es2022',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          typeRoots: [TYPE_ROOTS],
          types: ['node'],
        },
        files,
      }),
    );
    const r = run(process.execPath, [TSC, '-p', config], 120_000);
    assert.equal(
      r.code,
      0,
      `tsc (${module}, ${files.join(' ')}) found errors:\n${r.stdout}${r.stderr}`,
    );
  }

  test('type-checks with skipLibCheck false: module nodenext (ESM and CommonJS files)', () => {
    writeFileSync(join(dir, 'consumer.mts'), consumer);
    writeFileSync(join(dir, 'consumer.cts'), consumer);
    typecheck(['consumer.mts', 'consumer.cts'], 'nodenext');
  });

  test('type-checks with skipLibCheck false: module commonjs', () => {
    writeFileSync(join(dir, 'consumer.ts'), consumer);
    typecheck(['consumer.ts'], 'commonjs');
  });
});
