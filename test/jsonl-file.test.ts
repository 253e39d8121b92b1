import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { type AnyValue, context, SeverityNumber, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { JsonlFileExporter } from '../src/exporters/jsonl-file.ts';
import { encodeLogsRequest, hrTimeToNanosString } from '../src/otlp/json-encoder.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { captureDiag, type DiagCapture } from './support/diag.ts';

const root = mkdtempSync(join(tmpdir(), 'starlog-jsonl-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function tmpPath(name = 'starlog.jsonl'): string {
  return join(root, `case-${++n}`, name);
}

function exportOnce(
  exporter: JsonlFileExporter,
  records: ReadableLogRecord[],
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(records, resolve));
}

function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON is inspected field by field
type Json = any;

/** attributes list → { key: AnyValue-json } */
function kv(list: Json[] | undefined): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const { key, value } of list ?? []) out[key] = value;
  return out;
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

describe('JsonlFileExporter with the OpenTelemetry SDK', () => {
  it('writes every field in OTLP/JSON (Collector form): times, ids, severity, all AnyValue types', async () => {
    const path = tmpPath();
    const exporter = new JsonlFileExporter({ path });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'svc', 'process.pid': 4242 }),
      logRecordLimits: { attributeCountLimit: 12 },
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const logger = provider.getLogger('app.http', '1.2.3', { schemaUrl: 'https://s/1' });
    const ctx = trace.setSpanContext(context.active(), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 1,
    });
    const body = {
      s: 'text "quoted" \n\u2028 é',
      i: 42,
      neg: -7,
      big: 2 ** 62,
      d: 1.5,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      b: false,
      nil: null,
      arr: [1, 'two', [true]],
      empty: [],
      nested: { deep: { x: 1 } },
      bytes: new Uint8Array([0, 1, 2, 250, 255]),
    };
    logger.emit({
      timestamp: [1795000000, 123456789],
      observedTimestamp: [1795000001, 5],
      severityNumber: SeverityNumber.WARN2,
      severityText: 'WARN2',
      body: body as unknown as AnyValue,
      attributes: { 'http.status': 200, ratio: 0.25, ok: true, tags: ['a', 'b'] },
      eventName: 'http.request',
      context: ctx,
    });
    await provider.forceFlush();
    await provider.shutdown();

    const lines = readLines(path);
    assert.equal(lines.length, 1);
    const req: Json = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(req), ['resourceLogs']);
    assert.equal(req.resourceLogs.length, 1);
    const rl = req.resourceLogs[0];
    assert.deepEqual(kv(rl.resource.attributes)['service.name'], { stringValue: 'svc' });
    assert.deepEqual(kv(rl.resource.attributes)['process.pid'], { intValue: '4242' });
    assert.equal(rl.scopeLogs.length, 1);
    const sl = rl.scopeLogs[0];
    assert.deepEqual(sl.scope, { name: 'app.http', version: '1.2.3' });
    assert.equal(sl.schemaUrl, 'https://s/1');
    assert.equal(sl.logRecords.length, 1);
    const rec = sl.logRecords[0];
    assert.deepEqual(Object.keys(rec), [
      'timeUnixNano',
      'observedTimeUnixNano',
      'severityNumber',
      'severityText',
      'body',
      'attributes',
      'flags',
      'traceId',
      'spanId',
      'eventName',
    ]);
    assert.equal(rec.timeUnixNano, '1795000000123456789');
    assert.equal(rec.observedTimeUnixNano, '1795000001000000005');
    assert.equal(rec.severityNumber, 14);
    assert.equal(rec.severityText, 'WARN2');
    assert.equal(rec.flags, 1);
    assert.equal(rec.traceId, TRACE_ID);
    assert.equal(rec.spanId, SPAN_ID);
    assert.equal(rec.eventName, 'http.request');
    assert.deepEqual(kv(rec.attributes), {
      'http.status': { intValue: '200' },
      ratio: { doubleValue: 0.25 },
      ok: { boolValue: true },
      tags: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } },
    });
    const b = kv(rec.body.kvlistValue.values);
    assert.deepEqual(b.s, { stringValue: 'text "quoted" \n\u2028 é' });
    assert.deepEqual(b.i, { intValue: '42' });
    assert.deepEqual(b.neg, { intValue: '-7' });
    assert.deepEqual(b.big, { intValue: '4611686018427387904' });
    assert.deepEqual(b.d, { doubleValue: 1.5 });
    assert.deepEqual(b.nan, { doubleValue: 'NaN' });
    assert.deepEqual(b.inf, { doubleValue: 'Infinity' });
    assert.deepEqual(b.b, { boolValue: false });
    assert.deepEqual(b.nil, {});
    assert.deepEqual(b.arr, {
      arrayValue: {
        values: [
          { intValue: '1' },
          { stringValue: 'two' },
          { arrayValue: { values: [{ boolValue: true }] } },
        ],
      },
    });
    assert.deepEqual(b.empty, { arrayValue: {} });
    assert.deepEqual(b.nested, {
      kvlistValue: {
        values: [
          {
            key: 'deep',
            value: { kvlistValue: { values: [{ key: 'x', value: { intValue: '1' } }] } },
          },
        ],
      },
    });
    assert.deepEqual(b.bytes, { bytesValue: Buffer.from([0, 1, 2, 250, 255]).toString('base64') });
  });

  it('omits default fields like the Collector and counts dropped attributes', async () => {
    const path = tmpPath();
    const exporter = new JsonlFileExporter({ path });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'svc' }),
      logRecordLimits: { attributeCountLimit: 2 },
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    provider
      .getLogger('')
      .emit({ timestamp: [1795000000, 0], attributes: { a: 1, b: 2, c: 3, d: 4 } });
    await provider.shutdown();
    const rec: Json = JSON.parse(readLines(path)[0]!).resourceLogs[0].scopeLogs[0].logRecords[0];
    assert.equal(rec.timeUnixNano, '1795000000000000000');
    assert.equal(rec.severityNumber, undefined);
    assert.equal(rec.severityText, undefined);
    assert.deepEqual(rec.body, {});
    assert.equal(rec.attributes.length, 2);
    assert.equal(rec.droppedAttributesCount, 2);
    assert.equal(rec.traceId, undefined);
    assert.equal(rec.spanId, undefined);
    assert.equal(rec.flags, undefined);
  });

  it('keeps batch order: consecutive records of one resource and scope object share an entry, several resources in one line', async () => {
    const path = tmpPath();
    const exporter = new JsonlFileExporter({ path });
    const batch = new BatchLogRecordProcessor({
      exporter,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 60_000,
    });
    const primary = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'p', 'process.pid': 1 }),
      processors: [batch],
    });
    const child = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'c', 'process.pid': 2 }),
      processors: [batch],
    });
    const a = primary.getLogger('a');
    const bLogger = primary.getLogger('b');
    const c = child.getLogger('a');
    a.emit({ body: 'p-a-1' });
    c.emit({ body: 'c-a-1' });
    bLogger.emit({ body: 'p-b-1' });
    a.emit({ body: 'p-a-2' });
    c.emit({ body: 'c-a-2' });
    await batch.forceFlush();
    await exporter.shutdown();

    const lines = readLines(path);
    assert.equal(lines.length, 1, 'one export call = one line');
    const req: Json = JSON.parse(lines[0]!);
    const summary = req.resourceLogs.map((rl: Json) => ({
      service: kv(rl.resource.attributes)['service.name'].stringValue,
      scopes: rl.scopeLogs.map((sl: Json) => ({
        scope: sl.scope.name,
        bodies: sl.logRecords.map((r: Json) => r.body.stringValue),
      })),
    }));
    assert.deepEqual(summary, [
      { service: 'p', scopes: [{ scope: 'a', bodies: ['p-a-1'] }] },
      { service: 'c', scopes: [{ scope: 'a', bodies: ['c-a-1'] }] },
      {
        service: 'p',
        scopes: [
          { scope: 'b', bodies: ['p-b-1'] },
          { scope: 'a', bodies: ['p-a-2'] },
        ],
      },
      { service: 'c', scopes: [{ scope: 'a', bodies: ['c-a-2'] }] },
    ]);
  });

  it('appends to an existing file and never truncates it', async () => {
    const path = tmpPath();
    const first = new JsonlFileExporter({ path });
    const rec = plain('first');
    assert.equal((await exportOnce(first, [rec])).code, ExportResultCode.SUCCESS);
    await first.shutdown();
    const second = new JsonlFileExporter({ path });
    assert.equal((await exportOnce(second, [plain('second')])).code, ExportResultCode.SUCCESS);
    await second.shutdown();
    const bodies = readLines(path).map(
      (l) => JSON.parse(l).resourceLogs[0].scopeLogs[0].logRecords[0].body.stringValue,
    );
    assert.deepEqual(bodies, ['first', 'second']);
  });

  it('keeps the order of many exports issued without waiting, and forceFlush waits for them', async () => {
    const path = tmpPath();
    const exporter = new JsonlFileExporter({ path });
    const results: ExportResult[] = [];
    for (let i = 0; i < 50; i++) exporter.export([plain(`r${i}`)], (r) => results.push(r));
    await exporter.forceFlush();
    assert.equal(results.length, 50);
    assert.ok(results.every((r) => r.code === ExportResultCode.SUCCESS));
    const bodies = readLines(path).map(
      (l) => JSON.parse(l).resourceLogs[0].scopeLogs[0].logRecords[0].body.stringValue,
    );
    assert.deepEqual(
      bodies,
      Array.from({ length: 50 }, (_, i) => `r${i}`),
    );
    assert.equal(exporter.stats().exported, 50);
    assert.equal(exporter.stats().bytes, readFileSync(path).length);
    await exporter.shutdown();
  });

  it('rotates by size and keeps maxFiles rotated files', async () => {
    const path = tmpPath();
    const exporter = new JsonlFileExporter({ path, maxSize: 1000, maxFiles: 2 });
    const lineBytes = Buffer.byteLength(`${encodeLogsRequest([plain('x'.repeat(200))]).json}\n`);
    assert.ok(lineBytes > 300 && lineBytes < 1000);
    for (let i = 0; i < 20; i++) {
      const r = await exportOnce(exporter, [
        plain(`${String(i).padStart(3, '0')}${'x'.repeat(197)}`),
      ]);
      assert.equal(r.code, ExportResultCode.SUCCESS);
    }
    await exporter.shutdown();
    const dir = join(path, '..');
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ['starlog.jsonl', 'starlog.jsonl.1', 'starlog.jsonl.2']);
    // each file holds whole lines, every line valid; the newest records are in the active file
    const seen: number[] = [];
    for (const f of ['starlog.jsonl.2', 'starlog.jsonl.1', 'starlog.jsonl']) {
      const size = readFileSync(join(dir, f)).length;
      assert.ok(size < 1000 + lineBytes, `${f} is ${size} bytes`);
      for (const l of readLines(join(dir, f))) {
        const body = JSON.parse(l).resourceLogs[0].scopeLogs[0].logRecords[0].body.stringValue;
        seen.push(Number(body.slice(0, 3)));
      }
    }
    assert.ok(seen.length < 20, 'the oldest rotated files were removed');
    assert.deepEqual(
      seen,
      Array.from({ length: seen.length }, (_, i) => 20 - seen.length + i),
      'rotated files hold consecutive records, newest last',
    );
  });

  it('rejects bad options with a clear error', () => {
    assert.throws(() => new JsonlFileExporter({ path: tmpPath(), maxSize: 0 }), /maxSize.*0/);
    assert.throws(() => new JsonlFileExporter({ path: tmpPath(), maxSize: 1.5 }), /maxSize/);
    assert.throws(
      () => new JsonlFileExporter({ path: tmpPath(), maxFiles: 3 }),
      /maxFiles.*maxSize/,
    );
  });

  describe('failures', () => {
    let capture: DiagCapture;
    beforeEach(() => {
      capture = captureDiag();
    });
    afterEach(() => capture.restore());

    it('a path that is a directory: FAILED results and diag.error, no throw, no crash', async () => {
      const dir = join(root, `dir-${++n}`);
      const exporter = new JsonlFileExporter({ path: join(dir, 'x') });
      await exportOnce(exporter, [plain('make dir')]);
      await exporter.shutdown();
      rmSync(join(dir, 'x'));
      // now the path itself is a directory
      const broken = new JsonlFileExporter({ path: dir });
      const r1 = await exportOnce(broken, [plain('a')]);
      assert.equal(r1.code, ExportResultCode.FAILED);
      assert.ok(r1.error instanceof Error);
      const r2 = await exportOnce(broken, [plain('b'), plain('c')]);
      assert.equal(r2.code, ExportResultCode.FAILED);
      assert.equal(capture.errors.length, 1, 'the stream error is reported once');
      assert.match(String(capture.errors[0]![0]), /cannot (open|write)/);
      assert.equal(broken.stats().failed, 3);
      await broken.forceFlush();
      await broken.shutdown();
    });

    it('a path below a regular file (ENOTDIR): FAILED, through an SDK processor too', async () => {
      const file = join(root, `file-${++n}`);
      writeFileSync(file, 'not a directory');
      const exporter = new JsonlFileExporter({ path: join(file, 'sub', 'starlog.jsonl') });
      const r = await exportOnce(exporter, [plain('a')]);
      assert.equal(r.code, ExportResultCode.FAILED);
      assert.match(String((r.error as NodeJS.ErrnoException).code), /ENOTDIR|ENOENT/);
      // a LoggerProvider on top of it keeps working: emit never throws
      const provider = new LoggerProvider({
        processors: [new SimpleLogRecordProcessor({ exporter })],
      });
      provider.getLogger('x').emit({ body: 'still fine' });
      await provider.forceFlush();
      await provider.shutdown();
      assert.ok(capture.errors.length >= 1);
    });

    it('export after shutdown returns FAILED and never throws', async () => {
      const path = tmpPath();
      const exporter = new JsonlFileExporter({ path });
      await exportOnce(exporter, [plain('before')]);
      await exporter.shutdown();
      await exporter.shutdown(); // idempotent
      const r = await exportOnce(exporter, [plain('after')]);
      assert.equal(r.code, ExportResultCode.FAILED);
      assert.match(String(r.error), /after shutdown/);
      assert.equal(readLines(path).length, 1);
      assert.ok(existsSync(path));
    });

    it('a record whose encoding throws is dropped and counted; the rest of the batch is written', async () => {
      const path = tmpPath();
      const exporter = new JsonlFileExporter({ path });
      const bad = plain('bad');
      Object.defineProperty(bad, 'body', {
        get() {
          throw new Error('hostile getter');
        },
      });
      const r = await exportOnce(exporter, [plain('ok1'), bad, plain('ok2')]);
      assert.equal(r.code, ExportResultCode.SUCCESS);
      await exporter.shutdown();
      const recs = JSON.parse(readLines(path)[0]!).resourceLogs[0].scopeLogs[0].logRecords;
      assert.deepEqual(
        recs.map((x: Json) => x.body.stringValue),
        ['ok1', 'ok2'],
      );
      assert.equal(exporter.stats().dropped, 1);
      assert.equal(capture.warns.length, 1);
    });
  });
});

describe('OTLP/JSON encoding', () => {
  it('matches the Collector form exactly for a fixed record (golden line)', () => {
    const resource = resourceFromAttributes({ 'service.name': 'svc', 'process.pid': 7 });
    const scope = { name: 'app', version: '1.0', attributes: { 'scope.k': 'v' } };
    const r = new PlainLogRecord({
      resource,
      instrumentationScope: scope,
      hrTime: [1700000000, 1],
      hrTimeObserved: [1700000000, 2],
      severityNumber: SeverityNumber.ERROR,
      severityText: 'ERROR',
      body: 'boom',
      attributes: { k: 'v', n: 1 },
      spanContext: { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0 },
    });
    assert.equal(
      encodeLogsRequest([r]).json,
      '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}},' +
        '{"key":"process.pid","value":{"intValue":"7"}}]},"scopeLogs":[{"scope":{"name":"app","version":"1.0",' +
        '"attributes":[{"key":"scope.k","value":{"stringValue":"v"}}]},"logRecords":[{"timeUnixNano":"1700000000000000001",' +
        '"observedTimeUnixNano":"1700000000000000002","severityNumber":17,"severityText":"ERROR",' +
        '"body":{"stringValue":"boom"},"attributes":[{"key":"k","value":{"stringValue":"v"}},' +
        `{"key":"n","value":{"intValue":"1"}}],"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}"}]}]}]}`,
    );
  });

  it('writes an empty scope and resource as {}', () => {
    const r = plain('x', resourceFromAttributes({}), { name: '' });
    assert.equal(
      encodeLogsRequest([r]).json,
      '{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"timeUnixNano":"1795000000000000000",' +
        '"observedTimeUnixNano":"1795000000000000000","severityNumber":9,"body":{"stringValue":"x"}}]}]}]}',
    );
  });

  it('groups by identity, not equality: equal but distinct resources stay apart', () => {
    const scope = { name: 's' };
    const r1 = plain('1', resourceFromAttributes({ a: 1 }), scope);
    const r2 = plain('2', resourceFromAttributes({ a: 1 }), scope);
    const json: Json = JSON.parse(encodeLogsRequest([r1, r2, r2, r1]).json);
    assert.equal(json.resourceLogs.length, 3, 'r1, r2 (twice), r1 again: batch order kept');
    assert.equal(json.resourceLogs[1].scopeLogs[0].logRecords.length, 2);
  });

  it('nanosecond strings are exact, including fallbacks', () => {
    assert.equal(hrTimeToNanosString([1795000000, 999999999]), '1795000000999999999');
    assert.equal(hrTimeToNanosString([1, 0]), '1000000000');
    assert.equal(hrTimeToNanosString([0, 5]), '5');
    assert.equal(hrTimeToNanosString([0, 0]), '');
    assert.equal(hrTimeToNanosString([1.5, 0]), '1500000000');
    assert.equal(hrTimeToNanosString([Number.NaN, 0]), '');
  });

  it('cuts cycles and handles BigInt, Date and out-of-range integers without throwing', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const r = plain('x');
    r.body = {
      cyclic,
      big: 12345678901234567890n,
      huge: 1e300,
      when: new Date(0),
    } as unknown as AnyValue;
    const rec: Json = JSON.parse(encodeLogsRequest([r]).json).resourceLogs[0].scopeLogs[0]
      .logRecords[0];
    const b = kv(rec.body.kvlistValue.values);
    assert.deepEqual(kv(b.cyclic.kvlistValue.values).self, { stringValue: '[Circular]' });
    assert.deepEqual(b.big, { doubleValue: 12345678901234567000 });
    assert.deepEqual(b.huge, { doubleValue: 1e300 });
    assert.deepEqual(b.when, { stringValue: '1970-01-01T00:00:00.000Z' });
  });
});

const defaultResource = resourceFromAttributes({ 'service.name': 'test' });
const defaultScope = { name: 'test' };
function plain(body: string, resource = defaultResource, scope = defaultScope): PlainLogRecord {
  return new PlainLogRecord({
    resource,
    instrumentationScope: scope,
    hrTime: [1795000000, 0],
    severityNumber: SeverityNumber.INFO,
    body,
  });
}
