import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeverityNumber, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { LookbackProcessor } from '../src/processors/lookback/lookback-processor.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

const resource = resourceFromAttributes({});
const sent: ReadWriteLogRecord[] = [];
const next: LogRecordProcessor = {
  onEmit: (r) => sent.push(r),
  forceFlush: async () => {},
  shutdown: async () => {},
};
const rec = (trace: number, body: string, sev = SeverityNumber.DEBUG) =>
  new PlainLogRecord({
    resource,
    instrumentationScope: { name: 't' },
    severityNumber: sev,
    body,
    spanContext: {
      traceId: trace.toString(16).padStart(32, '0'),
      spanId: '00000000000000aa',
      traceFlags: TraceFlags.SAMPLED,
    },
  });

test('reconfigure() enforces new bounds at once and counts what they drop', async () => {
  let now = 0;
  const lb = new LookbackProcessor(next, { capacity: 10, maxKeys: 10, now: () => now });
  for (let t = 1; t <= 4; t++) for (let i = 0; i < 8; i++) lb.onEmit(rec(t, `${t}:${i}`));
  assert.equal(lb.stats().buffered, 32);
  lb.reconfigure({ capacity: 5, maxKeys: 3 });
  const s = lb.stats();
  assert.equal(s.keys, 3, 'the least recently used key went');
  assert.equal(s.buffered, 15);
  assert.equal(s.dropped.capacity, 4 * 3, 'three oldest records of each of the 4 keys');
  assert.equal(s.dropped.keys, 5, 'the evicted key still held 5');
  assert.equal(lb.capacity, 5);
  lb.onEmit(rec(4, 'boom', SeverityNumber.ERROR));
  assert.deepEqual(
    sent.map((r) => r.body),
    ['4:3', '4:4', '4:5', '4:6', '4:7', 'boom'],
  );
  now += 10 * 60_000;
  lb.reconfigure({ capacity: 5, maxKeys: 3, maxAge: '1m' });
  assert.equal(lb.stats().buffered, 0, 'older than the new maxAge');
  await lb.shutdown();
});

test('an invalid bound is a clear error and changes nothing', async () => {
  const lb = new LookbackProcessor(next, { capacity: 7 });
  assert.throws(() => lb.reconfigure({ capacity: 3, maxAge: '5x' }), /maxAge/);
  assert.throws(() => lb.reconfigure({ flushSeverity: 'loud' }), /flushSeverity/);
  assert.equal(lb.capacity, 7);
  await lb.shutdown();
});
