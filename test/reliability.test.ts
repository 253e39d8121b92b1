import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { BACKPRESSURE_DETAILS, backoffDelay, classifyExportError } from '../src/export/retry.ts';
import {
  ShippingProcessor,
  type ShippingProcessorOptions,
} from '../src/export/shipping-processor.ts';
import { Spill } from '../src/export/spill.ts';
import {
  DROP_REPORT_SCOPE,
  emptyDropCounts,
  parseDropReport,
} from '../src/multiprocess/protocol/drop-report.ts';
import { OTLP_LOGS_EXPORT_PATH, rawMethod } from '../src/otlp/grpc-methods.ts';
import { until } from './support/wait.ts';

const grpcError = (code: number, details = '') =>
  Object.assign(new Error(details), { code, details });

/** An exporter that answers each export with the next scripted result (then success), at once. */
class ScriptedExporter implements LogRecordExporter {
  script: (ExportResult | undefined)[] = [];
  /** when set, answers every export (an outage) */
  always: ExportResult | undefined;
  calls: ReadableLogRecord[][] = [];
  /** the records of each successful call, in order */
  delivered: string[] = [];
  export(records: ReadableLogRecord[], cb: (r: ExportResult) => void): void {
    this.calls.push(records);
    const r = this.always ?? this.script.shift() ?? { code: ExportResultCode.SUCCESS };
    if (r.code === ExportResultCode.SUCCESS) {
      for (const x of records)
        if (x.instrumentationScope.name !== DROP_REPORT_SCOPE) this.delivered.push(String(x.body));
    }
    queueMicrotask(() => cb(r));
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

function setup(
  options: Omit<ShippingProcessorOptions, 'exporter'>,
  exporter = new ScriptedExporter(),
) {
  const processor = new ShippingProcessor({
    exporter,
    retryBaseDelay: 1,
    retryMaxDelay: 4,
    scheduledDelay: '1h',
    ...options,
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'reliability-test', 'process.pid': 4242 }),
    processors: [processor],
  });
  const logger = provider.getLogger('t');
  let next = 0;
  const emit = (count: number): void => {
    for (let i = 0; i < count; i++)
      logger.emit({ body: String(next++), severityNumber: SeverityNumber.INFO });
  };
  return { processor, exporter, emit };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => String(from + i));
const failed = (code: number, details = ''): ExportResult => ({
  code: ExportResultCode.FAILED,
  error: grpcError(code, details),
});

describe('retry classification and backoff', () => {
  test('gRPC statuses: retry, split, reject; other errors fail', () => {
    assert.equal(classifyExportError(grpcError(14, 'No connection established')), 'retry');
    assert.equal(classifyExportError(grpcError(4, 'Deadline exceeded')), 'retry');
    assert.equal(classifyExportError(grpcError(8, BACKPRESSURE_DETAILS)), 'retry');
    assert.equal(classifyExportError(grpcError(8, 'collector memory limit')), 'retry');
    assert.equal(
      classifyExportError(grpcError(8, 'Received message larger than max (5000000 vs. 4194304)')),
      'split',
    );
    assert.equal(
      classifyExportError(grpcError(8, 'starlog receiver: AnyValue nesting deeper than 32')),
      'split',
    );
    assert.equal(classifyExportError(grpcError(3, 'bad request')), 'reject');
    assert.equal(classifyExportError(grpcError(16, 'wrong token')), 'reject');
    assert.equal(classifyExportError(grpcError(12, 'unimplemented')), 'reject');
    assert.equal(classifyExportError(new Error('EACCES')), 'fail');
    assert.equal(classifyExportError(undefined), 'fail');
  });

  test('full jitter below min(cap, base * 2^attempt)', () => {
    assert.equal(
      backoffDelay(0, 100, 5000, () => 0.999),
      99,
    );
    assert.equal(
      backoffDelay(3, 100, 5000, () => 0.5),
      400,
    );
    assert.equal(
      backoffDelay(10, 100, 5000, () => 0.5),
      2500,
    );
    assert.equal(
      backoffDelay(1000, 100, 5000, () => 0.999),
      4995,
    );
    assert.equal(
      backoffDelay(2, 100, 5000, () => 0),
      0,
    );
  });

  test('drop reports parse defensively', () => {
    assert.deepEqual(
      parseDropReport({
        'starlog.dropped.queue_full': 3,
        'starlog.dropped.spill_overflow': '7',
        'starlog.dropped.export_failed': -1,
        'starlog.dropped.export_rejected': 1.5,
      }),
      { ...emptyDropCounts(), queueFull: 3, spillOverflow: 7 },
    );
  });
});

describe('Spill', () => {
  test('keeps id order and drops the oldest batches beyond maxBytes', () => {
    const rec = (body: string): ReadableLogRecord =>
      ({ body, attributes: {}, resource: undefined }) as unknown as ReadableLogRecord;
    const spill = new Spill(3 * 600);
    const b = (id: number) => ({ id, records: [rec('x')], bytes: 600 });
    assert.deepEqual(spill.add(b(2)), []);
    assert.deepEqual(spill.add(b(4)), []);
    assert.deepEqual(spill.add(b(1)), []); // a retried batch goes back to the front
    assert.deepEqual(
      spill.add(b(5)).map((x) => x.id),
      [1],
    );
    assert.deepEqual([spill.records, spill.bytes, spill.firstId], [3, 1800, 2]);
    const none = new Spill(0);
    assert.deepEqual(none.add(b(1)), [], 'the newest batch is always kept');
    assert.deepEqual(
      none.add(b(2)).map((x) => x.id),
      [1],
    );
  });
});

describe('ShippingProcessor retries and spill', () => {
  test('UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED: retried in order, nothing lost', async () => {
    const { processor, exporter, emit } = setup({ maxExportBatchSize: 10 });
    exporter.script = [failed(14), failed(14), failed(4), failed(8, BACKPRESSURE_DETAILS)];
    emit(50);
    await processor.forceFlush();
    const s = processor.stats();
    assert.deepEqual(
      [s.exported, s.exportFailed, s.exportRejected, s.spillOverflow, s.pending, s.retrying],
      [50, 0, 0, 0, 0, false],
    );
    assert.ok(s.retries >= 4, `retries ${s.retries}`);
    assert.deepEqual(exporter.delivered, range(0, 50), 'every record once, in order');
  });

  test('records emitted while retrying keep queueing and go out after the spill, in order', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 10,
      maxConcurrentExports: 1,
      retryBaseDelay: 20,
      retryMaxDelay: 20,
    });
    exporter.script = [failed(14), failed(14), failed(14)];
    emit(10);
    await until(() => processor.stats().retrying, { what: 'the processor to start retrying' });
    emit(35); // while retrying: sealed batches go to the spill
    assert.equal(processor.stats().spilled + processor.stats().inFlight, 40);
    await processor.forceFlush();
    assert.deepEqual(exporter.delivered, range(0, 45));
    assert.deepEqual([processor.stats().exported, processor.stats().retrying], [45, false]);
  });

  test('INVALID_ARGUMENT and UNAUTHENTICATED are never retried: counted in exportRejected', async () => {
    const { processor, exporter, emit } = setup({ maxExportBatchSize: 10 });
    exporter.script = [failed(3, 'bad'), failed(16, 'token')];
    emit(30);
    await processor.forceFlush();
    const s = processor.stats();
    assert.deepEqual([s.exportRejected, s.exported, s.retries], [20, 10, 0]);
    assert.equal(exporter.calls.length, 3);
  });

  test('spill overflow drops the oldest batches and counts them exactly', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 10,
      maxConcurrentExports: 1,
      maxSpillBytes: 3 * 10 * 700, // three batches of ten short records (≈ 590 estimated bytes each)
      retryBaseDelay: 5,
      retryMaxDelay: 5,
    });
    exporter.always = failed(14);
    emit(10);
    await until(() => processor.stats().retrying, { what: 'the processor to start retrying' });
    emit(90); // 9 more batches into the spill while retrying: the oldest go
    const s = processor.stats();
    assert.equal(s.spillOverflow + s.spilled + s.inFlight, 100);
    assert.ok(s.spillOverflow >= 60, `spillOverflow ${s.spillOverflow}`);
    assert.ok(s.spillBytes <= 3 * 10 * 700);
    exporter.always = undefined; // the destination is back
    await processor.forceFlush();
    const after = processor.stats();
    assert.equal(after.exported + after.spillOverflow, 100);
    // the newest records were kept: delivered = a contiguous suffix
    assert.deepEqual(exporter.delivered, range(100 - after.exported, 100));
  });

  test('shutdown retries for shutdownTimeout, then counts what is left as exportFailed', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 10,
      shutdownTimeout: 50,
    });
    exporter.always = failed(14);
    emit(35);
    await processor.shutdown();
    const s = processor.stats();
    assert.deepEqual([s.exported, s.exportFailed, s.pending], [0, 35, 0]);
    assert.ok(s.retries > 0);
  });

  test('takeAllPending includes the spill (for the synchronous export at exit)', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 10,
      retryBaseDelay: 10_000,
      retryMaxDelay: 10_000,
    });
    exporter.script = [failed(14)];
    emit(10);
    await until(() => processor.stats().retrying, { what: 'the processor to start retrying' });
    emit(25);
    const taken = processor.takeAllPending().map((r) => String(r.body));
    assert.deepEqual(taken, range(0, 35));
    processor.countExitResult(35, 0);
    assert.deepEqual([processor.stats().exported, processor.stats().pending], [35, 0]);
  });

  test('reportDrops appends one drop report record with the cumulative counts', async () => {
    const { processor, exporter, emit } = setup({
      maxExportBatchSize: 10,
      maxQueueSize: 20,
      reportDrops: true,
    });
    emit(10);
    await processor.forceFlush();
    assert.equal(exporter.calls[0]?.length, 10, 'no drops, no report');
    emit(25); // 5 refused: queue full
    await processor.forceFlush();
    const last = exporter.calls[exporter.calls.length - 1] as ReadableLogRecord[];
    const report = last[last.length - 1] as ReadableLogRecord;
    assert.equal(report.instrumentationScope.name, DROP_REPORT_SCOPE);
    assert.equal(report.resource, last[0]?.resource);
    assert.deepEqual(parseDropReport(report.attributes), { ...emptyDropCounts(), queueFull: 5 });
    assert.equal(processor.stats().exported, 30, 'the report is not counted as a record');
  });

  test('fill: the larger of queue and spill use', async () => {
    const { processor, emit } = setup({ maxQueueSize: 100, maxExportBatchSize: 50 });
    emit(40);
    assert.equal(processor.fill, 0.4);
  });
});

describe('retries against a real gRPC server and the official exporter', () => {
  test('scripted statuses: retried ones deliver exactly once; INVALID_ARGUMENT is not retried', async () => {
    const answers: (number | undefined)[] = [
      grpc.status.UNAVAILABLE,
      grpc.status.RESOURCE_EXHAUSTED,
      grpc.status.DEADLINE_EXCEEDED,
      undefined, // ok
      grpc.status.INVALID_ARGUMENT,
    ];
    let calls = 0;
    let okRecords = 0;
    const server = new grpc.Server();
    server.addService(
      { Export: rawMethod(OTLP_LOGS_EXPORT_PATH, 'export') },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          calls++;
          const code = answers.shift();
          if (code === undefined) {
            okRecords++;
            cb(null, Buffer.alloc(0));
          } else cb({ code, details: code === 8 ? BACKPRESSURE_DETAILS : 'scripted' });
          void call;
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const exporter = new OTLPLogExporter({
      url: `http://127.0.0.1:${port}`,
      credentials: grpc.credentials.createInsecure(),
    });
    try {
      const { processor, emit } = setup(
        { maxExportBatchSize: 100, maxConcurrentExports: 1 },
        exporter as never,
      );
      emit(100);
      await processor.forceFlush();
      assert.deepEqual(
        [calls, okRecords, processor.stats().exported, processor.stats().retries],
        [4, 1, 100, 3],
      );
      emit(100);
      await processor.forceFlush();
      const s = processor.stats();
      assert.deepEqual([calls, s.exportRejected, s.retries], [5, 100, 3], 'one call, no retry');
    } finally {
      await exporter.shutdown();
      server.forceShutdown();
    }
  });
});
