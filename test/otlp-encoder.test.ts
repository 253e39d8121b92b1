/**
 * starlog's one-pass OTLP encoder writes the same bytes as the official `ProtobufLogsSerializer`
 * (`@opentelemetry/otlp-transformer`) for the same records: real SDK records and generated
 * records of every field and AnyValue type, compared byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AnyValue, type Attributes, SeverityNumber } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { encodeLogsRequest, LogsRequestBuilder, writerPool } from '../src/otlp/logs-encoder.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { Prng } from './support/fuzz/corpus.ts';
import { anyValue, NUMBERS, STRINGS } from './support/values.ts';

function same(records: ReadableLogRecord[], what: string): void {
  const official = Buffer.from(ProtobufLogsSerializer.serializeRequest(records) as Uint8Array);
  const ours = encodeLogsRequest(records);
  if (!official.equals(ours)) {
    let i = 0;
    while (i < official.length && official[i] === ours[i]) i++;
    assert.fail(
      `${what}: bytes differ at ${i} (official ${official.length} bytes, ours ${ours.length})`,
    );
  }
}

/** A deterministic pseudo-random source (mulberry32). (the fuzz corpus's `Prng`), as a float in [0, 1) */
function rng(seed: number): () => number {
  const source = new Prng(seed);
  return () => source.u32() / 4294967296;
}

describe('OTLP encoder: byte-identical to ProtobufLogsSerializer', () => {
  test('every AnyValue type, alone, as body and as attribute', () => {
    const resource = resourceFromAttributes({ 'service.name': 'enc' });
    const scope = { name: 'enc-test' };
    const values: unknown[] = [
      ...STRINGS,
      ...NUMBERS,
      true,
      false,
      null,
      undefined,
      new Uint8Array(0),
      new Uint8Array([1, 2, 3]),
      Buffer.from('buffer bytes'),
      [],
      [1, 'two', 3.5, [4, [5]], { six: 6 }, null, undefined],
      {},
      { nested: { deeper: { deepest: ['a', { b: true }] } } },
      { ключ: 'значение', '': '', '🙂': 1.25 },
      Object.create({ inherited: 1 }, { own: { value: 2, enumerable: true } }),
      () => 'function',
      Symbol('s'),
      12n,
      new Date(0),
      new Map([['a', 1]]),
    ];
    for (const [i, v] of values.entries()) {
      const rec = new PlainLogRecord({
        resource,
        instrumentationScope: scope,
        hrTime: [1_700_000_000, 123_456_789],
        body: v as AnyValue,
        attributes: { value: v } as Attributes,
      });
      same([rec], `value #${i} (${typeof v})`);
    }
  });

  test('every LogRecord field; several resources and scopes interleaved keep the official grouping', () => {
    const r1 = resourceFromAttributes({ 'service.name': 'a', n: 1, list: ['x', 'y'] });
    const r2 = resourceFromAttributes({}, { schemaUrl: 'https://example.com/schema/1' });
    const s1 = {
      name: 'one',
      version: '1.0.0',
      schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
    };
    const s2 = { name: '', attributes: { k: 'v' }, droppedAttributesCount: 2 } as never;
    const s3 = { name: 'три' };
    const records: ReadableLogRecord[] = [];
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const rec = new PlainLogRecord({
        resource: i % 3 === 0 ? r2 : r1,
        instrumentationScope: [s1, s2, s3][i % 3 === 1 ? 0 : (i * 7) % 3] as never,
        hrTime: [Math.floor(r() * 2 ** 32), Math.floor(r() * 1e9)],
        hrTimeObserved: [1_800_000_000 + i, 999_999_999],
        severityNumber: [undefined, 0, 1, 9, 17, 24][i % 6] as SeverityNumber | undefined,
        severityText: ['', 'INFO', undefined, 'ОШИБКА'][i % 4],
        body: i % 5 === 0 ? undefined : (anyValue(r, 0) as AnyValue),
        eventName: i % 4 === 0 ? 'app.event' : i % 4 === 1 ? '' : undefined,
        droppedAttributesCount: i % 7,
        spanContext:
          i % 2 === 0
            ? {
                traceId: '0af7651916cd43dd8448eb211c80319c',
                spanId: i % 4 === 0 ? 'b7ad6b7169203331' : '',
                traceFlags: i % 3,
              }
            : undefined,
        attributes: Object.fromEntries(
          Array.from({ length: i % 9 }, (_, j) => [`k${j}`, anyValue(r, 1)]),
        ) as Attributes,
      });
      records.push(rec);
    }
    same(records, '300 mixed records');
  });

  test('generated records (5,000, seeded), in batches of varied size', () => {
    const resource = resourceFromAttributes({ 'service.name': 'gen', pid: 42 });
    const scopes = [{ name: 'a' }, { name: 'b', version: '2' }];
    const r = rng(2026);
    for (let batch = 0; batch < 50; batch++) {
      const records: ReadableLogRecord[] = [];
      const n = 1 + Math.floor(r() * 200);
      for (let i = 0; i < n; i++) {
        const attrs: Record<string, unknown> = {};
        const na = Math.floor(r() * 6);
        for (let j = 0; j < na; j++) attrs[`attr.${j}`] = anyValue(r, 0);
        records.push(
          new PlainLogRecord({
            resource,
            instrumentationScope: scopes[Math.floor(r() * 2)] as never,
            hrTime: [1_700_000_000 + batch, Math.floor(r() * 1e9)],
            severityNumber: Math.floor(r() * 25),
            severityText: 'INFO',
            body: anyValue(r, 0) as AnyValue,
            attributes: attrs as Attributes,
          }),
        );
      }
      same(records, `batch ${batch}`);
    }
  });

  test('records of the real SDK (LogRecordImpl), through a builder with a writer pool', () => {
    const seen: ReadableLogRecord[] = [];
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk' }),
      processors: [
        {
          onEmit: (rec) => seen.push(rec),
          forceFlush: async () => {},
          shutdown: async () => {},
        },
      ],
    });
    const a = provider.getLogger('app');
    const b = provider.getLogger('db', '1.2.3');
    for (let i = 0; i < 2000; i++) {
      (i % 3 === 0 ? b : a).emit({
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        body: `handled request ${i}`,
        attributes: { route: '/orders', status: 200, ms: 1.5, user: 'u1', list: [1, 2], i },
      });
    }
    same(seen, 'SDK records');
    const pool = writerPool(2, 64);
    const builder = new LogsRequestBuilder(pool);
    for (let round = 0; round < 3; round++) {
      for (const rec of seen) builder.add(rec);
      assert.equal(builder.count, seen.length);
      const bytes = builder.build();
      assert.equal(builder.count, 0);
      assert.ok(
        Buffer.from(ProtobufLogsSerializer.serializeRequest(seen) as Uint8Array).equals(bytes),
        `round ${round}: reused buffers give the same bytes`,
      );
    }
  });

  test('a record the official serializer cannot write (cyclic body) throws and leaves the batch intact', () => {
    const resource = resourceFromAttributes({});
    const scope = { name: 's' };
    const ok = new PlainLogRecord({ resource, instrumentationScope: scope, body: 'fine' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = new PlainLogRecord({
      resource,
      instrumentationScope: scope,
      body: cyclic as never,
    });
    const builder = new LogsRequestBuilder();
    builder.add(ok);
    assert.throws(() => builder.add(bad), RangeError);
    builder.add(ok);
    assert.equal(builder.count, 2);
    const official = Buffer.from(ProtobufLogsSerializer.serializeRequest([ok, ok]) as Uint8Array);
    assert.ok(official.equals(builder.build()));
  });
});
