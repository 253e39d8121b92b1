/**
 * `starlog tree` on a large file: peak RSS and throughput.
 *
 *   ./node_modules/.bin/node bench/tree.ts [--mb 200]
 *
 * Generates an OTLP/JSON lines file of about `--mb` MB in a temp dir (batches of 64 records per
 * line as a BatchLogRecordProcessor + JsonlFileExporter would write them; 4 processes, 3-level task
 * trees, 5 records per task, 2 % failed tasks with a stack trace, 5 % records outside any task),
 * runs the real CLI on it in a child process (text to /dev/null, `--failed`, `--html /dev/null`)
 * and reports the child's peak RSS (getrusage maxrss) and MB/s. The file is deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '200' }, 'generate-only': { type: 'string' } },
});
const targetBytes = Number(values.mb) * 1024 * 1024;
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

const BASE_NS = 1_700_000_000_000_000_000n;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width);
const str = (key: string, v: string) =>
  `{"key":"${key}","value":{"stringValue":${JSON.stringify(v)}}}`;

function record(
  ms: number,
  sev: number,
  body: string,
  traceId: string,
  spanId: string,
  attrs: string[],
): string {
  const t = (BASE_NS + BigInt(Math.round(ms * 1e6))).toString();
  const sevText = sev >= 17 ? 'ERROR' : sev >= 13 ? 'WARN' : sev >= 9 ? 'INFO' : 'DEBUG';
  const ids = traceId ? `,"flags":1,"traceId":"${traceId}","spanId":"${spanId}"` : '';
  return `{"timeUnixNano":"${t}","observedTimeUnixNano":"${t}","severityNumber":${sev},"severityText":"${sevText}","body":{"stringValue":${JSON.stringify(body)}},"attributes":[${attrs.join(',')}],"droppedAttributesCount":0${ids}}`;
}

function line(pid: number, records: string[]): string {
  const resource = `{"attributes":[{"key":"process.pid","value":{"intValue":${pid}}},{"key":"service.name","value":{"stringValue":"shop"}},{"key":"starlog.role","value":{"stringValue":"${pid === 1000 ? 'primary' : 'child'}"}}],"droppedAttributesCount":0}`;
  return `{"resourceLogs":[{"resource":${resource},"scopeLogs":[{"scope":{"name":"starlog.task"},"logRecords":[${records.join(',')}]}]}]}\n`;
}

async function generate(path: string): Promise<{ bytes: number; records: number; tasks: number }> {
  const out = createWriteStream(path);
  const pending = new Map<number, string[]>();
  let bytes = 0;
  let records = 0;
  let tasks = 0;
  let ms = 0;
  let traceNo = 0;
  const emit = async (pid: number, rec: string) => {
    records++;
    let batch = pending.get(pid);
    if (!batch) {
      batch = [];
      pending.set(pid, batch);
    }
    batch.push(rec);
    if (batch.length === 64) {
      const l = line(pid, batch);
      pending.set(pid, []);
      bytes += Buffer.byteLength(l);
      if (!out.write(l)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  };
  const runTask = async (pid: number, traceId: string, id: string, name: string, depth: number) => {
    tasks++;
    const spanId = hex(tasks * 2654435761, 16);
    const taskId = str('task.id', id);
    const start = ms;
    await emit(pid, record(ms++, 9, name, traceId, spanId, [str('task.name', name), taskId]));
    for (let i = 0; i < 3; i++) {
      const body = `${name}: step ${i} processed item ${tasks * 7 + i} of batch ${traceNo} in ${i * 3 + 1} ms`;
      await emit(
        pid,
        record(ms++, i === 1 ? 5 : 9, body, traceId, spanId, [
          taskId,
          '{"key":"item","value":{"intValue":3}}',
        ]),
      );
      if (i === 0 && depth < 2) {
        const childPid = depth === 0 ? 1001 + (traceNo % 3) : pid;
        await runTask(childPid, traceId, `${id}/1`, `child ${depth + 1}a`, depth + 1);
        await runTask(childPid, traceId, `${id}/2`, `child ${depth + 1}b`, depth + 1);
      }
    }
    const failed = tasks % 50 === 0;
    if (failed) {
      await emit(
        pid,
        record(ms++, 17, `FAILED ${name}`, traceId, spanId, [
          taskId,
          str('exception.type', 'Error'),
          str('exception.message', `item ${tasks} rejected`),
          str(
            'exception.stacktrace',
            `Error: item ${tasks} rejected\n    at step (/srv/app/step.js:42:11)\n    at run (/srv/app/task.js:17:5)`,
          ),
        ]),
      );
    }
    await emit(
      pid,
      record(ms++, 9, failed ? `${name} failed` : `${name} done`, traceId, spanId, [
        taskId,
        str('task.outcome', failed ? 'failure' : 'success'),
        `{"key":"task.duration_ms","value":{"doubleValue":${ms - start}}}`,
      ]),
    );
  };
  while (bytes < targetBytes) {
    traceNo++;
    const traceId = hex(traceNo, 16) + hex(traceNo * 40503, 16);
    await runTask(1000, traceId, `${traceNo}@${traceId.slice(0, 6)}`, `request ${traceNo}`, 0);
    if (traceNo % 4 === 0) {
      await emit(1000, record(ms++, 9, `status: ${traceNo} requests handled`, '', '', []));
    }
  }
  for (const [pid, batch] of pending) if (batch.length) out.write(line(pid, batch));
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return { bytes: (await stat(path)).size, records, tasks };
}

const PRELOAD = `data:text/javascript,${encodeURIComponent(
  "import {writeSync} from 'node:fs'; process.on('exit', () => writeSync(2, 'BENCH ' + JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }) + '\\n'));",
)}`;

async function run(args: string[]): Promise<{ seconds: number; maxRssMb: number }> {
  const started = performance.now();
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, MAIN, 'tree', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(err) : reject(new Error(`exit ${code}: ${err}`)),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  const m = /BENCH (.*)/.exec(stderr);
  if (!m) throw new Error(`no BENCH line in stderr: ${stderr}`);
  return { seconds, maxRssMb: JSON.parse(m[1]!).maxRssKb / 1024 };
}

if (values['generate-only'] !== undefined) {
  // keep a generated file for profiling: --generate-only PATH
  const gen = await generate(values['generate-only']);
  console.log(JSON.stringify(gen));
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'starlog-bench-tree-'));
try {
  const file = join(dir, 'big.jsonl');
  const gen = await generate(file);
  const mb = gen.bytes / 1024 / 1024;
  console.log(`input: ${mb.toFixed(0)} MB, ${gen.records} records, ${gen.tasks} tasks`);
  const empty = join(dir, 'empty.jsonl');
  await writeFile(empty, '');
  const baseline = await run([empty]);
  console.log(`baseline (empty file): peak RSS ${baseline.maxRssMb.toFixed(0)} MB`);
  const results: Record<string, { seconds: number; maxRssMb: number; mbPerS: number }> = {};
  for (const [name, args] of [
    ['text', [file]],
    ['failed', ['--failed', file]],
    ['html', ['--html', '/dev/null', file]],
  ] as const) {
    const r = await run([...args]);
    results[name] = { ...r, mbPerS: mb / r.seconds };
    console.log(
      `${name.padEnd(6)} ${r.seconds.toFixed(1)} s  ${(mb / r.seconds).toFixed(1)} MB/s  peak RSS ${r.maxRssMb.toFixed(0)} MB (${((r.maxRssMb / mb) * 100).toFixed(0)} % of input)`,
    );
  }
  console.log(
    JSON.stringify({
      bench: 'tree',
      inputMb: Math.round(mb),
      records: gen.records,
      tasks: gen.tasks,
      baselineRssMb: Math.round(baseline.maxRssMb),
      ...Object.fromEntries(
        Object.entries(results).map(([k, v]) => [
          k,
          {
            mbPerS: +v.mbPerS.toFixed(1),
            peakRssMb: Math.round(v.maxRssMb),
            seconds: +v.seconds.toFixed(1),
          },
        ]),
      ),
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
