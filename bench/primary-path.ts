/**
 * The primary's CPU per record from receipt to the JSON-lines file, this tree against a baseline
 * revision, side by side in one run: decode the OTLP protobuf request bytes, encode the
 * OTLP/JSON line, write it to a file (writeSync). Interleaved rounds (baseline, current, …),
 * CPU time (user + system) of this process, medians; the ratio is the median of per-round ratios.
 *
 * The requests are what a Node child sends: 1,024 records per request made by the real SDK and
 * serialized by the official `ProtobufLogsSerializer`, each record the typical call
 * (`info({ route: '/orders', status: 200, ms: 1.5, user: 'u1' }, 'handled request %d', i)`).
 *
 * The baseline's `src/` is extracted with `git archive` into bench/.baseline-<rev>/ (removed at
 * the end) and imported from there: its decoder, and its JSON-lines byte writer
 * (`encodeLogsRequestLine`) when it has one, else its string encoder followed by `Buffer.from` of
 * the line (what its JsonlFileExporter did then). The current side transcodes the records it
 * decoded (nothing reads their values in between, as on the primary's path to the file).
 *
 * Usage: ./node_modules/.bin/node bench/primary-path.ts [--baseline <git rev, default main>]
 *        [--rounds 15] [--requests 20]
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { encodeLogsRequestLine } from '../src/otlp/json-line-writer.ts';
import { OtlpLogsDecoder } from '../src/otlp/logs-decoder.ts';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string', default: 'main' },
    rounds: { type: 'string', default: '15' },
    requests: { type: 'string', default: '20' },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const PER_REQUEST = 1024;
const root = join(import.meta.dirname, '..');
const rev = execFileSync('git', ['rev-parse', '--short', values.baseline!], {
  cwd: root,
  encoding: 'utf8',
}).trim();
const baseDir = join(import.meta.dirname, `.baseline-${rev}`);
mkdirSync(baseDir, { recursive: true });
execFileSync('sh', ['-c', `git archive ${rev} src | tar -x -C ${baseDir}`], { cwd: root });

interface Decoder {
  decode(bytes: Uint8Array): { records: ReadableLogRecord[] };
}
const oldDecoderModule = await import(join(baseDir, 'src/otlp/logs-decoder.ts'));
const OldDecoder = oldDecoderModule.OtlpLogsDecoder as new () => Decoder;
/** The baseline's file encoding: its byte writer when it has one, else its string encoder + Buffer.from. */
let oldEncodeLine: (r: ReadableLogRecord[]) => Buffer;
if (existsSync(join(baseDir, 'src/otlp/json-line-writer.ts'))) {
  const m = await import(join(baseDir, 'src/otlp/json-line-writer.ts'));
  const encode = m.encodeLogsRequestLine as (r: ReadableLogRecord[]) => { line: Buffer };
  oldEncodeLine = (r) => encode(r).line;
} else {
  const m = await import(join(baseDir, 'src/otlp/json-encoder.ts'));
  const encode = m.encodeLogsRequest as (r: ReadableLogRecord[]) => { json: string };
  oldEncodeLine = (r) => Buffer.from(`${encode(r).json}\n`);
}

function makeRequest(): Uint8Array {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({
      'service.name': 'bench-child',
      'service.instance.id': 'c0ffee',
      'process.pid': 4242,
      'host.name': 'bench-host',
      'starlog.role': 'child',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.version': '2.0.0',
    }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('app');
  const t0 = Date.now();
  for (let i = 0; i < PER_REQUEST; i++) {
    logger.emit({
      timestamp: [Math.floor(t0 / 1000), (i * 1000 + 17) % 1e9],
      severityNumber: 9,
      severityText: 'INFO',
      body: `handled request ${i}`,
      attributes: { route: '/orders', status: 200, ms: 1.5, user: 'u1' },
    });
  }
  return ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords())!;
}

const requests = Array.from({ length: REQUESTS }, makeRequest);
const dir = mkdtempSync(join(tmpdir(), 'starlog-primary-path-'));

type Side = 'baseline' | 'current';
function round(side: Side): { total: number; decode: number; encode: number } {
  const fd = openSync(join(dir, `${side}.jsonl`), 'w');
  const decoder: Decoder = side === 'baseline' ? new OldDecoder() : new OtlpLogsDecoder();
  let decodeUs = 0;
  let encodeUs = 0;
  const start = process.cpuUsage();
  for (const bytes of requests) {
    const a = process.cpuUsage();
    const { records } = decoder.decode(bytes);
    const b = process.cpuUsage(a);
    decodeUs += b.user + b.system;
    const c = process.cpuUsage();
    const line = side === 'baseline' ? oldEncodeLine(records) : encodeLogsRequestLine(records).line;
    writeSync(fd, line);
    const d = process.cpuUsage(c);
    encodeUs += d.user + d.system;
  }
  const used = process.cpuUsage(start);
  closeSync(fd);
  const n = REQUESTS * PER_REQUEST;
  return { total: (used.user + used.system) / n, decode: decodeUs / n, encode: encodeUs / n };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

// warm up both (JIT)
for (let i = 0; i < 3; i++) {
  round('baseline');
  round('current');
}
const results: Record<Side, { total: number; decode: number; encode: number }[]> = {
  baseline: [],
  current: [],
};
const ratios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const first: Side = r % 2 === 0 ? 'baseline' : 'current';
  const second: Side = first === 'baseline' ? 'current' : 'baseline';
  const x = round(first);
  const y = round(second);
  results[first].push(x);
  results[second].push(y);
  const cur = first === 'current' ? x : y;
  const base = first === 'baseline' ? x : y;
  ratios.push(cur.total / base.total);
}
rmSync(dir, { recursive: true, force: true });
rmSync(baseDir, { recursive: true, force: true });
const line = (side: Side) => {
  const rs = results[side];
  return `${side.padEnd(9)} ${median(rs.map((x) => x.total)).toFixed(2)} µs/record CPU (decode ${median(rs.map((x) => x.decode)).toFixed(2)}, encode + write ${median(rs.map((x) => x.encode)).toFixed(2)})`;
};
console.log(
  `primary path, ${REQUESTS} requests × ${PER_REQUEST} records, ${ROUNDS} interleaved rounds; baseline ${rev}`,
);
console.log(line('baseline'));
console.log(line('current'));
console.log(`current / baseline: ${median(ratios).toFixed(2)} (median of per-round ratios)`);
