/**
 * A child nobody here wrote: Python with Debian's python3-protobuf and python3-grpcio
 * (test/fixtures/otlp-python-child.py builds the OTLP messages from descriptors in code) sends
 * every field and every AnyValue type, messages in pieces and unknown fields of every wire type,
 * over the receiver's unix socket and over TCP. Google's parser reading back the bytes sent is
 * the oracle: the records in memory, the JSON-lines file (read by an OTLP/JSON reader written to
 * the Collector's rules) and `starlog tree`'s reader must show the same values and types.
 *
 * Skips, with a notice, where /usr/bin/python3 cannot import grpc and google.protobuf
 * (`.ci/run` installs them with apt-get).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Context } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { JsonlFileExporter } from '../src/exporters/jsonl-file.ts';
import type {
  IngestedLogRecord,
  IngestedScope,
} from '../src/multiprocess/receiver/ingested-log-record.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { doubleKeys, rawResourceOf } from '../src/otlp/value-types.ts';
import { type ParsedRecord, readOtlpJsonLines } from '../src/tree/read.ts';
import {
  type TypedKeyValue,
  type TypedRecord,
  type TypedValue,
  typedKeyValues,
  typedRecords,
} from './fixtures/collector-json.ts';

const PYTHON = '/usr/bin/python3';
const CHILD = join(import.meta.dirname, 'fixtures', 'otlp-python-child.py');
const DEADLINE_MS = 60_000;

const probe = spawnSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
const missing =
  probe.status === 0
    ? undefined
    : `python3-grpcio / python3-protobuf not importable by ${PYTHON} (${(probe.stderr || String(probe.error)).trim().split('\n').pop()}); install: apt-get install -y python3-grpcio python3-protobuf`;
if (missing) console.log(`# SKIPPED python child test: ${missing}`);

// ---- what the child sends (proto3 JSON mapping; ids and bytes base64) -------------------------

const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const T0 = 1_795_000_000_123_456_789n;
const t = (i: number): string => String(T0 + BigInt(i) * 1000n);
const NASTY = 'a\u2028b\u2029c\u0000d\u202eevil\u202c e\u200f 😀 ünï';

/** Every AnyValue type and edge value, as KeyValues. */
function everyType(prefix: string): unknown[] {
  const kv = (key: string, value: unknown) => ({ key: `${prefix}${key}`, value });
  return [
    kv('str', { stringValue: 'text' }),
    kv('str.empty', { stringValue: '' }),
    kv('str.nasty', { stringValue: NASTY }),
    kv('bool.t', { boolValue: true }),
    kv('bool.f', { boolValue: false }),
    kv('int.0', { intValue: '0' }),
    kv('int.max', { intValue: '9223372036854775807' }),
    kv('int.min', { intValue: '-9223372036854775808' }),
    kv('int.2^53+1', { intValue: '9007199254740993' }),
    kv('int.safe', { intValue: '-9007199254740991' }),
    kv('dbl.whole', { doubleValue: 2 }),
    kv('dbl.2^60', { doubleValue: 2 ** 60 }),
    kv('dbl.-0', { doubleValue: '-0' }),
    kv('dbl.0', { doubleValue: 0 }),
    kv('dbl.frac', { doubleValue: 0.1 }),
    kv('dbl.nan', { doubleValue: 'NaN' }),
    kv('dbl.inf', { doubleValue: 'Infinity' }),
    kv('dbl.-inf', { doubleValue: '-Infinity' }),
    kv('bytes', { bytesValue: b64('00ff10') }),
    kv('bytes.empty', { bytesValue: '' }),
    kv('empty', {}),
    kv('array.mixed', {
      arrayValue: {
        values: [
          { intValue: '1' },
          { stringValue: 'two' },
          { doubleValue: 3 },
          {},
          { arrayValue: {} },
        ],
      },
    }),
    kv('array.bigint', { arrayValue: { values: [{ intValue: '9223372036854775807' }] } }),
    kv('array.empty', { arrayValue: {} }),
    kv('kvlist', {
      kvlistValue: {
        values: [
          { key: 'a', value: { doubleValue: 4 } },
          { key: '', value: { bytesValue: b64('01') } },
          {
            key: 'nested',
            value: { kvlistValue: { values: [{ key: 'deep', value: { boolValue: true } }] } },
          },
        ],
      },
    }),
    kv('kvlist.empty', { kvlistValue: {} }),
  ];
}

function plainRequest(tag: string): unknown {
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: `python-${tag}` } },
            { key: 'process.pid', value: { intValue: '4242' } },
            ...everyType('res.'),
            { key: '', value: { stringValue: 'empty key' } },
            { key: 'dup', value: { stringValue: 'first' } },
            { key: 'dup', value: { intValue: '2' } },
          ],
          droppedAttributesCount: 3,
        },
        schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
        scopeLogs: [
          {
            scope: {
              name: 'py.scope',
              version: '1.2.3',
              attributes: [
                {
                  key: 'scope.kv',
                  value: { kvlistValue: { values: [{ key: 'x', value: { intValue: '1' } }] } },
                },
                { key: 'scope.bytes', value: { bytesValue: b64('beef') } },
                { key: 'scope.dbl', value: { doubleValue: 8 } },
              ],
              droppedAttributesCount: 2,
            },
            schemaUrl: 'https://example.com/scope-schema',
            logRecords: [
              {
                timeUnixNano: t(1),
                observedTimeUnixNano: t(2),
                severityNumber: 17,
                severityText: 'ERROR',
                body: { kvlistValue: { values: everyType('') } },
                attributes: [...everyType('attr.'), { key: NASTY, value: { stringValue: NASTY } }],
                droppedAttributesCount: 4,
                flags: 511,
                traceId: b64(TRACE),
                spanId: b64(SPAN),
                eventName: 'py.event',
              },
              { timeUnixNano: t(2), body: { doubleValue: 2 }, traceId: b64(TRACE), flags: 1 },
              {
                timeUnixNano: t(3),
                body: { intValue: '9223372036854775807' },
                spanId: b64(SPAN),
                flags: 4294967295,
              },
              { timeUnixNano: t(4), body: { bytesValue: b64('000102') }, flags: 256 },
              { timeUnixNano: t(5), body: { doubleValue: '-0' }, observedTimeUnixNano: t(5) },
              { observedTimeUnixNano: t(6), severityText: 'INFO' },
              { timeUnixNano: t(7), body: { stringValue: NASTY }, observedTimeUnixNano: t(7) },
              { timeUnixNano: t(8), body: { stringValue: 'no observed time' } },
            ],
          },
        ],
      },
    ],
  };
}

/** Messages in pieces: the resource, the scope, the records and their bodies in two parts each. */
function piecesRequest(): unknown {
  return {
    raw: {
      resourcePieces: [
        { attributes: [{ key: 'service.name', value: { stringValue: 'python-pieces' } }] },
        { attributes: [{ key: 'piece', value: { intValue: '2' } }], droppedAttributesCount: 1 },
      ],
      scopePieces: [
        { name: 'first-name', attributes: [{ key: 's1', value: { stringValue: 'x' } }] },
        {
          name: 'split.scope',
          version: '2',
          attributes: [{ key: 's2', value: { doubleValue: 1 } }],
        },
      ],
      recordPieces: [
        [
          {
            timeUnixNano: t(10),
            severityNumber: 5,
            body: { kvlistValue: { values: [{ key: 'k1', value: { stringValue: 'one' } }] } },
            attributes: [{ key: 'a1', value: { arrayValue: { values: [{ intValue: '1' }] } } }],
            traceId: b64(TRACE),
          },
          {
            severityNumber: 9,
            body: { kvlistValue: { values: [{ key: 'k2', value: { doubleValue: 2 } }] } },
            attributes: [{ key: 'a2', value: { boolValue: true } }],
            spanId: b64(SPAN),
          },
        ],
        [
          { timeUnixNano: t(11), body: { arrayValue: { values: [{ stringValue: 'a' }] } } },
          { body: { arrayValue: { values: [{ stringValue: 'b' }] } }, severityText: 'WARN' },
        ],
        [{ timeUnixNano: t(12), body: { stringValue: 'replaced' } }, { body: { intValue: '7' } }],
      ],
    },
  };
}

// ---- in-memory expectations from typed values ---------------------------------------------------

function jsValue(v: TypedValue): unknown {
  switch (v.type) {
    case 'string':
    case 'bool':
    case 'double':
      return v.value;
    case 'int':
      return Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value;
    case 'bytes':
      return new Uint8Array(Buffer.from(v.value, 'hex'));
    case 'array':
      return v.value.map(jsValue);
    case 'kvlist':
      return jsObject(v.value);
    case 'empty':
      return null;
  }
}

function jsObject(kvs: TypedKeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of kvs) out[key] = jsValue(value);
  return out;
}

const isWholeDouble = (v: TypedValue): boolean =>
  v.type === 'double' && Number.isInteger(v.value) && !Object.is(v.value, -0);

/** Every whole double of `v` (held at container[key]) carries the decoder's double mark. */
function assertMarks(container: object, key: string | number, v: TypedValue, where: string): void {
  if (isWholeDouble(v)) {
    assert.ok(doubleKeys(container)?.has(key), `${where}: whole double ${key} not marked`);
  }
  const held = (container as Record<string | number, unknown>)[key];
  if (v.type === 'array')
    for (const [i, x] of v.value.entries()) assertMarks(held as object, i, x, `${where}[${i}]`);
  if (v.type === 'kvlist') {
    for (const kv of v.value) assertMarks(held as object, kv.key, kv.value, `${where}.${kv.key}`);
  }
}

function assertInMemory(actual: IngestedLogRecord, e: TypedRecord, where: string): void {
  const raw = rawResourceOf(actual.resource);
  assert.ok(raw, `${where}: raw resource kept`);
  assert.deepEqual(
    {
      attributes: typedKeyValues(raw.attributes, 'raw'),
      dropped: raw.droppedAttributesCount,
      schemaUrl: raw.schemaUrl,
    },
    {
      attributes: e.resource.attributes,
      dropped: e.resource.droppedAttributesCount,
      schemaUrl: e.resource.schemaUrl,
    },
    `${where}: resource`,
  );
  const scope = actual.instrumentationScope as IngestedScope;
  assert.equal(scope.name, e.scope.name);
  assert.equal(scope.version ?? '', e.scope.version);
  assert.equal(scope.schemaUrl ?? '', e.scope.schemaUrl);
  assert.equal(scope.droppedAttributesCount ?? 0, e.scope.droppedAttributesCount);
  assert.deepStrictEqual(
    scope.attributes ?? {},
    jsObject(e.scope.attributes),
    `${where}: scope attributes`,
  );
  const nanos = (h: [number, number]) => BigInt(h[0]) * 1_000_000_000n + BigInt(h[1]);
  assert.equal(nanos(actual.hrTime), e.timeUnixNano, `${where}: time`);
  if (e.observedTimeUnixNano !== 0n)
    assert.equal(nanos(actual.hrTimeObserved), e.observedTimeUnixNano);
  else assert.ok(nanos(actual.hrTimeObserved) > T0, `${where}: unset observed time = receive time`);
  assert.equal(actual.severityNumber ?? 0, e.severityNumber);
  assert.equal(actual.severityText ?? '', e.severityText);
  assert.deepStrictEqual(actual.body ?? null, jsValue(e.body), `${where}: body`);
  assertMarks(actual, 'body', e.body, `${where}: body`);
  assert.deepStrictEqual(actual.attributes, jsObject(e.attributes), `${where}: attributes`);
  for (const kv of e.attributes)
    assertMarks(actual.attributes, kv.key, kv.value, `${where}: attributes`);
  assert.equal(actual.droppedAttributesCount, e.droppedAttributesCount);
  assert.equal(actual.flags, e.flags, `${where}: flags`);
  const sc = actual.spanContext;
  assert.equal(sc?.traceId.replace(/^0+$/, '') ?? '', e.traceId, `${where}: traceId`);
  assert.equal(sc?.spanId.replace(/^0+$/, '') ?? '', e.spanId, `${where}: spanId`);
  if (sc) assert.equal(sc.traceFlags, e.flags & 0xff);
  assert.equal(actual.eventName ?? '', e.eventName);
}

/** Google's proto3 JSON writes trace/span ids in base64; OTLP/JSON (the Collector) in hex. */
function hexIds(doc: {
  resourceLogs?: { scopeLogs?: { logRecords?: Record<string, string>[] }[] }[];
}): unknown {
  for (const rl of doc.resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? [])
      for (const lr of sl.logRecords ?? [])
        for (const k of ['traceId', 'spanId'])
          if (lr[k] !== undefined) lr[k] = Buffer.from(lr[k], 'base64').toString('hex');
  return doc;
}

// ---- the run -------------------------------------------------------------------------------

class Collecting implements LogRecordProcessor {
  records: ReadWriteLogRecord[] = [];
  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    this.records.push(record);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function runChild(jobPath: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [CHILD, jobPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python child did not finish within ${DEADLINE_MS} ms; stderr: ${err}`));
    }, DEADLINE_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim().split('\n'));
      else reject(new Error(`python child exited with ${code}: ${err}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'starlog-python-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const transport of ['unix', 'tcp'] as const) {
  describe(`a Python (protobuf + grpcio) child over ${transport}`, { skip: missing }, () => {
    it('every field and type arrives exactly: in memory, in the JSON-lines file, in the tree reader', async () => {
      const processor = new Collecting();
      const receiver = await startReceiver({
        processor,
        ...(transport === 'tcp' ? { endpoint: 'tcp' } : {}),
      });
      let readback: string[];
      try {
        const target = receiver.endpoint.replace(/^http:\/\//, '');
        const jobPath = join(dir, `job-${transport}.json`);
        writeFileSync(
          jobPath,
          JSON.stringify({
            target,
            token: receiver.env.STARLOG_TOKEN,
            requests: [plainRequest(transport), piecesRequest()],
          }),
        );
        readback = await runChild(jobPath);
      } finally {
        await receiver.close();
      }
      // Google's parser reading back the exact bytes sent: the oracle
      const expected = readback.flatMap((line) => typedRecords(hexIds(JSON.parse(line))));
      assert.equal(expected.length, 11);
      const received = processor.records as unknown as IngestedLogRecord[];
      assert.equal(received.length, expected.length, 'records received');
      // merge rules, as Google's parser applied them
      assert.equal(expected[8]!.scope.name, 'split.scope');
      assert.deepEqual(expected[8]!.body, {
        type: 'kvlist',
        value: [
          { key: 'k1', value: { type: 'string', value: 'one' } },
          { key: 'k2', value: { type: 'double', value: 2 } },
        ],
      });
      for (let i = 0; i < expected.length; i++)
        assertInMemory(received[i]!, expected[i]!, `record ${i}`);

      // the file, read to the Collector's rules
      const path = join(dir, `out-${transport}.jsonl`);
      const exporter = new JsonlFileExporter({ path });
      await new Promise<void>((resolve, reject) =>
        exporter.export(received, (r) => (r.code === 0 ? resolve() : reject(r.error))),
      );
      await exporter.shutdown();
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n').filter((l) => l !== '');
      const inFile = lines.flatMap((l) => typedRecords(JSON.parse(l)));
      assert.equal(inFile.length, expected.length);
      for (let i = 0; i < expected.length; i++) {
        const want = expected[i]!;
        const got = inFile[i]!;
        if (want.observedTimeUnixNano === 0n) {
          assert.ok(
            got.observedTimeUnixNano > T0,
            'an unset observed time is written as the receive time',
          );
          got.observedTimeUnixNano = 0n;
        }
        assert.deepStrictEqual(got, want, `file record ${i}`);
      }
      // -0.0 is written as -0 (JSON.parse keeps the sign)
      assert.ok(text.includes('"doubleValue":-0'), 'negative zero written as -0');

      // starlog tree's reader sees every record, ids and times
      const parsed: ParsedRecord[] = [];
      const stats = await readOtlpJsonLines(
        path,
        0,
        { resource: () => 0, record: (_r, rec) => parsed.push(rec) },
        { maxBody: 10_000 },
      );
      assert.equal(stats.badLines, 0);
      assert.equal(parsed.length, expected.length);
      parsed.forEach((p, i) => {
        const e = expected[i]!;
        assert.equal(p.traceId ?? '', e.traceId, `tree record ${i} traceId`);
        assert.equal(p.spanId ?? '', e.spanId, `tree record ${i} spanId`);
        if (e.body.type === 'string') assert.equal(p.body, e.body.value);
        if (e.body.type === 'int') assert.equal(p.body, String(e.body.value));
      });
    });
  });
}
