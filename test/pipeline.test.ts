import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiagLogLevel, diag, logs, SeverityNumber } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordProcessor,
  type ReadWriteLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

function throwing(where: 'onEmit' | 'forceFlush' | 'shutdown'): LogRecordProcessor {
  return {
    onEmit() {
      if (where === 'onEmit') throw new Error('stage boom');
    },
    async forceFlush() {
      if (where === 'forceFlush') throw new Error('flush boom');
    },
    async shutdown() {
      if (where === 'shutdown') throw new Error('shutdown boom');
    },
  };
}

const diagErrors: string[] = [];
diag.setLogger(
  {
    error: (m) => diagErrors.push(m),
    warn: () => {},
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);

test('a throwing stage is isolated: emit does not throw, later stages still run, error counted', async () => {
  const memory = new InMemoryLogRecordExporter();
  const pipeline = new Pipeline({
    stages: [throwing('onEmit'), new SimpleLogRecordProcessor({ exporter: memory })],
    levels: 'info',
  });
  const provider = new LoggerProvider({ processors: [pipeline] });
  const logger = provider.getLogger('app');
  assert.doesNotThrow(() => logger.emit({ severityNumber: SeverityNumber.INFO, body: 'survives' }));
  assert.deepEqual(
    memory.getFinishedLogRecords().map((r) => r.body),
    ['survives'],
  );
  assert.equal(pipeline.stats().stageErrors, 1);
  assert.ok(diagErrors.some((m) => m.includes('onEmit threw')));
  await provider.shutdown();
});

test('enabled() and onEmit follow the level table, for SDK records and ingested records alike', async () => {
  const memory = new InMemoryLogRecordExporter();
  const pipeline = new Pipeline({
    stages: [new SimpleLogRecordProcessor({ exporter: memory })],
    levels: 'warn,app.db=debug',
  });
  const provider = new LoggerProvider({ processors: [pipeline] });
  const db = provider.getLogger('app.db');
  const http = provider.getLogger('app.http');
  assert.equal(db.enabled({ severityNumber: SeverityNumber.DEBUG }), true);
  assert.equal(http.enabled({ severityNumber: SeverityNumber.INFO }), false);
  db.emit({ severityNumber: SeverityNumber.DEBUG, body: 'db debug' });
  http.emit({ severityNumber: SeverityNumber.INFO, body: 'http info' });
  http.emit({ severityNumber: SeverityNumber.WARN, body: 'http warn' });
  const resource = resourceFromAttributes({ 'process.pid': 4242 });
  const ingested = (scope: string, sev: SeverityNumber, body: string) =>
    new PlainLogRecord({
      resource,
      instrumentationScope: { name: scope },
      severityNumber: sev,
      body,
    });
  pipeline.onEmit(ingested('app.http', SeverityNumber.INFO, 'child info'));
  pipeline.onEmit(ingested('app.db', SeverityNumber.DEBUG, 'child db debug'));
  assert.deepEqual(
    memory.getFinishedLogRecords().map((r) => r.body),
    ['db debug', 'http warn', 'child db debug'],
  );
  assert.equal(pipeline.stats().filtered, 1);
  pipeline.levels.set('info');
  http.emit({ severityNumber: SeverityNumber.INFO, body: 'now enabled' });
  assert.equal(memory.getFinishedLogRecords().at(-1)?.body, 'now enabled');
  await provider.shutdown();
});

test('stages added and removed at run time', async () => {
  const a = new InMemoryLogRecordExporter();
  const b = new InMemoryLogRecordExporter();
  const sa = new SimpleLogRecordProcessor({ exporter: a });
  const sb = new SimpleLogRecordProcessor({ exporter: b });
  const pipeline = new Pipeline({ stages: [sa], levels: 'info' });
  const provider = new LoggerProvider({ processors: [pipeline] });
  const log = provider.getLogger('x');
  log.emit({ severityNumber: SeverityNumber.INFO, body: '1' });
  pipeline.addStage(sb);
  log.emit({ severityNumber: SeverityNumber.INFO, body: '2' });
  assert.equal(pipeline.removeStage(sa), true);
  assert.equal(pipeline.removeStage(sa), false);
  log.emit({ severityNumber: SeverityNumber.INFO, body: '3' });
  assert.deepEqual(
    a.getFinishedLogRecords().map((r) => r.body),
    ['1', '2'],
  );
  assert.deepEqual(
    b.getFinishedLogRecords().map((r) => r.body),
    ['2', '3'],
  );
  await provider.shutdown();
});

test('a stage added while a record is fanned out sees later records only', () => {
  const seen: string[] = [];
  const late: LogRecordProcessor = {
    onEmit: (r: ReadWriteLogRecord) => seen.push(`late:${r.body}`),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const pipeline = new Pipeline({ levels: 'info' });
  pipeline.addStage({
    onEmit: (r: ReadWriteLogRecord) => {
      seen.push(`first:${r.body}`);
      pipeline.addStage(late);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  });
  const rec = (body: string) =>
    new PlainLogRecord({
      resource: resourceFromAttributes({}),
      instrumentationScope: { name: 'x' },
      severityNumber: SeverityNumber.INFO,
      body,
    });
  pipeline.onEmit(rec('a'));
  assert.deepEqual(seen, ['first:a']);
});

test('forceFlush and shutdown survive throwing stages; shutdown runs stages in order, once', async () => {
  const order: string[] = [];
  const recording = (name: string): LogRecordProcessor => ({
    onEmit() {},
    async forceFlush() {
      order.push(`flush:${name}`);
    },
    async shutdown() {
      await new Promise((r) => setTimeout(r, name === 'a' ? 20 : 0));
      order.push(`shutdown:${name}`);
    },
  });
  const pipeline = new Pipeline({
    stages: [recording('a'), throwing('forceFlush'), throwing('shutdown'), recording('b')],
    levels: 'info',
  });
  await pipeline.forceFlush();
  await Promise.all([pipeline.shutdown(), pipeline.shutdown()]);
  assert.deepEqual(order, ['flush:a', 'flush:b', 'shutdown:a', 'shutdown:b']);
  assert.equal(pipeline.stats().stageErrors, 2);
  assert.equal(
    pipeline.enabled({
      context: (await import('@opentelemetry/api')).ROOT_CONTEXT,
      instrumentationScope: { name: 'x' },
      severityNumber: SeverityNumber.FATAL,
    }),
    false,
    'nothing is enabled after shutdown',
  );
});

test('an invalid level string is a clear construction error', () => {
  assert.throws(() => new Pipeline({ levels: 'info,app=shout' }), /unknown level 'shout'/);
});

test('STARLOG_LEVEL is the default level table', () => {
  const before = process.env.STARLOG_LEVEL;
  process.env.STARLOG_LEVEL = 'error,app=trace';
  try {
    const p = new Pipeline();
    assert.equal(p.levels.toString(), 'error,app=trace');
  } finally {
    if (before === undefined) delete process.env.STARLOG_LEVEL;
    else process.env.STARLOG_LEVEL = before;
  }
  assert.ok(logs);
});
