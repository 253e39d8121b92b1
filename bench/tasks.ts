// Cost of tasks: entering and leaving a task (ns), and a record emitted inside a task against one
// emitted outside, as a ratio measured in the same run (target ≤ 1.35).
//
//   ./node_modules/.bin/node bench/tasks.ts [--quick]
//
// Figures are CPU ns per operation (process.cpuUsage), medians over rounds.
// Phase 1 runs before any LoggerProvider is registered (the pure scope cost: ids, Context,
// no-op task records). Phase 2 registers a real sdk-logs LoggerProvider with
// TaskAttributesProcessor + BatchLogRecordProcessor (discarding exporter), as setupLogging does.
import { logs, SeverityNumber } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { task, to } from '../src/tasks/scope.ts';
import { TaskAttributesProcessor } from '../src/tasks/task-attributes-processor.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const TASKS = quick ? 20_000 : 100_000;
const RECORDS = quick ? 50_000 : 200_000;
const CHUNK = 1000;

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// CPU time (user + system, all threads of the process, so GC helpers count) per operation, in
// ns: on a shared machine wall time mostly measures the other processes.
async function nsPerOp(n: number, body: (count: number) => void | Promise<void>): Promise<number> {
  const t0 = process.cpuUsage();
  for (let done = 0; done < n; done += CHUNK) {
    await body(Math.min(CHUNK, n - done));
    await yieldNow(); // let the batch processor export
  }
  const used = process.cpuUsage(t0);
  return ((used.user + used.system) * 1000) / n;
}

function syncTasks(count: number): void {
  for (let i = 0; i < count; i++) task('bench', { i }, () => i);
}

async function asyncTasks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await task('bench', { i }, async () => i);
}

function nestedTasks(count: number): void {
  task('outer', { shard: 1 }, () => {
    for (let i = 0; i < count; i++) to('sub', { i }, () => i);
  });
}

async function measureTasks(label: string): Promise<Record<string, number>> {
  // warm-up
  await nsPerOp(TASKS / 10, syncTasks);
  await nsPerOp(TASKS / 10, asyncTasks);
  const sync: number[] = [];
  const asyn: number[] = [];
  const sub: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    sync.push(await nsPerOp(TASKS, syncTasks));
    asyn.push(await nsPerOp(TASKS, asyncTasks));
    sub.push(await nsPerOp(TASKS, nestedTasks));
  }
  const out = { sync: median(sync), async: median(asyn), subtask: median(sub) };
  console.log(
    `${label}: task enter+leave  sync ${out.sync.toFixed(0)} ns  async ${out.async.toFixed(0)} ns  subtask (to) ${out.subtask.toFixed(0)} ns`,
  );
  return out;
}

// Phase 1: no LoggerProvider.
const noProvider = await measureTasks('no LoggerProvider  ');

// Phase 2: real provider, discarding exporter.
let exported = 0;
const discard: LogRecordExporter = {
  export(records: ReadableLogRecord[], done: (r: ExportResult) => void) {
    exported += records.length;
    done({ code: 0 });
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
const provider = new LoggerProvider({
  processors: [
    new TaskAttributesProcessor(),
    new BatchLogRecordProcessor({
      exporter: discard,
      maxQueueSize: 100_000,
      maxExportBatchSize: 512,
    }),
  ],
});
logs.setGlobalLoggerProvider(provider);
const withProvider = await measureTasks('real LoggerProvider');

// The same pipeline without TaskAttributesProcessor, used directly (not registered): shows what
// the SDK itself adds for a record inside a span (trace context validation and copy).
const plainProvider = new LoggerProvider({
  processors: [
    new BatchLogRecordProcessor({
      exporter: discard,
      maxQueueSize: 100_000,
      maxExportBatchSize: 512,
    }),
  ],
});
const plainLog = plainProvider.getLogger('bench');
let log = logs.getLogger('bench');
function emitRecords(count: number): void {
  for (let i = 0; i < count; i++) {
    log.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: 'request done',
      attributes: { 'http.status': 200, i },
    });
  }
}
const outside = (count: number) => emitRecords(count);
const inside = (count: number) =>
  task('request', { user: 'leo', route: '/orders' }, () =>
    to('handler', { step: 2 }, () => emitRecords(count)),
  );

async function compare(): Promise<{ outside: number; inside: number; ratio: number }> {
  await nsPerOp(RECORDS / 10, outside);
  await nsPerOp(RECORDS / 10, inside);
  const out: number[] = [];
  const ins: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate to spread machine noise over both sides.
    const a = await nsPerOp(RECORDS, outside);
    const b = await nsPerOp(RECORDS, inside);
    out.push(a);
    ins.push(b);
    ratios.push(b / a);
  }
  return { outside: median(out), inside: median(ins), ratio: median(ratios) };
}

const withProcessor = await compare();
const realLog = log;
log = plainLog;
const sdkOnly = await compare();
log = realLog;
const emitted = exported;
await provider.forceFlush();
const ratio = withProcessor.ratio;
console.log(
  `record emit: outside a task ${withProcessor.outside.toFixed(0)} ns, inside (2 levels, 3 task attributes) ${withProcessor.inside.toFixed(0)} ns, ratio ${ratio.toFixed(2)} (target <= 1.35)`,
);
console.log(
  `  for reference, without TaskAttributesProcessor (SDK span correlation only): outside ${sdkOnly.outside.toFixed(0)} ns, inside ${sdkOnly.inside.toFixed(0)} ns, ratio ${sdkOnly.ratio.toFixed(2)}`,
);
console.log(`records exported ${exported} (${emitted} before the final flush)`);
await provider.shutdown();
await plainProvider.shutdown();

console.log(
  JSON.stringify({
    bench: 'tasks',
    quick,
    task_ns: { no_provider: noProvider, real_provider: withProvider },
    record_ns: { outside: withProcessor.outside, inside: withProcessor.inside },
    inside_outside_ratio: Number(ratio.toFixed(3)),
    sdk_only_ratio: Number(sdkOnly.ratio.toFixed(3)),
    ratio_target: 1.35,
  }),
);
