/**
 * LookbackProcessor figures:
 *  1. cost: ns per `logger.emit()` through LoggerProvider → LookbackProcessor (buffering path:
 *     every record is held, then discarded when its request ends, as the span processor does)
 *     → BatchLogRecordProcessor, over LoggerProvider → BatchLogRecordProcessor in the same run
 *     (target ratio ≤ 1.15);
 *  2. heap bytes per held record: the heap the processor adds while holding 100,000 records
 *     whose record objects are kept alive elsewhere (so only the buffer's overhead is counted:
 *     its node per record, the per-key buffer and Map entry shared by the key's records),
 *     10 records per key (target ≤ 400 bytes);
 *  3. `maxBytes` accuracy: real heap held (records + buffer) vs the bound, with records made by
 *     the real SDK and only the processor keeping them alive (target within 10 %);
 *  4. pass-through (issue 13): ns per `onEmit` of a record that LookbackProcessor passes straight
 *     on (ERROR of one failing trace, ERROR of 1,000 failing traces, INFO, DEBUG inside a follow
 *     window, DEBUG inside 1,000 follow windows interleaved, ERROR and DEBUG without a trace)
 *     over `next.onEmit` alone, for a cheap `next` (it counts) and a BatchLogRecordProcessor; interleaved rounds, medians of per-round ratios
 *     (target ≤ 1.10). Each traced case twice: records as the SDK hands them to a processor in
 *     the process that logs them (the records of one trace share their span context and its
 *     trace id string), and records as a primary's receiver hands them on (made by the SDK in a
 *     "child", serialized by the official `ProtobufLogsSerializer`, decoded by starlog's
 *     decoder, decoded afresh for every round as each record is decoded once in a primary).
 *
 * Run: ./node_modules/.bin/node bench/lookback.ts   (re-runs itself with --expose-gc)
 *      ./node_modules/.bin/node bench/lookback.ts --pass-through   (figure 4 only)
 *      options of figure 4: --case <part of a case name> (only those cases),
 *      --baseline <git rev> (that revision's LookbackProcessor side by side, on records decoded
 *      by that revision's decoder in the decoded cases: its src/ extracted with `git archive`
 *      into bench/.baseline-<rev>/, removed at the end)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Context, ROOT_CONTEXT, SeverityNumber, TraceFlags, trace } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type LogRecordProcessor,
  type ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import { OtlpLogsDecoder } from '../src/otlp/logs-decoder.ts';
import { LookbackProcessor } from '../src/processors/lookback/lookback-processor.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  const args = ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const r = spawnSync(process.execPath, args, {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
const { values: args } = parseArgs({
  options: {
    'pass-through': { type: 'boolean' },
    case: { type: 'string' },
    baseline: { type: 'string' },
  },
});
/** Only the pass-through cases whose name contains this. */
const only = args.case;
type BaselineProcessor = LogRecordProcessor & { flush(key?: string): number };
let Baseline: (new (next: LogRecordProcessor) => BaselineProcessor) | undefined;
/** The baseline's decoder: the baseline side of a decoded case gets the records it decodes. */
let BaselineDecoder: (new () => Decoder) | undefined;
interface Decoder {
  decode(bytes: Uint8Array): { records: unknown[] };
}
let baselineRev: string | undefined;
let baselineDir: string | undefined;
if (args.baseline !== undefined) {
  const root = join(import.meta.dirname, '..');
  baselineRev = execFileSync('git', ['rev-parse', '--short', args.baseline], {
    cwd: root,
    encoding: 'utf8',
  }).trim();
  baselineDir = join(import.meta.dirname, `.baseline-${baselineRev}`);
  mkdirSync(baselineDir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${baselineRev} src | tar -x -C ${baselineDir}`], {
    cwd: root,
  });
  const m = await import(join(baselineDir, 'src/processors/lookback/lookback-processor.ts'));
  Baseline = m.LookbackProcessor;
  const d = await import(join(baselineDir, 'src/otlp/logs-decoder.ts'));
  BaselineDecoder = d.OtlpLogsDecoder;
}

function collect(): void {
  for (let i = 0; i < 4; i++) gc!();
}
function heap(): number {
  collect();
  return process.memoryUsage().heapUsed;
}

/**
 * Figures 1–3 measure the buffering path: every record of these shapes (DEBUG and INFO, traced)
 * is held, as before the hold level existed (the default holds only DEBUG and below).
 */
const HOLD_ALL = { holdSeverity: 'warn' } as const;

const noopExporter: LogRecordExporter = {
  export: (_records, done) => done({ code: 0 }),
  forceFlush: async () => {},
  shutdown: async () => {},
};

function traceContext(): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
  });
}

const ROUTES = ['/api/users', '/api/orders', '/health', '/api/cart/items', '/login'];
const USERS = ['alice', 'bob', 'carol', 'dave'];

/**
 * Emits one record of request `n`, step `step`, shaped like application logs: template-literal
 * bodies (30–2,000 characters), 2–10 attributes (strings and numbers).
 */
function emitStep(
  logger: ReturnType<LoggerProvider['getLogger']>,
  ctx: Context,
  n: number,
  step: number,
): void {
  const route = ROUTES[n % ROUTES.length]!;
  const kind = (n + step) % 10;
  if (kind < 6) {
    logger.emit({
      severityNumber: step % 2 ? SeverityNumber.DEBUG : SeverityNumber.INFO,
      body: `request ${n} step ${step}: GET ${route} for ${USERS[n % 4]}`,
      attributes: { 'http.route': route, 'request.step': step },
      context: ctx,
    });
  } else if (kind < 9) {
    logger.emit({
      severityNumber: SeverityNumber.DEBUG,
      body: `request ${n} query ${step}: SELECT id, name, price FROM items WHERE cart_id = ${n} AND owner = '${USERS[n % 4]}' ORDER BY added_at DESC LIMIT ${step * 10} -- took ${(n % 97) / 10} ms`,
      attributes: {
        'http.route': route,
        'request.step': step,
        'db.system': 'postgresql',
        'db.rows': n % 50,
        'db.duration_ms': (n % 97) / 10,
        'user.name': USERS[n % 4]!,
      },
      context: ctx,
    });
  } else {
    logger.emit({
      severityNumber: SeverityNumber.DEBUG,
      body: `request ${n} payload ${step}: ${JSON.stringify({ n, items: Array.from({ length: 20 + (n % 30) }, (_, i) => ({ sku: `sku-${n}-${i}`, qty: i })) })}`,
      attributes: {
        'http.route': route,
        'request.step': step,
        'payload.items': 20 + (n % 30),
        'user.name': USERS[n % 4]!,
        'user.id': `u-${n % 1000}`,
        'session.id': `s-${n}`,
        'client.address': `10.0.${n % 255}.${step}`,
        'feature.flag': 'checkout-v2',
        'retry.count': 0,
        'payload.bytes': 1000 + n,
      },
      context: ctx,
    });
  }
}

// ---- 1. cost ratio ---------------------------------------------------------------------

const STEPS = 10;
const IN_FLIGHT = 100;

interface Payload {
  severityNumber: SeverityNumber;
  body: string;
  attributes: Record<string, string | number>;
}

/**
 * The same record shapes as emitStep, built once: the cost figure compares what the pipelines
 * do with a record, not how fast the application formats its messages.
 */
function payloads(count: number): Payload[] {
  const out: Payload[] = [];
  const capture: LogRecordProcessor = {
    onEmit: (r) => {
      out.push({
        severityNumber: r.severityNumber!,
        body: r.body as string,
        attributes: r.attributes as Record<string, string | number>,
      });
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const logger = new LoggerProvider({ processors: [capture] }).getLogger('bench');
  for (let i = 0; i < count; i++) emitStep(logger, ROOT_CONTEXT, i, i % STEPS);
  return out;
}
const PAYLOADS = payloads(1009);

/** One pipeline under test: a LoggerProvider over a batch processor, maybe behind lookback. */
function pipeline(withLookback: boolean) {
  const batch = new BatchLogRecordProcessor({ exporter: noopExporter });
  const lookback = withLookback ? new LookbackProcessor(batch, HOLD_ALL) : undefined;
  const provider = new LoggerProvider({ processors: [lookback ?? batch] });
  return { lookback, provider, logger: provider.getLogger('bench') };
}

/**
 * One round: 100 requests in flight each log 10 records (1,000 emits), then end (lookback:
 * their buffers are discarded, as the span processor does for successful requests); then one
 * event-loop turn, in which the batch processor exports.
 * @returns `syncNs`: wall ns per record of the emits (what `logger.emit()` callers wait for);
 *   `cpuNs`: process CPU ns per record of the whole round including the export turn (all the
 *   work each pipeline does for a record, GC included)
 */
async function costRound(p: ReturnType<typeof pipeline>, round: number) {
  const contexts = Array.from({ length: IN_FLIGHT }, traceContext);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let step = 0; step < STEPS; step++) {
    for (let r = 0; r < IN_FLIGHT; r++) {
      const q = PAYLOADS[(round * IN_FLIGHT + r + step * 7) % PAYLOADS.length]!;
      p.logger.emit({
        severityNumber: q.severityNumber,
        body: q.body,
        attributes: q.attributes,
        context: contexts[r],
      });
    }
  }
  if (p.lookback !== undefined) {
    for (let r = 0; r < IN_FLIGHT; r++) {
      p.lookback.discard(trace.getSpanContext(contexts[r]!)!.traceId);
    }
  }
  const syncNs = Number(process.hrtime.bigint() - start) / (STEPS * IN_FLIGHT);
  await tick(); // the batch processor exports
  const used = process.cpuUsage(cpu);
  return { syncNs, cpuNs: ((used.user + used.system) * 1000) / (STEPS * IN_FLIGHT) };
}

/**
 * Both pipelines live side by side and run alternately in short rounds, so that the load of a
 * shared machine hits both alike; ratios are medians of the ratios of adjacent rounds (robust to
 * drifting load and to spikes).
 */
async function costRatio(rounds = 600) {
  const base = pipeline(false);
  const withLookback = pipeline(true);
  const b: { syncNs: number; cpuNs: number }[] = [];
  const l: { syncNs: number; cpuNs: number }[] = [];
  for (let round = 0; round < rounds + 100; round++) {
    const first = round % 2 === 0;
    const x = await costRound(first ? base : withLookback, round);
    const y = await costRound(first ? withLookback : base, round);
    if (round < 100) continue; // warm-up
    b.push(first ? x : y);
    l.push(first ? y : x);
  }
  await base.provider.shutdown();
  await withLookback.provider.shutdown();
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  return {
    batchSyncNs: median(b.map((r) => r.syncNs)),
    lookbackSyncNs: median(l.map((r) => r.syncNs)),
    syncRatio: median(b.map((r, i) => l[i]!.syncNs / r.syncNs)),
    batchCpuNs: median(b.map((r) => r.cpuNs)),
    lookbackCpuNs: median(l.map((r) => r.cpuNs)),
    cpuRatio: median(b.map((r, i) => l[i]!.cpuNs / r.cpuNs)),
  };
}

// ---- 2. heap bytes per held record (overhead only) ------------------------------------

/** Makes `count` records with the real SDK, kept alive by the returned array. */
function makeRecords(count: number, perKey: number): ReadWriteLogRecord[] {
  const out: ReadWriteLogRecord[] = [];
  const capture: LogRecordProcessor = {
    onEmit: (record) => {
      out.push(record);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const logger = new LoggerProvider({ processors: [capture] }).getLogger('bench');
  let ctx = traceContext();
  for (let i = 0; i < count; i++) {
    if (i % perKey === 0) ctx = traceContext();
    emitStep(logger, ctx, i, i % perKey);
  }
  return out;
}

function overheadPerHeldRecord(count: number, perKey: number): number {
  let records: ReadWriteLogRecord[] | undefined = makeRecords(count, perKey);
  const sink: LogRecordProcessor = {
    onEmit() {},
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const before = heap();
  let lookback: LookbackProcessor | undefined = new LookbackProcessor(sink, {
    ...HOLD_ALL,
    capacity: perKey,
    maxKeys: Math.ceil(count / perKey),
    maxBytes: Number.POSITIVE_INFINITY,
  });
  for (const record of records) lookback.onEmit(record);
  const after = heap();
  if (lookback.stats().buffered !== count) throw new Error('bench: not every record was held');
  lookback = undefined;
  records = undefined;
  return (after - before) / count;
}

// ---- 3. maxBytes accuracy -----------------------------------------------------------------

async function maxBytesAccuracy(maxBytes: number) {
  const sink: LogRecordProcessor = {
    onEmit() {},
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const lookback = new LookbackProcessor(sink, { ...HOLD_ALL, maxBytes, maxKeys: 1_000_000 });
  const provider = new LoggerProvider({ processors: [lookback] });
  const logger = provider.getLogger('bench');
  const before = heap();
  let ctx = traceContext();
  let n = 0;
  // Emit until the bound has been exceeded three times over.
  do {
    for (let i = 0; i < 1000; i++, n++) {
      if (n % STEPS === 0) ctx = traceContext();
      emitStep(logger, ctx, n, n % STEPS);
    }
    await tick();
  } while (lookback.stats().dropped.bytes < 2 * lookback.stats().buffered);
  const after = heap();
  const s = lookback.stats();
  await provider.shutdown();
  return {
    maxBytes,
    estimated: s.bytes,
    heap: after - before,
    heapOverBound: (after - before) / maxBytes,
    heapOverEstimate: (after - before) / s.bytes,
    held: s.buffered,
    heapPerRecord: (after - before) / s.buffered,
  };
}

// ---- 4. pass-through ---------------------------------------------------------------------------

/** Real SDK records, each emitted once through a capturing provider. */
function sdkRecords(
  count: number,
  severityNumber: SeverityNumber,
  ctxOf: (i: number) => Context,
): ReadWriteLogRecord[] {
  const out: ReadWriteLogRecord[] = [];
  const capture: LogRecordProcessor = {
    onEmit: (r) => {
      out.push(r);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const logger = new LoggerProvider({ processors: [capture] }).getLogger('app');
  for (let i = 0; i < count; i++) {
    logger.emit({ severityNumber, body: `record ${i}`, attributes: { i }, context: ctxOf(i) });
  }
  return out;
}

/**
 * The primary's receiver: one decoder for every child (as in `src/multiprocess/receiver`), so
 * whatever it keeps between requests is kept here too.
 */
const decoder: Decoder = new OtlpLogsDecoder();
const baselineDecoder: Decoder | undefined =
  BaselineDecoder === undefined ? undefined : new BaselineDecoder();

/**
 * The records a primary hands on for `records` sent by a child: serialized, then decoded (by the
 * baseline's decoder for the baseline side).
 */
function decodedFrom(records: ReadWriteLogRecord[]): (side?: Side) => ReadWriteLogRecord[] {
  const bytes = ProtobufLogsSerializer.serializeRequest(records)!;
  return (side) =>
    (side === 'baseline' ? baselineDecoder! : decoder).decode(bytes)
      .records as unknown as ReadWriteLogRecord[];
}

type Side = 'current' | 'baseline';

interface PassCase {
  name: string;
  /** Records for one timed pass (called once per pass and side, outside the timed part). */
  records: (side?: Side) => ReadWriteLogRecord[];
  /** Whether every call of `records` makes new records (else the same array every time). */
  fresh: boolean;
  /** Puts a fresh processor in the state the case needs (e.g. a follow window open). */
  prepare?: (lookback: LogRecordProcessor & { flush(key?: string): number }, side: Side) => void;
}

function passCases(): PassCase[] {
  const one = traceContext();
  const oneId = trace.getSpanContext(one)!.traceId;
  const many = Array.from({ length: 1000 }, traceContext);
  const same = (records: ReadWriteLogRecord[]) => () => records;
  const sdk: PassCase[] = [
    {
      name: 'ERROR, one failing trace',
      records: same(sdkRecords(1000, SeverityNumber.ERROR, () => one)),
      fresh: false,
    },
    {
      name: 'ERROR, 1,000 failing traces',
      records: same(sdkRecords(1000, SeverityNumber.ERROR, (i) => many[i]!)),
      fresh: false,
    },
    {
      name: 'INFO, traced',
      records: same(sdkRecords(1000, SeverityNumber.INFO, (i) => many[i]!)),
      fresh: false,
    },
    {
      name: 'DEBUG in a follow window',
      records: same(sdkRecords(1000, SeverityNumber.DEBUG, () => one)),
      fresh: false,
      prepare: (l) => l.flush(oneId),
    },
    {
      // the interleaved case of the one above: each record's window is another trace's (the
      // follow fast path is for runs of one span; here every record needs its `Map` lookup)
      name: 'DEBUG in 1,000 follow windows, interleaved',
      records: same(sdkRecords(1000, SeverityNumber.DEBUG, (i) => many[i]!)),
      fresh: false,
      prepare: (l) => {
        for (const ctx of many) l.flush(trace.getSpanContext(ctx)!.traceId);
      },
    },
    {
      name: 'ERROR, no trace',
      records: same(sdkRecords(1000, SeverityNumber.ERROR, () => ROOT_CONTEXT)),
      fresh: false,
    },
    {
      name: 'DEBUG, no trace',
      records: same(sdkRecords(1000, SeverityNumber.DEBUG, () => ROOT_CONTEXT)),
      fresh: false,
    },
  ];
  // the same traced cases as a primary sees them; a window is opened as in a primary, by a
  // decoded ERROR record of the trace
  const errorsOne = decodedFrom(sdkRecords(1, SeverityNumber.ERROR, () => one));
  const errorsMany = decodedFrom(sdkRecords(1000, SeverityNumber.ERROR, (i) => many[i]!));
  const openOne = (l: LogRecordProcessor, side: Side) => {
    for (const r of errorsOne(side)) l.onEmit(r);
  };
  const openMany = (l: LogRecordProcessor, side: Side) => {
    for (const r of errorsMany(side)) l.onEmit(r);
  };
  const decoded: PassCase[] = [
    {
      name: 'decoded: ERROR, one failing trace',
      records: decodedFrom(sdkRecords(1000, SeverityNumber.ERROR, () => one)),
      fresh: true,
    },
    {
      name: 'decoded: ERROR, 1,000 failing traces',
      records: decodedFrom(sdkRecords(1000, SeverityNumber.ERROR, (i) => many[i]!)),
      fresh: true,
    },
    {
      name: 'decoded: INFO, traced',
      records: decodedFrom(sdkRecords(1000, SeverityNumber.INFO, (i) => many[i]!)),
      fresh: true,
    },
    {
      name: 'decoded: DEBUG in a follow window',
      records: decodedFrom(sdkRecords(1000, SeverityNumber.DEBUG, () => one)),
      fresh: true,
      prepare: openOne,
    },
    {
      name: 'decoded: DEBUG in 1,000 follow windows, interleaved',
      records: decodedFrom(sdkRecords(1000, SeverityNumber.DEBUG, (i) => many[i]!)),
      fresh: true,
      prepare: openMany,
    },
  ];
  return [...sdk, ...decoded].filter((c) => only === undefined || c.name.includes(only));
}

/** A `next` that only counts (the cheapest possible downstream). */
class CountingNext implements LogRecordProcessor {
  n = 0;
  onEmit(): void {
    this.n++;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** A processor that only forwards to `next` (in a try/catch): the floor of any processor stage. */
class Forward implements LogRecordProcessor {
  private readonly next: LogRecordProcessor;
  constructor(next: LogRecordProcessor) {
    this.next = next;
  }
  onEmit(record: ReadWriteLogRecord, ctx?: Context): void {
    try {
      this.next.onEmit(record, ctx);
    } catch {}
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/**
 * ns per record of `target.onEmit` over every record of `passes`. Before each call the loop
 * reads what `Logger.emit` has just written or read for the record (its severity, its span
 * context's trace id, which the SDK validates): in a real pipeline a record reaches the first
 * processor hot in the cache, and `next` alone (a batch processor only stores the pointer) would
 * otherwise be timed without ever loading the record. The same loop on every side.
 */
function timeEmits(target: LogRecordProcessor, passes: ReadWriteLogRecord[][]) {
  let touched = 0;
  let n = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < passes.length; r++) {
    const records = passes[r]!;
    n += records.length;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      touched += record.severityNumber ?? 0;
      const sc = record.spanContext;
      if (sc !== undefined) touched += sc.traceId.length;
      target.onEmit(record, undefined);
    }
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  return touched === -1 ? 0 : ns;
}

/**
 * One case, one kind of `next`: `next` alone against LookbackProcessor → `next` (and a stage that
 * only forwards), in rotating order, `rounds` rounds of `repeat` × 1,000 records (10,000 or
 * 20,000: 0.2–0.6 ms, so that timer reads and the per-round work of `next` stay small); an
 * event-loop turn after every round lets a batch processor export (outside the timed part). Every
 * side has its own `next` of the same kind and its own copy of the timing loop.
 */
async function passThroughRatio(c: PassCase, kind: 'counting' | 'batch', rounds: number) {
  // A queue large enough for a round (10,000 records): nothing is dropped, so `next` does the same
  // work on every side; its exports run in the event-loop turn after each round (not timed).
  const makeNext = (): LogRecordProcessor =>
    kind === 'counting'
      ? new CountingNext()
      : new BatchLogRecordProcessor({ exporter: noopExporter, maxQueueSize: 100_000 });
  const alone = makeNext();
  const forward = new Forward(makeNext());
  const lookback = new LookbackProcessor(makeNext());
  const old = Baseline === undefined ? undefined : new Baseline(makeNext());
  c.prepare?.(lookback, 'current');
  if (old !== undefined) c.prepare?.(old, 'baseline');
  // decoded cases decode their records afresh for every pass (outside the timed part): fewer passes
  const repeat = c.fresh ? 4 : kind === 'counting' ? 20 : 10;
  // each target gets its own copy of the loop (its own call site), as a real pipeline stage has
  const loop = () => new Function(`return ${timeEmits.toString()}`)() as typeof timeEmits;
  const targets: LogRecordProcessor[] = [alone, forward, lookback];
  if (old !== undefined) targets.push(old);
  const loops = targets.map(loop);
  const results: number[][] = targets.map(() => []);
  const fixed = c.fresh ? undefined : Array.from({ length: repeat }, () => c.records());
  for (let round = 0; round < rounds + 20; round++) {
    for (let k = 0; k < targets.length; k++) {
      const j = (round + k) % targets.length; // rotate the order
      const side: Side = targets[j] === old ? 'baseline' : 'current';
      const passes = fixed ?? Array.from({ length: repeat }, () => c.records(side));
      const ns = loops[j]!(targets[j]!, passes);
      if (kind === 'batch') await tick();
      if (round >= 20) results[j]!.push(ns);
    }
  }
  const s = lookback.stats();
  if (s.buffered !== 0) throw new Error(`bench: ${c.name}: records were held, not passed`);
  await lookback.shutdown();
  await old?.shutdown();
  await alone.shutdown();
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
  const [a, f, l, o] = results as [number[], number[], number[], number[] | undefined];
  return {
    nextNs: median(a),
    forwardNs: median(f),
    lookbackNs: median(l),
    ratio: median(a.map((v, i) => l[i]! / v)),
    forwardRatio: median(a.map((v, i) => f[i]! / v)),
    ...(o === undefined
      ? {}
      : { baselineNs: median(o), baselineRatio: median(a.map((v, i) => o[i]! / v)) }),
  };
}

async function passThrough() {
  const out: Record<string, unknown>[] = [];
  const cases = passCases();
  // warm-up: every path once, so that the processor is compiled for the mix of records a real
  // pipeline sees before any case is timed (else the first case times the compiler's first guess)
  for (const c of cases) {
    for (const kind of ['counting', 'batch'] as const) await passThroughRatio(c, kind, 10);
  }
  for (const c of cases) {
    for (const kind of ['counting', 'batch'] as const) {
      const rounds = c.fresh ? 120 : kind === 'counting' ? 200 : 300;
      const r = await passThroughRatio(c, kind, rounds);
      const base =
        r.baselineNs === undefined
          ? ''
          : `; ${baselineRev}: ${r.baselineNs.toFixed(1)} ns, ${r.baselineRatio!.toFixed(2)}`;
      console.log(
        `pass-through, ${c.name}, ${kind} next: next alone ${r.nextNs.toFixed(1)} ns, lookback→next ${r.lookbackNs.toFixed(1)} ns, ratio ${r.ratio.toFixed(2)} (target ≤ 1.10; a stage that only forwards: ${r.forwardNs.toFixed(1)} ns, ${r.forwardRatio.toFixed(2)}${base})`,
      );
      out.push({ case: c.name, next: kind, ...r });
    }
  }
  return out;
}

// ---- main ------------------------------------------------------------------------------------

if (process.argv.includes('--pass-through')) {
  const cases = await passThrough();
  if (baselineDir !== undefined) rmSync(baselineDir, { recursive: true, force: true });
  console.log(JSON.stringify({ bench: 'lookback-pass-through', baseline: baselineRev, cases }));
  process.exit(0);
}

const cost = await costRatio();
console.log(
  `cost per record, whole pipeline (CPU incl. export and GC): batch ${cost.batchCpuNs.toFixed(0)} ns, lookback→batch ${cost.lookbackCpuNs.toFixed(0)} ns, ratio ${cost.cpuRatio.toFixed(3)} (target ≤ 1.15)`,
);
console.log(
  `cost per record, logger.emit() only (wall): batch ${cost.batchSyncNs.toFixed(0)} ns, lookback→batch ${cost.lookbackSyncNs.toFixed(0)} ns, ratio ${cost.syncRatio.toFixed(3)}`,
);
const perHeld10 = overheadPerHeldRecord(100_000, 10);
const perHeld100 = overheadPerHeldRecord(100_000, 100);
console.log(
  `heap per held record (buffer overhead, records kept alive elsewhere): ${perHeld10.toFixed(0)} B at 10 records/key, ${perHeld100.toFixed(0)} B at 100 records/key (target ≤ 400)`,
);
const acc = await maxBytesAccuracy(32 * 1024 * 1024);
const pass = await passThrough();
if (baselineDir !== undefined) rmSync(baselineDir, { recursive: true, force: true });
console.log(
  `maxBytes 32 MiB: ${acc.held} records held, estimate ${(acc.estimated / 2 ** 20).toFixed(2)} MiB, real heap ${(acc.heap / 2 ** 20).toFixed(2)} MiB = ${(acc.heapOverBound * 100).toFixed(1)} % of the bound (target 90–110 %), ${acc.heapPerRecord.toFixed(0)} B/record`,
);
console.log(
  JSON.stringify({
    bench: 'lookback',
    batchCpuNsPerRecord: Math.round(cost.batchCpuNs),
    lookbackCpuNsPerRecord: Math.round(cost.lookbackCpuNs),
    costRatio: Number(cost.cpuRatio.toFixed(3)),
    batchEmitNsPerRecord: Math.round(cost.batchSyncNs),
    lookbackEmitNsPerRecord: Math.round(cost.lookbackSyncNs),
    emitPathRatio: Number(cost.syncRatio.toFixed(3)),
    heapBytesPerHeldRecord: Math.round(perHeld10),
    heapBytesPerHeldRecord100PerKey: Math.round(perHeld100),
    maxBytes: acc.maxBytes,
    maxBytesHeapRatio: Number(acc.heapOverBound.toFixed(3)),
    heapOverEstimate: Number(acc.heapOverEstimate.toFixed(3)),
    passThrough: pass,
  }),
);
