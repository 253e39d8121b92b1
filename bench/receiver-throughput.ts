/**
 * Records per second received by the primary's receiver from 1, 2 and 4 child processes over the
 * default private unix socket, and records lost (sent − received).
 *
 * Each child (test/fixtures/receiver-child.ts, mode `bench`) emits RECORDS_PER_CHILD typical log
 * records (string body, 4 attributes) through a real sdk-logs LoggerProvider + OtlpShippingProcessor +
 * the official export delegate (the path setupLogging() gives children),
 * as fast as it can while keeping at most 8 batches waiting (deeper queues export slower: see
 * README, Figures). The clock runs from the "go" message until the primary's processor has counted the last
 * record. Child start-up is not timed.
 *
 * Usage: ./node_modules/.bin/node bench/receiver-throughput.ts [recordsPerChild=50000] [children=1,2,4]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';

const CHILD_SCRIPT = fileURLToPath(new URL('../test/fixtures/receiver-child.ts', import.meta.url));
const perChild = Number(process.argv[2] ?? 50_000);
const childCounts = (process.argv[3] ?? '1,2,4').split(',').map(Number);

interface Result {
  children: number;
  sent: number;
  received: number;
  lost: number;
  seconds: number;
  recordsPerSecond: number;
  /** CPU time of the primary (receiver, decoder, counting processor) per second of wall time, % */
  primaryCpuPercent: number;
  /** summed CPU time of the children per second of wall time, % */
  childrenCpuPercent: number;
  /** records received per CPU-second of the primary (independent of how busy the machine is) */
  primaryRecordsPerCpuSecond: number;
  /** records sent per CPU-second of the children (emit + batch + serialise + gRPC) */
  childRecordsPerCpuSecond: number;
}

async function run(n: number): Promise<Result> {
  let received = 0;
  let last = 0;
  const processor: LogRecordProcessor = {
    onEmit() {
      received++;
      last = performance.now();
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const receiver = await startReceiver({ processor });
  const procs: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<{ sent: number; cpuMs: number }>[] = [];
  for (let c = 0; c < n; c++) {
    const proc = fork(CHILD_SCRIPT, [String(c), String(perChild), 'bench'], {
      env: { ...process.env, ...receiver.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    procs.push(proc);
    ready.push(
      new Promise((resolve) =>
        proc.on('message', (m: { type: string }) => m.type === 'ready' && resolve()),
      ),
    );
    done.push(
      new Promise((resolve, reject) => {
        proc.on(
          'message',
          (m: { type: string; sent: number; cpuMs: number }) => m.type === 'done' && resolve(m),
        );
        proc.on('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
      }),
    );
  }
  await Promise.all(ready);
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  for (const proc of procs) proc.send({ type: 'go' });
  const reports = await Promise.all(done);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - start;
  const sent = reports.reduce((a, r) => a + r.sent, 0);
  const childrenCpuMs = reports.reduce((a, r) => a + r.cpuMs, 0);
  await receiver.close();
  const seconds = (last - start) / 1000;
  return {
    children: n,
    sent,
    received,
    lost: sent - received,
    seconds,
    recordsPerSecond: Math.round(received / seconds),
    primaryCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
    childrenCpuPercent: Math.round((childrenCpuMs / wallMs) * 100),
    primaryRecordsPerCpuSecond: Math.round(received / ((cpu.user + cpu.system) / 1e6)),
    childRecordsPerCpuSecond: Math.round(sent / (childrenCpuMs / 1000)),
  };
}

const results: Result[] = [];
for (const n of childCounts) {
  const r = await run(n);
  results.push(r);
  console.log(
    `${n} child(ren): ${r.received.toLocaleString('en')} records in ${r.seconds.toFixed(2)} s = ${r.recordsPerSecond.toLocaleString('en')} records/s, lost ${r.lost}; CPU: primary ${r.primaryCpuPercent}% of a core (${r.primaryRecordsPerCpuSecond.toLocaleString('en')} records/CPU-s), children ${r.childrenCpuPercent}% (${r.childRecordsPerCpuSecond.toLocaleString('en')} records/CPU-s)`,
  );
}
console.log(JSON.stringify({ bench: 'receiver-throughput', perChild, results }));
