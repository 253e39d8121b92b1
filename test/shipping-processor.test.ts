import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Metadata } from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  ShippingProcessor,
  type ShippingProcessorOptions,
} from '../src/export/shipping-processor.ts';
import { startTestReceiver } from './support/test-receiver.ts';
import { until } from './support/wait.ts';

/** An exporter whose exports complete when the test says so. */
class HeldExporter implements LogRecordExporter {
  calls: { records: ReadableLogRecord[]; done: (r: ExportResult) => void }[] = [];
  completed = 0;
  shutDown = false;
  /** complete exports at once with this result (undefined: hold them) */
  auto: ExportResult | undefined;
  throwOnExport = false;

  export(records: ReadableLogRecord[], cb: (r: ExportResult) => void): void {
    if (this.throwOnExport) throw new Error('exporter exploded');
    if (this.auto) {
      this.completed++;
      cb(this.auto);
      return;
    }
    this.calls.push({ records, done: cb });
  }
  /** completes the oldest held export */
  release(code = ExportResultCode.SUCCESS): number {
    const call = this.calls.shift();
    assert.ok(call, 'no export held');
    this.completed++;
    call.done({ code });
    return call.records.length;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {
    this.shutDown = true;
  }
}

function setup(
  options: Omit<ShippingProcessorOptions, 'exporter'>,
  exporter: LogRecordExporter = new HeldExporter(),
) {
  const processor = new ShippingProcessor({ exporter, ...options });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shipping-test' }),
    processors: [processor],
  });
  const logger = provider.getLogger('t');
  let next = 0;
  const emit = (count: number): void => {
    for (let i = 0; i < count; i++)
      logger.emit({ body: String(next++), severityNumber: SeverityNumber.INFO });
  };
  return { processor, exporter: exporter as HeldExporter, emit };
}

const bodies = (records: ReadableLogRecord[]): string[] => records.map((r) => String(r.body));

describe('ShippingProcessor', () => {
  test('sends full batches in order, at most maxConcurrentExports at a time', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 10,
      maxConcurrentExports: 2,
      scheduledDelay: '1h',
    });
    emit(55);
    assert.equal(exporter.calls.length, 0, 'onEmit does not call the exporter itself');
    await tick();
    assert.equal(exporter.calls.length, 2);
    assert.deepEqual(
      bodies(exporter.calls[0]!.records),
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
    assert.deepEqual(processor.stats().inFlight, 20);
    exporter.release();
    await tick();
    assert.equal(exporter.calls.length, 2, 'the next full batch starts when one finishes');
    assert.equal(bodies(exporter.calls[1]!.records)[0], '20');
    while (exporter.calls.length > 0) {
      exporter.release();
      await tick();
    }
    assert.equal(exporter.completed, 5);
    const s = processor.stats();
    assert.deepEqual(
      [s.queued, s.exported, s.pending],
      [55, 50, 5],
      'the open batch waits for its delay',
    );
  });

  test('a partial batch leaves after scheduledDelay', async () => {
    const exporter = new HeldExporter();
    exporter.auto = { code: ExportResultCode.SUCCESS };
    const { processor, emit } = setup({ scheduledDelay: 5 }, exporter);
    emit(3);
    await until(() => processor.stats().exported >= 3, {
      what: 'the partial batch to be exported',
    });
    assert.equal(exporter.completed, 1);
  });

  test('forceFlush resolves only when everything queued before it is acknowledged', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 4,
      maxConcurrentExports: 1,
      scheduledDelay: '1h',
    });
    emit(10);
    let flushed = false;
    const flush = processor.forceFlush().then(() => {
      flushed = true;
    });
    emit(5); // after the flush: not waited for
    await tick();
    for (const expected of [4, 4, 2]) {
      assert.equal(flushed, false);
      assert.equal(exporter.release(), expected);
      await tick();
    }
    await flush;
    assert.equal(flushed, true);
    assert.equal(processor.stats().pending, 5);
    assert.equal(
      exporter.calls.length,
      1,
      'a batch after the flush point is already going (it was full)',
    );
  });

  test('a full queue drops and counts every record it refuses', async () => {
    const { processor, exporter, emit } = setup({
      maxQueueSize: 100,
      maxExportBatchSize: 10,
      scheduledDelay: '1h',
    });
    emit(250);
    assert.deepEqual([processor.stats().queued, processor.stats().queueFull], [100, 150]);
    await tick(); // two batches go in flight, room for 20 more
    emit(30);
    const s = processor.stats();
    assert.deepEqual([s.queued, s.queueFull, s.pending, s.inFlight], [120, 160, 120, 20]);
    exporter.auto = { code: ExportResultCode.SUCCESS };
    while (exporter.calls.length > 0) exporter.release();
    await processor.forceFlush();
    const e = processor.stats();
    assert.equal(e.exported, 120);
    assert.equal(e.queued + e.queueFull, 280);
  });

  test('failed, throwing and timed out exports are counted, onEmit never throws', async () => {
    const failing = new HeldExporter();
    failing.auto = { code: ExportResultCode.FAILED, error: new Error('nope') };
    const a = setup({ maxExportBatchSize: 7 }, failing);
    a.emit(20);
    await a.processor.forceFlush();
    assert.deepEqual([a.processor.stats().exportFailed, a.processor.stats().exported], [20, 0]);

    const throwing = new HeldExporter();
    throwing.throwOnExport = true;
    const b = setup({ maxExportBatchSize: 7 }, throwing);
    b.emit(20);
    await b.processor.forceFlush();
    assert.equal(b.processor.stats().exportFailed, 20);

    const silent = setup({ exportTimeout: 20 });
    silent.emit(3);
    await silent.processor.forceFlush();
    assert.equal(silent.processor.stats().exportFailed, 3);
    silent.exporter.release(); // a late acknowledgement changes nothing
    assert.deepEqual(
      [silent.processor.stats().exportFailed, silent.processor.stats().exported],
      [3, 0],
    );
  });

  test('shutdown flushes, shuts the exporter down, and counts later records', async () => {
    const exporter = new HeldExporter();
    exporter.auto = { code: ExportResultCode.SUCCESS };
    const { processor, emit } = setup({ scheduledDelay: '1h' }, exporter);
    emit(12);
    await processor.shutdown();
    assert.equal(exporter.shutDown, true);
    emit(4);
    const s = processor.stats();
    assert.deepEqual([s.exported, s.afterShutdown, s.pending], [12, 4, 0]);
    await processor.shutdown(); // idempotent
  });

  test('takeAllPending returns in-flight then waiting records; late acknowledgements are ignored', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 5,
      maxConcurrentExports: 1,
      scheduledDelay: '1h',
    });
    emit(12);
    await tick();
    assert.equal(exporter.calls.length, 1);
    const flush = processor.forceFlush();
    const taken = processor.takeAllPending();
    await flush; // settled by the take
    assert.deepEqual(
      bodies(taken),
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
    assert.equal(processor.stats().pending, 0);
    exporter.release();
    processor.countExitResult(10, 2);
    const s = processor.stats();
    assert.deepEqual([s.queued, s.exported, s.exportFailed, s.pending], [12, 10, 2, 0]);
  });

  test('options are checked', () => {
    const exporter = new HeldExporter();
    assert.throws(() => new ShippingProcessor({ exporter, maxQueueSize: 0 }), /maxQueueSize/);
    assert.throws(
      () => new ShippingProcessor({ exporter, maxExportBatchSize: 1.5 }),
      /maxExportBatchSize/,
    );
    assert.throws(
      () => new ShippingProcessor({ exporter, scheduledDelay: 'soon' }),
      /scheduledDelay/,
    );
    assert.throws(() => new ShippingProcessor({} as ShippingProcessorOptions), /exporter/);
  });
});

describe('ShippingProcessor with the official OTLPLogExporter and a gRPC server', () => {
  test('delivers every record once; a batch above 4 MiB is split', async () => {
    const receiver = await startTestReceiver({ tcp: true });
    const metadata = new Metadata();
    metadata.set('x-starlog-token', receiver.token);
    const exporter = new OTLPLogExporter({ url: receiver.endpoint, metadata });
    try {
      const { processor, emit } = setup({ maxExportBatchSize: 1024 }, exporter);
      emit(10_000);
      await processor.forceFlush();
      assert.equal(receiver.records, 10_000);
      assert.equal(new Set(receiver.bodies).size, 10_000);
      assert.equal(processor.stats().exported, 10_000);

      // 1,024 records of ~5 KB: ~5 MB, above grpc-js' default 4 MiB limit
      const big = new ShippingProcessor({
        exporter,
        maxExportBatchSize: 1024,
        maxExportBatchBytes: Number.MAX_SAFE_INTEGER, // (default 4 MiB would seal it first)
        scheduledDelay: '1h',
      });
      const provider = new LoggerProvider({ processors: [big] });
      const pad = 'x'.repeat(5000);
      for (let i = 0; i < 1024; i++) provider.getLogger('big').emit({ body: `b${i} ${pad}` });
      await big.forceFlush();
      const s = big.stats();
      assert.deepEqual([s.exported, s.exportFailed, s.splitBatches], [1024, 0, 1]);
      assert.equal(receiver.records, 11_024);
    } finally {
      await exporter.shutdown();
      await receiver.close();
    }
  });

  test('a wrong token: the batches count as rejected (UNAUTHENTICATED is never retried)', async () => {
    const receiver = await startTestReceiver({ tcp: true });
    const metadata = new Metadata();
    metadata.set('x-starlog-token', 'wrong');
    const exporter = new OTLPLogExporter({ url: receiver.endpoint, metadata });
    try {
      const { processor, emit } = setup({ maxExportBatchSize: 100 }, exporter);
      emit(250);
      await processor.forceFlush();
      const s = processor.stats();
      assert.deepEqual(
        [s.exportRejected, s.exportFailed, s.retries, receiver.records, receiver.unauthorized],
        [250, 0, 0, 0, 3],
      );
    } finally {
      await exporter.shutdown();
      await receiver.close();
    }
  });
});
