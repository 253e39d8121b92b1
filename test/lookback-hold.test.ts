/**
 * What the lookback buffer holds by default and how a request that ended well releases it:
 * the hold level (`holdSeverity`, per logger with `hold`), records without a trace, the root
 * task's exit record, and the status record's held/flushed/discarded/dropped gauges.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  type Context,
  context,
  ROOT_CONTEXT,
  SeverityNumber,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import {
  LoggerProvider,
  type LogRecordProcessor,
  type ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import { parseConfig, toSetupOptions } from '../src/config/load.ts';
import { getLogger } from '../src/logger.ts';
import {
  type LookbackOptions,
  LookbackProcessor,
} from '../src/processors/lookback/lookback-processor.ts';
import {
  registerGlobalLoggerProvider,
  unregisterGlobalLoggerProvider,
} from '../src/setup/register-global.ts';
import { setupLogging } from '../src/setup/setup-logging.ts';
import { ensureContextManager } from '../src/tasks/context-manager.ts';
import { task, to } from '../src/tasks/scope.ts';

const { TRACE, DEBUG, DEBUG4, INFO, WARN, ERROR } = SeverityNumber;

class Collector implements LogRecordProcessor {
  readonly records: ReadWriteLogRecord[] = [];
  onEmit(record: ReadWriteLogRecord): void {
    this.records.push(record);
  }
  get bodies(): unknown[] {
    return this.records.map((r) => r.body);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

function spanContext(): SpanContext {
  return {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
  };
}

function setup(options: LookbackOptions = {}) {
  const sink = new Collector();
  const lookback = new LookbackProcessor(sink, options);
  const provider = new LoggerProvider({ processors: [lookback] });
  const emit = (logger: string, severityNumber: SeverityNumber, body: string, sc?: SpanContext) =>
    provider.getLogger(logger).emit({
      severityNumber,
      body,
      context: sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT,
    });
  return { sink, lookback, provider, emit };
}

describe('LookbackProcessor: what is held', () => {
  test('default: TRACE and DEBUG are held, INFO and WARN written at once, ERROR flushes', () => {
    const { sink, lookback, emit } = setup();
    const sc = spanContext();
    emit('app', TRACE, 't', sc);
    emit('app', DEBUG4, 'd4', sc);
    emit('app', INFO, 'i', sc);
    emit('app', WARN, 'w', sc);
    assert.deepEqual(sink.bodies, ['i', 'w']);
    assert.equal(lookback.stats().buffered, 2);
    emit('app', ERROR, 'e', sc);
    assert.deepEqual(sink.bodies, ['i', 'w', 't', 'd4', 'e']);
    assert.equal(lookback.holdSeverity, DEBUG4);
  });

  test('records without a trace are written at once, unless holdUntraced', () => {
    const plain = setup();
    plain.emit('app', DEBUG, 'listening');
    plain.emit('app', ERROR, 'crash');
    assert.deepEqual(plain.sink.bodies, ['listening', 'crash']);
    assert.equal(plain.lookback.stats().following, 0, 'no window without a key');

    const held = setup({ holdUntraced: true });
    held.emit('app', DEBUG, 'listening');
    held.emit('app', INFO, 'ready');
    assert.deepEqual(held.sink.bodies, ['ready']);
    held.emit('app', ERROR, 'crash');
    assert.deepEqual(held.sink.bodies, ['ready', 'listening', 'crash']);
  });

  test("holdSeverity 'info' holds INFO too; 'off' holds nothing", () => {
    const info = setup({ holdSeverity: 'info' });
    const sc = spanContext();
    info.emit('app', INFO, 'i', sc);
    info.emit('app', WARN, 'w', sc);
    assert.deepEqual(info.sink.bodies, ['w']);

    const off = setup({ holdSeverity: 'off' });
    off.emit('app', TRACE, 't', sc);
    assert.deepEqual(off.sink.bodies, ['t']);
    assert.equal(off.lookback.stats().held, 0);
  });

  test("hold rules by logger name: 'debug,app.sql=info,noisy.*=off'", () => {
    const { sink, lookback, emit } = setup({ hold: 'debug,app.sql=info,noisy.*=off' });
    const sc = spanContext();
    emit('app', INFO, 'app info', sc);
    emit('app.sql', INFO, 'sql info', sc);
    emit('app.sql', DEBUG, 'sql debug', sc);
    emit('noisy.cache', DEBUG, 'noisy debug', sc);
    emit('app', DEBUG, 'app debug', sc);
    assert.deepEqual(sink.bodies, ['app info', 'noisy debug']);
    assert.equal(lookback.stats().buffered, 3);
    emit('app', ERROR, 'boom', sc);
    assert.deepEqual(sink.bodies, [
      'app info',
      'noisy debug',
      'sql info',
      'sql debug',
      'app debug',
      'boom',
    ]);
  });

  test('invalid hold options throw a TypeError naming the option', () => {
    const sink = new Collector();
    assert.throws(() => new LookbackProcessor(sink, { holdSeverity: 'loud' }), /holdSeverity/);
    assert.throws(() => new LookbackProcessor(sink, { hold: 'debug,app=loud' }), /hold: /);
    assert.throws(
      () => new LookbackProcessor(sink, { holdUntraced: 'yes' as unknown as boolean }),
      /holdUntraced/,
    );
  });

  test('reconfigure changes the hold level', () => {
    const { sink, lookback, emit } = setup();
    const sc = spanContext();
    emit('app', INFO, 'i1', sc);
    lookback.reconfigure({ holdSeverity: 'info' });
    emit('app', INFO, 'i2', sc);
    assert.deepEqual(sink.bodies, ['i1']);
    lookback.reconfigure({ hold: 'debug,app=warn' });
    emit('app', WARN, 'w', sc);
    emit('other', INFO, 'o', sc);
    assert.deepEqual(sink.bodies, ['i1', 'o']);
  });
});

describe('LookbackProcessor: a request that ended well releases its buffer', () => {
  ensureContextManager();

  test("the root task's exit record releases the trace; a subtask's does not; late records are discarded", async () => {
    const { sink, lookback, provider } = setup();
    registerGlobalLoggerProvider(provider);
    after(unregisterGlobalLoggerProvider);
    const log = getLogger('app');
    let traced: Context | undefined;
    await task('GET /orders', async () => {
      log.debug('loading');
      await to('db', async () => {
        log.debug('query');
      });
      assert.equal(lookback.stats().buffered, 2, "a subtask's end does not release");
      log.info('handled');
      traced = trace.setSpanContext(ROOT_CONTEXT, trace.getSpanContext(context.active())!);
    });
    let s = lookback.stats();
    assert.equal(s.buffered, 0);
    assert.equal(s.discarded, 2);
    const bodies = sink.bodies;
    assert.ok(bodies.includes('handled'), 'the INFO line is written');
    assert.ok(!bodies.includes('loading') && !bodies.includes('query'));
    // a record of the same trace that arrives later (e.g. from another process) is discarded
    provider.getLogger('child').emit({ severityNumber: DEBUG, body: 'late', context: traced });
    s = lookback.stats();
    assert.equal(s.buffered, 0);
    assert.equal(s.discarded, 3);
  });

  test("an HTTP request task's access record (scope starlog.http) releases its trace", () => {
    const { sink, lookback, emit, provider } = setup();
    const sc = spanContext();
    emit('app', DEBUG, 'loading', sc);
    assert.equal(lookback.stats().buffered, 1);
    provider.getLogger('starlog.http').emit({
      severityNumber: INFO,
      body: 'GET /orders/:id 200 3.2ms',
      attributes: { 'task.id': '1@abcd', 'task.outcome': 'success' },
      context: trace.setSpanContext(ROOT_CONTEXT, sc),
    });
    const s = lookback.stats();
    assert.equal(s.buffered, 0, 'the request ended well: its buffer is released');
    assert.equal(s.discarded, 1);
    assert.deepEqual(sink.bodies, ['GET /orders/:id 200 3.2ms']);
  });

  test('a failing task flushes its DEBUG trail', async () => {
    const { sink, lookback, provider } = setup();
    registerGlobalLoggerProvider(provider);
    after(unregisterGlobalLoggerProvider);
    const log = getLogger('app');
    await assert.rejects(
      task('POST /pay', async () => {
        log.debug('charging');
        await tick();
        throw new Error('card declined');
      }),
    );
    assert.ok(sink.bodies.includes('charging'));
    assert.ok(sink.bodies.includes('FAILED POST /pay'));
    assert.equal(lookback.stats().flushed, 1);
    assert.equal(lookback.stats().discarded, 0);
  });

  test('releaseOnTaskEnd: false keeps the buffer until maxAge', async () => {
    const { lookback, provider } = setup({ releaseOnTaskEnd: false });
    registerGlobalLoggerProvider(provider);
    after(unregisterGlobalLoggerProvider);
    await task('job', async () => {
      getLogger('app').debug('step');
    });
    assert.equal(lookback.stats().buffered, 1);
  });
});

describe('setupLogging with lookback', () => {
  test('configuration keys, and the status record shows held/flushed/discarded/dropped apart', async () => {
    const parsed = parseConfig(
      'lookback:\n  holdSeverity: info\n  hold: { default: debug, app.sql: info }\n  holdUntraced: true\n',
      'starlog.config.yaml',
    );
    assert.deepEqual(parsed.config.lookback, {
      holdSeverity: 'info',
      hold: 'debug,app.sql=info',
      holdUntraced: true,
    });
    assert.deepEqual(toSetupOptions(parsed.config, {}).lookback, {
      holdSeverity: 'info',
      hold: 'debug,app.sql=info',
      holdUntraced: true,
    });

    const dir = await mkdtemp(join(tmpdir(), 'starlog-lookback-hold-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'out.jsonl');
    const handle = await setupLogging({
      serviceName: 'lookback-hold',
      levels: 'debug',
      status: { interval: '1h' },
      lookback: { capacity: 2 },
      file: { path: file },
      console: false,
    });
    try {
      const log = getLogger('app');
      await task('ok', async () => {
        log.debug('ok debug');
        log.info('ok info');
      });
      await assert.rejects(
        task('bad', async () => {
          log.debug('bad debug');
          throw new Error('no');
        }),
      );
      await task('many', async () => {
        for (let i = 0; i < 5; i++) log.debug(`many ${i}`); // capacity 2: 3 dropped
        log.info('many info');
      });
      log.debug('outside any task'); // no trace: written at once
      const lb = handle.stats().lookback!;
      assert.equal(lb.buffered, 0);
      assert.equal(lb.flushed, 1);
      assert.equal(lb.dropped.discarded, 3); // ok debug, many 3 and many 4
      assert.equal(lb.dropped.capacity, 3);
    } finally {
      await handle.shutdown();
    }
    const text = await readFile(file, 'utf8');
    assert.match(text, /ok info/);
    assert.match(text, /outside any task/);
    assert.match(text, /bad debug/);
    assert.doesNotMatch(text, /ok debug/);
    const gauge = (name: string): number => {
      const m = new RegExp(
        `"status\\.gauge\\.${name}","value":\\{"(?:int|double)Value":"?(\\d+)`,
      ).exec(text);
      assert.ok(m, `the status record has the gauge ${name}`);
      return Number(m[1]);
    };
    assert.equal(gauge('LOOKBACK-HELD'), 0);
    assert.equal(gauge('LOOKBACK-FLUSHED'), 1);
    assert.equal(gauge('LOOKBACK-DISCARDED'), 3);
    assert.equal(gauge('LOOKBACK-DROPPED'), 3);
  });
});
