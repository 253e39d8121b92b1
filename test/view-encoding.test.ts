// The live view's batch encoding (src/view/live-encoding.ts): records made by a real sdk-logs
// LoggerProvider go through BatchEncoder into one flat array, through a real structured clone
// (what postMessage does), and come back from decodeBatch with every field the view stores.
import assert from 'node:assert/strict';
import test from 'node:test';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BatchEncoder, decodeBatch, MAX_BODY } from '../src/view/live-encoding.ts';
import { CollectingProcessor } from './support/collect.ts';

function records(): ReadableLogRecord[] {
  const collected = new CollectingProcessor();
  const out: ReadableLogRecord[] = collected.records;
  const provider = new LoggerProvider({ processors: [collected] });
  const log = provider.getLogger('app.http');
  log.emit({
    severityNumber: SeverityNumber.INFO,
    body: 'GET /orders/7',
    attributes: {
      'task.id': '7@abc',
      'task.name': 'GET /orders/7',
      user: 'leo',
      'http.response.status_code': 200,
      ok: true,
      tags: ['a', 'b'],
    },
  });
  log.emit({
    severityNumber: SeverityNumber.ERROR,
    body: { nested: { x: 1 } },
    attributes: {
      'task.id': '7@abc/1',
      'task.outcome': 'failure',
      'task.duration_ms': 12.5,
      'exception.type': 'Error',
      'exception.message': 'payment declined',
      'exception.stacktrace': 'Error: payment declined\n    at charge (x.ts:1:1)',
    },
  });
  log.emit({ severityNumber: SeverityNumber.DEBUG, body: 'x'.repeat(MAX_BODY + 10) });
  return out;
}

test('records survive BatchEncoder → structured clone → decodeBatch', () => {
  const encoder = new BatchEncoder();
  for (const r of records()) encoder.add(r, 3);
  const { batch, records: n, bytes } = encoder.take();
  assert.equal(n, 3);
  assert.ok(bytes > MAX_BODY, `byte estimate ${bytes} counts the long body`);
  assert.equal(encoder.records, 0);
  const rows = decodeBatch(structuredClone(batch));
  assert.equal(rows.length, 3);
  const [a, b, c] = rows;
  assert.equal(a!.sev, SeverityNumber.INFO);
  assert.equal(a!.proc, 3);
  assert.equal(a!.logger, 'app.http');
  assert.equal(a!.body, 'GET /orders/7');
  assert.equal(a!.task, '7@abc');
  assert.equal(a!.tname, 'GET /orders/7');
  assert.deepEqual(a!.attrs, {
    user: 'leo',
    'http.response.status_code': 200,
    ok: true,
    tags: '["a","b"]',
  });
  assert.ok(Math.abs(a!.t - Date.now()) < 60_000, `time ${a!.t} is ms since the epoch`);
  assert.equal(b!.body, '{"nested":{"x":1}}');
  assert.equal(b!.outcome, 'failure');
  assert.equal(b!.dur, 12.5);
  assert.equal(b!.exc, 'Error: payment declined');
  assert.match(b!.stack!, /\n {4}at charge/);
  assert.equal(b!.attrs, undefined);
  assert.equal(c!.body.length, MAX_BODY + 1);
  assert.ok(c!.body.endsWith('…'));
  assert.equal(c!.trace, undefined);
});

test('a hostile attribute value makes add() throw and leaves the batch as it was', () => {
  const [r] = records();
  // the real record, with attributes whose task.id cannot be turned into text
  const hostile = Object.create(r!, {
    attributes: {
      value: {
        user: 'leo',
        'task.id': {
          toString() {
            throw new Error('boom');
          },
        },
      },
    },
  }) as ReadableLogRecord;
  const encoder = new BatchEncoder();
  encoder.add(r!, 1);
  assert.throws(() => encoder.add(hostile, 1), /boom/);
  encoder.add(r!, 2);
  const rows = decodeBatch(structuredClone(encoder.take().batch));
  assert.deepEqual(
    rows.map((x) => [x.proc, x.body]),
    [
      [1, 'GET /orders/7'],
      [2, 'GET /orders/7'],
    ],
  );
  assert.throws(
    () => decodeBatch([1, 2, 3, 'x', 'y', null, null, null, null, null, null, null, null, 'n']),
    /malformed/,
  );
});
