/**
 * starlog against its peers, with the same call in every contender:
 * `info({ route: '/orders', status: 200, ms: 1.5, user: 'u1' }, 'handled request %d', i)`.
 *
 * 1. CPU per record in the logging process (each run a fresh process that logs N records and
 *    flushes them to its destination; CPU time of that process): pino 10 with sonic-boom 4.2.0
 *    (pinned through package.json `overrides`), pino with sonic-boom 4.2.1 (what installing pino
 *    brings today), winston (file transport), the plain OpenTelemetry SDK (BatchLogRecordProcessor
 *    + the official OTLP/gRPC exporter to a starlog primary), starlog (a child of a starlog
 *    primary, `getLogger().info`).
 * 2. 4 `node:cluster` workers × N records as fast as they can into one file: records/s, records
 *    lost (records counted in the file), total CPU (all processes) per record from the workers'
 *    first record on, and again with their start-up (imports, set-up, 2,000 warm-up records, which
 *    the wall time includes). pino and winston:
 *    each worker appends to the file; starlog: workers ship to the cluster primary, which writes
 *    the JSON-lines file.
 *
 * Rounds are interleaved (every contender once per round, in a rotating order) and the figures
 * are medians of per-round ratios to pino (sonic-boom 4.2.0), so a busy machine affects all alike.
 *
 *   ./node_modules/.bin/node bench/vs-peers.ts [--rounds 5] [--records 100000] [--cluster-records 100000]
 *     [--part 1,2] [--only 'starlog,winston'] [--workers 4]   (VS_PEERS_TIMELINE=1: each cluster run's timeline;
 *     STARLOG_BENCH_BASELINE=/abs/dist: `starlog (baseline)` in part 2, see BASELINE;
 *     VS_PEERS_CPU_PROF=/abs/dir: `--cpu-prof` profiles of part 2's cluster primaries and workers
 *     there, see CPU_PROF; VS_PEERS_PRIMARY_ARGS='--trace-gc': more Node options for part 2's
 *     cluster primaries, not their workers)
 */
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, parseArgs } from 'node:util';
import { threadCpuDiff, threadCpuMs } from './support/thread-cpu.ts';

const SELF = fileURLToPath(import.meta.url);
/**
 * Where starlog is loaded from: `dist` (default: the built package, what an application that
 * imports `starlog` runs; `npm run build` first) or `src` (TypeScript through Node's type
 * stripping, which doubles the start-up of every worker). Passed to the workers in the env.
 */
const FROM = process.env.STARLOG_BENCH_FROM === 'src' ? 'src' : 'dist';
/**
 * `STARLOG_BENCH_BASELINE=/abs/other/dist`: one more contender, `starlog (baseline)`, whose
 * cluster primary and workers load starlog from that directory (e.g. `main` built elsewhere), so
 * a change is compared with what it replaces in the same run. Set for those processes only, as
 * `STARLOG_BENCH_DIST`.
 */
const BASELINE = process.env.STARLOG_BENCH_BASELINE;
/**
 * `VS_PEERS_CPU_PROF=/abs/dir`: part 2's cluster primaries and their workers run with
 * `--cpu-prof --cpu-prof-dir=<dir>/<contender>` (one `.cpuprofile` per process, named by pid; the
 * primary's pid is the lowest of a run), to see where the CPU of each process goes.
 */
const CPU_PROF = process.env.VS_PEERS_CPU_PROF;
const profArgs = (name: string): string[] =>
  CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROF, name.replace(/[^\w.-]+/g, '_'))}`]
    : [];
const starlog = (): Promise<typeof import('../src/index.ts')> =>
  process.env.STARLOG_BENCH_DIST
    ? (import(pathToFileURL(join(process.env.STARLOG_BENCH_DIST, 'index.js')).href) as Promise<
        typeof import('../src/index.ts')
      >)
    : FROM === 'src'
      ? import('../src/index.ts')
      : (import('../dist/index.js' as string) as Promise<typeof import('../src/index.ts')>);

/** Exits when `dist/` is older than a file in `src/` (the figures would be of other code). */
function checkBuilt(): void {
  if (FROM === 'src') return;
  const root = join(dirname(SELF), '..');
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {}
  const newest = (dir: string): number => {
    let m = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      m = Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return m;
  };
  if (newest(join(root, 'src')) > built) {
    console.error(
      'bench/vs-peers.ts: dist/ is missing or older than src/; run `npm run build` first (or set STARLOG_BENCH_FROM=src)',
    );
    process.exit(2);
  }
}
const ATTRS = { route: '/orders', status: 200, ms: 1.5, user: 'u1' };
type Info = (attrs: Record<string, unknown>, msg: string, ...args: unknown[]) => void;

interface Contender {
  /** the logging call and how to flush everything to the destination */
  make(file: string): Promise<{ info: Info; flush(): Promise<void>; exported?(): number }>;
  /** records in the file (each contender's own line format) */
  count(file: string): Promise<number>;
  /** needs a starlog primary (its env) */
  primary?: boolean;
}

async function countLines(file: string, test: (line: string) => number): Promise<number> {
  let n = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) if (line) n += test(line);
  return n;
}
const countOurs = (line: string): number => (line.match(/"handled request \d+"/g) ?? []).length;
const countJsonLines = (line: string): number => (line.includes('handled request') ? 1 : 0);

function pinoWith(sonic: 'pinned' | 'latest'): Contender {
  return {
    async make(file) {
      const { default: pino } = await import('pino');
      const dest =
        sonic === 'pinned'
          ? pino.destination({ dest: file, sync: false, append: true })
          : new (
              (await import('sonic-boom-latest'))
                .default as unknown as typeof import('sonic-boom-latest').SonicBoom
            )({
              dest: file,
              sync: false,
              append: true,
            });
      // the file opens asynchronously
      await new Promise((resolve) => dest.once('ready', resolve));
      const logger = pino(dest as never);
      return {
        info: (attrs, msg, ...args) => logger.info(attrs, msg, ...args),
        flush: () =>
          new Promise<void>((resolve) => {
            dest.once('close', () => resolve());
            dest.end();
          }),
      };
    },
    count: (file) => countLines(file, countJsonLines),
  };
}

function starlogChild(backpressure: boolean): Contender {
  return {
    primary: true,
    async make() {
      const { setupLogging, getLogger } = await starlog();
      const handle = await setupLogging({
        role: 'child',
        serviceName: 'bench',
        ...(backpressure ? {} : { childQueue: { backpressure: false } }),
      });
      const logger = getLogger('bench');
      return {
        info: (attrs, msg, ...args) => logger.info(attrs as never, msg, ...args),
        flush: () => handle.shutdown(),
        exported: () => handle.stats().destinations.primary?.exported ?? 0,
      };
    },
    count: (file) => countLines(file, countOurs),
  };
}

const CONTENDERS: Record<string, Contender> = {
  'pino (sonic-boom 4.2.0)': pinoWith('pinned'),
  'pino (sonic-boom 4.2.1)': pinoWith('latest'),
  winston: {
    async make(file) {
      const { default: winston } = await import('winston');
      const transport = new winston.transports.File({ filename: file });
      const logger = winston.createLogger({
        format: winston.format.combine(winston.format.splat(), winston.format.json()),
        transports: [transport],
      });
      return {
        info: (attrs, msg, ...args) => logger.info(msg, ...args, attrs),
        flush: () =>
          new Promise<void>((resolve) => {
            logger.on('finish', () => setTimeout(resolve, 50));
            logger.end();
          }),
      };
    },
    count: (file) => countLines(file, countJsonLines),
  },
  'OpenTelemetry SDK': {
    primary: true,
    async make() {
      const { LoggerProvider, BatchLogRecordProcessor } = await import('@opentelemetry/sdk-logs');
      const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-grpc');
      const { credentials, Metadata } = await import('@grpc/grpc-js');
      const metadata = new Metadata();
      metadata.set('x-starlog-token', process.env.STARLOG_TOKEN ?? '');
      const exporter = new OTLPLogExporter({
        url: process.env.STARLOG_ENDPOINT,
        credentials: credentials.createInsecure(),
        metadata,
      });
      // a queue large enough that the SDK drops nothing in a burst
      const provider = new LoggerProvider({
        processors: [
          new BatchLogRecordProcessor({
            exporter,
            maxQueueSize: 1_000_000,
            maxExportBatchSize: 4096,
          }),
        ],
      });
      const logger = provider.getLogger('bench');
      return {
        info: (attrs, msg, ...args) =>
          logger.emit({
            severityNumber: 9,
            severityText: 'INFO',
            body: format(msg, ...args),
            attributes: attrs as never,
          }),
        flush: () => provider.shutdown(),
      };
    },
    count: (file) => countLines(file, countOurs),
  },
  starlog: starlogChild(true),
  // only with --only: the child without its synchronous exporter (no backpressure, no offload
  // to the worker thread): what the child did before the offload, for 100,000 records
  'starlog (backpressure: false)': starlogChild(false),
  ...(BASELINE ? { 'starlog (baseline)': starlogChild(true) } : {}),
};
const NAMES = Object.keys(CONTENDERS).filter(
  (x) => x !== 'starlog (backpressure: false)' && x !== 'starlog (baseline)',
);
const BASE = 'pino (sonic-boom 4.2.0)';

interface Run {
  records: number;
  cpuUs: number;
  wallMs: number;
  /** ms since the epoch: the logging loop started, ended, everything flushed */
  t?: [number, number, number];
  /** records delivered when the loop ended (starlog) */
  exportedInLoop?: number;
  /** CPU of the process before the loop (start-up, imports, setup, warm-up), µs */
  startCpuUs?: number;
  /** CPU of the process in the loop (the rest of `cpuUs` is the flush), µs */
  loopCpuUs?: number;
  /** CPU of the main thread from the loop's start to the end of the flush, µs */
  mainCpuUs?: number;
  /** CPU by thread name from the loop's start to the end of the flush (see `threadCpuMs`) */
  threads?: string;
}

/** In a child process: log `n` records, flush, report CPU. */
async function logProcess(name: string, n: number, file: string): Promise<Run> {
  const c = CONTENDERS[name] as Contender;
  const { info, flush, exported } = await c.make(file);
  for (let i = 0; i < 2000; i++) info(ATTRS, 'warm up %d', i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const start = Date.now();
  const main0 = process.threadCpuUsage();
  const threads0 = threadCpuMs();
  const startCpuUs = cpu0.user + cpu0.system;
  for (let i = 0; i < n; i++) info({ ...ATTRS }, 'handled request %d', i);
  const looped = Date.now();
  const loopCpu = process.cpuUsage(cpu0);
  const exportedInLoop = exported?.();
  await flush();
  const cpu = process.cpuUsage(cpu0);
  const main = process.threadCpuUsage(main0);
  return {
    records: n,
    cpuUs: cpu.user + cpu.system,
    loopCpuUs: loopCpu.user + loopCpu.system,
    mainCpuUs: main.user + main.system,
    threads: threadCpuDiff(threads0, threadCpuMs()),
    wallMs: performance.now() - t0,
    t: [start, looped, Date.now()],
    exportedInLoop,
    startCpuUs,
  };
}

function runForked(
  args: string[],
  env: Record<string, string | undefined>,
  execArgv: string[] = [],
): Promise<Run & { lost?: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, args, {
      env: { ...process.env, ...env },
      execArgv: [...process.execArgv, ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: (Run & { lost?: number }) | undefined;
    child.on('message', (m) => {
      result = m as Run;
    });
    child.on('exit', (code) =>
      result
        ? resolve(result)
        : reject(new Error(`${args.join(' ')} exited ${code} without a result`)),
    );
  });
}

/** A cluster primary: 4 workers log `n` records each into `file`; reports wall time, total CPU, lost. */
async function clusterPrimary(
  name: string,
  n: number,
  file: string,
  workers: number,
): Promise<void> {
  const c = CONTENDERS[name] as Contender;
  let handle: { shutdown(): Promise<void>; forceFlush(): Promise<void> } | undefined;
  if (c.primary) {
    const { setupLogging } = await starlog();
    handle = await setupLogging({
      role: 'primary',
      serviceName: 'bench',
      file: { path: file },
      console: false,
      collector: false,
      status: false,
      config: false,
    });
  }
  cluster.setupPrimary({
    exec: SELF,
    execArgv: [
      ...process.execArgv.filter((x) => !process.env.VS_PEERS_PRIMARY_ARGS?.includes(x)),
      ...profArgs(name),
    ],
    args: ['--role', 'worker', '--name', name, '--records', String(n), '--file', file],
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const epoch0 = Date.now();
  const elu0 = performance.eventLoopUtilization();
  const main0 = process.threadCpuUsage();
  const threads0 = threadCpuMs();
  let workersCpu = 0;
  let startCpu = 0;
  const timeline: string[] = [];
  await Promise.all(
    Array.from({ length: workers }, () => {
      const w = cluster.fork();
      return new Promise<void>((resolve) => {
        w.on('message', (m: Run) => {
          workersCpu += m.cpuUs;
          startCpu += m.startCpuUs ?? 0;
          if (m.t)
            timeline.push(
              `worker ${w.id}: start-up CPU ${((m.startCpuUs ?? 0) / 1000).toFixed(0)} ms, loop ${m.t[0] - epoch0}–${m.t[1] - epoch0} ms, flushed ${m.t[2] - epoch0} ms${m.exportedInLoop === undefined ? '' : ` (${m.exportedInLoop} delivered in the loop)`}, CPU ${(m.cpuUs / 1000).toFixed(0)} ms (loop ${((m.loopCpuUs ?? 0) / 1000).toFixed(0)}, main thread ${((m.mainCpuUs ?? 0) / 1000).toFixed(0)}; by thread: ${m.threads})`,
            );
        });
        w.on('exit', () => resolve());
      });
    }),
  );
  await handle?.shutdown();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const main = process.threadCpuUsage(main0);
  if (timeline.length > 0 && process.env.VS_PEERS_TIMELINE) {
    const elu = performance.eventLoopUtilization(elu0).utilization;
    console.log(
      `${name}: ${timeline.join('; ')}; primary CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (main thread ${((main.user + main.system) / 1000).toFixed(0)}; by thread: ${threadCpuDiff(threads0, threadCpuMs())}), event loop ${(elu * 100).toFixed(0)} % busy, all done ${wallMs.toFixed(0)} ms`,
    );
  }
  const inFile = await c.count(file);
  process.send?.({
    records: n * workers,
    cpuUs: workersCpu + cpu.user + cpu.system,
    startCpuUs: startCpu,
    wallMs,
    lost: n * workers - inFile,
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', default: 'bench' },
      name: { type: 'string' },
      records: { type: 'string', default: '100000' },
      'cluster-records': { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '5' },
      file: { type: 'string' },
      part: { type: 'string', default: '1,2' },
      only: { type: 'string' },
      workers: { type: 'string', default: '4' },
    },
  });
  const n = Number(values.records);
  if (values.role === 'log') {
    process.send?.(await logProcess(values.name as string, n, values.file as string));
    return;
  }
  if (values.role === 'worker') {
    const r = await logProcess(values.name as string, n, values.file as string);
    process.send?.(r);
    // a cluster worker ends by disconnecting; starlog's exit hooks ship what is left
    cluster.worker?.disconnect();
    return;
  }
  if (values.role === 'cluster') {
    await clusterPrimary(values.name as string, n, values.file as string, Number(values.workers));
    return;
  }
  checkBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'starlog-peers-'));
  const { setupLogging } = await starlog();
  const primary = await setupLogging({
    role: 'primary',
    serviceName: 'bench-primary',
    file: { path: join(dir, 'primary.jsonl') },
    console: false,
    collector: false,
    status: false,
    config: false,
  });
  const env = {
    STARLOG_ENDPOINT: primary.receiver?.endpoint,
    STARLOG_TOKEN: primary.receiver?.env.STARLOG_TOKEN,
  };
  const rounds = Number(values.rounds);
  // --only 'starlog,pino (sonic-boom 4.2.0)': a subset of the contenders (the base is always run)
  const only = values.only?.split(',').map((x) => x.trim());
  const names =
    only === undefined
      ? NAMES
      : Object.keys(CONTENDERS).filter((x) => x === BASE || only.includes(x));
  const parts = String(values.part).split(',');
  let fileNo = 0;
  const part1: Record<string, number[]> = {};
  const part1Abs: Record<string, number[]> = {};
  const part2: Record<
    string,
    {
      rate: number[];
      cpu: number[];
      lost: number[];
      abs: number[];
      absCpu: number[];
      /** CPU per record with the workers' start-up (imports, set-up, warm-up), µs, and × pino */
      withStart: number[];
      withStartRatio: number[];
    }
  > = {};
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length] as string);
    if (parts.includes('1')) {
      const runs: Record<string, Run> = {};
      for (const name of order) {
        runs[name] = await runForked(
          [
            '--role',
            'log',
            '--name',
            name,
            '--records',
            String(n),
            '--file',
            join(dir, `f${fileNo++}.log`),
          ],
          CONTENDERS[name]?.primary ? env : {},
        );
      }
      const base = (runs[BASE] as Run).cpuUs / n;
      for (const name of names) {
        const us = (runs[name] as Run).cpuUs / n;
        part1[name] = [...(part1[name] ?? []), us / base];
        part1Abs[name] = [...(part1Abs[name] ?? []), us];
      }
    }
    if (parts.includes('2')) {
      const cn = Number(values['cluster-records']);
      const runs: Record<string, Run & { lost?: number }> = {};
      for (const name of order.filter((x) => x !== 'OpenTelemetry SDK')) {
        runs[name] = await runForked(
          [
            '--role',
            'cluster',
            '--name',
            name,
            '--records',
            String(cn),
            '--file',
            join(dir, `c${fileNo++}.log`),
            '--workers',
            String(values.workers),
          ],
          name === 'starlog (baseline)' ? { STARLOG_BENCH_DIST: BASELINE } : {},
          [
            ...profArgs(name),
            ...(process.env.VS_PEERS_PRIMARY_ARGS?.split(' ').filter((x) => x) ?? []),
          ],
        );
      }
      const base = runs[BASE] as Run;
      for (const [name, run] of Object.entries(runs)) {
        const p = part2[name] ?? {
          rate: [],
          cpu: [],
          lost: [],
          abs: [],
          absCpu: [],
          withStart: [],
          withStartRatio: [],
        };
        part2[name] = p;
        const rate = run.records / (run.wallMs / 1000);
        p.rate.push(rate / (base.records / (base.wallMs / 1000)));
        p.cpu.push(run.cpuUs / run.records / (base.cpuUs / base.records));
        p.lost.push(run.lost ?? 0);
        p.abs.push(rate);
        p.absCpu.push(run.cpuUs / run.records);
        const all = (x: Run) => (x.cpuUs + (x.startCpuUs ?? 0)) / x.records;
        p.withStart.push(all(run));
        p.withStartRatio.push(all(run) / all(base));
      }
    }
    console.log(`round ${r + 1}/${rounds} done`);
  }
  await primary.shutdown();
  rmSync(dir, { recursive: true, force: true });
  if (parts.includes('1')) {
    console.log(
      `\n1. CPU per record in the logging process (${n.toLocaleString('en')} records, ${rounds} rounds)`,
    );
    console.log(
      '| contender | CPU µs/record (median) | × pino (sonic-boom 4.2.0), median of per-round ratios |',
    );
    console.log('|---|---|---|');
    for (const name of names)
      console.log(
        `| ${name} | ${median(part1Abs[name] ?? []).toFixed(2)} | ${median(part1[name] ?? []).toFixed(2)} |`,
      );
  }
  if (parts.includes('2')) {
    const cn = Number(values['cluster-records']);
    console.log(
      `\n2. ${values.workers} cluster workers × ${cn.toLocaleString('en')} records into one file (${rounds} rounds)`,
    );
    console.log(
      "| contender | records/s (median) | × pino | CPU µs/record, all processes | × pino | with the workers' start-up: µs/record | × pino | lost (max over rounds) |",
    );
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, p] of Object.entries(part2))
      console.log(
        `| ${name} | ${Math.round(median(p.abs)).toLocaleString('en')} | ${median(p.rate).toFixed(2)} | ${median(p.absCpu).toFixed(2)} | ${median(p.cpu).toFixed(2)} | ${median(p.withStart).toFixed(2)} | ${median(p.withStartRatio).toFixed(2)} | ${Math.max(...p.lost)} |`,
      );
  }
  console.log(JSON.stringify({ bench: 'vs-peers', records: n, part1, part2 }));
}

await main();
