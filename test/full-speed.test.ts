/**
 * Nothing dropped at full speed with default settings: 4 children (setupLogging defaults) emit
 * 500,000 records in synchronous bursts as fast as they can into one primary (setupLogging
 * defaults, JSON-lines file); the primary cannot keep up, so the children are slowed down
 * (backpressure), not emptied. Every record is in the file exactly once, nothing is counted as
 * dropped anywhere.
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

const dir = mkdtempSync(join(tmpdir(), 'starlog-speed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a burst of 500,000 records from 4 children with default settings: every record in the file, none dropped', async () => {
  const file = join(dir, 'burst.jsonl');
  const handle = await setupLogging({
    role: 'primary',
    endpoint: `unix:${join(dir, 'burst.sock')}`,
    file: { path: file },
    console: false,
    collector: false,
    status: false,
  });
  const env = receiverEnv(handle);
  const per = 125_000;
  const children = await Promise.all(
    [0, 1, 2, 3].map((index) => startChild(env, { index, setup: true })),
  );
  try {
    // as fast as they can: synchronous bursts of 25,000 records, back to back
    const sent = await Promise.all(
      children.map(async (c) => {
        let sent = 0; // the child answers with its running total
        while (sent < per) sent = await c.emit(25_000);
        return sent;
      }),
    );
    // forceFlush waits as long as the primary is alive and accepting, then a bounded shutdown
    await Promise.all(children.map((c) => c.flush()));
    const stats = [];
    for (const c of children) stats.push((await c.shutdown()).stats);
    for (const [i, s] of stats.entries()) {
      assert.equal(childDrops(s), 0, `child ${i} dropped: ${JSON.stringify(s)}`);
      assert.equal(s.exported, sent[i], `child ${i} exported`);
    }
    await handle.forceFlush();
    const seen = handle.stats().receiver!;
    assert.equal(seen.dropped.total, 0, 'no drops reported to the primary');
    assert.equal(handle.stats().dropped, 0, 'no drops in the primary');
    console.log(
      `# sync flushes (backpressure) per child: ${stats.map((s) => s.syncFlushes).join(', ')}; batches handed to the worker thread: ${stats.map((s) => s.offloaded).join(', ')}; waits for the primary: ${stats.map((s) => `${s.offloadWaits} (${s.offloadWaitMs} ms)`).join(', ')}`,
    );
  } finally {
    await handle.shutdown();
  }
  const { perChild, duplicates } = await countFileRecords(file, 4);
  assert.deepEqual(perChild, [per, per, per, per], 'every record in the file');
  assert.equal(duplicates, 0, 'no record twice');
});
