/**
 * Added cost per record of the starlog foundation (Pipeline + StatusProcessor) and of
 * StatusProcessor alone, over a plain BatchLogRecordProcessor (target: Pipeline[Status, Batch]
 * ≤ 1.10 × Batch).
 *
 * Configurations (same records, same Batch settings, a discarding exporter):
 *   batch                    BatchLogRecordProcessor → discarding exporter (the baseline)
 *   batch+noop               an empty processor next to the same Batch (the SDK's fan-out cost)
 *   batch+status             StatusProcessor (interval 1h, never fires) next to the same Batch
 *   batch+status(countBytes:false)  the same without measuring body bytes
 *   Pipeline[Batch]          starlog's Pipeline (level 'trace': every record passes, the level
 *                            check is still made in enabled() and onEmit) with Batch as its stage
 *   Pipeline[Status, Batch]  the same with a StatusProcessor stage first: what every starlog
 *                            process runs
 *   Pipeline[Status(countBytes:false), Batch]  the same without body byte counts
 *
 * Each configuration runs in its own worker threads (`--isolates`, default 3: V8 isolates whose
 * code is optimized for that configuration alone, as in a real process that has one pipeline;
 * a configuration's figure per round is the mean over its isolates, since how V8 compiles one
 * isolate moves its figure by several per cent). The workers take turns in rounds of `--records` emits each (yielding to the event loop every 1,024 so that the
 * batch processor exports, then a forceFlush); the order rotates every round and reverses every
 * other round. Per round and configuration: process CPU time (user + system, all threads, so GC
 * helpers count; only one worker runs at a time) per record. The figure is the median over
 * rounds of the ratio to the baseline's time in the same round (robust to a shared machine's
 * drifting load); ns/record are medians too. Wall time is printed as well.
 * Also measured, in the main thread: StatusProcessor.onEmit on a ready record (ns/record).
 *
 * Run: ./node_modules/.bin/node bench/status.ts [--records N] [--rounds N] [--warmup N] [--isolates N]
 *        [--only 'Pipeline[Batch];Pipeline[Status, Batch]']
 * Prints a short summary and a final JSON line.
 */
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { LogRecord } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type LogRecordProcessor,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { inc } from '../src/processors/status/counters.ts';
import { StatusProcessor } from '../src/processors/status/status-processor.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

interface Settings {
  records: number;
  rounds: number;
  warmup: number;
  isolates: number;
  only: string | undefined;
}

function settings(): Settings {
  if (!isMainThread) return (workerData as { settings: Settings }).settings;
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '20000' },
      rounds: { type: 'string', default: '31' },
      warmup: { type: 'string', default: '5' },
      isolates: { type: 'string', default: '3' },
      only: { type: 'string' },
    },
  });
  return {
    records: Number(values.records),
    rounds: Number(values.rounds),
    warmup: Number(values.warmup),
    isolates: Number(values.isolates),
    only: values.only,
  };
}
const SETTINGS = settings();
const RECORDS = SETTINGS.records;
const ROUNDS = SETTINGS.rounds;
const WARMUP = SETTINGS.warmup;
const ISOLATES = SETTINGS.isolates;
const CHUNK = 1024; // records emitted between yields to the event loop (lets the batch export)

/** Counts what it is given and drops it. */
class DiscardingExporter implements LogRecordExporter {
  exported = 0;
  export(logs: ReadableLogRecord[], done: (result: { code: ExportResultCode }) => void): void {
    this.exported += logs.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

interface Config {
  name: string;
  /** The provider's processors, all exporting into `exporter`. */
  processors(exporter: LogRecordExporter): LogRecordProcessor[];
}

const batch = (exporter: LogRecordExporter) =>
  new BatchLogRecordProcessor({ exporter, maxQueueSize: 16_384, maxExportBatchSize: 512 });

const statusStage = (options: { countBytes?: boolean } = {}) =>
  new StatusProcessor({
    interval: '1h',
    ...options,
    processor: new SimpleLogRecordProcessor({ exporter: new DiscardingExporter() }),
  });

/**
 * Pipeline configurations use the level `'trace'` so that every record passes (the baseline
 * exports all of them too): the level check is still made, in `enabled()` and `onEmit`.
 */
const ALL_CONFIGS: Config[] = [
  { name: 'batch', processors: (exporter) => [batch(exporter)] },
  {
    // The floor: what any second processor costs (the SDK's fan-out), without counting.
    name: 'batch+noop',
    processors: (exporter) => [
      { onEmit() {}, forceFlush: async () => {}, shutdown: async () => {} },
      batch(exporter),
    ],
  },
  {
    name: 'batch+status',
    processors: (exporter) => [statusStage(), batch(exporter)],
  },
  {
    name: 'batch+status(countBytes:false)',
    processors: (exporter) => [statusStage({ countBytes: false }), batch(exporter)],
  },
  {
    // The foundation of every starlog process: the Pipeline as the provider's one processor.
    name: 'Pipeline[Batch]',
    processors: (exporter) => [new Pipeline({ levels: 'trace', stages: [batch(exporter)] })],
  },
  {
    name: 'Pipeline[Status, Batch]',
    processors: (exporter) => [
      new Pipeline({ levels: 'trace', stages: [statusStage(), batch(exporter)] }),
    ],
  },
  {
    name: 'Pipeline[Status(countBytes:false), Batch]',
    processors: (exporter) => [
      new Pipeline({
        levels: 'trace',
        stages: [statusStage({ countBytes: false }), batch(exporter)],
      }),
    ],
  },
];

/** `--only 'a;b'`: the baseline plus the named configurations. */
const CONFIGS =
  SETTINGS.only === undefined
    ? ALL_CONFIGS
    : ALL_CONFIGS.filter((c, i) => i === 0 || SETTINGS.only!.split(';').includes(c.name));

/** A realistic mix: mostly INFO text, some DEBUG/WARN/ERROR, counters on a tenth, one map body. */
function makeRecords(): LogRecord[] {
  const records: LogRecord[] = [];
  for (let i = 0; i < 100; i++) {
    const severityNumber = i % 10 === 9 ? 17 : i % 10 === 8 ? 13 : i % 10 === 7 ? 5 : 9;
    const path = `/api/items/${i}`;
    const body = `handled GET ${path} in ${(i * 0.37).toFixed(2)} ms for user ${1000 + i}`;
    let attributes: LogRecord['attributes'] = {
      'http.route': '/api/items/:id',
      'http.status': 200,
    };
    if (i % 10 === 0) attributes = inc('requests').inc('2xx').update(attributes);
    records.push({
      severityNumber,
      body: i === 50 ? { msg: body, path, ok: true } : body,
      attributes,
    });
  }
  return records;
}

/** One configuration's LoggerProvider, built once and used for every round. */
interface Rig {
  config: Config;
  exporter: DiscardingExporter;
  provider: LoggerProvider;
  logger: ReturnType<LoggerProvider['getLogger']>;
}

function rig(config: Config): Rig {
  const exporter = new DiscardingExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench' }),
    processors: config.processors(exporter),
  });
  return { config, exporter, provider, logger: provider.getLogger('bench') };
}

/**
 * One round of one configuration: RECORDS emits in chunks, yielding to the event loop between
 * chunks (the batch processor exports), then a flush. CPU time (user + system, all threads: GC
 * helpers count) and wall time per record, in ns.
 */
async function runRound(r: Rig, records: LogRecord[]): Promise<{ cpu: number; wall: number }> {
  const before = r.exporter.exported;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < RECORDS; ) {
    const end = Math.min(RECORDS, i + CHUNK);
    for (; i < end; i++) r.logger.emit(records[i % records.length]!);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await r.provider.forceFlush();
  const cpu = process.cpuUsage(cpuStart);
  const elapsed = performance.now() - start;
  if (r.exporter.exported - before !== RECORDS) {
    throw new Error(
      `${r.config.name}: exported ${r.exporter.exported - before} of ${RECORDS} records`,
    );
  }
  return { cpu: ((cpu.user + cpu.system) * 1e3) / RECORDS, wall: (elapsed * 1e6) / RECORDS };
}

/** The 25th and 75th percentiles. */
function quartiles(xs: number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) / 4)]!, s[Math.ceil(((s.length - 1) * 3) / 4)]!];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function onEmitAlone(): number {
  const status = new StatusProcessor({
    interval: '1h',
    processor: new SimpleLogRecordProcessor({ exporter: new DiscardingExporter() }),
  });
  const resource = resourceFromAttributes({ 'service.name': 'bench' });
  const scope = { name: 'bench' };
  const ready = makeRecords().map(
    (r) =>
      new PlainLogRecord({
        resource,
        instrumentationScope: scope,
        severityNumber: r.severityNumber,
        body: r.body,
        attributes: { ...r.attributes },
      }),
  );
  const n = 2_000_000;
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) status.onEmit(ready[i % ready.length]!);
    samples.push(((performance.now() - start) * 1e6) / n);
  }
  void status.shutdown();
  return median(samples.slice(1));
}

interface Measure {
  cpu: number;
  wall: number;
}

/** Worker side: builds one configuration, then runs a round per message until told to stop. */
async function worker(): Promise<void> {
  const { config: name } = workerData as { config: string };
  const config = CONFIGS.find((c) => c.name === name)!;
  const records = makeRecords();
  const r = rig(config);
  parentPort!.on('message', async (message: 'run' | 'stop') => {
    if (message === 'stop') {
      await r.provider.shutdown();
      parentPort!.close();
      return;
    }
    parentPort!.postMessage(await runRound(r, records));
  });
  parentPort!.postMessage('ready');
}

/** Main side: one worker per configuration. */
class ConfigWorker {
  readonly name: string;
  private readonly worker: Worker;
  private pending: ((value: unknown) => void) | undefined;
  readonly ready: Promise<unknown>;

  constructor(name: string) {
    this.name = name;
    this.worker = new Worker(new URL(import.meta.url), {
      workerData: { config: name, settings: SETTINGS },
    });
    this.worker.on('message', (m) => {
      const resolve = this.pending;
      this.pending = undefined;
      resolve?.(m);
    });
    this.worker.on('error', (err) => {
      console.error(`worker ${name} failed:`, err);
      process.exit(1);
    });
    this.ready = new Promise((resolve) => {
      this.pending = resolve;
    });
  }

  run(): Promise<Measure> {
    return new Promise((resolve) => {
      this.pending = resolve as (value: unknown) => void;
      this.worker.postMessage('run');
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('stop');
    await exited;
  }
}

async function main(): Promise<void> {
  // ISOLATES workers per configuration: how V8 happens to compile one isolate's code moves its
  // figure by several per cent; the mean over isolates averages that out.
  const workers = CONFIGS.flatMap((c) =>
    Array.from({ length: ISOLATES }, () => new ConfigWorker(c.name)),
  );
  for (const w of workers) await w.ready;
  const cpuSamples = new Map<string, number[]>(CONFIGS.map((c) => [c.name, []]));
  const wallSamples = new Map<string, number[]>(CONFIGS.map((c) => [c.name, []]));
  const cpuRatios = new Map<string, number[]>(CONFIGS.map((c) => [c.name, []]));
  const wallRatios = new Map<string, number[]>(CONFIGS.map((c) => [c.name, []]));
  for (let round = -WARMUP; round < ROUNDS; round++) {
    // Rotate the order each round and reverse it every other round, to cancel drift.
    const shift = ((round % workers.length) + workers.length) % workers.length;
    const rotated = [...workers.slice(shift), ...workers.slice(0, shift)];
    const order = round % 2 ? rotated.reverse() : rotated;
    const sums = new Map<string, Measure>();
    for (const w of order) {
      const m = await w.run();
      const sum = sums.get(w.name) ?? { cpu: 0, wall: 0 };
      sums.set(w.name, { cpu: sum.cpu + m.cpu / ISOLATES, wall: sum.wall + m.wall / ISOLATES });
    }
    const got = sums;
    if (round < 0) continue; // warm-up
    const base = got.get(CONFIGS[0]!.name)!;
    for (const [name, m] of got) {
      cpuSamples.get(name)!.push(m.cpu);
      wallSamples.get(name)!.push(m.wall);
      cpuRatios.get(name)!.push(m.cpu / base.cpu);
      wallRatios.get(name)!.push(m.wall / base.wall);
    }
  }
  for (const w of workers) await w.stop();
  const results = CONFIGS.map((c) => ({
    name: c.name,
    cpuNsPerRecord: Math.round(median(cpuSamples.get(c.name)!)),
    ratio: Number(median(cpuRatios.get(c.name)!).toFixed(3)),
    ratioIqr: quartiles(cpuRatios.get(c.name)!).map((x) => Number(x.toFixed(3))),
    wallNsPerRecord: Math.round(median(wallSamples.get(c.name)!)),
    wallRatio: Number(median(wallRatios.get(c.name)!).toFixed(3)),
  }));
  const alone = onEmitAlone();
  console.log(
    `StatusProcessor bench: ${RECORDS} records × ${ROUNDS} rounds × ${ISOLATES} isolates; ns/record = median per config, ×ratio = median of per-round ratios to '${CONFIGS[0]!.name}' (CPU time)`,
  );
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(42)} cpu ${String(r.cpuNsPerRecord).padStart(5)} ns/record ×${r.ratio.toFixed(3)} (IQR ${r.ratioIqr.map((x) => x.toFixed(3)).join('–')})` +
        `   wall ${String(r.wallNsPerRecord).padStart(5)} ns/record ×${r.wallRatio}`,
    );
  }
  console.log(`  StatusProcessor.onEmit alone: ${alone.toFixed(1)} ns/record`);
  console.log(
    JSON.stringify({
      bench: 'status',
      records: RECORDS,
      rounds: ROUNDS,
      results,
      onEmitNsPerRecord: Number(alone.toFixed(1)),
    }),
  );
}

if (isMainThread) await main();
else await worker();
