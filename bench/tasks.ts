// Cost of tasks: entering and leaving a task (ns), and a record emitted inside a task against one
// emitted outside, as a ratio measured in the same run (target ≤ 1.35).
//
//   ./node_modules/.bin/node bench/tasks.ts [--quick] [--records-only]
//
// Figures are CPU ns per operation (process.cpuUsage), medians over rounds. The record figures
// run four cases in the same rounds (inside/outside a task, with/without
// TaskAttributesProcessor), 20,000 records each per round, in a rotating order; ratios are
// medians of per-round ratios. --records-only skips the task enter/leave figures.
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
const recordsOnly = process.argv.includes('--records-only');
const ROUNDS = quick ? 3 : 7;
const TASKS = quick ? 20_000 : 100_000;
const RECORD_ROUND = 20_000;
const COMPARE_ROUNDS = quick ? 11 : 41;
const COMPARE_WARMUP = 3;
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
const noProvider = recordsOnly ? {} : await measureTasks('no LoggerProvider  ');

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
const withProvider = recordsOnly ? {} : await measureTasks('real LoggerProvider');

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

interface Comparison {
  outside: number;
  inside: number;
  ratio: number;
}

/**
 * Records inside vs outside a task, with and without TaskAttributesProcessor, measured in the
 * same rounds: each round runs the four cases (RECORD_ROUND records each) in a rotating order,
 * and the ratios are medians of the per-round ratios (robust to a shared machine's drifting
 * load; ns are medians too).
 */
async function compare(): Promise<{ withProcessor: Comparison; sdkOnly: Comparison }> {
  const tapLog = log;
  const cases = [
    { name: 'tap-out', logger: tapLog, fn: outside },
    { name: 'tap-in', logger: tapLog, fn: inside },
    { name: 'sdk-out', logger: plainLog, fn: outside },
    { name: 'sdk-in', logger: plainLog, fn: inside },
  ];
  const ns = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = -COMPARE_WARMUP; r < COMPARE_ROUNDS; r++) {
    const shift = ((r % cases.length) + cases.length) % cases.length;
    const order = [...cases.slice(shift), ...cases.slice(0, shift)];
    if (r % 2) order.reverse();
    for (const c of order) {
      log = c.logger;
      const v = await nsPerOp(RECORD_ROUND, c.fn);
      if (r >= 0) ns.get(c.name)!.push(v);
    }
  }
  log = tapLog;
  const pick = (o: string, i: string): Comparison => {
    const out = ns.get(o)!;
    const ins = ns.get(i)!;
    return {
      outside: median(out),
      inside: median(ins),
      ratio: median(out.map((x, k) => ins[k]! / x)),
    };
  };
  return { withProcessor: pick('tap-out', 'tap-in'), sdkOnly: pick('sdk-out', 'sdk-in') };
}

const { withProcessor, sdkOnly } = await compare();
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
