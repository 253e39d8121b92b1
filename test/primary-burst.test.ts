/**
 * A single-process application (a primary) that logs 200,000 records in one synchronous loop,
 * more than the file destination's queue holds (65,536 records): the emitting thread writes the
 * oldest batches to the JSON-lines file itself instead of dropping (see `ShippingProcessor`'s
 * `writeSync`). Every record must be in the file, in order, once, with nothing dropped — when the
 * application ends by itself and when it calls `process.exit()` right after the loop, set up in
 * code and under `--import starlog/register`. A real process (fixtures/primary-exit-app.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ShippingProcessor } from '../src/export/shipping-processor.ts';
import { JsonlFileExporter } from '../src/exporters/jsonl-file.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { fileBodies } from './support/jsonl.ts';
import { cleanEnv, type ProcessResult, runProcess } from './support/process.ts';

const APP = fileURLToPath(new URL('./fixtures/primary-exit-app.ts', import.meta.url));
const REGISTER_SRC = new URL('../src/register.ts', import.meta.url).href;
const N = 200_000;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-primary-burst-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(mode: 'dry' | 'exit', cwd: string, register: boolean): Promise<ProcessResult> {
  const env = cleanEnv({
    NO_COLOR: '1',
    N: String(N),
    LOG_FILE: join(cwd, 'out.jsonl'),
    PRINT_STATS: '1',
    ...(register ? { STARLOG_TEST_REGISTER: '1' } : {}),
  });
  const args = register ? ['--import', REGISTER_SRC, APP, mode] : [APP, mode];
  return runProcess(process.execPath, args, { cwd, env, timeoutMs: 60_000 });
}

const REGISTER_CONFIG = `status:
  enabled: false
exporters:
  file:
    path: out.jsonl
  console:
    minimumSeverity: fatal
`;

describe('a primary logging 200,000 records in one synchronous loop', { concurrency: 2 }, () => {
  for (const register of [false, true]) {
    // under register only the harder ending (cheap enough: ~3 s a run on 2 shared cores)
    for (const mode of register ? (['exit'] as const) : (['dry', 'exit'] as const)) {
      const how = `${register ? '--import starlog/register' : 'setupLogging'}, ${mode === 'dry' ? 'ends by itself' : 'process.exit() after the loop'}`;
      test(`${how}: every record in the file, in order, once; nothing dropped`, async () => {
        const cwd = mkdtempSync(join(dir, `${register ? 'register' : 'setup'}-${mode}-`));
        if (register) writeFileSync(join(cwd, 'starlog.config.yaml'), REGISTER_CONFIG);
        const r = await run(mode, cwd, register);
        assert.equal(r.code, mode === 'exit' ? 3 : 0, `exit code; stderr=${r.stderr}`);
        assert.doesNotMatch(r.stderr, /queue full|dropping/i, 'no drop reported');
        const got = fileBodies(join(cwd, 'out.jsonl'));
        assert.equal(got.length, N + 1, `records in the file (of ${N + 1})`);
        for (let i = 0; i < N; i++) {
          if (got[i] !== `r ${i}`) assert.fail(`record ${i} is ${got[i]}: out of order or missing`);
        }
        assert.equal(got[N], 'config missing');
        if (!register) {
          const m = /STATS (.*)/.exec(r.stderr);
          assert.ok(m, `the fixture printed its stats; stderr=${r.stderr}`);
          const s = JSON.parse(m[1] as string);
          assert.equal(s.dropped, 0, `stats().dropped: ${m[1]}`);
          assert.equal(s.file.queueFull, 0);
          assert.equal(s.file.exported, N + 1);
          assert.ok(s.file.syncFlushes > 0, 'the emitting thread wrote batches itself');
        }
      });
    }
  }
});

test('a full queue in front of a file that cannot be written: the emitting thread counts the records by reason and goes on (no retry, no drop as queueFull)', async () => {
  const parent = join(dir, 'not-a-directory');
  writeFileSync(parent, 'x');
  const exporter = new JsonlFileExporter({ path: join(parent, 'out.jsonl') });
  const q = new ShippingProcessor({
    exporter,
    writeSync: (records) => exporter.exportSync(records),
    maxQueueSize: 2048,
    maxExportBatchSize: 256,
  });
  const resource = resourceFromAttributes({ 'service.name': 'burst' });
  const n = 10_000;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    q.onEmit(
      new PlainLogRecord({
        resource,
        instrumentationScope: { name: 'burst' },
        severityNumber: SeverityNumber.INFO,
        body: `r ${i}`,
      }) as never,
    );
  }
  const loopMs = Date.now() - t0;
  const s = q.stats();
  assert.equal(s.queueFull, 0, 'not dropped as queueFull');
  assert.ok(s.syncFlushes > 0, 'the emitting thread wrote batches itself');
  assert.ok(s.exportFailed > 0, 'the failed writes counted in exportFailed');
  assert.equal(
    s.exported + s.exportFailed + s.pending,
    n,
    'every record written, counted or pending',
  );
  assert.ok(loopMs < 20_000, `the loop took ${loopMs} ms`);
  assert.equal(
    exporter.stats().failedBy.openFailed,
    s.exportFailed,
    'counted by reason in the file',
  );
  await q.shutdown();
  const after = q.stats();
  assert.equal(after.exportFailed, n, 'every record counted as failed once');
  assert.equal(after.pending, 0);
});
