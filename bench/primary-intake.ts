/**
 * A real primary (JSON-lines file, no console, collector or status) ingesting hand-off files as
 * offloading children leave them: CPU per record of the primary's process, of its main thread,
 * and by thread (V8's helper threads `V8Worker`, libuv's `libuv-worker`; Linux), from the first
 * file written to the last record in the file. The whole path of part 2 of `vs-peers.ts` in the
 * primary (hand-off intake, decode, pipeline, destination queue, JSON-lines line, write), without
 * the children: part 2 runs five processes on two cores, whose figures scatter too much to tell
 * a change in the primary apart.
 *
 * Each round is a fresh process per built `dist/` given (interleaved, so a busy machine affects
 * all alike): it sets up a primary, then writes `--files` hand-off files of 4,096 records (the
 * issue's typical call, encoded by the official `ProtobufLogsSerializer`, as a child's batch) into
 * the primary's hand-off directory, at most `--outstanding` not yet ingested (4 per child that
 * offloads: 16 for part 2's four workers). The writing costs ~0.1 µs/record of the same process
 * (`writer`, main-thread CPU) and is included.
 *
 * Usage: npm run build && ./node_modules/.bin/node bench/primary-intake.ts [--rounds 5]
 *          [--files 100] [--outstanding 16] [/abs/other/dist …]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { writeHandoffSync } from '../src/multiprocess/child/handoff-writer.ts';
import { threadCpuMs } from './support/thread-cpu.ts';

const SELF = fileURLToPath(import.meta.url);
const PER_FILE = 4096;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    role: { type: 'string', default: 'bench' },
    dist: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    files: { type: 'string', default: '100' },
    outstanding: { type: 'string', default: '16' },
  },
});

interface Result {
  process: number;
  main: number;
  writer: number;
  threads: Record<string, number>;
}

function makeRequest(): Uint8Array {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-child', 'process.pid': 4242 }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('bench');
  for (let i = 0; i < PER_FILE; i++) {
    logger.emit({
      severityNumber: 9,
      severityText: 'INFO',
      body: `handled request ${i}`,
      attributes: { route: '/orders', status: 200, ms: 1.5, user: 'u1' },
    });
  }
  return ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords()) as Uint8Array;
}

/** One round in this process: a primary from `dist` ingesting `files` hand-off files. */
async function round(dist: string, files: number, outstanding: number): Promise<Result> {
  const { setupLogging } = (await import(
    pathToFileURL(join(dist, 'index.js')).href
  )) as typeof import('../src/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'starlog-primary-intake-'));
  const primary = await setupLogging({
    role: 'primary',
    serviceName: 'bench',
    file: { path: join(dir, 'out.jsonl') },
    console: false,
    collector: false,
    status: false,
    config: false,
  });
  const receiver = primary.receiver;
  const handoffDir = receiver?.env.STARLOG_HANDOFF_DIR;
  if (receiver === undefined || handoffDir === undefined) throw new Error('no hand-off directory');
  const ingested = () => receiver.stats().handoff?.files ?? 0;
  const requests = Array.from({ length: 4 }, makeRequest);
  const before = ingested();
  const threads0 = threadCpuMs();
  const cpu0 = process.cpuUsage();
  const main0 = process.threadCpuUsage();
  let writer = 0;
  const wait = () => new Promise((r) => setTimeout(r, 1));
  for (let i = 0; i < files; i++) {
    const deadline = Date.now() + 30_000;
    while (i - (ingested() - before) >= outstanding) {
      if (Date.now() > deadline) throw new Error(`file ${i - outstanding} not ingested in 30 s`);
      await wait();
    }
    const w0 = process.threadCpuUsage();
    const written = writeHandoffSync(handoffDir, [requests[i % 4] as Uint8Array], process.pid);
    const w = process.threadCpuUsage(w0);
    writer += w.user + w.system;
    if (!written.ok) throw new Error(written.reason);
  }
  const deadline = Date.now() + 30_000;
  while (ingested() - before < files) {
    if (Date.now() > deadline) throw new Error(`${files} files not ingested in 30 s`);
    await wait();
  }
  await primary.forceFlush();
  const cpu = process.cpuUsage(cpu0);
  const main = process.threadCpuUsage(main0);
  const threads1 = threadCpuMs();
  const n = files * PER_FILE;
  const threads: Record<string, number> = {};
  for (const [k, v] of Object.entries(threads1)) {
    const d = v - (threads0[k] ?? 0);
    if (d > 0) threads[k] = d;
  }
  const inFile = readFileSync(join(dir, 'out.jsonl'), 'utf8').match(/"handled request \d+"/g);
  if ((inFile?.length ?? 0) !== n) throw new Error(`${inFile?.length} of ${n} records in the file`);
  await primary.shutdown();
  rmSync(dir, { recursive: true, force: true });
  return {
    process: (cpu.user + cpu.system) / n,
    main: (main.user + main.system) / n,
    writer: writer / n,
    threads,
  };
}

if (values.role === 'round') {
  process.send?.(
    await round(values.dist as string, Number(values.files), Number(values.outstanding)),
  );
} else {
  const dists = [
    fileURLToPath(new URL('../dist', import.meta.url)),
    ...positionals.map((d) => resolve(d)),
  ];
  const results = new Map<string, Result[]>();
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    const order = dists.map((_, i) => dists[(i + r) % dists.length] as string);
    for (const dist of order) {
      const res = await new Promise<Result>((done, fail) => {
        let got: Result | undefined;
        fork(SELF, [
          '--role',
          'round',
          '--dist',
          dist,
          '--files',
          String(values.files),
          '--outstanding',
          String(values.outstanding),
        ])
          .on('message', (m) => {
            got = m as Result;
          })
          .on('exit', (code) => (got ? done(got) : fail(new Error(`round exited ${code}`))));
      });
      results.set(dist, [...(results.get(dist) ?? []), res]);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
  const n = Number(values.files) * PER_FILE;
  console.log(
    `# ${new Date().toISOString()}: ${rounds} rounds, ${n.toLocaleString('en')} records in ${values.files} hand-off files, at most ${values.outstanding} outstanding; CPU µs per record, medians`,
  );
  const first = results.get(dists[0] as string) as Result[];
  for (const [dist, rs] of results) {
    const names = [...new Set(rs.flatMap((x) => Object.keys(x.threads)))];
    const byThread = names
      .map((k) => `${k} ${median(rs.map((x) => ((x.threads[k] ?? 0) * 1000) / n)).toFixed(2)}`)
      .join(', ');
    const ratio =
      dist === dists[0]
        ? ''
        : `; ${dists[0]} / this: ${median(rs.map((x, i) => (first[i] as Result).process / x.process)).toFixed(2)} (median of per-round ratios)`;
    console.log(
      `${dist}: process ${median(rs.map((x) => x.process)).toFixed(2)} (${Math.min(...rs.map((x) => x.process)).toFixed(2)}–${Math.max(...rs.map((x) => x.process)).toFixed(2)}), main thread ${median(rs.map((x) => x.main)).toFixed(2)} (writer ${median(rs.map((x) => x.writer)).toFixed(2)}); by thread: ${byThread}${ratio}`,
    );
  }
}
