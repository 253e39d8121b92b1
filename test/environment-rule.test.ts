// One reader of the environment (src/config/environment.ts): the same OTEL_EXPORTER_OTLP_* variables
// give the same collector through setupLogging() without a configuration file, starlog/register with
// and without one, and `starlog run`. The "collector" here is a real receiver on loopback TCP that
// only accepts calls carrying its token, which the test passes in OTEL_EXPORTER_OTLP_HEADERS while
// OTEL_EXPORTER_OTLP_LOGS_HEADERS holds another key: the headers must be merged per key.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { ROLE_ATTRIBUTE } from '../src/semconv.ts';
import { CollectingProcessor } from './support/collect.ts';
import { cleanEnv, runProcess } from './support/process.ts';
import { until } from './support/wait.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));
const INDEX = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const OTEL_CHILD = fileURLToPath(new URL('./fixtures/run-otel-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starlog-env-rule-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('OTEL_EXPORTER_OTLP_* mean the same through setupLogging, the config file, starlog run and starlog/register', async () => {
  const collected = new CollectingProcessor();
  const collector = await startReceiver({ processor: collected, endpoint: 'tcp' });
  try {
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: `x-starlog-token=${collector.env.STARLOG_TOKEN}`,
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-extra=1',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'bogus', // ignored with a warning on every path
      N: '1',
    };
    const cwd = (name: string, config?: string): string => {
      const d = join(dir, name);
      mkdirSync(d);
      if (config !== undefined) writeFileSync(join(d, 'starlog.config.yaml'), config);
      return d;
    };
    const code = `import { getLogger, setupLogging } from ${JSON.stringify(INDEX)};
const h = await setupLogging({ config: false });
getLogger('code').info('record 0');
await h.shutdown();`;
    const runs = await Promise.all([
      runProcess(process.execPath, ['--input-type=module', '-e', code], {
        cwd: cwd('code'),
        env: cleanEnv({ ...otel, OTEL_SERVICE_NAME: 'code' }),
      }),
      runProcess(process.execPath, ['--import', REGISTER, OTEL_CHILD], {
        cwd: cwd('register'),
        env: cleanEnv({ ...otel, OTEL_SERVICE_NAME: 'register' }),
      }),
      runProcess(process.execPath, ['--import', REGISTER, OTEL_CHILD], {
        cwd: cwd(
          'config',
          'service:\n  name: from-file\nexporters:\n  otlp:\n    minSeverity: info\n',
        ),
        env: cleanEnv({ ...otel, OTEL_SERVICE_NAME: 'config-file' }),
      }),
      runProcess(
        process.execPath,
        [MAIN, 'run', '--register', '--', process.execPath, OTEL_CHILD],
        {
          cwd: cwd('run'),
          env: cleanEnv({ ...otel, OTEL_SERVICE_NAME: 'run' }),
          group: true,
        },
      ),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const services = () =>
      new Set(
        collected.records
          .filter((r) => r.body === 'record 0')
          .map((r) => r.resource.attributes['service.name']),
      );
    await until(() => services().size === 4, { what: 'a record from each of the 4 paths' });
    assert.deepEqual([...services()].sort(), ['code', 'config-file', 'register', 'run']);
    for (const r of collected.records)
      assert.equal(r.resource.attributes[ROLE_ATTRIBUTE] !== undefined, true);
    assert.equal(collector.stats().rejected.unauthenticated, 0);
  } finally {
    await collector.close();
  }
});
