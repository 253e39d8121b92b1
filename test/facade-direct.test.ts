/**
 * The facade's fast path (src/tasks/direct-emit.ts `emitPrimitive`): a record whose attributes
 * are strings, numbers and booleans skips the SDK's re-validation; every record must still come
 * out as the SDK's `Logger.emit()` makes it (limits, span context, the caller's object untouched).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Attributes,
  context,
  ROOT_CONTEXT,
  SeverityNumber,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, type ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { getLogger } from '../src/logger.ts';
import { registerGlobalLoggerProvider } from '../src/setup/register-global.ts';
import { CollectingProcessor } from './support/collect.ts';

const collected = new CollectingProcessor();
const provider = new LoggerProvider({
  processors: [collected],
  logRecordLimits: { attributeCountLimit: 3, attributeValueLengthLimit: 5 },
});
registerGlobalLoggerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

function take(): ReadWriteLogRecord[] {
  return collected.records.splice(0) as ReadWriteLogRecord[];
}

/** The record the facade makes and the one the SDK's own `emit()` makes from the same input. */
function both(attributes: Attributes): [ReadWriteLogRecord, ReadWriteLogRecord] {
  getLogger('facade').info(attributes, 'hello');
  provider.getLogger('facade').emit({
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: 'hello',
    attributes,
  });
  const [a, b] = take();
  assert.ok(a !== undefined && b !== undefined, 'two records');
  return [a, b];
}

function same(a: ReadWriteLogRecord, b: ReadWriteLogRecord): void {
  assert.deepEqual(
    {
      attributes: a.attributes,
      dropped: a.droppedAttributesCount,
      body: a.body,
      sev: [a.severityNumber, a.severityText],
      scope: a.instrumentationScope.name,
      span: a.spanContext,
    },
    {
      attributes: b.attributes,
      dropped: b.droppedAttributesCount,
      body: b.body,
      sev: [b.severityNumber, b.severityText],
      scope: b.instrumentationScope.name,
      span: b.spanContext,
    },
  );
}

test('string, number and boolean attributes take the fast path and come out as the SDK makes them', () => {
  const attributes = { route: '/a', status: 200, ok: true };
  const [a, b] = both(attributes);
  same(a, b);
  assert.equal(a.constructor.name, 'PlainLogRecord', 'the fast path was not taken');
  // the caller's object is neither kept nor changed by a processor writing to the record
  a.setAttribute('added', 1);
  assert.deepEqual(attributes, { route: '/a', status: 200, ok: true });
});

test('over the attribute limits, unusual values and keys: the same record as the SDK makes', () => {
  const cases: Attributes[] = [
    { a: 1, b: 2, c: 3, d: 4 }, // over the count limit
    { long: 'abcdefghij' }, // over the value length limit
    { '': 'empty key', k: 'v' },
    { list: [1, 2], s: 'x' },
    { nested: { deep: 'x' } } as unknown as Attributes,
    { u: undefined, n: null } as unknown as Attributes,
    { nan: Number.NaN, inf: Number.POSITIVE_INFINITY },
  ];
  for (const attributes of cases) {
    const [a, b] = both(attributes);
    same(a, b);
  }
  // inherited enumerable keys: the SDK reads own keys only
  const inherited = Object.create({ inheritedKey: 'x' }) as Attributes;
  inherited.own = 'y';
  const [a, b] = both(inherited);
  same(a, b);
});

test('the span context of the active span, none for an invalid one, none outside', () => {
  const valid = trace.wrapSpanContext({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
  });
  const invalid = trace.wrapSpanContext({
    traceId: '00000000000000000000000000000000',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
  });
  for (const span of [valid, invalid]) {
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
      const [a, b] = both({ k: 'v' });
      same(a, b);
      assert.equal(
        a.spanContext?.traceId,
        span === valid ? valid.spanContext().traceId : undefined,
      );
    });
  }
  const [a, b] = both({ k: 'v' });
  same(a, b);
  assert.equal(a.spanContext, undefined);
});

test('an error as the first argument and bindings of a child logger', () => {
  const child = getLogger('facade').child({ service: 'x' });
  child.info({ route: '/b' }, 'with bindings');
  const [r] = take();
  assert.deepEqual(r?.attributes, { service: 'x', route: '/b' });
  getLogger('facade').error(new Error('boom'));
  const [e] = take();
  assert.equal(e?.body, 'boom');
  assert.equal(e?.attributes['exception.message'], 'boom');
});
