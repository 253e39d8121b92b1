import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { getLogger, setupLogging, startReceiver } from '../src/index.ts';
import { until } from './support/wait.ts';

const fixture = fileURLToPath(new URL('./fixtures/setup-child.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'starlog-setup-'));
after(() => rm(dir, { recursive: true, force: true }));

interface Line {
  resourceLogs: {
    resource: { attributes: { key: string; value: { stringValue?: string; intValue?: string } }[] };
    scopeLogs: { scope: { name: string }; logRecords: { body?: { stringValue?: string } }[] }[];
  }[];
}

async function readBodies(path: string): Promise<Map<string, string[]>> {
  const byService = new Map<string, string[]>();
  const text = await readFile(path, 'utf8');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    for (const rl of (JSON.parse(line) as Line).resourceLogs) {
      const service =
        rl.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
      const list = byService.get(service) ?? [];
      for (const sl of rl.scopeLogs) {
        for (const r of sl.logRecords) list.push(r.body?.stringValue ?? '');
      }
      byService.set(service, list);
    }
  }
  return byService;
}

test('primary + forked children + a worker thread: every record in the file, children exit on their own', async () => {
  const file = join(dir, 'all.jsonl');
  const handle = await setupLogging({
    serviceName: 'primary',
    levels: 'info',
    status: { interval: '1h' },
    file: { path: file },
    console: false,
  });
  assert.equal(handle.role, 'primary');
  assert.ok(process.env.STARLOG_ENDPOINT?.startsWith('unix://'));
  assert.equal(process.env.STARLOG_LEVEL, 'info');
  assert.equal(await setupLogging(), handle, 'a second call returns the same handle');
  getLogger('primary').info('primary record');

  const env = { ...process.env, SETUP_CHILD_RECORDS: '500' };
  const a = fork(fixture, ['child-a'], { env });
  const b = fork(fixture, ['child-b', 'exit'], { env });
  const w = new Worker(fixture, { workerData: 'thread', env: { ...env } });
  const [[codeA], [codeB], [codeW]] = await Promise.all([
    once(a, 'exit'),
    once(b, 'exit'),
    once(w, 'exit'),
  ]);
  assert.deepEqual([codeA, codeB, codeW], [0, 0, 0]);

  // child-b calls process.exit(): what it still held arrives in a hand-off file, which the
  // primary ingests within about a second (watch or its 1 s scan), not before the child's exit
  const expected = [String(a.pid), String(b.pid), String(process.pid)].sort();
  const senders = () => Object.keys(handle.stats().receiver?.children ?? {}).sort();
  await until(() => senders().join() === expected.join(), {
    what: `records of ${expected.join(', ')} in the receiver's table (when the wait began: ${senders().join(', ')})`,
  });
  const stats = handle.stats();
  await handle.shutdown();
  const bodies = await readBodies(file);
  for (const name of ['child-a', 'child-b', 'thread']) {
    const got = bodies.get(name) ?? [];
    assert.equal(got.length, 500, `${name}: 500 records (debug filtered by the primary's level)`);
    assert.deepEqual(
      got,
      Array.from({ length: 500 }, (_, i) => `${name} record ${i}`),
    );
  }
  assert.deepEqual(bodies.get('primary')?.includes('primary record'), true);
  assert.equal(stats.dropped, 0);
  const pids = Object.keys(stats.receiver?.children ?? {}).sort();
  assert.deepEqual(pids, expected, 'the worker thread ships under our own pid');
});

test('collector mode: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT at start sends everything there, without the receiver token', async () => {
  const got: ReadWriteLogRecord[] = [];
  const collectorSink: LogRecordProcessor = {
    onEmit: (r) => got.push(r),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  // a real gRPC OTLP server stands in for the collector; its token is the collector's api key here
  const collector = await startReceiver({ endpoint: 'tcp', processor: collectorSink });
  const saved = { ...process.env };
  for (const k of Object.keys(process.env))
    if (k.startsWith('STARLOG_') || k.startsWith('OTEL_')) delete process.env[k];
  process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = collector.endpoint;
  process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS = `x-starlog-token=${collector.env.STARLOG_TOKEN}`;
  try {
    const handle = await setupLogging({ serviceName: 'to-collector', status: false });
    assert.equal(handle.role, 'primary');
    assert.notEqual(process.env.STARLOG_TOKEN, collector.env.STARLOG_TOKEN);
    const child = fork(fixture, ['collector-child'], {
      env: { ...process.env, SETUP_CHILD_RECORDS: '200' },
    });
    await once(child, 'exit');
    getLogger('p').warn('from the primary');
    await handle.shutdown();
    const bodies = got.map((r) => r.body);
    assert.equal(bodies.filter((b) => String(b).startsWith('collector-child record')).length, 200);
    assert.ok(bodies.includes('from the primary'));
    const childRecord = got.find((r) => String(r.body).startsWith('collector-child'))!;
    assert.equal(childRecord.resource.attributes['service.name'], 'collector-child');
    assert.equal(
      collector.stats().rejected.unauthenticated,
      0,
      'the collector got its own header, not the receiver token',
    );
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await collector.close();
  }
});

test('bad options are clear errors and leave nothing set up', async () => {
  await assert.rejects(
    setupLogging({ levels: 'info,app=loud', console: false, file: false }),
    /unknown level 'loud'/,
  );
  await assert.rejects(
    setupLogging({ status: { interval: '5x' }, console: false, file: false }),
    /interval/,
  );
  await assert.rejects(
    setupLogging({ endpoint: '10.1.2.3:4317', console: false, file: false }),
    /loopback/,
  );
  const h = await setupLogging({ console: false, file: false, status: false });
  await h.shutdown();
});

void ROOT_CONTEXT;
