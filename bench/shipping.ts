/**
 * How many records/s one child pushes through OtlpShippingProcessor (records encoded to OTLP
 * bytes at emit) + the official OTLP/gRPC export delegate (the path setupLogging() gives
 * children) to a local grpc-js server (identity deserializer, counting records), and the child's CPU per
 * record; plus the time a synchronous export at process.exit() blocks (lazy vs eager worker).
 *
 *   ./node_modules/.bin/node bench/shipping.ts [records=200000]
 *
 * The server runs in this process, the child in its own process (as primary and child do). The
 * child emits as fast as it can while keeping at most 8 batches pending (so nothing is dropped),
 * then flushes. "emit only" is the same loop with a processor that discards: the cost of the
 * SDK's logger.emit() itself.
 */

import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SeverityNumber } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OtlpGrpcBytesExporter } from '../src/export/otlp-grpc-bytes.ts';
import { OtlpShippingProcessor } from '../src/export/otlp-shipping-processor.ts';
import type { ShippingStats } from '../src/export/shipping-stats.ts';
import { installExitHooks } from '../src/multiprocess/child/exit-hooks.ts';
import { startTestReceiver } from '../test/support/test-receiver.ts';

interface ChildResult {
  records: number;
  wallMs: number;
  cpuMs: number;
  stats?: ShippingStats;
  syncExport?: { exported: number; failed: number; elapsedMs: number };
}

const role = process.argv[2];

if (role === '--child') await child(process.argv[3] as string);
else await main();

async function child(mode: string): Promise<void> {
  const total = Number(process.env.N);
  const batch = Number(process.env.BATCH ?? 1024);
  let processor: LogRecordProcessor;
  let pending: () => number;
  let shipping: OtlpShippingProcessor | undefined;
  if (mode === 'emit-only') {
    let seen = 0;
    processor = {
      onEmit: () => {
        seen++;
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    pending = () => seen * 0;
  } else {
    shipping = new OtlpShippingProcessor({
      // configured from OTEL_EXPORTER_OTLP_LOGS_* like the official OTLPLogExporter
      exporter: new OtlpGrpcBytesExporter(),
      maxExportBatchSize: batch,
      maxConcurrentExports: Number(process.env.CONCURRENCY ?? 2),
      maxQueueSize: 1_000_000,
    });
    processor = shipping;
    pending = () => (shipping as OtlpShippingProcessor).pending;
  }
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-child', 'process.pid': process.pid }),
    processors: [processor],
  });
  const logger = provider.getLogger('bench', '1.0.0');
  const emit = (i: number): void =>
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: `request ${i} handled`,
      attributes: {
        'http.method': 'GET',
        'http.route': '/items/:id',
        'http.status_code': 200,
        duration_ms: 1.5,
      },
    });

  if (mode.startsWith('exit-')) {
    // process.exit() with N records queued: how long does the synchronous export block?
    const s = shipping as OtlpShippingProcessor;
    const hooks = installExitHooks(s, {
      worker: mode === 'exit-eager' ? 'eager' : 'lazy',
      timeout: '10s',
    });
    await new Promise((r) => setTimeout(r, 300)); // an eager worker boots meanwhile
    for (let i = 0; i < total; i++) emit(i);
    process.on('exit', () => {
      const r: ChildResult = {
        records: total,
        wallMs: 0,
        cpuMs: 0,
        stats: s.stats(),
        syncExport: hooks.lastSyncExport,
      };
      writeSync(1, `${JSON.stringify(r)}\n`);
    });
    process.exit(0);
  }

  const highWater = 8 * batch;
  // warm-up
  for (let i = 0; i < 5000; i++) emit(i);
  await processor.forceFlush();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  await new Promise<void>((resolve) => {
    const step = (): void => {
      const until = Math.min(total, i + 2000);
      while (i < until && pending() < highWater) emit(i++);
      if (i < total) setImmediate(step);
      else resolve();
    };
    step();
  });
  await processor.forceFlush();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const r: ChildResult = {
    records: total,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    stats: shipping?.stats(),
  };
  writeSync(1, `${JSON.stringify(r)}\n`);
  await provider.shutdown();
}

async function runChild(mode: string, env: Record<string, string>): Promise<ChildResult> {
  const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', mode], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  c.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  await new Promise((r) => c.on('close', r));
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`child ${mode} printed no result: ${out}`);
  return JSON.parse(line) as ChildResult;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const results: Record<string, unknown>[] = [];
  const emitOnly = await runChild('emit-only', { N: String(n) });
  const emitUs = (emitOnly.cpuMs * 1000) / n;
  console.log(
    `emit only (SDK logger.emit, discarding processor): ${emitUs.toFixed(2)} µs CPU/record`,
  );
  results.push({ config: 'emit-only', cpuUsPerRecord: emitUs });

  for (const [batch, concurrency] of [
    [1024, 2],
    [2048, 2],
    [4096, 1],
    [4096, 2],
  ] as const) {
    const receiver = await startTestReceiver({ decode: false });
    const serverCpu0 = process.cpuUsage();
    const r = await runChild('ship', {
      ...receiver.env,
      N: String(n),
      BATCH: String(batch),
      CONCURRENCY: String(concurrency),
    });
    const serverCpu = process.cpuUsage(serverCpu0);
    const received = receiver.records - 5000; // minus the warm-up
    const perSec = (n / r.wallMs) * 1000;
    const cpuUs = (r.cpuMs * 1000) / n;
    const serverUs = ((serverCpu.user + serverCpu.system) / (n + 5000)) * 1;
    console.log(
      `batch ${batch}, ${concurrency} in flight: ${Math.round(perSec).toLocaleString('en')} records/s, ` +
        `child CPU ${cpuUs.toFixed(2)} µs/record (${(cpuUs - emitUs).toFixed(2)} µs above emit), ` +
        `server CPU ${serverUs.toFixed(2)} µs/record (receive + count), received ${received}/${n}, ` +
        `${(receiver.bytes / receiver.requests / 1024).toFixed(0)} KiB/request`,
    );
    results.push({
      config: `batch${batch}-c${concurrency}`,
      recordsPerSec: perSec,
      childCpuUsPerRecord: cpuUs,
      received,
      sent: n,
    });
    await receiver.close();
  }

  for (const worker of ['lazy', 'eager']) {
    const receiver = await startTestReceiver({ decode: false });
    const r = await runChild(`exit-${worker}`, { ...receiver.env, N: '5000' });
    console.log(
      `process.exit() with 5,000 records queued, ${worker} worker: blocked ${r.syncExport?.elapsedMs.toFixed(0)} ms, ` +
        `received ${receiver.records}/5000`,
    );
    results.push({
      config: `exit-${worker}`,
      blockedMs: r.syncExport?.elapsedMs,
      received: receiver.records,
    });
    await receiver.close();
  }
  console.log(JSON.stringify({ bench: 'shipping', records: n, results }));
}
