/**
 * Exact accounting across threads and short-lived children (issue 11): sent = delivered +
 * counted drops, with the drops visible in the primary's stats().
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { runProcess } from './support/process.ts';

const NODE = process.execPath;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function counting(): LogRecordProcessor & { n: number } {
  return {
    n: 0,
    onEmit() {
      this.n++;
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

test('drop reports of a main thread and a worker thread add up in the primary (keyed per reporter)', async () => {
  const processor = counting();
  const receiver = await startReceiver({ processor });
  try {
    const r = await runProcess(NODE, [fixture('drops-threads.ts')], {
      env: { ...process.env, ...receiver.env },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const { main, worker } = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    assert.deepEqual([main.queueFull, worker.queueFull], [2000, 2000]);
    assert.deepEqual([main.exported, worker.exported], [1000, 1000]);
    const pids = Object.values(receiver.stats().children);
    assert.equal(pids.length, 1);
    assert.equal(pids[0]?.records, 2000);
    assert.equal(pids[0]?.dropped?.queueFull, 4000, 'both threads counted, not the last one');
    assert.equal(receiver.stats().dropped.total, 4000);
    assert.equal(processor.n + receiver.stats().dropped.total, 6000, 'sent = delivered + drops');
  } finally {
    await receiver.close();
  }
});

test('100 short-lived children at once, each 20 records then process.exit(): delivered + counted drops = sent', {
  timeout: 300_000,
}, async () => {
  const processor = counting();
  const receiver = await startReceiver({ processor });
  const children = Number(process.env.SHORT_LIVED_CHILDREN ?? 100);
  try {
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: children }, () =>
        runProcess(NODE, [fixture('short-lived-child.ts')], {
          env: { ...process.env, ...receiver.env, N: '20' },
          timeoutMs: 240_000,
        }),
      ),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const s = receiver.stats();
    console.log(
      `# ${children} children in ${Date.now() - t0} ms: delivered ${processor.n}, primary counted ${s.dropped.total} dropped`,
    );
    assert.equal(
      processor.n + s.dropped.total,
      children * 20,
      'sent = delivered + drops in stats()',
    );
  } finally {
    await receiver.close();
  }
});
