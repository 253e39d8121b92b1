import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type Attributes, diag } from '@opentelemetry/api';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { COUNT_PREFIX, inc } from '../src/processors/status/counters.ts';
import { captureDiag } from './support/diag.ts';

afterEach(() => {
  diag.disable();
});

describe('inc()', () => {
  test('sets starlog.count.<name> and chains', () => {
    const attrs = inc('requests').inc('2xx');
    assert.equal(COUNT_PREFIX, 'starlog.count.');
    assert.deepEqual({ ...attrs }, { 'starlog.count.requests': 1, 'starlog.count.2xx': 1 });
  });

  test('the same name sums, `by` is honoured', () => {
    const attrs = inc('bytes', 100).inc('bytes', 23).inc('requests').inc('requests');
    assert.equal(attrs['starlog.count.bytes'], 123);
    assert.equal(attrs['starlog.count.requests'], 2);
    assert.equal(inc('x', -2.5)['starlog.count.x'], -2.5);
  });

  test('only attributes are own enumerable properties', () => {
    const attrs = inc('requests').update({ 'http.route': '/a', 'http.status_code': 200 });
    assert.deepEqual(Object.keys(attrs), [
      'starlog.count.requests',
      'http.route',
      'http.status_code',
    ]);
    assert.deepEqual(Object.entries(attrs), [
      ['starlog.count.requests', 1],
      ['http.route', '/a'],
      ['http.status_code', 200],
    ]);
    const forIn: string[] = [];
    for (const key in attrs) forIn.push(key);
    assert.deepEqual(forIn, Object.keys(attrs));
    assert.equal(
      JSON.stringify(attrs),
      '{"starlog.count.requests":1,"http.route":"/a","http.status_code":200}',
    );
    assert.equal(typeof attrs.inc, 'function');
    assert.equal(Object.hasOwn(attrs, 'inc'), false);
    assert.equal(Object.hasOwn(attrs, 'update'), false);
  });

  test('update() copies attributes, later values win, undefined skipped', () => {
    const attrs = inc('a').update({ k: 'v', u: undefined }).update({ k: 'w' });
    assert.deepEqual({ ...attrs }, { 'starlog.count.a': 1, k: 'w' });
  });

  test('each inc() call starts a fresh object', () => {
    const a = inc('a');
    const b = inc('a');
    assert.notEqual(a, b);
    assert.equal(a['starlog.count.a'], 1);
  });

  test('bad input is reported through diag and skipped, never thrown', () => {
    const messages = captureDiag().messages;
    const attrs = inc('', 1)
      .inc('ok')
      .inc('nan', Number.NaN)
      .inc('inf', Number.POSITIVE_INFINITY)
      .inc(42 as unknown as string)
      .inc('str', '3' as unknown as number)
      .update(null as unknown as Attributes)
      .update('x' as unknown as Attributes);
    assert.deepEqual({ ...attrs }, { 'starlog.count.ok': 1 });
    assert.equal(messages.length, 7);
    assert.match(messages[0]!, /name must be a non-empty string; got ""/);
    assert.match(messages[1]!, /inc\('nan'\): increment must be a finite number; got NaN/);
    assert.match(messages[3]!, /got 42/);
    assert.match(messages[5]!, /update\(\): attributes must be an object; got null/);
  });

  test('usable as attributes through the OpenTelemetry Logs API', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const logger = provider.getLogger('app');
    const attributes: Attributes = inc('requests').inc('2xx').update({ path: '/x' });
    logger.emit({ body: 'handled', attributes });
    logger.emit({ body: 'again', attributes: inc('requests', 2) });
    await provider.forceFlush();
    const records = exporter.getFinishedLogRecords();
    assert.equal(records.length, 2);
    assert.deepEqual(records[0]!.attributes, {
      'starlog.count.requests': 1,
      'starlog.count.2xx': 1,
      path: '/x',
    });
    assert.deepEqual(records[1]!.attributes, { 'starlog.count.requests': 2 });
    await provider.shutdown();
  });
});
