/**
 * A child that emits in one long synchronous stretch (the event loop never turns, so the
 * official exporter cannot send) hands its sealed batches to the synchronous exporter's worker
 * thread, which delivers them while the stretch goes on (`OtlpShippingProcessor`). Every record
 * reaches the file exactly once, nothing is counted as dropped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setupLogging } from '../src/setup/setup-logging.ts';
import {
  childDrops,
  countFileRecords,
  receiverEnv,
  startChild,
} from './support/reliability-children.ts';

const dir = mkdtempSync(join(tmpdir(), 'starlog-offload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A primary writing its records to `jsonl` and receiving on the socket `sock`, both in `dir`. */
async function startPrimary(jsonl: string, sock: string) {
  const file = join(dir, jsonl);
  const handle = await setupLogging({
    role: 'primary',
    endpoint: `unix:${join(dir, sock)}`,
    file: { path: file },
    console: false,
    collector: false,
    status: false,
  });
  return { file, handle };
}

test('one synchronous burst of 60,000 records: batches go out through the worker thread during the burst; all delivered once', async () => {
  const { file, handle } = await startPrimary('burst.jsonl', 'offload.sock');
  const env = receiverEnv(handle);
  const child = await startChild(env, { index: 0, setup: true });
  try {
    // 60,000 records are 14 batches of 4,096: from the second one sealed, they are offloaded
    assert.equal(await child.emit(60_000), 60_000);
    await child.flush();
    const { sent, stats } = await child.shutdown();
    assert.equal(sent, 60_000);
    assert.ok((stats.offloaded ?? 0) > 0, `batches handed to the worker: ${JSON.stringify(stats)}`);
    assert.equal(childDrops(stats), 0, `child dropped: ${JSON.stringify(stats)}`);
    assert.equal(stats.exported, 60_000, 'child exported');
    await handle.forceFlush();
    assert.equal(handle.stats().receiver!.dropped.total, 0, 'no drops reported to the primary');
  } finally {
    await handle.shutdown();
  }
  assert.deepEqual(await countFileRecords(file, 1), { perChild: [60_000], duplicates: 0 });
});

test('the same burst with the primary’s hand-off directory: batches go out as hand-off files, counted once ingested; all delivered once', async () => {
  const { file, handle } = await startPrimary('burst-files.jsonl', 'offload-files.sock');
  const handoffDir = handle.receiver!.env.STARLOG_HANDOFF_DIR;
  assert.ok(handoffDir, 'the primary has a hand-off directory');
  const child = await startChild(
    {
      ...receiverEnv(handle),
      STARLOG_HANDOFF_DIR: handoffDir,
      STARLOG_PRIMARY_PID: String(process.pid),
    },
    { index: 0, setup: true },
  );
  try {
    assert.equal(await child.emit(60_000), 60_000);
    await child.flush();
    const { sent, stats } = await child.shutdown();
    assert.equal(sent, 60_000);
    const offloaded = stats.offloaded ?? 0;
    assert.ok(offloaded > 0, `batches offloaded: ${JSON.stringify(stats)}`);
    assert.equal(childDrops(stats), 0, `child dropped: ${JSON.stringify(stats)}`);
    assert.equal(stats.exported, 60_000, 'child exported');
    await handle.forceFlush();
    const receiver = handle.stats().receiver!;
    assert.ok(
      (receiver.handoff?.files ?? 0) >= offloaded,
      `hand-off files ingested: ${receiver.handoff?.files}, offloaded: ${offloaded}`,
    );
    assert.equal(receiver.dropped.total, 0, 'no drops reported to the primary');
  } finally {
    await handle.shutdown();
  }
  assert.deepEqual(await countFileRecords(file, 1), { perChild: [60_000], duplicates: 0 });
});
