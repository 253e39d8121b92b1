/**
 * The byte-writing OTLP/JSON encoder (`encodeLogsRequestLine`) writes exactly the bytes of the
 * string encoder (`encodeLogsRequest(...).json + '\n'`), for SDK records of every field and type,
 * for received records (raw resources, double marks, 32-bit flags, one id only), for hostile
 * strings and values, and drops what the string encoder drops.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { encodeLogsRequest } from '../src/otlp/json-encoder.ts';
import { encodeLogsRequestLine, releaseLine } from '../src/otlp/json-line-writer.ts';
import { OtlpLogsDecoder } from '../src/otlp/logs-decoder.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { emittedRecord } from './support/records.ts';

function sdkRecords(): ReadableLogRecord[] {
  const exporter = new InMemoryLogRecordExporter();
  const make = (name: string) =>
    new LoggerProvider({
      resource: resourceFromAttributes({
        'service.name': name,
        'process.pid': 1,
        odd: 'a"b\\c\u2028',
      }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
  const a = make('a');
  const b = make('b');
  for (let i = 0; i < 60; i++) {
    const provider = i % 5 === 0 ? b : a;
    provider
      .getLogger(`scope.${i % 3}`, '1.0', { attributes: { n: i % 3, d: 2.5 } })
      .emit(emittedRecord(1, i));
  }
  return exporter.getFinishedLogRecords();
}

function same(records: readonly ReadableLogRecord[], what: string): void {
  const s = encodeLogsRequest(records);
  const b = encodeLogsRequestLine(records);
  assert.equal(b.line.toString('utf8'), `${s.json}\n`, what);
  assert.ok(b.line.equals(Buffer.from(`${s.json}\n`, 'utf8')), `${what}: bytes`);
  assert.equal(b.encoded, s.encoded, `${what}: encoded`);
  assert.equal(b.dropped, s.dropped, `${what}: dropped`);
}

it('writes the bytes of the string encoder for SDK records of every type', () => {
  const records = sdkRecords();
  same(records, 'sdk records');
  same([], 'empty batch');
  // received: the same records through the official serializer and our decoder
  const bytes = ProtobufLogsSerializer.serializeRequest(records)!;
  same(new OtlpLogsDecoder().decode(bytes).records, 'decoded records');
});

it('and for hostile strings, numbers, times and values, dropping what it drops', () => {
  const resource = resourceFromAttributes({ 'service.name': 'h' });
  const scope = { name: 'h' };
  const nasty = [
    '"quoted" \\ back',
    '\u0000\u001f\u2028\u2029\u202e',
    '\ud800 lone',
    'x\udc00',
    '😀 ünï',
    '',
  ];
  const records: PlainLogRecord[] = [];
  for (const s of nasty) {
    records.push(
      new PlainLogRecord({
        resource,
        instrumentationScope: { name: s },
        body: s,
        severityText: s,
        eventName: s,
        attributes: {
          [s]: s,
          nested: { [s]: [s, 1, -0, 2 ** 60, 2 ** 64, 1.5, Number.NaN, -Infinity] },
        },
      }),
    );
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  records.push(
    new PlainLogRecord({ resource, instrumentationScope: scope, body: cyclic as never }),
  );
  records.push(
    new PlainLogRecord({ resource, instrumentationScope: scope, body: (10n ** 30n) as never }),
  );
  records.push(
    new PlainLogRecord({ resource, instrumentationScope: scope, body: new Date(0) as never }),
  );
  records.push(
    new PlainLogRecord({
      resource,
      instrumentationScope: scope,
      hrTime: [0, 5],
      hrTimeObserved: [1.5, 0],
    }),
  );
  records.push(
    new PlainLogRecord({ resource, instrumentationScope: scope, hrTime: [Number.NaN, 0] }),
  );
  const throwing = new PlainLogRecord({ resource, instrumentationScope: scope, body: 'x' });
  Object.defineProperty(throwing, 'attributes', {
    get() {
      throw new Error('hostile getter');
    },
  });
  records.splice(2, 0, throwing);
  same(records, 'hostile');
});

it('lends its scratch buffer with borrow: the same bytes, reused once given back, never overwritten before', () => {
  const records = sdkRecords();
  const copy = encodeLogsRequestLine(records).line;
  const a = encodeLogsRequestLine(records, true).line;
  assert.ok(a.equals(copy), 'a borrowed line holds the same bytes');
  // not given back yet: the next calls (nested, or a caller keeping its line) write elsewhere
  const other = encodeLogsRequestLine(records.slice(0, 3), true).line;
  const plain = encodeLogsRequestLine(records.slice(0, 5)).line;
  assert.ok(a.equals(copy), 'the first borrowed line is intact');
  assert.notEqual(other.buffer, a.buffer);
  assert.ok(plain.equals(encodeLogsRequestLine(records.slice(0, 5)).line));
  releaseLine(a); // another line was lent since: ignored, left to the garbage collector
  releaseLine(other);
  const b = encodeLogsRequestLine(records, true).line;
  assert.equal(b.buffer, other.buffer, 'given back: the next borrowed line reuses the scratch');
  assert.ok(b.equals(copy));
  releaseLine(b);
  releaseLine(b); // twice: ignored
  assert.ok(encodeLogsRequestLine(records).line.equals(copy));
});
