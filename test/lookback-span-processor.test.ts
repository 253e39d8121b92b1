import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  context,
  ROOT_CONTEXT,
  SeverityNumber,
  type Span,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
} from '@opentelemetry/sdk-logs';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { LookbackProcessor } from '../src/processors/lookback/lookback-processor.ts';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
after(() => {
  context.disable();
});

const { DEBUG, INFO, ERROR } = SeverityNumber;

function setup(sampler?: AlwaysOffSampler) {
  const logExporter = new InMemoryLogRecordExporter();
  const lookback = new LookbackProcessor(
    new BatchLogRecordProcessor({ exporter: logExporter, scheduledDelayMillis: 5 }),
    { holdSeverity: 'warn' }, // INFO held too, as these tests were written
  );
  const loggerProvider = new LoggerProvider({ processors: [lookback] });
  const logger = loggerProvider.getLogger('span-test');
  // Type check: the structural span processor is an sdk-trace SpanProcessor.
  const spanProcessor: SpanProcessor = lookback.spanProcessor();
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    sampler,
    spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter }), spanProcessor],
  });
  const tracer = tracerProvider.getTracer('span-test');
  const log = (severityNumber: SeverityNumber, body: string) =>
    logger.emit({ severityNumber, body });
  const exported = async () => {
    await loggerProvider.forceFlush();
    return logExporter.getFinishedLogRecords().map((r) => r.body);
  };
  const close = async () => {
    await tracerProvider.shutdown();
    await loggerProvider.shutdown();
  };
  return { lookback, tracer, log, exported, close };
}

describe('LookbackProcessor.spanProcessor() with a real sdk-trace TracerProvider', () => {
  test('a root span ending with ERROR flushes its trace; one ending OK discards its buffer at once', async () => {
    const { lookback, tracer, log, exported, close } = setup();
    const request = (name: string, fail: boolean) =>
      tracer.startActiveSpan(name, async (span: Span) => {
        log(INFO, `${name} start`);
        await tick();
        await tracer.startActiveSpan(`${name} db`, async (child: Span) => {
          log(DEBUG, `${name} query`);
          await tick();
          // A failing child span alone does not flush: only the local root decides.
          if (fail) child.setStatus({ code: SpanStatusCode.ERROR });
          child.end();
        });
        log(DEBUG, `${name} done`);
        span.setStatus({ code: fail ? SpanStatusCode.ERROR : SpanStatusCode.OK });
        span.end();
      });
    await Promise.all([request('ok-1', false), request('bad', true), request('ok-2', false)]);
    assert.deepEqual(await exported(), ['bad start', 'bad query', 'bad done']);
    const s = lookback.stats();
    assert.equal(s.buffered, 0);
    assert.equal(s.keys, 0);
    assert.equal(s.discarded, 6);
    assert.equal(s.flushed, 3);
    assert.equal(s.following, 3); // the failed trace follows; the two others are released

    await close();
  });

  test('a root span without status (UNSET) discards too', async () => {
    const { lookback, tracer, log, exported, close } = setup();
    await tracer.startActiveSpan('plain', async (span: Span) => {
      log(DEBUG, 'detail');
      span.end();
    });
    assert.deepEqual(await exported(), []);
    assert.equal(lookback.stats().discarded, 1);
    await close();
  });

  test('a span with a remote parent is a local root: its ERROR flushes the trace', async () => {
    const { lookback, tracer, log, exported, close } = setup();
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    await context.with(remote, () =>
      tracer.startActiveSpan('server', async (span: Span) => {
        log(DEBUG, 'from the remote caller’s trace');
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });
        span.end();
      }),
    );
    assert.deepEqual(await exported(), ['from the remote caller’s trace']);
    assert.equal(lookback.stats().flushed, 1);
    await close();
  });

  test('a span with a local parent is not a root: ending it changes nothing', async () => {
    const { lookback, tracer, log, exported, close } = setup();
    const root = tracer.startSpan('root');
    const rootCtx = trace.setSpan(context.active(), root);
    await context.with(rootCtx, async () => {
      const child = tracer.startSpan('child');
      log(DEBUG, 'in child');
      child.end(); // OK status, but not a root: the buffer stays
    });
    assert.equal(lookback.stats().buffered, 1);
    root.setStatus({ code: SpanStatusCode.ERROR });
    root.end();
    assert.deepEqual(await exported(), ['in child']);
    await close();
  });

  test('unsampled spans never reach the span processor: their buffers wait for ERROR or maxAge', async () => {
    const { lookback, tracer, log, exported, close } = setup(new AlwaysOffSampler());
    await tracer.startActiveSpan('unsampled', async (span: Span) => {
      log(DEBUG, 'detail');
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      assert.deepEqual(await exported(), []);
      assert.equal(lookback.stats().buffered, 1);
      log(ERROR, 'failed');
    });
    assert.deepEqual(await exported(), ['detail', 'failed']);
    await close();
  });
});
