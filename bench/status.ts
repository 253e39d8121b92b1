/**
 * Added cost per record of StatusProcessor.
 *
 * Configurations (each a fresh LoggerProvider per round, same records, same Batch settings):
 *   batch         BatchLogRecordProcessor → discarding exporter (the baseline)
 *   batch+noop    an empty processor next to the same Batch processor (cost of a second processor)
 *   batch+status  StatusProcessor (interval 1h, never fires) next to the same Batch processor
 *   batch+status(countBytes:false)  the same without measuring body bytes
 * To compare another pipeline, add an entry to CONFIGS; ratios are always against CONFIGS[0].
 *
 * Rounds alternate the configurations (order reversed every other round to cancel drift); the
 * figure per configuration is the median ns/record over the rounds after one warm-up round.
 * The ratio uses process CPU time (user + system, `process.cpuUsage()`), which a busy machine
 * distorts less than wall time; wall time is printed too.
 * Also measured: StatusProcessor.onEmit called directly on a ready record (ns/record).
 *
 * Run: ./node_modules/.bin/node bench/status.ts [--records N] [--rounds N]
 * Prints a short summary and a final JSON line.
 */
import { parseArgs } from 'node:util';
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
import { inc } from '../src/processors/counters.ts';
import { StatusProcessor } from '../src/processors/status.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '9' },
    only: { type: 'string' },
  },
});
const RECORDS = Number(args.records);
const ROUNDS = Number(args.rounds);
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
  /** Fresh processors for one round, all exporting into `exporter`. */
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
];

/** `--only a,b`: the baseline plus the named configurations. */
const CONFIGS =
  args.only === undefined
    ? ALL_CONFIGS
    : ALL_CONFIGS.filter((c, i) => i === 0 || args.only!.split(',').includes(c.name));

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

/** One round: CPU time (user + system, all threads) and wall time per record, in ns. */
async function runRound(
  config: Config,
  records: LogRecord[],
): Promise<{ cpu: number; wall: number }> {
  const exporter = new DiscardingExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench' }),
    processors: config.processors(exporter),
  });
  const logger = provider.getLogger('bench');
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < RECORDS; ) {
    const end = Math.min(RECORDS, i + CHUNK);
    for (; i < end; i++) logger.emit(records[i % records.length]!);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await provider.forceFlush();
  const cpu = process.cpuUsage(cpuStart);
  const elapsed = performance.now() - start;
  await provider.shutdown();
  if (exporter.exported !== RECORDS) {
    throw new Error(`${config.name}: exported ${exporter.exported} of ${RECORDS} records`);
  }
  return { cpu: ((cpu.user + cpu.system) * 1e3) / RECORDS, wall: (elapsed * 1e6) / RECORDS };
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

async function main(): Promise<void> {
  const records = makeRecords();
  const cpuSamples = new Map<string, number[]>(CONFIGS.map((c) => [c.name, []]));
  const wallSamples = new Map<string, number[]>(CONFIGS.map((c) => [c.name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 ? [...CONFIGS].reverse() : CONFIGS;
    for (const config of order) {
      const { cpu, wall } = await runRound(config, records);
      if (round === 0) continue; // warm-up
      cpuSamples.get(config.name)!.push(cpu);
      wallSamples.get(config.name)!.push(wall);
    }
  }
  const baseCpu = median(cpuSamples.get(CONFIGS[0]!.name)!);
  const baseWall = median(wallSamples.get(CONFIGS[0]!.name)!);
  const results = CONFIGS.map((c) => {
    const cpu = median(cpuSamples.get(c.name)!);
    const wall = median(wallSamples.get(c.name)!);
    return {
      name: c.name,
      cpuNsPerRecord: Math.round(cpu),
      ratio: Number((cpu / baseCpu).toFixed(3)),
      wallNsPerRecord: Math.round(wall),
      wallRatio: Number((wall / baseWall).toFixed(3)),
    };
  });
  const alone = onEmitAlone();
  console.log(
    `StatusProcessor bench: ${RECORDS} records × ${ROUNDS} rounds, median per config (ratio on CPU time)`,
  );
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(32)} cpu ${String(r.cpuNsPerRecord).padStart(5)} ns/record ×${r.ratio}` +
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

await main();
