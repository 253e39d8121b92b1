import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { type AnyValue, context, SeverityNumber, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  detectColors,
  PrettyConsoleExporter,
  type PrettyConsoleExporterOptions,
} from '../src/exporters/pretty-console.ts';
import { escapeControl, quoteString } from '../src/util/escape.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

/** A Writable that keeps every chunk it receives. */
class Sink extends Writable {
  chunks: string[] = [];
  isTTY?: boolean;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk.toString('utf8'));
    cb();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const T = [1795255200, 123456789] as [number, number]; // 2026-11-21T10:00:00.123Z
const resource = resourceFromAttributes({ 'service.name': 'shop', 'process.pid': 1234 });
const scope = { name: 'app.http' };

function rec(init: Partial<ConstructorParameters<typeof PlainLogRecord>[0]> = {}): PlainLogRecord {
  return new PlainLogRecord({
    resource,
    instrumentationScope: scope,
    hrTime: T,
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    ...init,
  });
}

function run(records: ReadableLogRecord[], options: PrettyConsoleExporterOptions = {}) {
  const sink = new Sink();
  const exporter = new PrettyConsoleExporter({ colors: false, stream: sink, ...options });
  return new Promise<{ sink: Sink; result: ExportResult }>((resolve) =>
    exporter.export(records, (result) => resolve({ sink, result })),
  );
}

const ESC = '\x1b';

describe('PrettyConsoleExporter', () => {
  it('default layout: time, padded level, pid and scope, body, attributes', async () => {
    const { sink, result } = await run([
      rec({ body: 'handled GET /', attributes: { status: 200, 'task.name': 'handle order' } }),
      rec({ body: 'no attrs', severityNumber: SeverityNumber.ERROR }),
    ]);
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(
      sink.text,
      '2026-11-21T10:00:00.123Z INFO  [pid 1234 app.http] handled GET /  {status=200 task.name="handle order"}\n' +
        '2026-11-21T10:00:00.123Z ERROR [pid 1234 app.http] no attrs\n',
    );
  });

  it('formats times per record across seconds (millisecond precision, UTC)', async () => {
    const { sink } = await run(
      [
        rec({ hrTime: [1795255200, 999999999] }),
        rec({ hrTime: [1795255201, 5_000_000] }),
        rec({ hrTime: [1795255200, 0] }),
        rec({ hrTime: [0, 1_000_000] }),
      ],
      { template: '{time}' },
    );
    assert.deepEqual(sink.text.split('\n').slice(0, -1), [
      '2026-11-21T10:00:00.999Z',
      '2026-11-21T10:00:01.005Z',
      '2026-11-21T10:00:00.000Z',
      '1970-01-01T00:00:00.001Z',
    ]);
  });

  it('leaves out empty parts: no pid, no scope, no body', async () => {
    const r = new PlainLogRecord({
      resource: resourceFromAttributes({}),
      instrumentationScope: { name: '' },
      hrTime: T,
      severityNumber: SeverityNumber.WARN,
      attributes: { k: 'v' },
    });
    const { sink } = await run([r]);
    assert.equal(sink.text, '2026-11-21T10:00:00.123Z WARN   {k=v}\n');
  });

  it('template placeholders override the layout', async () => {
    const ctx = trace.setSpanContext(context.active(), {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    const spanContext = trace.getSpanContext(ctx)!;
    const { sink } = await run([rec({ body: 'hi', attributes: { a: 1 }, spanContext })], {
      template: '{level}|{time}|{pid}|{service}|{scope}|{body}|{attributes}|{trace_id}|{span_id}',
    });
    assert.equal(
      sink.text,
      'INFO |2026-11-21T10:00:00.123Z|1234|shop|app.http|hi|{a=1}|0af7651916cd43dd8448eb211c80319c|b7ad6b7169203331\n',
    );
    assert.throws(
      () => new PrettyConsoleExporter({ template: '{nope}' }),
      /unknown placeholder \{nope\}/,
    );
  });

  it('colours levels when colors is true, none when false', async () => {
    const on = await run([rec({ body: 'x' }), rec({ body: 'y', severityNumber: 17 })], {
      colors: true,
    });
    assert.ok(on.sink.text.includes(`${ESC}[32mINFO ${ESC}[39m`), JSON.stringify(on.sink.text));
    assert.ok(on.sink.text.includes(`${ESC}[31mERROR${ESC}[39m`));
    const off = await run([rec({ body: 'x' })], { colors: false });
    assert.ok(!off.sink.text.includes(ESC));
  });

  it('default colours follow the TTY, NO_COLOR and FORCE_COLOR', () => {
    const tty = new Sink();
    tty.isTTY = true;
    const pipe = new Sink();
    assert.equal(detectColors(tty, {}), true);
    assert.equal(detectColors(pipe, {}), false);
    assert.equal(detectColors(tty, { NO_COLOR: '1' }), false);
    assert.equal(detectColors(tty, { NO_COLOR: '' }), true, 'an empty NO_COLOR is ignored');
    assert.equal(detectColors(tty, { TERM: 'dumb' }), false);
    assert.equal(detectColors(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(detectColors(pipe, { FORCE_COLOR: '' }), true);
    assert.equal(detectColors(tty, { FORCE_COLOR: '0' }), false);
    assert.equal(detectColors(tty, { FORCE_COLOR: 'false', NO_COLOR: '' }), false);
    assert.equal(detectColors(pipe, { FORCE_COLOR: '3', NO_COLOR: '1' }), true);
    // the constructor uses it when colors is not given
    const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
    try {
      delete process.env.FORCE_COLOR;
      process.env.NO_COLOR = '1';
      assert.equal(new PrettyConsoleExporter({ stream: tty }).colors, false);
      delete process.env.NO_COLOR;
      assert.equal(new PrettyConsoleExporter({ stream: tty }).colors, process.env.TERM !== 'dumb');
      assert.equal(new PrettyConsoleExporter({ stream: pipe }).colors, false);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('escapes injected ANSI sequences and newlines: one record stays one line', async () => {
    const hostile = '\x1b[31mred\nFAKE ERROR';
    const records = [
      rec({
        body: hostile,
        attributes: {
          'k\x1b[2J\r': 'v\n2026-01-01T00:00:00.000Z ERROR forged',
          'x\u2028': '\u202e',
        },
      }),
    ];
    for (const colors of [false, true]) {
      const { sink } = await run(records, { colors });
      // the hostile ESC never reaches the terminal; with colours only our own SGR codes appear
      const text = sink.text.replace(/\x1b\[(?:2|22|32|39)m/g, '');
      assert.ok(!text.includes(ESC), JSON.stringify(text));
      assert.equal(text.split('\n').length, 2, 'exactly one line');
      assert.ok(!text.includes('\r'));
      assert.ok(!text.includes('\u2028') && !text.includes('\u202e'));
      assert.ok(text.includes('\\x1b[31mred\\nFAKE ERROR'), text);
      assert.ok(text.includes('"k\\x1b[2J\\r"='), text);
      assert.ok(text.includes('"v\\n2026-01-01T00:00:00.000Z ERROR forged"'), text);
      assert.ok(text.includes('"x\\u2028"=\\u202e'), text);
    }
  });

  it('escape helpers', () => {
    assert.equal(escapeControl('plain text é ✓'), 'plain text é ✓');
    assert.equal(escapeControl('a\tb\0c\x7f\x9b\u0085'), 'a\\tb\\0c\\x7f\\x9b\\x85');
    assert.equal(escapeControl('C:\\dir'), 'C:\\dir', 'backslashes stay in plain text');
    assert.equal(quoteString('say "hi"\\'), '"say \\"hi\\"\\\\"');
  });

  it('renders non-string bodies compactly and never throws', async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const bodies: unknown[] = [
      { a: 1, b: [true, 'x\n', null], c: { d: 1.5 } },
      [1, 2],
      new Uint8Array([1, 2, 255]),
      12345678901234567890n,
      42,
      cyclic,
      new Date(0),
    ];
    const { sink } = await run(
      bodies.map((b) => rec({ body: b as AnyValue })),
      {
        template: '{body}',
      },
    );
    assert.deepEqual(sink.text.split('\n').slice(0, -1), [
      '{"a":1,"b":[true,"x\\n",null],"c":{"d":1.5}}',
      '[1,2]',
      '<3 bytes 0102ff>',
      '12345678901234567890',
      '42',
      '{"a":1,"self":[Circular]}',
      '1970-01-01T00:00:00.000Z',
    ]);
  });

  it('status records read as STAT: body only by default, counters unprefixed in {attributes}', async () => {
    const status = new PlainLogRecord({
      resource,
      instrumentationScope: { name: 'starlog.status' },
      hrTime: T,
      severityNumber: SeverityNumber.INFO,
      body: '3 processes, 120 records/s',
      attributes: { 'starlog.count.requests': 12, 'starlog.count.2xx': 10 },
    });
    const { sink } = await run([status]);
    assert.equal(
      sink.text,
      '2026-11-21T10:00:00.123Z STAT  [pid 1234 starlog.status] 3 processes, 120 records/s\n',
    );
    const sink2 = new Sink();
    const templated = new PrettyConsoleExporter({
      stream: sink2,
      colors: false,
      template: '{level} {body} {attributes}',
    });
    await new Promise((resolve) => templated.export([status], resolve));
    assert.equal(sink2.text, 'STAT  3 processes, 120 records/s {requests=12 2xx=10}\n');
  });

  it('one write per export batch, through a real LoggerProvider', async () => {
    const sink = new Sink();
    const exporter = new PrettyConsoleExporter({ stream: sink, colors: false });
    const provider = new LoggerProvider({
      resource,
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    provider.getLogger('app').emit({ body: 'via sdk', severityNumber: SeverityNumber.DEBUG });
    await provider.forceFlush();
    assert.match(sink.text, /^\d{4}-\d\d-\d\dT[\d:.]+Z DEBUG \[pid 1234 app\] via sdk\n$/);
    const before = sink.chunks.length;
    const batch = Array.from({ length: 5 }, (_, i) => rec({ body: `r${i}` }));
    await new Promise((resolve) => exporter.export(batch, resolve));
    assert.equal(sink.chunks.length, before + 1);
    assert.equal(sink.chunks.at(-1)!.split('\n').length, 6);
    await provider.shutdown();
    const after = await new Promise<ExportResult>((resolve) =>
      exporter.export([rec({ body: 'late' })], resolve),
    );
    assert.equal(after.code, ExportResultCode.FAILED);
  });

  it('a failing stream gives FAILED results, never a throw or a crash', async () => {
    const failing = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('EPIPE-like'));
      },
    });
    const exporter = new PrettyConsoleExporter({ stream: failing, colors: false });
    const r1 = await new Promise<ExportResult>((resolve) =>
      exporter.export([rec({ body: 'x' })], resolve),
    );
    assert.equal(r1.code, ExportResultCode.FAILED);
    const r2 = await new Promise<ExportResult>((resolve) =>
      exporter.export([rec({ body: 'y' })], resolve),
    );
    assert.equal(r2.code, ExportResultCode.FAILED);
    await exporter.shutdown();
  });
});
