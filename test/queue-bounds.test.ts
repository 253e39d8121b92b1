/**
 * Every queue is bounded in bytes (issue 11 item 5): a child's queue of encoded records and a
 * primary's destination queues, each in front of a real gRPC receiver that never answers (a
 * hung primary, a hung collector), fed 100 KB records. What does not fit is counted by reason;
 * the bytes held stay within the bound. Bounds are shrunk through options so that the test is
 * short; `bench/soak.ts --record-bytes 100000 --hang 60` measures a child's resident memory with
 * the default bounds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { createPrimaryBytesExporter } from '../src/export/otlp-bytes-exporter.ts';
import { OtlpShippingProcessor } from '../src/export/otlp-shipping-processor.ts';
import type { ShippingStats } from '../src/export/shipping-stats.ts';
import { setupLogging } from '../src/setup/setup-logging.ts';
import { startTestReceiver } from './support/test-receiver.ts';
import { until, within } from './support/wait.ts';

const MiB = 1024 * 1024;
const PAD = 'x'.repeat(100_000);
const MiB_TEXT = (b: number) => (b / MiB).toFixed(2);

/** queued = exported + drops + pending, by the counters' definition */
function accounted(s: ShippingStats): number {
  return s.exported + s.exportFailed + s.exportRejected + s.spillOverflow + s.pending;
}

test('a child queue of encoded records in front of a hung primary holds at most maxQueueBytes; 100 KB records over it are counted in queueFull', async () => {
  const hung = await startTestReceiver({ hang: true });
  const shipping = new OtlpShippingProcessor({
    exporter: createPrimaryBytesExporter(hung.env, { timeoutMillis: 30_000 }),
    maxQueueBytes: 2 * MiB,
    maxSpillBytes: 1 * MiB,
    exportTimeout: 30_000,
    shutdownTimeout: 500,
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bounds' }),
    processors: [shipping],
  });
  const logger = provider.getLogger('bounds');
  try {
    let maxQueueBytes = 0;
    const n = 200; // 20 MB of records
    for (let i = 0; i < n; i++) {
      logger.emit({ severityNumber: 9, body: `r${i}`, attributes: { pad: PAD } });
      maxQueueBytes = Math.max(maxQueueBytes, shipping.stats().queueBytes);
      if (i % 20 === 19) await new Promise((r) => setImmediate(r)); // exports start
    }
    await until(() => hung.requests >= 2, { what: 'two exports in flight at the hung receiver' });
    const s = shipping.stats();
    console.log(
      `# ${n} records of 100 KB: queued ${s.queued}, queueFull ${s.queueFull}, in flight ${s.inFlight}, queue max ${MiB_TEXT(maxQueueBytes)} MiB`,
    );
    // the encoded size of a record is known once it is in: the bound may be passed by one record
    assert.ok(
      maxQueueBytes <= 2 * MiB + 100_100,
      `queue held ${maxQueueBytes} bytes, over 2 MiB + one record`,
    );
    assert.ok(s.queueFull > 0, 'records over the bound counted in queueFull');
    assert.equal(s.queued + s.queueFull, n, 'every record queued or counted');
    assert.equal(accounted(s), s.queued);
    // in flight: at most 2 requests of at most maxExportBatchBytes (1 MiB) plus one record
    assert.ok(s.inFlight <= 2 * 11, `in flight ${s.inFlight} records`);
  } finally {
    await within(provider.shutdown(), { what: 'the child shipping to shut down' });
    await hung.close();
  }
});

test('the primary destination queues (collector, file) are bounded in bytes: destinationQueue bounds, drops counted by reason', async () => {
  const hung = await startTestReceiver({ hang: true, tcp: true });
  const dir = mkdtempSync(join(tmpdir(), 'starlog-bounds-'));
  const handle = await setupLogging({
    role: 'primary',
    endpoint: `unix:${join(dir, 'r.sock')}`,
    collector: { endpoint: hung.endpoint, insecure: true },
    file: { path: join(dir, 'out.jsonl') },
    console: false,
    status: false,
    config: false,
    instrumentations: false,
    httpTasks: false,
    shutdownTimeoutMs: 500,
    destinationQueue: {
      maxQueueBytes: 2 * MiB,
      maxSpillBytes: 1 * MiB,
      maxExportBatchBytes: MiB / 2,
    },
  });
  try {
    const logger = handle.provider.getLogger('bounds');
    const n = 200;
    let maxCollector = 0;
    let maxFile = 0;
    for (let i = 0; i < n; i++) {
      logger.emit({ severityNumber: 9, body: `r${i}`, attributes: { pad: PAD } });
      const d = handle.stats().destinations;
      maxCollector = Math.max(maxCollector, d.collector?.queueBytes ?? 0);
      maxFile = Math.max(maxFile, d.file?.queueBytes ?? 0);
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1)); // exports run
    }
    await until(() => hung.requests >= 1, { what: 'an export in flight at the hung collector' });
    const d = handle.stats().destinations;
    const c = d.collector as ShippingStats;
    const f = d.file as ShippingStats;
    console.log(
      `# collector: queued ${c.queued}, queueFull ${c.queueFull}, in flight ${c.inFlight}, queue max ${MiB_TEXT(maxCollector)} MiB; file: queued ${f.queued}, queueFull ${f.queueFull}, queue max ${MiB_TEXT(maxFile)} MiB`,
    );
    assert.ok(maxCollector <= 2 * MiB, `collector queue held ${maxCollector} bytes, over 2 MiB`);
    assert.ok(maxFile <= 2 * MiB, `file queue held ${maxFile} bytes, over 2 MiB`);
    assert.ok(c.queueFull > 0, 'the hung collector: records over the bound counted in queueFull');
    assert.equal(c.queued + c.queueFull, n);
    assert.equal(f.queued + f.queueFull, n);
    // in flight: at most 2 exports of at most maxExportBatchBytes (512 KiB: 5 records of 100 KB)
    assert.ok(c.inFlight <= 2 * 6, `collector in flight ${c.inFlight} records`);
    assert.ok(handle.stats().dropped >= c.queueFull, 'the drops are in the handle stats');
    await within(handle.shutdown(), { what: 'the primary to shut down', timeoutMs: 30_000 });
    const after = handle.stats().destinations.collector as ShippingStats;
    assert.equal(after.pending, 0);
    assert.equal(accounted(after), after.queued, 'queued = exported + drops');
  } finally {
    await handle.shutdown();
    await hung.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
