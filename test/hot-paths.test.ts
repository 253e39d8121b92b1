// Semantics of the hot-path shortcuts (bench/status.ts, bench/tasks.ts): the Pipeline's level
// cache per scope object, StatusProcessor's scope cache and exact byte counts, and
// TaskAttributesProcessor's generated writers. Real sdk-logs LoggerProviders throughout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Attributes, context, ROOT_CONTEXT, SeverityNumber } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadWriteLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { STATUS_SCOPE_NAME, StatusProcessor } from '../src/processors/status/status-processor.ts';
import { task, to } from '../src/tasks/scope.ts';
import { TaskAttributesProcessor } from '../src/tasks/task-attributes-processor.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

const resource = resourceFromAttributes({ 'service.name': 'hot-paths' });

test('Pipeline: level changes apply at once to a scope already cached, in enabled() and onEmit', async () => {
  const memory = new InMemoryLogRecordExporter();
  const pipeline = new Pipeline({
    stages: [new SimpleLogRecordProcessor({ exporter: memory })],
    levels: 'info',
  });
  const provider = new LoggerProvider({ processors: [pipeline] });
  const a = provider.getLogger('app.a');
  const b = provider.getLogger('app.b');
  for (let i = 0; i < 3; i++) {
    a.emit({ severityNumber: SeverityNumber.DEBUG, body: `a debug ${i}` });
    b.emit({ severityNumber: SeverityNumber.INFO, body: `b info ${i}` });
  }
  assert.equal(a.enabled({ severityNumber: SeverityNumber.DEBUG }), false);
  pipeline.levels.set('info,app.a=debug,app.b=warn');
  assert.equal(a.enabled({ severityNumber: SeverityNumber.DEBUG }), true);
  assert.equal(b.enabled({ severityNumber: SeverityNumber.INFO }), false);
  a.emit({ severityNumber: SeverityNumber.DEBUG, body: 'a debug now' });
  b.emit({ severityNumber: SeverityNumber.INFO, body: 'b info now' });
  // A record from another scope object with the same name (ingested) follows the same rule,
  // and a scope object seen just before with another name does not leak its threshold.
  const ingestedB = new PlainLogRecord({
    resource,
    instrumentationScope: { name: 'app.b' },
    severityNumber: SeverityNumber.WARN,
    body: 'b warn ingested',
  });
  pipeline.onEmit(ingestedB);
  pipeline.onEmit(
    new PlainLogRecord({
      resource,
      instrumentationScope: { name: 'app.b' },
      severityNumber: SeverityNumber.INFO,
      body: 'b info ingested',
    }),
  );
  // No severity: always enabled.
  pipeline.onEmit(
    new PlainLogRecord({ resource, instrumentationScope: { name: 'app.b' }, body: 'no severity' }),
  );
  assert.deepEqual(
    memory.getFinishedLogRecords().map((r) => r.body),
    ['b info 0', 'b info 1', 'b info 2', 'a debug now', 'b warn ingested', 'no severity'],
  );
  assert.equal(pipeline.stats().filtered, 1); // SDK records stop at enabled()
  await provider.shutdown();
});

test('StatusProcessor: exact UTF-8 bytes, and status-scope records skipped after a counted scope', async () => {
  const status = new StatusProcessor({
    interval: '1h',
    processor: new SimpleLogRecordProcessor({ exporter: new InMemoryLogRecordExporter() }),
  });
  const provider = new LoggerProvider({ processors: [status] });
  const app = provider.getLogger('app');
  app.emit({ severityNumber: SeverityNumber.INFO, body: 'abc' }); // 3
  app.emit({ severityNumber: SeverityNumber.INFO, body: 'é€😀' }); // 2 + 3 + 4
  app.emit({ severityNumber: SeverityNumber.INFO, body: '\ud800x' }); // lone surrogate: 3 + 1
  // Same name as status records but another object: never counted, before or after others.
  status.onEmit(
    new PlainLogRecord({
      resource,
      instrumentationScope: { name: STATUS_SCOPE_NAME },
      severityNumber: SeverityNumber.INFO,
      body: 'not counted',
    }),
  );
  app.emit({ severityNumber: SeverityNumber.WARN, body: 'ü' }); // 2
  const snap = status.snapshot();
  assert.equal(snap.severities.INFO.count, 3);
  assert.equal(snap.severities.INFO.bytes, 3 + 9 + 4);
  assert.equal(snap.severities.WARN.count, 1);
  assert.equal(snap.severities.WARN.bytes, Buffer.byteLength('ü'));
  assert.equal(snap.total.count, 4);
  await provider.shutdown();
});

test('TaskAttributesProcessor: any key is written literally, the record wins on a clash', async () => {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    processors: [new TaskAttributesProcessor(), new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const logger = provider.getLogger('app');
  const odd: Attributes = {
    'a"b': 1,
    'c\\d': 'two',
    'e\nf': true,
    'g\u2028h': 'line separator',
    "'});throw new Error('injected');//": 'code',
    '${x}': 'template',
  };
  task('weird', odd, () => {
    logger.emit({ severityNumber: SeverityNumber.INFO, body: 'plain' });
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      body: 'clash',
      attributes: { 'c\\d': 'mine' },
    });
  });
  const [plain, clash] = memory
    .getFinishedLogRecords()
    .filter((r) => r.body === 'plain' || r.body === 'clash');
  const id = plain!.attributes['task.id'];
  assert.equal(typeof id, 'string');
  assert.deepEqual({ ...plain!.attributes }, { ...odd, 'task.id': id });
  assert.deepEqual({ ...clash!.attributes }, { ...odd, 'c\\d': 'mine', 'task.id': id });
  // The SDK's attribute count follows (what setAttribute would have made it).
  const count = (r: unknown) => (r as { _attributesCount: number })._attributesCount;
  assert.equal(count(plain), Object.keys(odd).length + 1);
  assert.equal(count(clash), Object.keys(odd).length + 1);
  await provider.shutdown();
});

test('TaskAttributesProcessor: many distinct key lists (beyond the writer cache) stay correct', async () => {
  const seen: ReadWriteLogRecord[] = [];
  const provider = new LoggerProvider({
    processors: [
      new TaskAttributesProcessor(),
      {
        onEmit: (r) => {
          if (r.body === 'inside') seen.push(r);
        },
        forceFlush: async () => {},
        shutdown: async () => {},
      },
    ],
  });
  const logger = provider.getLogger('app');
  const n = 300;
  for (let i = 0; i < n; i++) {
    task('t', { [`k${i}`]: i }, () =>
      to('sub', { shared: 'yes' }, () =>
        logger.emit({
          severityNumber: SeverityNumber.INFO,
          body: 'inside',
          attributes: { own: i },
        }),
      ),
    );
  }
  assert.equal(seen.length, n);
  for (let i = 0; i < n; i++) {
    const attributes = seen[i]!.attributes;
    assert.equal(attributes[`k${i}`], i);
    assert.equal(attributes.shared, 'yes');
    assert.equal(attributes.own, i);
    assert.equal(typeof attributes['task.id'], 'string');
    assert.equal(Object.keys(attributes).length, 4);
  }
  // Outside any task nothing is added.
  context.with(ROOT_CONTEXT, () =>
    logger.emit({ severityNumber: SeverityNumber.INFO, body: 'inside', attributes: { own: -1 } }),
  );
  assert.deepEqual({ ...seen.at(-1)!.attributes }, { own: -1 });
  await provider.shutdown();
});
