import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  type Context,
  context,
  DiagLogLevel,
  diag,
  ROOT_CONTEXT,
  SeverityNumber,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordProcessor,
  type ReadWriteLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  type LookbackOptions,
  LookbackProcessor,
} from '../src/processors/lookback/lookback-processor.ts';
import { estimateRecordBytes } from '../src/processors/lookback/record-size.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
after(() => {
  context.disable();
});

const { DEBUG, INFO, WARN, ERROR, FATAL } = SeverityNumber;

/** A downstream processor that keeps what it receives (the records and their Context). */
class Collector implements LogRecordProcessor {
  readonly received: { record: ReadWriteLogRecord; ctx: Context | undefined }[] = [];
  shutdowns = 0;
  flushes = 0;
  onEmit(record: ReadWriteLogRecord, ctx?: Context): void {
    this.received.push({ record, ctx });
  }
  get bodies(): unknown[] {
    return this.received.map((r) => r.record.body);
  }
  async forceFlush(): Promise<void> {
    this.flushes++;
  }
  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

function newSpanContext(traceId = randomBytes(16).toString('hex')): SpanContext {
  return { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.SAMPLED };
}

/**
 * The policy of the Python original, which these tests exercise: every record below ERROR is held,
 * records without a trace too (per process). The defaults (DEBUG and below, traced records only)
 * are tested in lookback-hold.test.ts.
 */
const HOLD_ALL: LookbackOptions = { holdSeverity: 'warn', holdUntraced: true };

/** A LoggerProvider → LookbackProcessor → Collector, with a hand-moved clock (ms). */
function setup(options: LookbackOptions = {}, resource?: Resource) {
  const clock = { t: 1_000_000 };
  const sink = new Collector();
  const lookback = new LookbackProcessor(sink, { now: () => clock.t, ...HOLD_ALL, ...options });
  const provider = new LoggerProvider({ resource, processors: [lookback] });
  const logger = provider.getLogger('lookback-test');
  const emit = (severityNumber: SeverityNumber, body: string, sc?: SpanContext) =>
    logger.emit({
      severityNumber,
      body,
      context: sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT,
    });
  return { clock, sink, lookback, provider, logger, emit };
}

describe('LookbackProcessor: the Python original, ported', () => {
  test('capacity 5 and 100 × (DEBUG, INFO, WARN) on one key sends nothing', () => {
    const { sink, lookback, emit } = setup({ capacity: 5 });
    const sc = newSpanContext();
    for (let i = 0; i < 100; i++) {
      emit(DEBUG, `debug ${i}`, sc);
      emit(INFO, `info ${i}`, sc);
      emit(WARN, `warn ${i}`, sc);
    }
    assert.equal(sink.received.length, 0);
    const s = lookback.stats();
    assert.equal(s.buffered, 5);
    assert.equal(s.keys, 1);
    assert.equal(s.held, 300);
    assert.equal(s.dropped.capacity, 295);
    assert.deepEqual(
      { age: s.dropped.age, keys: s.dropped.keys, bytes: s.dropped.bytes },
      { age: 0, keys: 0, bytes: 0 },
    );
  });

  test('DEBUG, INFO, WARN then shutdown sends nothing (and shuts next down)', async () => {
    const { sink, lookback, provider, emit } = setup({ capacity: 5 });
    const sc = newSpanContext();
    emit(DEBUG, 'd', sc);
    emit(INFO, 'i', sc);
    emit(WARN, 'w', sc);
    await provider.shutdown();
    assert.equal(sink.received.length, 0);
    assert.equal(sink.shutdowns, 1);
    const s = lookback.stats();
    assert.equal(s.discarded, 3);
    assert.equal(s.buffered, 0);
    emit(ERROR, 'after shutdown', sc);
    assert.equal(sink.received.length, 0);
  });

  test("onShutdown: 'flush' sends what is held at shutdown", async () => {
    const { sink, provider, emit } = setup({ onShutdown: 'flush' });
    const sc = newSpanContext();
    emit(DEBUG, 'd', sc);
    emit(INFO, 'i', sc);
    await provider.shutdown();
    assert.deepEqual(sink.bodies, ['d', 'i']);
  });

  test('DEBUG, INFO, ERROR sends the three in order; a later flush() sends nothing more', () => {
    const { sink, lookback, emit } = setup({ capacity: 5 });
    const sc = newSpanContext();
    emit(DEBUG, 'd', sc);
    emit(INFO, 'i', sc);
    emit(ERROR, 'e', sc);
    assert.deepEqual(sink.bodies, ['d', 'i', 'e']);
    assert.deepEqual(
      sink.received.map((r) => r.record.severityNumber),
      [DEBUG, INFO, ERROR],
    );
    assert.equal(lookback.flush(), 0);
    assert.equal(sink.received.length, 3);
    const s = lookback.stats();
    assert.equal(s.flushed, 2);
    assert.equal(s.passed, 1);
    assert.equal(s.buffered, 0);
    assert.equal(s.keys, 0);
    assert.equal(s.bytes, 0);
  });

  test('two interleaved keys: an ERROR on one sends only that key’s records', () => {
    const { sink, lookback, emit } = setup({ capacity: 5 });
    const a = newSpanContext();
    const b = newSpanContext();
    emit(DEBUG, 'a1', a);
    emit(DEBUG, 'b1', b);
    emit(WARN, 'a2', a);
    emit(WARN, 'b2', b);
    emit(ERROR, 'a3', a);
    emit(INFO, 'b3', b);
    assert.deepEqual(sink.bodies, ['a1', 'a2', 'a3']);
    assert.equal(lookback.stats().buffered, 3);
    emit(FATAL, 'b4', b);
    assert.deepEqual(sink.bodies, ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'b4']);
  });

  test('records older than maxAge are not sent (age from insertion, counted as age drops)', () => {
    const { clock, sink, lookback, emit } = setup({ maxAge: '1m' });
    const sc = newSpanContext();
    emit(DEBUG, 'old', sc);
    clock.t += 40_000;
    emit(INFO, 'recent', sc);
    clock.t += 20_001; // 'old' is now 60.001 s old, 'recent' 20.001 s
    emit(ERROR, 'boom', sc);
    assert.deepEqual(sink.bodies, ['recent', 'boom']);
    assert.equal(lookback.stats().dropped.age, 1);
  });
});

describe('LookbackProcessor: keys', () => {
  test('records without trace context are held per process (per Resource object)', () => {
    const sink = new Collector();
    const lookback = new LookbackProcessor(sink, HOLD_ALL);
    const scope = { name: 'child' };
    const p1 = resourceFromAttributes({ 'process.pid': 100 });
    const p2 = resourceFromAttributes({ 'process.pid': 101 });
    const rec = (resource: Resource, severityNumber: SeverityNumber, body: string) =>
      new PlainLogRecord({ resource, instrumentationScope: scope, severityNumber, body });
    lookback.onEmit(rec(p1, DEBUG, 'p1-1'));
    lookback.onEmit(rec(p2, DEBUG, 'p2-1'));
    lookback.onEmit(rec(p1, WARN, 'p1-2'));
    lookback.onEmit(rec(p2, WARN, 'p2-2'));
    lookback.onEmit(rec(p1, ERROR, 'p1-3'));
    lookback.onEmit(rec(p2, INFO, 'p2-3'));
    assert.deepEqual(sink.bodies, ['p1-1', 'p1-2', 'p1-3']);
    assert.equal(lookback.stats().keys, 1);
  });

  test('an ERROR from one process flushes the same trace’s records from other processes', () => {
    const sink = new Collector();
    const lookback = new LookbackProcessor(sink, HOLD_ALL);
    const scope = { name: 'ingested' };
    const primary = resourceFromAttributes({ 'process.pid': 1, 'starlog.role': 'primary' });
    const child = resourceFromAttributes({ 'process.pid': 2, 'starlog.role': 'child' });
    const sc = newSpanContext();
    const other = newSpanContext();
    const rec = (
      resource: Resource,
      s: SpanContext,
      severityNumber: SeverityNumber,
      body: string,
    ) =>
      new PlainLogRecord({
        resource,
        instrumentationScope: scope,
        spanContext: s,
        severityNumber,
        body,
      });
    lookback.onEmit(rec(primary, sc, INFO, 'primary: accepted'));
    lookback.onEmit(rec(child, other, DEBUG, 'child: other trace'));
    lookback.onEmit(rec(child, sc, DEBUG, 'child: step 1'));
    lookback.onEmit(rec(primary, sc, DEBUG, 'primary: waiting'));
    lookback.onEmit(rec(child, sc, ERROR, 'child: failed'));
    assert.deepEqual(sink.bodies, [
      'primary: accepted',
      'child: step 1',
      'primary: waiting',
      'child: failed',
    ]);
    assert.deepEqual(
      sink.received.map((r) => r.record.resource),
      [primary, child, primary, child],
    );
    // Held records reach next with a Context carrying their own span context.
    assert.equal(trace.getSpanContext(sink.received[0]!.ctx!)?.traceId, sc.traceId);
  });

  test('a key function decides; undefined passes the record straight through', () => {
    const { sink, lookback, emit } = setup({
      key: (r) => (typeof r.body === 'string' ? r.body.split(':')[0] : undefined) || undefined,
    });
    emit(DEBUG, 'a:1');
    emit(DEBUG, 'b:1');
    emit(DEBUG, ':no key');
    assert.deepEqual(sink.bodies, [':no key']);
    emit(ERROR, 'b:2');
    assert.deepEqual(sink.bodies, [':no key', 'b:1', 'b:2']);
    assert.equal(lookback.stats().buffered, 1);
  });

  test('a key function that throws: the record passes, the error is counted, nothing breaks', () => {
    const errors: unknown[] = [];
    diag.setLogger(
      {
        error: (...args: unknown[]) => errors.push(args),
        warn: () => {},
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.ERROR,
    );
    try {
      const { sink, lookback, emit } = setup({
        key: (r) => {
          if (r.body === 'bad') throw new Error('key exploded');
          return 'k';
        },
      });
      emit(DEBUG, 'held');
      assert.doesNotThrow(() => emit(DEBUG, 'bad'));
      assert.deepEqual(sink.bodies, ['bad']);
      emit(ERROR, 'error');
      assert.deepEqual(sink.bodies, ['bad', 'held', 'error']);
      const s = lookback.stats();
      assert.equal(s.errors, 1);
      assert.equal(s.passed, 2);
      assert.equal(errors.length, 1);
    } finally {
      diag.disable();
    }
  });

  test('a next processor that throws: emit does not throw, errors are counted, later records go', () => {
    diag.setLogger(
      { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} },
      DiagLogLevel.ERROR,
    );
    try {
      const got: unknown[] = [];
      const flaky: LogRecordProcessor = {
        onEmit(record) {
          if (record.body === 'poison') throw new Error('downstream exploded');
          got.push(record.body);
        },
        forceFlush: async () => {},
        shutdown: async () => {},
      };
      const lookback = new LookbackProcessor(flaky, HOLD_ALL);
      const provider = new LoggerProvider({ processors: [lookback] });
      const logger = provider.getLogger('t');
      const ctx = trace.setSpanContext(ROOT_CONTEXT, newSpanContext());
      logger.emit({ severityNumber: DEBUG, body: 'one', context: ctx });
      logger.emit({ severityNumber: DEBUG, body: 'poison', context: ctx });
      logger.emit({ severityNumber: DEBUG, body: 'three', context: ctx });
      assert.doesNotThrow(() => logger.emit({ severityNumber: ERROR, body: 'err', context: ctx }));
      assert.deepEqual(got, ['one', 'three', 'err']);
      assert.equal(lookback.stats().errors, 1);
    } finally {
      diag.disable();
    }
  });
});

describe('LookbackProcessor: bounds', () => {
  test('capacity: the oldest record of the key goes, counted exactly', () => {
    const { sink, lookback, emit } = setup({ capacity: 3 });
    const sc = newSpanContext();
    for (let i = 1; i <= 10; i++) emit(DEBUG, `r${i}`, sc);
    assert.equal(lookback.stats().dropped.capacity, 7);
    emit(ERROR, 'e', sc);
    assert.deepEqual(sink.bodies, ['r8', 'r9', 'r10', 'e']);
  });

  test('maxKeys: a new key evicts the least recently used buffer, its records counted', () => {
    const { sink, lookback, emit } = setup({ maxKeys: 2 });
    const a = newSpanContext();
    const b = newSpanContext();
    const c = newSpanContext();
    emit(DEBUG, 'a1', a);
    emit(DEBUG, 'b1', b);
    emit(DEBUG, 'b2', b);
    emit(DEBUG, 'a2', a); // a is now the most recently used: b is the LRU
    emit(DEBUG, 'c1', c); // evicts b (2 records)
    let s = lookback.stats();
    assert.equal(s.keys, 2);
    assert.equal(s.dropped.keys, 2);
    assert.equal(s.buffered, 3);
    emit(ERROR, 'b3', b);
    assert.deepEqual(sink.bodies, ['b3']);
    emit(ERROR, 'a3', a);
    assert.deepEqual(sink.bodies, ['b3', 'a1', 'a2', 'a3']);
    emit(DEBUG, 'd1', newSpanContext()); // a was flushed: room for d, c stays
    s = lookback.stats();
    assert.equal(s.keys, 2);
    assert.equal(s.dropped.keys, 2);
  });

  test('maxBytes: the oldest records go across keys, counted exactly; the estimate stays under', () => {
    // Every body has the same length, so every record has the same estimate.
    const sizing = setup();
    sizing.emit(DEBUG, 'record 00', newSpanContext());
    const one = sizing.lookback.stats().bytes;
    assert.ok(one > 300, `a record is estimated at ${one} bytes`);

    const { sink, lookback, emit } = setup({ maxBytes: one * 3.5 });
    const a = newSpanContext();
    const b = newSpanContext();
    for (let i = 1; i <= 10; i++)
      emit(DEBUG, `record ${String(i).padStart(2, '0')}`, i % 2 ? a : b);
    const s = lookback.stats();
    assert.equal(s.buffered, 3);
    assert.equal(s.dropped.bytes, 7);
    assert.equal(s.bytes, one * 3);
    assert.ok(s.bytes <= lookback.maxBytes);
    emit(ERROR, 'a', a);
    emit(ERROR, 'b', b);
    // Records 8, 9, 10 survived: 9 is a's, 8 and 10 are b's.
    assert.deepEqual(sink.bodies, ['record 09', 'a', 'record 08', 'record 10', 'b']);
  });

  test('maxAge: an idle key is freed by the sweep (prune), counted as age drops', () => {
    const { clock, lookback, emit } = setup({ maxAge: 1000 });
    for (let i = 0; i < 5; i++) emit(DEBUG, `x${i}`, newSpanContext());
    clock.t += 500;
    emit(DEBUG, 'y', newSpanContext());
    clock.t += 501;
    assert.equal(lookback.prune(), 5);
    let s = lookback.stats();
    assert.equal(s.buffered, 1);
    assert.equal(s.keys, 1);
    assert.equal(s.dropped.age, 5);
    clock.t += 500;
    assert.equal(lookback.prune(), 1);
    s = lookback.stats();
    assert.deepEqual([s.buffered, s.keys, s.bytes, s.dropped.age], [0, 0, 0, 6]);
  });

  test('every bound at once keeps the counts consistent', () => {
    const { clock, lookback, emit } = setup({
      capacity: 4,
      maxKeys: 8,
      maxAge: 10_000,
      maxBytes: 14 * 600,
      followFor: 0,
    });
    const hot = Array.from({ length: 3 }, () => newSpanContext());
    for (let i = 0; i < 2000; i++) {
      clock.t += i === 1000 ? 11_000 : 7; // one stall: everything held then is too old
      const sc = i % 4 === 0 ? newSpanContext() : hot[i % 3];
      emit(i % 97 === 0 ? ERROR : DEBUG, `m${i} ${'z'.repeat(i % 50)}`, sc);
      const s = lookback.stats();
      assert.ok(s.keys <= 8 && s.bytes <= 14 * 600 && s.buffered <= 8 * 4);
    }
    const s = lookback.stats();
    const dropped = s.dropped.capacity + s.dropped.age + s.dropped.keys + s.dropped.bytes;
    assert.equal(s.held, s.buffered + s.flushed + dropped + s.discarded);
    assert.equal(s.held + s.passed, 2000);
    for (const [bound, n] of Object.entries(s.dropped)) assert.ok(n > 0, `${bound}: ${n}`);
  });
});

describe('LookbackProcessor: after a flush, and on demand', () => {
  test('followFor: a flushed key passes its later records through, then holds again', () => {
    const { clock, sink, lookback, emit } = setup({ followFor: '30s' });
    const sc = newSpanContext();
    emit(ERROR, 'e', sc); // an ERROR with an empty buffer just passes
    assert.deepEqual(sink.bodies, ['e']);
    clock.t += 29_000;
    emit(DEBUG, 'after 29 s', sc);
    assert.deepEqual(sink.bodies, ['e', 'after 29 s']);
    clock.t += 1_000;
    emit(DEBUG, 'after 30 s', sc);
    assert.deepEqual(sink.bodies, ['e', 'after 29 s']);
    assert.equal(lookback.stats().buffered, 1);
    assert.equal(lookback.stats().following, 0);
  });

  test('the follow fast path (default clock, one span context) stops at a release and an eviction', () => {
    // the default clock: records of a following span take the fast path (no Map lookup)
    const sink = new Collector();
    const lookback = new LookbackProcessor(sink, { maxKeys: 1 });
    const logger = new LoggerProvider({ processors: [lookback] }).getLogger('fast');
    const emit = (severityNumber: SeverityNumber, body: string, sc: SpanContext) =>
      logger.emit({ severityNumber, body, context: trace.setSpanContext(ROOT_CONTEXT, sc) });
    const a = newSpanContext();
    const b = newSpanContext();
    emit(ERROR, 'a error', a);
    emit(DEBUG, 'a follows 1', a);
    emit(ERROR, 'a error 2', a);
    emit(DEBUG, 'a follows 2', a);
    lookback.release(a.traceId); // the request ended: its later records are discarded
    emit(DEBUG, 'a released', a);
    assert.equal(lookback.stats().discarded, 1);
    emit(ERROR, 'a error 3', a); // an ERROR still passes and follows again
    emit(DEBUG, 'a follows 3', a);
    emit(ERROR, 'b error', b); // maxKeys 1: a's window goes
    emit(DEBUG, 'a held', a);
    emit(DEBUG, 'b follows', b);
    // interleaved spans of two following traces (each record looks its window up by trace id)
    lookback.reconfigure({ maxKeys: 10 });
    const c = newSpanContext();
    const d = { ...newSpanContext(), traceId: c.traceId }; // another span of c's trace
    emit(ERROR, 'c error', c);
    emit(DEBUG, 'b 2', b);
    emit(DEBUG, 'c 2', c);
    emit(DEBUG, 'd 1', d);
    emit(DEBUG, 'b 3', b);
    lookback.release(b.traceId);
    emit(DEBUG, 'c 3', c);
    emit(DEBUG, 'b released', b);
    emit(DEBUG, 'd 2', d);
    assert.deepEqual(sink.bodies, [
      'a error',
      'a follows 1',
      'a error 2',
      'a follows 2',
      'a error 3',
      'a follows 3',
      'b error',
      'b follows',
      'c error',
      'b 2',
      'c 2',
      'd 1',
      'b 3',
      'c 3',
      'd 2',
    ]);
    assert.equal(lookback.stats().buffered, 1);
    assert.equal(lookback.stats().discarded, 2);
  });

  test('followFor 0 turns following off', () => {
    const { sink, emit } = setup({ followFor: 0 });
    const sc = newSpanContext();
    emit(ERROR, 'e', sc);
    emit(DEBUG, 'd', sc);
    assert.deepEqual(sink.bodies, ['e']);
  });

  test('flush(key) sends one key (and follows it); flush() sends all in arrival order', () => {
    const { sink, lookback, emit } = setup();
    const a = newSpanContext();
    const b = newSpanContext();
    const c = newSpanContext();
    emit(DEBUG, 'a1', a);
    emit(DEBUG, 'b1', b);
    emit(DEBUG, 'c1', c);
    emit(DEBUG, 'a2', a);
    assert.equal(lookback.flush(b.traceId), 1);
    assert.deepEqual(sink.bodies, ['b1']);
    emit(DEBUG, 'b2', b);
    assert.deepEqual(sink.bodies, ['b1', 'b2']);
    assert.equal(lookback.flush(), 3);
    assert.deepEqual(sink.bodies, ['b1', 'b2', 'a1', 'c1', 'a2']);
    emit(DEBUG, 'a3', a); // flush() of everything does not start follow windows
    assert.equal(sink.received.length, 5);
  });

  test('discard(key) drops a key without sending it', () => {
    const { sink, lookback, emit } = setup();
    const sc = newSpanContext();
    emit(DEBUG, 'x', sc);
    emit(DEBUG, 'y', sc);
    assert.equal(lookback.discard(sc.traceId), 2);
    emit(ERROR, 'e', sc);
    assert.deepEqual(sink.bodies, ['e']);
    assert.equal(lookback.stats().discarded, 2);
  });

  test('flushActive() inside context.with flushes the active trace, across awaits', async () => {
    const { sink, lookback, logger } = setup();
    const a = newSpanContext();
    const b = newSpanContext();
    const request = (sc: SpanContext, fail: boolean) =>
      context.with(trace.setSpanContext(context.active(), sc), async () => {
        logger.emit({ severityNumber: INFO, body: `${sc.traceId} start` });
        await tick();
        logger.emit({ severityNumber: DEBUG, body: `${sc.traceId} step` });
        await tick();
        return fail ? lookback.flushActive() : 0;
      });
    const [na, nb] = await Promise.all([request(a, true), request(b, false)]);
    assert.equal(na, 2);
    assert.equal(nb, 0);
    assert.deepEqual(sink.bodies, [`${a.traceId} start`, `${a.traceId} step`]);
    assert.equal(lookback.flushActive(), 0); // no active span context here
    assert.equal(lookback.stats().buffered, 2);
  });

  test('forceFlush forwards to next and keeps held records held', async () => {
    const { sink, lookback, provider, emit } = setup();
    emit(DEBUG, 'd', newSpanContext());
    await provider.forceFlush();
    assert.equal(sink.flushes, 1);
    assert.equal(sink.received.length, 0);
    assert.equal(lookback.stats().buffered, 1);
  });

  test('enabled(): below flushSeverity always; at/above, next decides', () => {
    const picky: LogRecordProcessor = {
      onEmit() {},
      enabled: (o) => (o.severityNumber ?? 0) < FATAL,
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const lookback = new LookbackProcessor(picky, HOLD_ALL);
    const base = { context: ROOT_CONTEXT, instrumentationScope: { name: 's' } };
    assert.equal(lookback.enabled({ ...base, severityNumber: DEBUG }), true);
    assert.equal(lookback.enabled({ ...base }), true);
    assert.equal(lookback.enabled({ ...base, severityNumber: ERROR }), true);
    assert.equal(lookback.enabled({ ...base, severityNumber: FATAL }), false);
  });
});

describe('LookbackProcessor with a real BatchLogRecordProcessor downstream', () => {
  test('records held for 4 minutes are exported unchanged, with their original timestamps', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const batch = new BatchLogRecordProcessor({
      exporter,
      scheduledDelayMillis: 60_000,
    });
    const clock = { t: 0 };
    const lookback = new LookbackProcessor(batch, {
      ...HOLD_ALL,
      now: () => clock.t,
      capacity: 10,
    });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'lookback-test' }),
      processors: [lookback],
    });
    const logger = provider.getLogger('batch');
    const ctx = trace.setSpanContext(ROOT_CONTEXT, newSpanContext());
    const t0 = Date.UTC(2025, 0, 1, 12, 0, 0);
    logger.emit({ severityNumber: DEBUG, body: 'first', timestamp: t0, context: ctx });
    logger.emit({ severityNumber: INFO, body: 'second', timestamp: t0 + 1, context: ctx });
    clock.t += 4 * 60_000;
    await provider.forceFlush();
    assert.equal(exporter.getFinishedLogRecords().length, 0);
    logger.emit({ severityNumber: ERROR, body: 'third', timestamp: t0 + 240_000, context: ctx });
    await provider.forceFlush();
    const out = exporter.getFinishedLogRecords();
    assert.deepEqual(
      out.map((r) => r.body),
      ['first', 'second', 'third'],
    );
    assert.deepEqual(out[0]!.hrTime, [Math.floor(t0 / 1000), 0]);
    assert.deepEqual(out[1]!.hrTime, [Math.floor(t0 / 1000), 1_000_000]);
    assert.equal(out[0]!.spanContext?.traceId, trace.getSpanContext(ctx)?.traceId);
    await provider.shutdown();
  });
});

describe('LookbackProcessor under concurrency', () => {
  test('1,000 concurrent async requests, 20 fail: exactly their records reach next, complete and in order', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const batch = new BatchLogRecordProcessor({
      exporter,
      maxQueueSize: 10_000,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 5,
    });
    const lookback = new LookbackProcessor(batch, HOLD_ALL);
    const provider = new LoggerProvider({ processors: [lookback] });
    const logger = provider.getLogger('requests');
    const failing = new Set<number>();
    while (failing.size < 20) failing.add(Math.floor(Math.random() * 1000));
    const steps = 6;
    const traceOf = new Map<string, number>();

    const request = (n: number) =>
      context.with(trace.setSpanContext(context.active(), newSpanContext()), async () => {
        const traceId = trace.getSpanContext(context.active())!.traceId;
        traceOf.set(traceId, n);
        for (let step = 0; step < steps; step++) {
          logger.emit({
            severityNumber: step % 2 ? DEBUG : INFO,
            body: `request ${n} step ${step}`,
            attributes: { 'request.n': n, step },
          });
          // Interleave requests unevenly.
          for (let k = (n * 7 + step) % 4; k >= 0; k--) await tick();
        }
        if (failing.has(n)) {
          logger.emit({
            severityNumber: ERROR,
            body: `request ${n} failed`,
            attributes: { 'request.n': n, step: steps },
          });
        }
      });
    await Promise.all(Array.from({ length: 1000 }, (_, n) => request(n)));
    await provider.forceFlush();

    const out = exporter.getFinishedLogRecords();
    assert.equal(out.length, 20 * (steps + 1));
    const byRequest = new Map<number, number[]>();
    for (const r of out) {
      const n = r.attributes['request.n'] as number;
      assert.equal(traceOf.get(r.spanContext!.traceId), n, 'record carries its request’s trace');
      const list = byRequest.get(n) ?? [];
      list.push(r.attributes.step as number);
      byRequest.set(n, list);
    }
    assert.deepEqual(
      [...byRequest.keys()].sort((x, y) => x - y),
      [...failing].sort((x, y) => x - y),
    );
    for (const list of byRequest.values()) assert.deepEqual(list, [0, 1, 2, 3, 4, 5, 6]);
    const s = lookback.stats();
    assert.equal(s.buffered, 980 * steps);
    assert.equal(s.keys, 980);
    assert.equal(s.flushed, 20 * steps);
    assert.equal(s.passed, 20);
    await provider.shutdown();
  });
});

describe('LookbackProcessor options', () => {
  test('invalid options throw a TypeError naming the option', () => {
    const sink = new Collector();
    assert.throws(() => new LookbackProcessor(sink, { capacity: 0 }), /capacity/);
    assert.throws(() => new LookbackProcessor(sink, { capacity: 1.5 }), /capacity/);
    assert.throws(() => new LookbackProcessor(sink, { maxAge: '5 parsecs' }), /maxAge/);
    assert.throws(() => new LookbackProcessor(sink, { maxKeys: -1 }), /maxKeys/);
    assert.throws(() => new LookbackProcessor(sink, { maxBytes: 0 }), /maxBytes/);
    assert.throws(() => new LookbackProcessor(sink, { followFor: -1 }), /followFor/);
    assert.throws(() => new LookbackProcessor(sink, { flushSeverity: 'loud' }), /flushSeverity/);
    assert.throws(() => new LookbackProcessor(sink, { flushSeverity: 'off' }), /flushSeverity/);
    assert.throws(
      () => new LookbackProcessor(sink, { onShutdown: 'keep' as 'drop' }),
      /onShutdown/,
    );
    assert.throws(() => new LookbackProcessor({} as LogRecordProcessor), /next/);
  });

  test('flushSeverity accepts level names', () => {
    const { sink, emit } = setup({ flushSeverity: 'warn' });
    const sc = newSpanContext();
    emit(INFO, 'i', sc);
    emit(WARN, 'w', sc);
    assert.deepEqual(sink.bodies, ['i', 'w']);
  });

  test('defaults', () => {
    const lookback = new LookbackProcessor(
      new SimpleLogRecordProcessor({ exporter: new InMemoryLogRecordExporter() }),
    );
    assert.deepEqual(
      [
        lookback.capacity,
        lookback.maxAgeMs,
        lookback.flushSeverity,
        lookback.maxKeys,
        lookback.maxBytes,
        lookback.followForMs,
      ],
      [100, 300_000, SeverityNumber.ERROR, 10_000, 64 * 1024 * 1024, 30_000],
    );
  });
});

describe('estimateRecordBytes', () => {
  test('grows with body and attributes, bounded for deep and wide values', () => {
    const base = { resource: resourceFromAttributes({}), instrumentationScope: { name: 's' } };
    const empty = estimateRecordBytes(new PlainLogRecord(base));
    const body = estimateRecordBytes(new PlainLogRecord({ ...base, body: 'x'.repeat(1000) }));
    const attrs = estimateRecordBytes(
      new PlainLogRecord({ ...base, attributes: { a: 'x'.repeat(100), b: 1, c: true } }),
    );
    assert.equal(body - empty, 24 + 100 + 1000);
    assert.ok(attrs - empty >= 3 * 16 + 124 && attrs - empty < 300);
    const wide = Array.from({ length: 10_000 }, (_, i) => `item ${i}`);
    const est = estimateRecordBytes(new PlainLogRecord({ ...base, body: wide }));
    assert.ok(est > 10_000 * 30 && est < 10_000 * 60, `wide array estimated at ${est}`);
    const deep = { a: { b: { c: { d: { e: 'x'.repeat(10_000) } } } } };
    assert.ok(estimateRecordBytes(new PlainLogRecord({ ...base, body: deep })) < empty + 1000);
  });
});
