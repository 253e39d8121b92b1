/**
 * The viewer on machine-written input: records go through a real sdk-logs LoggerProvider and
 * BatchLogRecordProcessor, and are encoded by @opentelemetry/otlp-transformer's JsonLogsSerializer
 * (the OTLP/JSON encoding of the official OTLP/HTTP JSON exporter: hex ids, int64 timestamps as
 * strings; it writes intValue as a JSON number, which the reader accepts too).
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Attributes, ROOT_CONTEXT, SeverityNumber, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { starlog } from './support/tree-cli.ts';

/** Appends each export as one OTLP/JSON line: the JSONL format of the Collector's file exporter. */
class JsonLinesExporter implements LogRecordExporter {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    const bytes = JsonLogsSerializer.serializeRequest(records);
    appendFileSync(this.path, `${Buffer.from(bytes!).toString('utf8')}\n`);
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'starlog-tree-sdk-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('trees from records written by a real LoggerProvider through JsonLogsSerializer', async () => {
  const file = join(dir, 'sdk.jsonl');
  const providers = [4242, 4343].map(
    (pid) =>
      new LoggerProvider({
        resource: resourceFromAttributes({ 'process.pid': pid, 'service.name': 'shop' }),
        processors: [new BatchLogRecordProcessor({ exporter: new JsonLinesExporter(file) })],
      }),
  );
  const [primary, child] = providers.map((p) => p.getLogger('starlog.task'));
  const traceId = '0123456789abcdef0123456789abcdef';
  const span = (spanId: string) =>
    trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: 1 });
  const emit = (
    logger: typeof primary,
    spanId: string,
    severityNumber: SeverityNumber,
    body: string,
    attributes: Attributes,
  ) =>
    logger!.emit({
      context: span(spanId),
      severityNumber,
      severityText: SeverityNumber[severityNumber],
      body,
      attributes,
    });
  const root = 'a1b2c3d4e5f60718';
  const sub = '1122334455667788';
  emit(primary, root, SeverityNumber.INFO, 'checkout', {
    'task.name': 'checkout',
    'task.id': '1@012345',
  });
  emit(child, sub, SeverityNumber.INFO, 'reserve stock', {
    'task.name': 'reserve stock',
    'task.id': '1@012345/1',
  });
  emit(child, sub, SeverityNumber.DEBUG, 'sku 17: 3 left', {
    'task.id': '1@012345/1',
    'sku.count': 3,
  });
  emit(child, sub, SeverityNumber.ERROR, 'FAILED reserve stock', {
    'task.id': '1@012345/1',
    'exception.type': 'Error',
    'exception.message': 'out of stock',
    'exception.stacktrace': 'Error: out of stock\n    at reserve (shop.js:1:1)',
  });
  emit(child, sub, SeverityNumber.INFO, 'reserve stock failed', {
    'task.id': '1@012345/1',
    'task.outcome': 'failure',
    'task.duration_ms': 12.5,
  });
  emit(primary, root, SeverityNumber.INFO, 'checkout done', {
    'task.id': '1@012345',
    'task.outcome': 'success',
    'task.duration_ms': 20,
  });
  // outside any task
  primary!.emit({ severityNumber: SeverityNumber.INFO, body: { started: true, port: 8080 } });
  for (const p of providers) await p.shutdown();

  const written = await readFile(file, 'utf8');
  // the machine-written form: hex ids, timestamps as strings
  assert.match(written, /"traceId":"0123456789abcdef0123456789abcdef"/);
  assert.match(written, /"spanId":"1122334455667788"/);
  assert.match(written, /"timeUnixNano":"\d{19}"/);

  const r = await starlog(['tree', '--all', file]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(
    lines[0]!,
    /^trace 0123456789abcdef0123456789abcdef · .* · 2 tasks, 1 failed · 2 processes · 6 records$/,
  );
  assert.match(lines[1]!, /^└─ ✓ checkout {2}shop\[4242\] {2}20\.0ms$/);
  assert.match(r.stdout, /\n {3}└─ ✗ reserve stock {2}shop\[4343\] {2}12\.5ms {2}FAILED\n/);
  assert.match(r.stdout, /DEBUG sku 17: 3 left\n/);
  assert.match(r.stdout, /ERROR FAILED reserve stock — Error: out of stock\n/);
  assert.match(
    r.stdout,
    /^no task · shop\[4242\] · 1 record\n.*INFO {2}\{started: true, port: 8080\}$/m,
  );

  const failed = await starlog(['tree', '--failed', '--trace', traceId, file]);
  assert.equal(failed.code, 0);
  assert.match(failed.stdout, /✓ checkout[\s\S]*✗ reserve stock/);
});
