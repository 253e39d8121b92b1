// One endpoint rule (src/multiprocess/protocol/endpoint.ts, README "Security"): the same inputs get
// the same answer through startReceiver, the configuration file, `starlog run --endpoint` and
// `starlog/register` (a configuration file's receiver.endpoint, in a process of its own).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../src/config/errors.ts';
import { parseConfig } from '../src/config/load.ts';
import {
  endpointUrl,
  grpcChannelTarget,
  parseEndpointAddress,
  parseReceiverEndpoint,
} from '../src/multiprocess/protocol/endpoint.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { CollectingProcessor } from './support/collect.ts';
import { cleanEnv, runProcess } from './support/process.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starlog-endpoint-rule-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Inputs and the documented answer (true = accepted). `::1` is left out: IPv6 may be off here. */
const CASES: [string, boolean][] = [
  ['tcp', true],
  ['127.0.0.2:0', true], // any 127.x.x.x (the config file and `starlog run` used to refuse it)
  ['http://localhost:0', true],
  ['0.0.0.0:0', false],
  ['10.1.2.3:0', false],
  ['collector:0', false],
  ['[::ffff:127.0.0.1]:0', false],
  ['unix:relative.sock', false],
  ['127.0.0.1', false], // no port
];

describe('the endpoint rule', () => {
  test('the parser: documented forms, addresses round-trip', () => {
    for (const [input, ok] of CASES) {
      assert.equal(
        (() => {
          try {
            parseReceiverEndpoint(input);
            return true;
          } catch (err) {
            assert.ok(err instanceof TypeError);
            return false;
          }
        })(),
        ok,
        input,
      );
    }
    assert.deepEqual(parseReceiverEndpoint(undefined), { kind: 'private-unix' });
    assert.deepEqual(parseReceiverEndpoint('unix:///tmp/x.sock'), {
      kind: 'unix',
      path: '/tmp/x.sock',
    });
    const a = parseEndpointAddress('http://[::1]:4711');
    assert.deepEqual(a, { kind: 'tcp', host: '::1', port: 4711 });
    assert.equal(endpointUrl(a), 'http://[::1]:4711');
    assert.equal(grpcChannelTarget(a), '[::1]:4711');
    assert.throws(() => parseEndpointAddress('127.0.0.1:0'), /STARLOG_ENDPOINT/); // a client needs a port
  });

  test('startReceiver, the config file, `starlog run` and `starlog/register` agree', async () => {
    const answers: Record<string, Record<string, boolean>> = {};
    let n = 0;
    for (const [input] of CASES) {
      const got: Record<string, boolean> = {};
      // startReceiver (setupLogging passes `endpoint` to it unchanged)
      try {
        const r = await startReceiver({ processor: new CollectingProcessor(), endpoint: input });
        await r.close();
        got.startReceiver = true;
      } catch (err) {
        assert.ok(err instanceof TypeError, `${input}: ${err}`);
        got.startReceiver = false;
      }
      // the configuration file
      try {
        parseConfig(`receiver:\n  endpoint: '${input}'\n`, 'starlog.config.yaml');
        got.config = true;
      } catch (err) {
        assert.ok(err instanceof ConfigError, `${input}: ${err}`);
        got.config = false;
      }
      const cwd = join(dir, `case-${++n}`);
      mkdirSync(cwd);
      const [run, register] = await Promise.all([
        runProcess(
          process.execPath,
          [MAIN, 'run', '--endpoint', input, '--log-file', join(cwd, 'run.jsonl')].concat([
            '--console-level',
            'off',
            '--',
            process.execPath,
            '-e',
            '',
          ]),
          { cwd, env: cleanEnv(), group: true },
        ),
        (() => {
          writeFileSync(
            join(cwd, 'starlog.config.yaml'),
            `receiver:\n  endpoint: '${input}'\nexporters:\n  console: false\n  file:\n    path: out.jsonl\n`,
          );
          return runProcess(process.execPath, ['--import', REGISTER, '-e', ''], {
            cwd,
            env: cleanEnv(),
            group: true,
          });
        })(),
      ]);
      got.run = run.code === 0;
      if (!got.run) assert.match(run.stderr, /endpoint/, `${input}: starlog run says why`);
      got.register = !register.stderr.includes('logging is off');
      answers[input] = got;
    }
    const expected = Object.fromEntries(
      CASES.map(([input, ok]) => [input, { startReceiver: ok, config: ok, run: ok, register: ok }]),
    );
    assert.deepEqual(answers, expected);
  });
});
