import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { afterEach, describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Context, diag } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordProcessor,
  type ReadableLogRecord,
  type ReadWriteLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { inc } from '../src/processors/status/counters.ts';
import { defaultStatusProcessor } from '../src/processors/status/default-template.ts';
import {
  DEFAULT_STATUS_TEMPLATE,
  estimateBodyBytes,
  STATUS_SCOPE,
  StatusProcessor,
  type StatusProcessorOptions,
} from '../src/processors/status/status-processor.ts';
import { compileStatusTemplate } from '../src/processors/status/template.ts';
import { formatDuration } from '../src/util/duration.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { captureDiag } from './support/diag.ts';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);

afterEach(() => {
  diag.disable();
});

/** A StatusProcessor in a real LoggerProvider, emitting status records into an in-memory exporter. */
function setup(t: TestContext, options: StatusProcessorOptions = {}) {
  try {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: T0 });
  } catch {
    // already enabled by an earlier setup() in the same test
  }
  const exporter = new InMemoryLogRecordExporter();
  const status = new StatusProcessor({
    interval: '15s',
    processor: new SimpleLogRecordProcessor({ exporter }),
    ...options,
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'status-test' }),
    processors: [status],
  });
  const logger = provider.getLogger('app');
  const reports = () => exporter.getFinishedLogRecords();
  return { status, provider, logger, exporter, reports };
}

describe('StatusProcessor counting', () => {
  test('counts records and UTF-8 body bytes per severity range, boundaries included', async (t) => {
    const { status, logger, provider } = setup(t);
    const cases: Array<[number | undefined, string]> = [
      [1, 'a'], // TRACE
      [4, 'é'], // TRACE, 2 bytes
      [5, '日本'], // DEBUG, 6 bytes
      [8, '🎉'], // DEBUG, 4 bytes
      [9, 'abc'], // INFO
      [12, 'abcd'], // INFO
      [13, 'x'], // WARN
      [16, ''], // WARN, 0 bytes
      [17, 'ü'], // ERROR, 2 bytes
      [20, 'zz'], // ERROR
      [21, '€'], // FATAL, 3 bytes
      [24, 'f'], // FATAL
      [0, 'u'], // UNSPECIFIED
      [undefined, 'uu'], // UNSPECIFIED
      [25, 'uuu'], // out of range: UNSPECIFIED
    ];
    for (const [severityNumber, body] of cases) logger.emit({ severityNumber, body });
    const snap = status.snapshot();
    assert.deepEqual(snap.severities, {
      UNSPECIFIED: { count: 3, bytes: 6 },
      TRACE: { count: 2, bytes: 3 },
      DEBUG: { count: 2, bytes: 10 },
      INFO: { count: 2, bytes: 7 },
      WARN: { count: 2, bytes: 1 },
      ERROR: { count: 2, bytes: 4 },
      FATAL: { count: 2, bytes: 4 },
    });
    assert.deepEqual(snap.total, { count: 15, bytes: 35 });
    assert.equal(snap.intervalStart, T0);
    await provider.shutdown();
  });

  test('non-string bodies are estimated without serializing', async (t) => {
    const { status, logger, provider } = setup(t);
    const body = {
      a: 'xy', // 1 + 2
      n: 1, // 1 + 8
      b: true, // 1 + 1
      arr: ['é', 2], // 3 + 2 + 8
      bytes: new Uint8Array(5), // 5 + 5
    };
    assert.equal(estimateBodyBytes(body), 3 + 9 + 2 + 13 + 10);
    assert.equal(estimateBodyBytes(null), 0);
    assert.equal(estimateBodyBytes(42), 8);
    logger.emit({ severityNumber: 9, body });
    logger.emit({ severityNumber: 9, body: 3.5 });
    logger.emit({ severityNumber: 9 });
    assert.deepEqual(status.snapshot().severities.INFO, { count: 3, bytes: 37 + 8 });
    // Deep nesting is cut off instead of recursing without bound.
    let deep: Record<string, unknown> = { s: 'x' };
    for (let i = 0; i < 100; i++) deep = { d: deep };
    assert.equal(estimateBodyBytes(deep as never), 8);
    await provider.shutdown();
  });

  test('countBytes: false counts records but no bytes', async (t) => {
    const { status, logger, provider } = setup(t, { countBytes: false });
    logger.emit({ severityNumber: 9, body: 'hello', attributes: inc('n') });
    logger.emit({ severityNumber: 9, body: { a: 'b' } });
    const snap = status.snapshot();
    assert.deepEqual(snap.severities.INFO, { count: 2, bytes: 0 });
    assert.equal(snap.counters.n, 1);
    await provider.shutdown();
  });

  test('sums custom counters from inc() through the Logs API', async (t) => {
    const { status, logger, provider } = setup(t);
    logger.emit({ severityNumber: 9, body: 'a', attributes: inc('requests').inc('2xx') });
    logger.emit({ severityNumber: 9, body: 'b', attributes: inc('requests').inc('4xx') });
    logger.emit({ severityNumber: 17, body: 'c', attributes: inc('requests', 3).update({ k: 1 }) });
    logger.emit({ severityNumber: 9, body: 'e', attributes: { 'starlog.count.str': '7' } });
    logger.emit({ severityNumber: 9, body: 'f', attributes: { 'starlog.count.bad': 'many' } });
    logger.emit({ severityNumber: 9, body: 'g', attributes: { 'starlog.count.': 1, other: 2 } });
    // The SDK drops bigint attribute values; a decoded OTLP int64 may arrive as one directly.
    status.onEmit(
      new PlainLogRecord({
        resource: resourceFromAttributes({}),
        instrumentationScope: { name: 'ingested' },
        attributes: { 'starlog.count.big': 5n as never },
      }),
    );
    const snap = status.snapshot();
    assert.deepEqual({ ...snap.counters }, { requests: 5, '2xx': 1, '4xx': 1, str: 7, big: 5 });
    assert.equal(snap.countersIgnored, 1);
    assert.equal(snap.total.count, 7);
    await provider.shutdown();
  });

  test('maxCounters bounds the distinct counter names', async (t) => {
    const { status, logger, provider } = setup(t, { maxCounters: 2 });
    for (const name of ['a', 'b', 'c', 'a', 'd'])
      logger.emit({ body: name, attributes: inc(name) });
    const snap = status.snapshot();
    assert.deepEqual({ ...snap.counters }, { a: 2, b: 1 });
    assert.equal(snap.countersIgnored, 2);
    await provider.shutdown();
  });

  test('counts a record ingested from a child (PlainLogRecord with another resource)', async (t) => {
    const { status, logger, provider } = setup(t);
    const childResource = resourceFromAttributes({
      'service.name': 'worker',
      'process.pid': 4242,
      'starlog.role': 'child',
    });
    const childScope = { name: 'child-app', version: '1.0.0' };
    const ingested = new PlainLogRecord({
      resource: childResource,
      instrumentationScope: childScope,
      severityNumber: 13,
      severityText: 'WARN',
      body: 'from child ✓', // 14 bytes
      attributes: { ...inc('requests').inc('5xx') },
    });
    status.onEmit(ingested);
    logger.emit({ severityNumber: 13, body: 'local', attributes: inc('requests') });
    const snap = status.snapshot();
    assert.deepEqual(snap.severities.WARN, { count: 2, bytes: 14 + 5 });
    assert.deepEqual({ ...snap.counters }, { requests: 2, '5xx': 1 });
    await provider.shutdown();
  });

  test('onEmit never throws; failures are counted and reported through diag', async (t) => {
    const messages = captureDiag().messages;
    const { status, logger, provider } = setup(t);
    const broken = {
      instrumentationScope: { name: 'x' },
      get body(): string {
        throw new Error('boom');
      },
    } as unknown as ReadWriteLogRecord;
    assert.doesNotThrow(() => status.onEmit(broken));
    assert.doesNotThrow(() => status.onEmit(broken));
    assert.doesNotThrow(() => status.onEmit(null as unknown as ReadWriteLogRecord));
    logger.emit({ body: 'fine' });
    assert.equal(status.snapshot().internalErrors, 3);
    assert.equal(messages.filter((m) => m.includes('counting failed')).length, 1);
    t.mock.timers.tick(15_000);
    const report = status.snapshot();
    assert.equal(report.internalErrors, 0);
    await provider.shutdown();
  });
});

describe('StatusProcessor reports', () => {
  test('one status record per interval; counters reset; quiet intervals report zeros', async (t) => {
    const { status, logger, reports, provider } = setup(t);
    logger.emit({ severityNumber: 9, body: 'hello', attributes: inc('requests') });
    logger.emit({ severityNumber: 17, body: 'bad' });
    assert.equal(reports().length, 0);
    t.mock.timers.tick(14_999);
    assert.equal(reports().length, 0);
    t.mock.timers.tick(1);
    assert.equal(reports().length, 1);
    const first = reports()[0]!;
    assert.equal(first.severityNumber, 9);
    assert.equal(first.severityText, 'INFO');
    assert.equal(first.eventName, 'starlog.status');
    assert.equal(first.instrumentationScope, STATUS_SCOPE);
    assert.equal(first.spanContext, undefined);
    assert.deepEqual(first.hrTime, [Math.floor((T0 + 15_000) / 1000), 0]);
    assert.equal(
      first.body,
      '1 info, 0 warn, 1 error, 0 fatal, 0 debug, 0 trace; 2 records, 8 bytes in 15s',
    );
    assert.deepEqual(first.attributes, {
      'status.count.requests': 1,
      'status.UNSPECIFIED': 0,
      'status.UNSPECIFIED-SIZE': 0,
      'status.TRACE': 0,
      'status.TRACE-SIZE': 0,
      'status.DEBUG': 0,
      'status.DEBUG-SIZE': 0,
      'status.INFO': 1,
      'status.INFO-SIZE': 5,
      'status.WARN': 0,
      'status.WARN-SIZE': 0,
      'status.ERROR': 1,
      'status.ERROR-SIZE': 3,
      'status.FATAL': 0,
      'status.FATAL-SIZE': 0,
      'status.TOTAL': 2,
      'status.TOTAL-SIZE': 8,
      'status.interval_ms': 15_000,
      'status.window_ms': 15_000,
      'status.counters_ignored': 0,
      'status.internal_errors': 0,
    });
    // Reset: the snapshot starts over, the next (empty) interval still reports, with zeros.
    assert.equal(status.snapshot().total.count, 0);
    assert.equal(status.snapshot().intervalStart, T0 + 15_000);
    t.mock.timers.tick(15_000);
    assert.equal(reports().length, 2);
    const second = reports()[1]!;
    assert.equal(
      second.body,
      '0 info, 0 warn, 0 error, 0 fatal, 0 debug, 0 trace; 0 records, 0 bytes in 15s',
    );
    assert.equal(second.attributes['status.INFO'], 0);
    assert.equal(second.attributes['status.count.requests'], 0);
    t.mock.timers.tick(45_000);
    assert.equal(reports().length, 5);
    // One cached scope object and one resource object across reports.
    assert.equal(reports()[4]!.instrumentationScope, first.instrumentationScope);
    assert.equal(reports()[4]!.resource, first.resource);
    await provider.shutdown();
  });

  test('never counts its own status records, also when they come back through the pipeline', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: T0 });
    const exporter = new InMemoryLogRecordExporter();
    // A fan-out processor like starlog's Pipeline: the StatusProcessor is one of its stages and
    // emits its status records back into it.
    const stages: LogRecordProcessor[] = [];
    const fanOut: LogRecordProcessor = {
      onEmit(record: ReadWriteLogRecord, context?: Context) {
        for (const stage of stages) stage.onEmit(record, context);
      },
      async forceFlush() {
        await Promise.all(stages.map((s) => s.forceFlush()));
      },
      async shutdown() {
        await Promise.all(stages.map((s) => s.shutdown()));
      },
    };
    const status = new StatusProcessor({ interval: '1s', processor: fanOut });
    stages.push(status, new SimpleLogRecordProcessor({ exporter }));
    const provider = new LoggerProvider({ processors: [fanOut] });
    provider.getLogger('app').emit({ severityNumber: 9, body: 'one' });
    // A status record from elsewhere (e.g. a child's) is not counted either.
    provider.getLogger('starlog.status').emit({ severityNumber: 9, body: 'child status' });
    t.mock.timers.tick(1000);
    t.mock.timers.tick(1000);
    const records = exporter.getFinishedLogRecords();
    const statusRecords = records.filter((r) => r.instrumentationScope === STATUS_SCOPE);
    assert.equal(statusRecords.length, 2);
    assert.equal(statusRecords[0]!.attributes['status.TOTAL'], 1);
    assert.equal(statusRecords[1]!.attributes['status.TOTAL'], 0);
    assert.equal(status.snapshot().total.count, 0);
    // forceFlush through the loop (provider → fan-out → status → fan-out → status …) terminates.
    await provider.forceFlush();
    await status.forceFlush();
    // Shutting the provider down shuts the fan-out down, which shuts the status processor down;
    // its final report goes through the fan-out (not counted) before the exporter stops.
    await provider.shutdown();
    assert.equal(exporter.getFinishedLogRecords().length, 0); // in-memory exporter was shut down
    assert.equal(status.snapshot().total.count, 0);
  });

  test('shutdownProcessor: true with a pipeline that contains the processor terminates', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: T0 });
    const stages: LogRecordProcessor[] = [];
    let shutdowns = 0;
    const fanOut: LogRecordProcessor = {
      onEmit(record: ReadWriteLogRecord, context?: Context) {
        for (const stage of stages) stage.onEmit(record, context);
      },
      async forceFlush() {
        await Promise.all(stages.map((s) => s.forceFlush()));
      },
      async shutdown() {
        shutdowns++;
        await Promise.all(stages.map((s) => s.shutdown()));
      },
    };
    const status = new StatusProcessor({ processor: fanOut, shutdownProcessor: true });
    const seen: ReadableLogRecord[] = [];
    stages.push(status, {
      onEmit: (r) => {
        seen.push(r);
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    });
    await status.shutdown();
    assert.equal(shutdowns, 1);
    assert.equal(seen.length, 1);
  });

  test('shutdown emits the pending counts once, stops the timer, flushes, keeps a passed processor', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: T0 });
    const seen: ReadableLogRecord[] = [];
    const calls: string[] = [];
    const target: LogRecordProcessor = {
      onEmit: (record) => {
        seen.push(record);
      },
      forceFlush: async () => {
        calls.push('forceFlush');
      },
      shutdown: async () => {
        calls.push('shutdown');
      },
    };
    const status = new StatusProcessor({ interval: '1m', processor: target });
    const batchExporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      processors: [status, new BatchLogRecordProcessor({ exporter: batchExporter })],
    });
    const logger = provider.getLogger('app');
    logger.emit({ severityNumber: 9, body: 'a' });
    logger.emit({ severityNumber: 13, body: 'b' });
    t.mock.timers.tick(20_000);
    await provider.forceFlush();
    assert.deepEqual(calls, ['forceFlush']);
    assert.equal(batchExporter.getFinishedLogRecords().length, 2);
    await provider.shutdown();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.attributes['status.TOTAL'], 2);
    assert.equal(seen[0]!.attributes['status.window_ms'], 20_000);
    assert.match(String(seen[0]!.body), /in 20s$/);
    assert.deepEqual(calls, ['forceFlush', 'forceFlush']);
    // Stopped: no more reports, records after shutdown are not counted, shutdown is idempotent.
    t.mock.timers.tick(600_000);
    assert.equal(seen.length, 1);
    status.onEmit(
      new PlainLogRecord({
        resource: resourceFromAttributes({}),
        instrumentationScope: { name: 'x' },
      }),
    );
    assert.equal(status.snapshot().total.count, 0);
    await status.shutdown();
    assert.equal(seen.length, 1);
  });

  test('shutdownProcessor: true shuts the target down after the final report', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: T0 });
    const calls: string[] = [];
    const status = new StatusProcessor({
      processor: {
        onEmit: () => calls.push('onEmit'),
        forceFlush: async () => {
          calls.push('forceFlush');
        },
        shutdown: async () => {
          calls.push('shutdown');
        },
      },
      shutdownProcessor: true,
    });
    await status.shutdown();
    assert.deepEqual(calls, ['onEmit', 'forceFlush', 'shutdown']);
  });

  test('uses the resource option, else one cached defaultResource()', async (t) => {
    const resource = resourceFromAttributes({ 'service.name': 'svc' });
    const a = setup(t, { resource });
    const b = setup(t);
    const c = setup(t);
    t.mock.timers.tick(15_000);
    assert.equal(a.reports()[0]!.resource, resource);
    const defaultRes = b.reports()[0]!.resource;
    assert.equal(c.reports()[0]!.resource, defaultRes);
    assert.equal(defaultRes.attributes['telemetry.sdk.language'], 'nodejs');
    await Promise.all([a.provider.shutdown(), b.provider.shutdown(), c.provider.shutdown()]);
  });

  test('default processor is a SimpleLogRecordProcessor (console)', () => {
    assert.ok(defaultStatusProcessor() instanceof SimpleLogRecordProcessor);
  });

  test('snapshot() does not reset', async (t) => {
    const { status, logger, reports, provider } = setup(t);
    logger.emit({ severityNumber: 9, body: 'x', attributes: inc('n') });
    assert.equal(status.snapshot().severities.INFO.count, 1);
    assert.equal(status.snapshot().severities.INFO.count, 1);
    assert.equal(status.snapshot().counters.n, 1);
    t.mock.timers.tick(15_000);
    assert.equal(reports()[0]!.attributes['status.INFO'], 1);
    await provider.shutdown();
  });
});

describe('StatusProcessor templates', () => {
  test('aliases, custom counters, unknown names, gauges, {time}, {interval}, braces', async (t) => {
    const messages = captureDiag().messages;
    const { logger, reports, provider } = setup(t, {
      interval: 90_000,
      template:
        '{WARNING}/{WARN} {CRITICAL}/{FATAL} {WARNING-SIZE} {CRITICAL-SIZE} {UNKNOWN} ' +
        'req={requests} 2xx={2xx} nope={nope} never={ never } ' +
        'dropped={LOOKBACK-DROPPED} broken={broken} nan={nan} ' +
        'at {time} every {interval} for {window} {{literal}} {unclosed',
      gauges: {
        'LOOKBACK-DROPPED': () => 7,
        broken: () => {
          throw new Error('gauge failed');
        },
        nan: () => Number.NaN,
      },
    });
    logger.emit({ severityNumber: 13, body: 'warn!', attributes: inc('requests').inc('2xx') });
    logger.emit({ severityNumber: 21, body: 'fatal!!', attributes: inc('requests') });
    logger.emit({ body: 'no severity' });
    t.mock.timers.tick(90_000);
    const report = reports()[0]!;
    assert.equal(
      report.body,
      '1/1 1/1 5 7 1 req=2 2xx=1 nope=0 never=0 dropped=7 broken=0 nan=0 ' +
        `at ${new Date(T0 + 90_000).toISOString()} every 90s for 90s {literal} {unclosed`,
    );
    assert.equal(report.attributes['status.gauge.LOOKBACK-DROPPED'], 7);
    assert.equal(report.attributes['status.gauge.broken'], 0);
    assert.equal(report.attributes['status.interval_ms'], 90_000);
    assert.ok(messages.some((m) => m.includes('gauge broken threw') && m.includes('gauge failed')));
    assert.ok(messages.some((m) => m.includes('gauge nan returned NaN')));
    await provider.shutdown();
  });

  test('built-in names shadow gauges, gauges shadow custom counters', async (t) => {
    const { logger, reports, provider } = setup(t, {
      template: '{INFO} {x} {time}',
      gauges: { INFO: () => 99, x: () => 5 },
    });
    logger.emit({ severityNumber: 9, body: '', attributes: inc('x', 100).inc('time') });
    t.mock.timers.tick(15_000);
    const report = reports()[0]!;
    assert.match(String(report.body), /^1 5 \d{4}-\d\d-\d\dT/);
    assert.equal(report.attributes['status.count.x'], 100);
    assert.equal(report.attributes['status.gauge.x'], 5);
    await provider.shutdown();
  });

  test('compileStatusTemplate parses once into names', () => {
    const tpl = compileStatusTemplate('a {INFO} b {WARNING} {INFO} {x}}} {{y}');
    assert.deepEqual(tpl.names, ['INFO', 'WARN', 'x']);
    const values = new Map<string, number | string>([
      ['INFO', 3],
      ['x', 'X'],
    ]);
    assert.equal(tpl.render(values), 'a 3 b 0 3 X} {y}');
    assert.equal(compileStatusTemplate('').render(values), '');
    assert.equal(compileStatusTemplate('{}{ }{').render(values), '{}{ }{');
    assert.ok(DEFAULT_STATUS_TEMPLATE.includes('{INFO}'));
    assert.throws(() => compileStatusTemplate(5 as unknown as string), /template must be a string/);
  });

  test('formatDuration', () => {
    assert.equal(formatDuration(15_000), '15s');
    assert.equal(formatDuration(300_000), '5m');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(3_250), '3.3s');
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatDuration(250), '250ms');
  });
});

describe('StatusProcessor options', () => {
  test('bad intervals throw a TypeError naming the option', () => {
    for (const interval of ['5x', -1, Number.NaN, '', {}, 0, '0s', 2 ** 31, true]) {
      assert.throws(
        () => new StatusProcessor({ interval: interval as never }),
        (err: unknown) =>
          err instanceof TypeError &&
          /StatusProcessor interval must be/.test(err.message) &&
          err.message.includes(typeof interval === 'string' ? JSON.stringify(interval) : ''),
        `interval ${String(interval)}`,
      );
    }
    assert.throws(() => new StatusProcessor({ interval: Number.NaN }), /got NaN$/);
    assert.throws(() => new StatusProcessor({ interval: {} as never }), /\(an object\)$/);
  });

  test('other bad options throw naming the option', () => {
    const processor = new SimpleLogRecordProcessor({ exporter: new InMemoryLogRecordExporter() });
    assert.throws(() => new StatusProcessor({ processor: {} as never }), /processor must be/);
    assert.throws(
      () => new StatusProcessor({ processor, template: 1 as never }),
      /template must be a string/,
    );
    assert.throws(
      () => new StatusProcessor({ processor, gauges: { g: 1 as never } }),
      /gauges\.g must be a function/,
    );
    assert.throws(() => new StatusProcessor({ processor, maxCounters: -1 }), /maxCounters/);
  });

  test('accepts the documented interval forms', async () => {
    const processor = new SimpleLogRecordProcessor({ exporter: new InMemoryLogRecordExporter() });
    for (const [interval, ms] of [
      ['15s', 15_000],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['250ms', 250],
      [1234, 1234],
    ] as const) {
      const status = new StatusProcessor({ interval, processor });
      assert.equal(status.intervalMs, ms);
      await status.shutdown();
    }
    const status = new StatusProcessor({ processor });
    assert.equal(status.intervalMs, 15_000);
    await status.shutdown();
  });

  test('the timer does not keep a process alive', async () => {
    const moduleUrl = new URL('../src/processors/status/status-processor.ts', import.meta.url).href;
    // Default processor (console), a short interval: the child prints a few status records while
    // a 700 ms timeout keeps it alive, then must exit by itself without shutdown().
    const script = `
      import { StatusProcessor } from ${JSON.stringify(moduleUrl)};
      const status = new StatusProcessor({ interval: '200ms' });
      status.onEmit({ instrumentationScope: { name: 'x' }, severityNumber: 9, body: 'hi', attributes: {} });
      setTimeout(() => console.log('child done'), 700);
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '--no-warnings', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 30_000 },
    );
    assert.match(stdout, /child done/);
    assert.match(stdout, /starlog\.status/);
    assert.match(stdout, /1 info, 0 warn/);
  });
});
