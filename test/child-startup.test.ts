/**
 * What a process loads at start-up (issue 11 item 1: 100 short-lived children started at once
 * spent most of their time loading ~670 modules each). A real child under a real receiver, with
 * `setupLogging()` from the public entry and with `--import starlog/register`, must not load the
 * configuration parser (zod, yaml), the receiver, the primary's set-up, the views, the tree viewer
 * or the CLI; a single-process application without a configuration file must not load zod or yaml.
 * The loaded modules are recorded by test/fixtures/module-census.ts (a `module.registerHooks`
 * load hook). Until its first record a child loads no gRPC (issue 13: `@grpc/grpc-js` and the
 * official OTLP/gRPC exporter base, ~100 ms CPU, are loaded at the first gRPC export), and one
 * on the primary's machine that logs a record and ends (`shutdown()`, or the event loop running
 * dry) hands it over in a hand-off file and never loads them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { CountingProcessor } from './support/collect.ts';
import { cleanEnv, runProcess } from './support/process.ts';
import { until } from './support/wait.ts';

const NODE = process.execPath;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const CENSUS = fixture('module-census.ts');
const APP = fixture('startup-app.ts');
const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));
const SRC = new URL('../src/', import.meta.url).href;
const DIST = new URL('../dist/', import.meta.url).href;
/**
 * Files of starlog's own a child loads from the built package, a bundle (scripts/build-dist.ts):
 * 25 when this test was written (an entry and its chunks; ~110 unbundled); a margin for new
 * chunks.
 */
const CHILD_OWN_FILES_CEILING = 40;

/** Packages and starlog modules a child must not load (a prefix of the module URL). */
const NOT_IN_A_CHILD = [
  '/node_modules/zod/',
  '/node_modules/yaml/',
  // the official exporter's serializers (and through them the metrics SDK): a child sends bytes
  // it encoded itself and reads the response with src/otlp/logs-response.ts
  '/node_modules/@opentelemetry/otlp-transformer/',
  '/node_modules/@opentelemetry/sdk-metrics/',
  '/node_modules/@opentelemetry/exporter-logs-otlp-grpc/',
  `${SRC}config/load.ts`,
  `${SRC}config/schema.ts`,
  `${SRC}multiprocess/receiver/receiver.ts`,
  `${SRC}multiprocess/receiver/logs-service.ts`,
  `${SRC}setup/primary.ts`,
  `${SRC}setup/destinations.ts`,
  `${SRC}view/`,
  `${SRC}tree/`,
  `${SRC}cli/`,
];
/**
 * Modules a child loaded when this test was written: 443 (672 before); 361 without
 * otlp-transformer and sdk-metrics; a margin for upgrades.
 */
const CHILD_MODULE_CEILING = 400;
/**
 * Modules a child of the built package loads, all told (issue 13, round 20): 177 (283 with gRPC
 * loaded at start-up); a margin for upgrades.
 */
const CHILD_DIST_MODULE_CEILING = 200;

/**
 * What a child may load only at its first gRPC export, not at start-up (src/export/
 * otlp-bytes-exporter.ts loads them; the level and control clients load at their first call).
 * These children log one record and end: they hand it over in a file (the receivers here have
 * a hand-off directory) and load none of them at all.
 */
const NOT_BEFORE_FIRST_EXPORT = [
  '/node_modules/@grpc/grpc-js/',
  '/node_modules/@opentelemetry/otlp-grpc-exporter-base/',
  '/node_modules/@opentelemetry/otlp-exporter-base/',
];

function census(stderr: string): { modules: string[]; cpuMs: number; atFirstRecord: string[] } {
  const lines = stderr.split('\n');
  const line = lines.find((l) => l.startsWith('modules '));
  assert.ok(line, `the census printed no module list; stderr:\n${stderr}`);
  const first = lines.find((l) => l.startsWith('modules-at-first-record '));
  assert.ok(first, `the application marked no first record; stderr:\n${stderr}`);
  const cpu = /cpu-ms ([\d.]+)/.exec(stderr);
  return {
    modules: JSON.parse(line.slice(8)) as string[],
    cpuMs: Number(cpu?.[1]),
    atFirstRecord: JSON.parse(first.slice('modules-at-first-record '.length)) as string[],
  };
}

function forbidden(modules: string[], prefixes: readonly string[]): string[] {
  return modules.filter((url) => prefixes.some((p) => url.includes(p)));
}

let dir: string;
before(() => {
  // a working directory without a configuration file
  dir = mkdtempSync(join(tmpdir(), 'starlog-startup-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('start-up: what a process loads', () => {
  for (const [how, args] of [
    ['setupLogging() from the public entry', [CENSUS, APP, 'setup']],
    ['--import starlog/register', [CENSUS, '--import', REGISTER, APP, 'api']],
  ] as const) {
    test(`a child with ${how} loads no config parser, receiver, primary set-up, view, tree or CLI`, async () => {
      const processor = new CountingProcessor();
      const receiver = await startReceiver({ processor });
      try {
        const r = await runProcess(NODE, ['--import', ...args], {
          cwd: dir,
          env: { ...cleanEnv(), ...receiver.env },
          timeoutMs: 60_000,
        });
        assert.equal(r.code, 0, `the child failed:\n${r.stderr}`);
        const { modules, cpuMs, atFirstRecord } = census(r.stderr);
        assert.deepEqual(forbidden(modules, NOT_IN_A_CHILD), [], 'a child loaded these');
        assert.ok(atFirstRecord.length > 0, 'the application marked no first record');
        assert.deepEqual(
          forbidden(modules, NOT_BEFORE_FIRST_EXPORT),
          [],
          'a child that handed its record over in a file loaded gRPC',
        );
        assert.ok(
          modules.length <= CHILD_MODULE_CEILING,
          `a child loaded ${modules.length} modules (at most ${CHILD_MODULE_CEILING}), ${cpuMs} ms CPU`,
        );
        assert.equal(processor.n, 1, 'the child record did not reach the receiver');
      } finally {
        await receiver.close();
      }
    });
  }

  test('on SIGTERM before any gRPC export, a child hands its records over in a file and loads no gRPC', async () => {
    const processor = new CountingProcessor();
    const receiver = await startReceiver({ processor });
    try {
      const r = await runProcess(NODE, ['--import', CENSUS, APP, 'signal'], {
        cwd: dir,
        env: { ...cleanEnv(), ...receiver.env },
        signal: 'SIGTERM',
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, `the child failed:\n${r.stderr}`);
      const { modules } = census(r.stderr);
      assert.deepEqual(
        forbidden(modules, NOT_BEFORE_FIRST_EXPORT),
        [],
        'a child that handed its records over on SIGTERM loaded gRPC',
      );
      await until(() => processor.n >= 20, { what: 'the 20 records at the receiver' });
      assert.equal(processor.n, 20);
      assert.equal(receiver.stats().handoff?.files, 1, 'not one hand-off file');
    } finally {
      await receiver.close();
    }
  });

  test('a child from the built package loads a few bundled files of starlog, not its modules', async (t) => {
    if (!existsSync(new URL('index.js', DIST))) return t.skip('dist/ missing: npm test builds it');
    const processor = new CountingProcessor();
    const receiver = await startReceiver({ processor });
    try {
      const r = await runProcess(NODE, ['--import', CENSUS, APP, 'dist'], {
        cwd: dir,
        env: { ...cleanEnv(), ...receiver.env },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, `the child failed:\n${r.stderr}`);
      const { modules, cpuMs, atFirstRecord } = census(r.stderr);
      assert.ok(atFirstRecord.length > 0, 'the application marked no first record');
      assert.deepEqual(
        forbidden(modules, NOT_BEFORE_FIRST_EXPORT),
        [],
        'a child of the built package that handed its record over in a file loaded gRPC',
      );
      assert.ok(
        modules.length <= CHILD_DIST_MODULE_CEILING,
        `a child of the built package loaded ${modules.length} modules (at most ${CHILD_DIST_MODULE_CEILING}), ${cpuMs} ms CPU`,
      );
      assert.deepEqual(
        modules.filter((url) => url.startsWith(SRC)),
        [],
        'a child of the built package loaded sources',
      );
      const own = modules.filter((url) => url.startsWith(DIST));
      assert.ok(
        own.length > 0 && own.length <= CHILD_OWN_FILES_CEILING,
        `a child loaded ${own.length} files of dist/ (1 to ${CHILD_OWN_FILES_CEILING}), ${cpuMs} ms CPU: ${own.join(' ')}`,
      );
      // the bundle's entries of what a child must not load (their code is in no shared chunk)
      const entries = ['primary', 'load', 'schema', 'live', 'live-worker', 'cli-main'];
      assert.deepEqual(
        forbidden(modules, [...NOT_IN_A_CHILD, ...entries.map((e) => `${DIST}${e}.js`)]),
        [],
        'a child loaded these',
      );
      assert.equal(processor.n, 1, 'the child record did not reach the receiver');
    } finally {
      await receiver.close();
    }
  });

  test('a single-process application without a configuration file loads neither zod nor yaml', async () => {
    const r = await runProcess(NODE, ['--import', CENSUS, APP, 'setup'], {
      cwd: dir,
      env: cleanEnv(),
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `the application failed:\n${r.stderr}`);
    const { modules } = census(r.stderr);
    assert.ok(
      modules.some((url) => url.startsWith(`${SRC}setup/primary.ts`)),
      'the application did not run as a primary',
    );
    assert.deepEqual(
      forbidden(modules, ['/node_modules/zod/', '/node_modules/yaml/', `${SRC}cli/`]),
      [],
      'a primary without a configuration file loaded these',
    );
  });
});
