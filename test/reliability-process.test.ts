// Delivery with real child processes, the official OTLP/gRPC exporter and the real receiver:
// outages, restarts, spill overflow, drop reports, backpressure, graceful primary shutdown.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import type {
  LogRecordExporter,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import { ShippingProcessor } from '../src/export/shipping-processor.ts';
import { generateToken } from '../src/multiprocess/protocol/token.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { setupLogging } from '../src/setup/setup-logging.ts';
import {
  childDrops,
  receiverEnv,
  SeqCollector,
  startChild,
} from './support/reliability-children.ts';
import { until } from './support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'starlog-rel-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;
const fresh = () => {
  const path = join(dir, `r${sockets++}.sock`);
  const token = generateToken();
  return { path, token, env: { STARLOG_ENDPOINT: `unix://${path}`, STARLOG_TOKEN: token } };
};
const FAST = {
  maxExportBatchSize: 100,
  scheduledDelay: 20,
  retryBaseDelay: 20,
  retryMaxDelay: 200,
};
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('delivery across primary outages', () => {
  test('primary down at start, then up on the same socket path: nothing lost, in order', async () => {
    const ep = fresh();
    const child = await startChild(ep.env, { index: 0, shipping: FAST });
    await child.emit(3000);
    await until(async () => (await child.stats()).retries >= 3, {
      what: 'the child to retry 3 times',
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    const collector = new SeqCollector();
    const receiver = await startReceiver({
      endpoint: `unix:${ep.path}`,
      token: ep.token,
      processor: collector,
    });
    try {
      const s = await child.flush();
      assert.deepEqual(collector.of(0), range(3000));
      assert.deepEqual([s.exported, childDrops(s), s.pending], [3000, 0, 0]);
      await child.shutdown();
    } finally {
      await receiver.close();
    }
  });

  test('primary restarted in the middle of a steady stream: sent = delivered + counted drops, exactly', async () => {
    const ep = fresh();
    const first = new SeqCollector();
    const second = new SeqCollector();
    let receiver = await startReceiver({
      endpoint: `unix:${ep.path}`,
      token: ep.token,
      processor: first,
    });
    const children = await Promise.all(
      [0, 1].map((index) => startChild(ep.env, { index, shipping: FAST })),
    );
    const streaming = children.map((c) => c.stream(2000, 3));
    await until(() => first.total >= 1500, {
      what: '1500 records at the first receiver',
      timeoutMs: 30_000,
    });
    await receiver.close(); // graceful: in-flight exports complete
    await until(async () => (await children[0]!.stats()).retries >= 2, {
      what: 'child 0 to retry twice',
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    receiver = await startReceiver({
      endpoint: `unix:${ep.path}`,
      token: ep.token,
      processor: second,
    });
    try {
      const sent = await Promise.all(streaming);
      for (const [i, c] of children.entries()) {
        const { stats } = await c.shutdown();
        const delivered = [...first.of(i), ...second.of(i)];
        assert.equal(sent[i], delivered.length + childDrops(stats), `child ${i}`);
        assert.equal(childDrops(stats), 0, 'a short outage fits in the spill');
        assert.deepEqual(delivered, range(sent[i] as number), 'each record once, in order');
        assert.ok(stats.retries > 0);
      }
      assert.ok(second.total > 0 && first.total > 0);
    } finally {
      await receiver.close();
    }
  });

  test('a tiny spill: the oldest batches are dropped, counted exactly, and reported to the primary', async () => {
    const ep = fresh();
    const child = await startChild(ep.env, {
      index: 0,
      shipping: { ...FAST, maxSpillBytes: 2_000 }, // ≈ 30 encoded records
    });
    await child.emit(1000);
    await until(
      async () => {
        const s = await child.stats();
        return s.retrying && s.spillOverflow > 0 && s.pending === s.spilled;
      },
      { what: 'the child to spill and overflow while retrying', timeoutMs: 30_000, intervalMs: 20 },
    );
    const collector = new SeqCollector();
    const receiver = await startReceiver({
      endpoint: `unix:${ep.path}`,
      token: ep.token,
      processor: collector,
    });
    try {
      const s = await child.flush();
      const got = collector.of(0);
      assert.equal(got.length + s.spillOverflow, 1000);
      assert.equal(s.exported, got.length);
      assert.ok(s.spillOverflow >= 900, `spillOverflow ${s.spillOverflow}`);
      assert.deepEqual(
        got,
        range(got.length).map((i) => 1000 - got.length + i),
        'the newest kept',
      );
      const reported = receiver.stats().children[String(child.pid)]?.dropped;
      assert.equal(reported?.spillOverflow, s.spillOverflow);
      assert.equal(receiver.stats().dropped.total, s.spillOverflow);
      assert.equal(
        receiver.stats().children[String(child.pid)]?.records,
        got.length,
        'reports are not records',
      );
      await child.shutdown();
    } finally {
      await receiver.close();
    }
  });

  test('a crashed primary leaves its socket: a new primary takes the path over; a live one is refused', async () => {
    const ep = fresh();
    // a process that listens on the path and dies without cleaning up
    const script = `require('net').createServer().listen(${JSON.stringify(ep.path)}, () => process.kill(process.pid, 'SIGKILL'))`;
    assert.throws(() => execFileSync(process.execPath, ['-e', script], { stdio: 'ignore' }));
    const collector = new SeqCollector();
    const receiver = await startReceiver({
      endpoint: `unix:${ep.path}`,
      token: ep.token,
      processor: collector,
    });
    try {
      await assert.rejects(
        startReceiver({ endpoint: `unix:${ep.path}`, token: ep.token, processor: collector }),
      );
      const child = await startChild(ep.env, { index: 0, shipping: FAST });
      await child.emit(10);
      await child.flush();
      assert.equal(collector.total, 10);
      await child.shutdown();
    } finally {
      await receiver.close();
    }
  });
});

/** Reads the JSON-lines file: every log record with its attributes as a plain object. */
function readJsonl(path: string): { body: unknown; attributes: Record<string, unknown> }[] {
  const out: { body: unknown; attributes: Record<string, unknown> }[] = [];
  const value = (v: Record<string, unknown> | undefined): unknown =>
    v === undefined
      ? undefined
      : (v.stringValue ?? (v.intValue === undefined ? v.doubleValue : Number(v.intValue)));
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const req = JSON.parse(line) as {
      resourceLogs: { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[];
    };
    for (const rl of req.resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const lr of sl.logRecords) {
          const attributes: Record<string, unknown> = {};
          for (const a of (lr.attributes ?? []) as {
            key: string;
            value: Record<string, unknown>;
          }[])
            attributes[a.key] = value(a.value);
          out.push({ body: value(lr.body as Record<string, unknown>), attributes });
        }
  }
  return out;
}

/** An exporter that takes `delayMs` per export: a destination slower than the children. */
class SlowExporter implements LogRecordExporter {
  readonly bodies: string[] = [];
  private readonly delayMs: number;
  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }
  export(records: ReadableLogRecord[], cb: (r: { code: ExportResultCode }) => void): void {
    setTimeout(() => {
      for (const r of records) this.bodies.push(String(r.body));
      cb({ code: ExportResultCode.SUCCESS });
    }, this.delayMs);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

describe('the primary side', () => {
  test('backpressure: a slow destination makes children retry; nothing is lost', async () => {
    const ep = fresh();
    const slow = new SlowExporter(30);
    const destination = new ShippingProcessor({
      exporter: slow,
      maxQueueSize: 400,
      maxExportBatchSize: 100,
      maxConcurrentExports: 1,
      scheduledDelay: 10,
    });
    const receiver = await startReceiver({
      endpoint: `unix:${ep.path}`,
      token: ep.token,
      processor: destination,
      backpressure: () => destination.fill >= 0.75,
    });
    try {
      const children = await Promise.all(
        [0, 1].map((index) => startChild(ep.env, { index, shipping: FAST })),
      );
      await Promise.all(children.map((c) => c.emit(2000)));
      const stats = await Promise.all(children.map((c) => c.flush()));
      await destination.forceFlush();
      assert.equal(slow.bodies.length, 4000);
      assert.equal(new Set(slow.bodies).size, 4000);
      const d = destination.stats();
      assert.deepEqual([d.queueFull, d.exportFailed], [0, 0], 'the primary dropped nothing');
      assert.ok(receiver.stats().backpressure > 0);
      for (const s of stats) assert.deepEqual([s.exported, childDrops(s)], [2000, 0]);
      assert.ok(stats.some((s) => s.retries > 0));
      await Promise.all(children.map((c) => c.shutdown()));
    } finally {
      await receiver.close();
      await destination.shutdown();
    }
  });

  test('setupLogging: child drops reach the primary (receiver stats, handle.stats().dropped, status records)', async () => {
    const ep = fresh();
    const file = join(dir, 'drops.jsonl');
    const handle = await setupLogging({
      role: 'primary',
      endpoint: `unix:${ep.path}`,
      file: { path: file },
      console: false,
      collector: false,
      status: { interval: '1h' },
    });
    try {
      const env = receiverEnv(handle);
      // a 65,536-record queue without backpressure (the default slows the child down instead)
      const child = await startChild(env, {
        index: 7,
        setup: true,
        setupOptions: { childQueue: { maxQueueSize: 65_536, backpressure: false } },
      });
      await child.emit(70_000); // one synchronous burst: the child's queue (65,536) overflows
      const s = await child.flush();
      assert.deepEqual([s.exported, s.queueFull], [65_536, 70_000 - 65_536]);
      const seen = handle.stats().receiver!.children[String(child.pid)];
      assert.equal(seen?.records, 65_536);
      assert.equal(seen?.dropped?.queueFull, 4464);
      assert.equal(seen?.dropped?.total, 4464);
      assert.ok(handle.stats().dropped >= 4464);
      await child.shutdown();
    } finally {
      await handle.shutdown();
    }
    const records = readJsonl(file);
    assert.equal(records.filter((r) => r.attributes['rel.child'] === 7).length, 65_536);
    const status = records.filter((r) => 'status.gauge.CHILD-DROPPED' in r.attributes).at(-1);
    assert.equal(status?.attributes['status.gauge.CHILD-DROPPED'], 4464);
  });

  test('graceful shutdown: a child export in flight when the primary shuts down is ingested and written', async () => {
    const ep = fresh();
    const file = join(dir, 'shutdown.jsonl');
    const handle = await setupLogging({
      role: 'primary',
      endpoint: `unix:${ep.path}`,
      file: { path: file },
      console: false,
      collector: false,
      status: false,
    });
    let shutdown: Promise<void> | undefined;
    handle.pipeline.addStage({
      // the first child record: the Export call is in the receiver's handler right now
      onEmit(record: ReadWriteLogRecord) {
        if (shutdown === undefined && record.attributes['rel.child'] === 3)
          shutdown = handle.shutdown();
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    });
    const env = receiverEnv(handle);
    const child = await startChild(env, {
      index: 3,
      shipping: { ...FAST, maxExportBatchSize: 1000, scheduledDelay: '1h' },
    });
    await child.emit(500);
    const s = await child.flush(); // the child's last export: one request
    assert.ok(shutdown, 'the primary began shutting down during the export');
    await shutdown;
    assert.deepEqual([s.exported, childDrops(s), s.retries], [500, 0, 0]);
    const written = readJsonl(file).filter((r) => r.attributes['rel.child'] === 3);
    assert.equal(written.length, 500);
    const late = await startChild(env, { index: 4, shipping: { ...FAST, shutdownTimeout: 100 } });
    await late.emit(5);
    const { stats } = await late.shutdown();
    assert.deepEqual(
      [stats.exported, stats.exportFailed],
      [0, 5],
      'a closed primary accepts no one',
    );
    await child.shutdown();
  });
});
