/**
 * Short-lived children exiting at once on busy cores (issue 11 item 1): a receiver (the primary's,
 * with its default hand-off directory), CHILDREN processes started at once
 * (test/fixtures/short-lived-child.ts: `setupLogging()` defaults, RECORDS records, then
 * `process.exit(0)`), while BUSY processes spin on the CPUs. Prints, per mode, delivered/sent,
 * the drops the primary counted, the hand-off files ingested, the time until every child ended
 * and until every record was delivered or counted, and how long starlog's exit listener blocked
 * each child, wall and CPU time (`EXIT_TIMING=1` in the fixture: from `process.exit()` to after
 * the listener).
 *
 * Modes: `handoff` (default: the exit hook writes a hand-off file) and `grpc` (the receiver has
 * no hand-off directory: the exit hook's synchronous gRPC export, the behaviour before).
 *
 * Usage: ./node_modules/.bin/node bench/short-lived.ts [children=100] [records=20] [busy=2] [modes=handoff,grpc]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { CountingProcessor } from '../test/support/collect.ts';

const CHILD = fileURLToPath(new URL('../test/fixtures/short-lived-child.ts', import.meta.url));
const children = Number(process.argv[2] ?? 100);
const records = Number(process.argv[3] ?? 20);
const busy = Number(process.argv[4] ?? 2);
const modes = (process.argv[5] ?? 'handoff,grpc').split(',');

function spinners(n: number): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
  );
}

async function run(mode: string): Promise<void> {
  const processor = new CountingProcessor();
  const receiver = await startReceiver({
    processor,
    ...(mode === 'grpc' ? { handoffDir: false as const } : {}),
  });
  const spin = spinners(busy);
  const sent = children * records;
  const t0 = performance.now();
  let failed = 0;
  const exitMs: number[] = [];
  const exitCpuMs: number[] = [];
  try {
    await Promise.all(
      Array.from(
        { length: children },
        () =>
          new Promise<void>((resolve) => {
            const c = spawn(process.execPath, [CHILD], {
              env: { ...process.env, ...receiver.env, N: String(records), EXIT_TIMING: '1' },
              stdio: ['ignore', 'ignore', 'pipe'],
            });
            let err = '';
            c.stderr?.setEncoding('utf8').on('data', (d: string) => {
              err += d;
            });
            c.on('close', (code) => {
              const m = /exit-ms ([\d.]+) cpu-ms ([\d.]+)/.exec(err);
              if (m) {
                exitMs.push(Number(m[1]));
                exitCpuMs.push(Number(m[2]));
              }
              const rest = err.replace(/exit-ms [\d.]+ cpu-ms [\d.]+\n/, '');
              if (rest.trim() !== '') process.stderr.write(rest);
              if (code !== 0) failed++;
              resolve();
            });
          }),
      ),
    );
    const ended = performance.now() - t0;
    // hand-off files are ingested on the directory watch (or the 1 s rescan): wait at most 10 s
    const deadline = Date.now() + 10_000;
    while (processor.n + receiver.stats().dropped.total < sent && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const settled = performance.now() - t0;
    const s = receiver.stats();
    exitMs.sort((a, b) => a - b);
    exitCpuMs.sort((a, b) => a - b);
    const q = (p: number, v = exitMs) =>
      v[Math.min(v.length - 1, Math.floor(p * v.length))]?.toFixed(2);
    console.log(
      `${mode.padEnd(8)} ${children} children x ${records} records, ${busy} busy spinners: delivered ${processor.n}/${sent}, primary counted ${s.dropped.total} dropped, unaccounted ${sent - processor.n - s.dropped.total}, hand-off files ${s.handoff?.files ?? '-'}, children ended in ${(ended / 1000).toFixed(1)} s, all accounted in ${(settled / 1000).toFixed(1)} s; exit listener wall ms median ${q(0.5)}, p95 ${q(0.95)}, max ${q(1)}; its CPU ms median ${q(0.5, exitCpuMs)}, max ${q(1, exitCpuMs)}${failed ? `, ${failed} children failed` : ''}`,
    );
  } finally {
    for (const p of spin) p.kill('SIGKILL');
    await receiver.close();
  }
}

console.log(`# ${new Date().toISOString()}, Node ${process.version}, shared 2-core machine`);
for (const mode of modes) await run(mode);
