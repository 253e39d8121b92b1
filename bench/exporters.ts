/**
 * Records/s through the embedded exporters, in batches of 512 records (the
 * BatchLogRecordProcessor's default batch size), each export awaited before the next:
 *
 * - `otlp-json encode`: our OTLP/JSON encoder alone (no I/O);
 * - `otlp-transformer JsonLogsSerializer`: the upstream serializer on the same batch, for
 *   reference (it writes int64 values as JSON numbers, not the Collector's strings);
 * - `jsonl file`: JsonlFileExporter appending to a temp file (plain stream, then rotation);
 * - `pretty console`: PrettyConsoleExporter into a Writable that discards (colours off and on).
 *
 * Run: ./node_modules/.bin/node bench/exporters.ts [seconds per case, default 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { context, SeverityNumber, trace } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { JsonlFileExporter } from '../src/exporters/jsonl-file.ts';
import { PrettyConsoleExporter } from '../src/exporters/pretty-console.ts';
import { encodeLogsRequest } from '../src/otlp/json-encoder.ts';

const BATCH = 512;
const seconds = Number(process.argv[2] ?? 2);

async function makeBatch(): Promise<ReadableLogRecord[]> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({
      'service.name': 'bench',
      'service.version': '1.0.0',
      'process.pid': process.pid,
      'host.name': 'bench-host',
      'starlog.role': 'primary',
    }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const http = provider.getLogger('app.http');
  const db = provider.getLogger('app.db');
  const ctx = trace.setSpanContext(context.active(), {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
  });
  for (let i = 0; i < BATCH; i++) {
    (i % 4 === 0 ? db : http).emit({
      severityNumber: i % 50 === 0 ? SeverityNumber.ERROR : SeverityNumber.INFO,
      severityText: i % 50 === 0 ? 'ERROR' : 'INFO',
      body: `handled GET /orders/${i} in ${(i % 17) + 0.5} ms`,
      attributes: {
        'http.method': 'GET',
        'http.status': 200,
        'task.name': 'handle order',
        'task.duration_ms': 12.5,
        'starlog.count.requests': 1,
        cached: i % 2 === 0,
      },
      context: ctx,
    });
  }
  await provider.forceFlush();
  const records = memory.getFinishedLogRecords();
  await provider.shutdown();
  return records;
}

interface Result {
  name: string;
  recordsPerSec: number;
  batches: number;
}

async function timeLoop(name: string, once: () => Promise<void> | void): Promise<Result> {
  // warm-up
  const warmEnd = performance.now() + 200;
  while (performance.now() < warmEnd) await once();
  let batches = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    await once();
    batches++;
  }
  const elapsed = (performance.now() - start) / 1000;
  const recordsPerSec = Math.round((batches * BATCH) / elapsed);
  console.log(`${name.padEnd(44)} ${recordsPerSec.toLocaleString('en-US').padStart(12)} records/s`);
  return { name, recordsPerSec, batches };
}

function exportAwait(exporter: LogRecordExporter, batch: ReadableLogRecord[]): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(batch, (r: ExportResult) =>
      r.code === 0 ? resolve() : reject(r.error ?? new Error('export failed')),
    ),
  );
}

class Discard extends Writable {
  override _write(_c: unknown, _e: BufferEncoding, cb: () => void): void {
    cb();
  }
}

const batch = await makeBatch();
const dir = mkdtempSync(join(tmpdir(), 'starlog-bench-'));
const results: Result[] = [];
let lineBytes = 0;
try {
  console.log(`batches of ${BATCH} SDK records, ${seconds}s per case, Node ${process.version}`);
  results.push(
    await timeLoop('otlp-json encode (ours, no I/O)', () => {
      lineBytes = encodeLogsRequest(batch).json.length;
    }),
  );
  results.push(
    await timeLoop('otlp-transformer JsonLogsSerializer (ref.)', () => {
      JsonLogsSerializer.serializeRequest(batch);
    }),
  );
  const plain = new JsonlFileExporter({ path: join(dir, 'plain.jsonl') });
  results.push(await timeLoop('jsonl file (append stream)', () => exportAwait(plain, batch)));
  await plain.shutdown();
  const rotating = new JsonlFileExporter({
    path: join(dir, 'rotating.jsonl'),
    maxSize: 16 * 1024 * 1024,
    maxFiles: 2,
  });
  results.push(
    await timeLoop('jsonl file (rotating, 16 MiB x 2)', () => exportAwait(rotating, batch)),
  );
  await rotating.shutdown();
  const pretty = new PrettyConsoleExporter({ stream: new Discard(), colors: false });
  results.push(await timeLoop('pretty console (no colours)', () => exportAwait(pretty, batch)));
  const colored = new PrettyConsoleExporter({ stream: new Discard(), colors: true });
  results.push(await timeLoop('pretty console (colours)', () => exportAwait(colored, batch)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `one JSONL line for ${BATCH} records: ${lineBytes} bytes (${Math.round(lineBytes / BATCH)} B/record)`,
);
console.log(
  JSON.stringify({
    bench: 'exporters',
    batch: BATCH,
    seconds,
    node: process.version,
    bytesPerRecord: Math.round(lineBytes / BATCH),
    results: Object.fromEntries(results.map((r) => [r.name, r.recordsPerSec])),
  }),
);
