/**
 * CPU of one child logging 100,000 records in one synchronous loop under a real primary (the
 * offload path: hand-off files, or the worker thread without the primary's hand-off directory):
 * `process.cpuUsage()` (all threads) and `process.threadCpuUsage()` (the main thread) from the
 * loop's start to `forceFlush()` done, after 2,000 warm-up records; the child's offload counters.
 * Every built `dist/` given is measured in the same rounds, interleaved (e.g. `main` built in
 * another directory whose `node_modules` links to this one's); the primary is the first one's.
 *
 * Usage: npm run build && ./node_modules/.bin/node bench/child-loop-cpu.ts [rounds=5] [/abs/dist …]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Starlog = typeof import('../src/index.ts');
const SELF = fileURLToPath(import.meta.url);
const load = (dist: string) =>
  import(pathToFileURL(join(dist, 'index.js')).href) as Promise<Starlog>;
const ms = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

if (process.argv[2] === 'child') {
  const { setupLogging, getLogger } = await load(process.env.BENCH_DIST as string);
  const handle = await setupLogging({ serviceName: 'child-loop-cpu' });
  const log = getLogger('bench');
  const attrs = { route: '/orders', status: 200, ms: 1.5, user: 'u1' };
  for (let i = 0; i < 2000; i++) log.info(attrs, 'warm up %d', i);
  await handle.forceFlush();
  const c0 = process.cpuUsage();
  const t0 = process.threadCpuUsage();
  for (let i = 0; i < 100_000; i++) log.info({ ...attrs }, 'handled request %d', i);
  await handle.forceFlush();
  const s = handle.stats().destinations.primary;
  process.send?.({
    cpu: ms(process.cpuUsage(c0)),
    main: ms(process.threadCpuUsage(t0)),
    offloaded: s?.offloaded,
    waits: s?.offloadWaits,
    exported: s?.exported,
  });
  await handle.shutdown();
} else {
  const rounds = Number(process.argv[2] ?? 5);
  const dists = [
    fileURLToPath(new URL('../dist', import.meta.url)),
    ...process.argv.slice(3).map((d) => resolve(d)),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'starlog-child-loop-'));
  const { setupLogging } = await load(dists[0] as string);
  const primary = await setupLogging({
    role: 'primary',
    file: { path: join(dir, 'out.jsonl') },
    console: false,
    collector: false,
    status: false,
    config: false,
  });
  const results = new Map<string, { cpu: number[]; main: number[]; line: string }>();
  for (let r = 0; r < rounds; r++) {
    for (const dist of dists) {
      const m = await new Promise<Record<string, number>>((done, fail) => {
        const child = fork(SELF, ['child'], {
          env: { ...process.env, ...primary.receiver?.env, BENCH_DIST: dist },
        });
        let got: Record<string, number> | undefined;
        child.on('message', (x) => {
          got = x as Record<string, number>;
        });
        child.on('exit', (code) => (got ? done(got) : fail(new Error(`child exited ${code}`))));
      });
      const e = results.get(dist) ?? { cpu: [], main: [], line: '' };
      e.cpu.push(m.cpu as number);
      e.main.push(m.main as number);
      e.line = `offloaded ${m.offloaded}, waits ${m.waits}, exported ${m.exported}`;
      results.set(dist, e);
    }
  }
  await primary.shutdown();
  rmSync(dir, { recursive: true, force: true });
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
  console.log(`# ${new Date().toISOString()}, ${rounds} rounds, CPU ms per 100,000 records`);
  for (const [dist, e] of results) {
    const range = `${Math.min(...e.cpu).toFixed(0)}–${Math.max(...e.cpu).toFixed(0)}`;
    console.log(
      `${dist}: process ${median(e.cpu).toFixed(0)} (${range}), main thread ${median(e.main).toFixed(0)}; ${e.line}`,
    );
  }
}
