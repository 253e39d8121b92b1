/**
 * Run-time levels:
 * (a) ns per call of a disabled `logger.debug('x %d', 1)` from `getLogger()`, with a real
 *     LoggerProvider + Pipeline registered globally and the Pipeline's table active (level info),
 *     and whether the calls allocate: V8 GC events that started during the calls (a
 *     PerformanceObserver on 'gc') and heap growth over the calls (no GC is forced in between;
 *     8 bytes per call would be 80 MB and several scavenges over 10M calls);
 * (b) time from a level change to the change being applied in 4 child processes that follow the
 *     primary (test/fixtures/level-child.ts, `subscribeLevels`): from just before `setLevels()`
 *     (the gRPC client call to the primary) to each child's `onChange` (wall clock,
 *     `performance.timeOrigin + performance.now()` in both processes), over CHANGES changes;
 *     plus a few end-to-end runs of the `starlog level set` command (a fresh Node process:
 *     start-up included).
 *
 * Usage: ./node_modules/.bin/node bench/levels.ts [calls=10000000] [changes=20] [cliRuns=3]
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { getLogger } from '../src/logger.ts';
import { setLevels } from '../src/multiprocess/control/level-client.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { setActiveLevelTable } from '../src/pipeline/active-levels.ts';
import { LevelTable } from '../src/pipeline/level-table.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import {
  registerGlobalLoggerProvider,
  unregisterGlobalLoggerProvider,
} from '../src/setup/register-global.ts';

const CHILD = fileURLToPath(new URL('../test/fixtures/level-child.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../test/fixtures/level-cli.ts', import.meta.url));
const calls = Number(process.argv[2] ?? 10_000_000);
const changes = Number(process.argv[3] ?? 20);
const cliRuns = Number(process.argv[4] ?? 3);
const now = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- (a) disabled debug()
async function disabledDebug(): Promise<{
  nsPerCall: number;
  gcEvents: number;
  heapGrowthBytes: number;
}> {
  const pipeline = new Pipeline({ levels: 'info' });
  const provider = new LoggerProvider({ processors: [pipeline] });
  registerGlobalLoggerProvider(provider);
  setActiveLevelTable(pipeline.levels);
  const logger = getLogger('app.db');
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) logger.debug('x %d', 1);
  };
  run(1_000_000); // warm up (optimised code)
  const gcStarts: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcStarts.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  const heapBefore = process.memoryUsage().heapUsed;
  const from = performance.now();
  const t0 = process.hrtime.bigint();
  run(calls);
  const t1 = process.hrtime.bigint();
  const to = performance.now();
  const heapAfter = process.memoryUsage().heapUsed;
  // GC entries are delivered asynchronously: collect them after a short pause
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const gcEvents = gcStarts.filter((t) => t >= from && t <= to).length;
  setActiveLevelTable(undefined);
  unregisterGlobalLoggerProvider();
  await provider.shutdown();
  return { nsPerCall: Number(t1 - t0) / calls, gcEvents, heapGrowthBytes: heapAfter - heapBefore };
}

// ---------------------------------------------------------------- (b) change → 4 children
interface TableMessage {
  type: string;
  name: string;
  spec?: string;
  at?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function propagation(): Promise<{
  perChange: { medianMs: number; maxMs: number };
  perChild: { medianMs: number; maxMs: number };
  cli: { wallMs: number[]; toChildrenMs: number[] };
}> {
  const levels = new LevelTable('info');
  const receiver = await startReceiver({ processor: new Pipeline({ levels }), levels });
  const env = { ...process.env, ...receiver.env, STARLOG_LEVEL: 'info' };
  const names = ['b0', 'b1', 'b2', 'b3'];
  const messages: TableMessage[] = [];
  const kids: ChildProcess[] = names.map((name) => {
    const p = fork(CHILD, [name], {
      env,
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    p.on('message', (m) => messages.push(m as TableMessage));
    return p;
  });
  await until(
    () => messages.filter((m) => m.type === 'ready').length === names.length,
    60_000,
    'children',
  );
  const applied = (spec: string): number[] =>
    names.map(
      (n) =>
        messages.find((m) => m.type === 'table' && m.name === n && m.spec === spec)?.at ??
        Number.NaN,
    );
  const where = { endpoint: receiver.endpoint, token: receiver.env.STARLOG_TOKEN };

  const perChangeMax: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < changes; i++) {
    const spec = `info,app.db=${i % 2 === 0 ? 'debug' : 'trace'},bench.round=${i % 2 === 0 ? 'warn' : 'error'}`;
    messages.length = 0;
    const t0 = now();
    await setLevels({ ...where, spec, replace: true });
    await until(() => applied(spec).every((t) => !Number.isNaN(t)), 10_000, `change ${i}`);
    const lat = applied(spec).map((t) => t - t0);
    all.push(...lat);
    perChangeMax.push(Math.max(...lat));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  const wallMs: number[] = [];
  const toChildrenMs: number[] = [];
  for (let i = 0; i < cliRuns; i++) {
    const spec = `cli.run=${i % 2 === 0 ? 'debug' : 'trace'}`;
    messages.length = 0;
    const t0 = now();
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'level', 'set', spec], {
        env: { ...process.env, ...receiver.env },
        stdio: 'ignore',
      });
      p.on('close', resolve);
    });
    const t1 = now();
    if (code !== 0) throw new Error(`starlog level set exited with ${code}`);
    await until(
      () => applied(levels.toString()).every((t) => !Number.isNaN(t)),
      10_000,
      'cli change',
    );
    wallMs.push(t1 - t0);
    toChildrenMs.push(Math.max(...applied(levels.toString())) - t0);
  }

  for (const k of kids) k.send({ cmd: 'finish' });
  await Promise.all(
    kids.map(
      (k) =>
        new Promise((resolve) => (k.exitCode === null ? k.on('exit', resolve) : resolve(null))),
    ),
  );
  await receiver.close();
  return {
    perChange: { medianMs: median(perChangeMax), maxMs: Math.max(...perChangeMax) },
    perChild: { medianMs: median(all), maxMs: Math.max(...all) },
    cli: { wallMs, toChildrenMs },
  };
}

const a = await disabledDebug();
console.log(
  `(a) disabled logger.debug('x %d', 1): ${a.nsPerCall.toFixed(2)} ns/call over ${calls.toLocaleString('en')} calls; ` +
    `GC events during the calls: ${a.gcEvents}; heap growth: ${a.heapGrowthBytes} bytes (${(a.heapGrowthBytes / calls).toFixed(4)} bytes/call)`,
);
const b = await propagation();
console.log(
  `(b) setLevels() → applied in all 4 children, over ${changes} changes: median ${b.perChange.medianMs.toFixed(1)} ms, max ${b.perChange.maxMs.toFixed(1)} ms ` +
    `(per child: median ${b.perChild.medianMs.toFixed(1)} ms, max ${b.perChild.maxMs.toFixed(1)} ms)`,
);
console.log(
  `    \`starlog level set\` end to end (new Node process, start-up included): wall ${b.cli.wallMs.map((v) => v.toFixed(0)).join('/')} ms; ` +
    `applied in all 4 children ${b.cli.toChildrenMs.map((v) => v.toFixed(0)).join('/')} ms after the command started`,
);
console.log(
  JSON.stringify({
    bench: 'levels',
    disabledDebug: {
      nsPerCall: Number(a.nsPerCall.toFixed(3)),
      calls,
      gcEvents: a.gcEvents,
      heapGrowthBytes: a.heapGrowthBytes,
    },
    propagation: {
      children: 4,
      changes,
      perChangeMedianMs: Number(b.perChange.medianMs.toFixed(2)),
      perChangeMaxMs: Number(b.perChange.maxMs.toFixed(2)),
      perChildMedianMs: Number(b.perChild.medianMs.toFixed(2)),
      perChildMaxMs: Number(b.perChild.maxMs.toFixed(2)),
      cliWallMs: b.cli.wallMs.map((v) => Math.round(v)),
      cliToChildrenMs: b.cli.toChildrenMs.map((v) => Math.round(v)),
    },
  }),
);
