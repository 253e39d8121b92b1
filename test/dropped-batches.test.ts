/**
 * Exact drop counts when a batch is both ingested and dropped (issue 11): the primary ingested a
 * request whose answer never reached the child (it hung, the connection dropped), the child
 * retried the batch and its spill then dropped and counted it. Drop reports name such batches
 * (`starlog.dropped.batches`); the receiver does not count the drop of a batch it ingested, and
 * refuses a batch reported dropped that arrives later. A real receiver, the real OTLP/gRPC
 * exporter and the child's OtlpShippingProcessor; the lost answer and the outage are made by a
 * wrapper around the exporter, so that nothing depends on timing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import {
  createPrimaryBytesExporter,
  type EncodedLogsExporter,
  type EncodedLogsRequest,
} from '../src/export/otlp-bytes-exporter.ts';
import { OtlpShippingProcessor } from '../src/export/otlp-shipping-processor.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { CountingProcessor } from './support/collect.ts';
import { until, within } from './support/wait.ts';

const PAD = 'x'.repeat(1000);
const BATCH = 10;

const failure = (code: number, details: string): ExportResult => ({
  code: ExportResultCode.FAILED,
  error: Object.assign(new Error(details), { code, details }),
});

/**
 * The child's exporter to a real receiver, with a fault: the first request is `lost` (delivered,
 * the answer replaced by DEADLINE_EXCEEDED) or `held` (kept here, DEADLINE_EXCEEDED at once, sent
 * later by the test); then every request fails UNAVAILABLE without being sent until `up`.
 */
function faulty(real: EncodedLogsExporter, fault: 'lost' | 'held') {
  const state = {
    phase: 'fault' as 'fault' | 'down' | 'up',
    held: undefined as EncodedLogsRequest | undefined,
    exporter: {
      export(request: EncodedLogsRequest, cb: (r: ExportResult) => void): void {
        if (state.phase === 'fault') {
          state.phase = 'down';
          if (fault === 'held') {
            state.held = request;
            cb(failure(4, 'Deadline exceeded (the test holds the request)'));
          } else {
            // the receiver ingests it; the answer is lost
            real.export(request, () => cb(failure(4, 'Deadline exceeded (answer lost)')));
          }
          return;
        }
        if (state.phase === 'down') cb(failure(14, 'unavailable (the test)'));
        else real.export(request, cb);
      },
      shutdown: () => real.shutdown(),
    } satisfies EncodedLogsExporter,
  };
  return state;
}

async function scenario(fault: 'lost' | 'held') {
  const processor = new CountingProcessor();
  const receiver = await startReceiver({ processor });
  const real = createPrimaryBytesExporter({ ...receiver.env }, { timeoutMillis: 10_000 });
  const wrapper = faulty(real, fault);
  const shipping = new OtlpShippingProcessor({
    exporter: wrapper.exporter,
    reportDrops: true,
    maxExportBatchSize: BATCH,
    maxSpillBytes: 3 * BATCH * 1100, // about 3 batches
    scheduledDelay: 1,
    retryBaseDelay: 1,
    retryMaxDelay: 2,
    shutdownTimeout: 2000,
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'dropped-batches' }),
    processors: [shipping],
  });
  const logger = provider.getLogger('t');
  let sent = 0;
  const emitBatch = () => {
    for (let i = 0; i < BATCH; i++) {
      logger.emit({ severityNumber: 9, body: `r${sent++}`, attributes: { pad: PAD } });
    }
  };
  try {
    emitBatch();
    await until(() => shipping.stats().retrying, {
      what: 'the child retrying its first batch (the fault)',
    });
    if (fault === 'lost') assert.equal(processor.n, BATCH, 'the receiver ingested the first batch');
    else assert.equal(processor.n, 0);
    // the outage goes on: the spill overflows and drops the oldest batch, the first one
    for (let b = 0; b < 6; b++) emitBatch();
    await until(() => shipping.stats().spillOverflow >= BATCH, {
      what: 'the spill dropping the first batch',
    });
    wrapper.phase = 'up';
    await within(shipping.forceFlush(), { what: 'the child flushing after the outage' });
    const child = shipping.stats();
    const drops = child.spillOverflow + child.queueFull + child.exportFailed;
    assert.equal(child.exported + drops, sent, `the child's own account: ${JSON.stringify(child)}`);
    return { processor, receiver, shipping, real, wrapper, sent };
  } catch (err) {
    await receiver.close();
    throw err;
  } finally {
    await within(provider.shutdown(), { what: 'the child shipping to shut down' });
  }
}

test('a batch the primary ingested but whose answer was lost, then dropped from the spill: not counted as dropped (sent = delivered + drops, exactly)', async () => {
  const { processor, receiver, shipping, sent } = await scenario('lost');
  try {
    const s = receiver.stats();
    const child = shipping.stats();
    console.log(
      `# sent ${sent}: delivered ${processor.n}, primary counted ${s.dropped.total} dropped (child counted ${child.spillOverflow}), uncounted ${s.uncountedDrops}`,
    );
    assert.equal(s.uncountedDrops, BATCH, 'the ingested batch named in a drop report, not counted');
    assert.equal(child.spillOverflow - BATCH, s.dropped.spillOverflow);
    assert.equal(processor.n + s.dropped.total, sent, 'sent = delivered + drops in stats()');
    assert.equal(s.duplicates, 0);
  } finally {
    await receiver.close();
  }
});

test('a batch reported dropped that arrives later is refused, not written (sent = delivered + drops, exactly)', async () => {
  const { processor, receiver, real, wrapper, sent } = await scenario('held');
  try {
    assert.ok(wrapper.held, 'the test held the first request');
    const before = processor.n;
    const late = await within(
      new Promise<ExportResult>((resolve) =>
        real.export(wrapper.held as EncodedLogsRequest, resolve),
      ),
      { what: 'the answer to the late copy of the dropped batch' },
    );
    const s = receiver.stats();
    console.log(
      `# sent ${sent}: delivered ${processor.n}, primary counted ${s.dropped.total} dropped; the late copy: ${(late.error as { details?: string })?.details}`,
    );
    assert.equal(late.code, ExportResultCode.FAILED, 'the late copy refused');
    assert.equal(processor.n, before, 'nothing of it written');
    assert.equal(s.refusedDropped, 1);
    assert.equal(s.uncountedDrops, 0);
    assert.equal(processor.n + s.dropped.total, sent, 'sent = delivered + drops in stats()');
  } finally {
    await real.shutdown();
    await receiver.close();
  }
});
