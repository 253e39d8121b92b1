import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SeverityNumber, trace } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { IngestedLogRecord } from '../src/multiprocess/receiver/ingested-log-record.ts';
import { hrTimeFromNanos, OtlpDecodeError, OtlpLogsDecoder } from '../src/otlp/logs-decoder.ts';
import { encodeLogsRequest } from '../src/otlp/logs-encoder.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { Prng } from './support/fuzz/corpus.ts';
import { varint as pbVarint } from './support/protobuf.ts';
import { asReceived, emittedRecord, receivedRecord, SCHEMA_URL } from './support/records.ts';

// ---- a tiny protobuf writer for hand-made (and broken) messages --------------------------------

const varint = (value: number | bigint): Buffer => Buffer.from(pbVarint(value));
const tag = (field: number, wireType: number): Buffer => varint((field << 3) | wireType);
const ld = (field: number, ...parts: (Buffer | string)[]): Buffer => {
  const body = Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)),
  );
  return Buffer.concat([tag(field, 2), varint(body.length), body]);
};
const vi = (field: number, value: number | bigint): Buffer =>
  Buffer.concat([tag(field, 0), varint(value)]);
const f64 = (field: number, ns: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(ns);
  return Buffer.concat([tag(field, 1), b]);
};
/** ExportLogsServiceRequest with one resource, one scope and the given LogRecord bodies */
const request = (resource: Buffer, scope: Buffer, ...records: Buffer[]): Buffer =>
  ld(1, ld(1, resource), ld(2, ld(1, scope), ...records.map((r) => ld(2, r))));
const kv = (key: string, anyValue: Buffer): Buffer => Buffer.concat([ld(1, key), ld(2, anyValue)]);

// ---- records made by the real SDK and the official serializer -----------------------------------

async function sdkRecords(
  emit: (provider: LoggerProvider) => void,
  resource = resourceFromAttributes({
    'service.name': 'decoder-test',
    'process.pid': 4242,
    'starlog.role': 'child',
  }),
): Promise<ReadableLogRecord[]> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource,
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  emit(provider);
  await provider.forceFlush();
  const records = exporter.getFinishedLogRecords();
  await provider.shutdown();
  return records;
}

function serialize(records: ReadableLogRecord[]): Uint8Array {
  const bytes = ProtobufLogsSerializer.serializeRequest(records);
  assert.ok(bytes);
  return bytes;
}

function assertSameRecord(actual: IngestedLogRecord, sdk: ReadableLogRecord): void {
  assert.deepEqual(actual.hrTime, sdk.hrTime);
  assert.deepEqual(actual.hrTimeObserved, sdk.hrTimeObserved);
  assert.equal(actual.severityNumber, sdk.severityNumber);
  assert.equal(actual.severityText, sdk.severityText);
  assert.deepEqual(actual.body, asReceived(sdk.body));
  assert.deepEqual(actual.attributes, asReceived(sdk.attributes));
  assert.equal(actual.eventName, sdk.eventName);
  assert.equal(actual.droppedAttributesCount, sdk.droppedAttributesCount);
  if (sdk.spanContext) {
    assert.ok(actual.spanContext);
    assert.equal(actual.spanContext.traceId, sdk.spanContext.traceId);
    assert.equal(actual.spanContext.spanId, sdk.spanContext.spanId);
    assert.equal(actual.spanContext.traceFlags, sdk.spanContext.traceFlags);
  } else {
    assert.equal(actual.spanContext, undefined);
  }
  assert.deepEqual(actual.resource.attributes, sdk.resource.attributes);
  assert.equal(actual.instrumentationScope.name, sdk.instrumentationScope.name);
  assert.equal(actual.instrumentationScope.version, sdk.instrumentationScope.version);
  assert.equal(actual.instrumentationScope.schemaUrl, sdk.instrumentationScope.schemaUrl);
}

/** A small deterministic PRNG (mulberry32) so failures reproduce. (the fuzz corpus's `Prng`), as a float in [0, 1) */
function prng(seed: number): () => number {
  const source = new Prng(seed);
  return () => source.u32() / 4294967296;
}

function decodeOrTypedError(decoder: OtlpLogsDecoder, bytes: Uint8Array): 'ok' | 'error' {
  try {
    decoder.decode(bytes);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof OtlpDecodeError, `expected OtlpDecodeError, got ${String(err)}`);
    assert.ok(err.kind === 'malformed' || err.kind === 'limit');
    return 'error';
  }
}

describe('OtlpLogsDecoder against the official serializer', () => {
  it('round-trips every field of SDK records: all AnyValue types, attributes, timestamps, trace context', async () => {
    const records = await sdkRecords((provider) => {
      const logger = provider.getLogger('fixture.child', '1.0.0', {
        schemaUrl: SCHEMA_URL,
        attributes: { 'scope.k': 'v' },
      });
      for (let i = 0; i < 70; i++) logger.emit(emittedRecord(3, i));
    });
    assert.equal(records.length, 70);
    const { records: decoded, perResource } = new OtlpLogsDecoder().decode(serialize(records));
    assert.equal(decoded.length, 70);
    for (let i = 0; i < 70; i++) {
      assert.ok(decoded[i] instanceof IngestedLogRecord);
      assertSameRecord(decoded[i], records[i]);
      // and against the independent expectation (e.g. nanoseconds, isRemote)
      const e = receivedRecord(3, i);
      assert.deepEqual(decoded[i].hrTime, e.hrTime);
      assert.deepEqual(decoded[i].body, e.body);
      assert.deepEqual(decoded[i].spanContext, e.spanContext);
    }
    assert.deepEqual(decoded[0].instrumentationScope, {
      name: 'fixture.child',
      version: '1.0.0',
      schemaUrl: SCHEMA_URL,
      attributes: { 'scope.k': 'v' },
    });
    assert.deepEqual(decoded[0].resource.attributes, {
      'service.name': 'decoder-test',
      'process.pid': 4242,
      'starlog.role': 'child',
    });
    assert.deepEqual(
      perResource.map((p) => [p.entry.pid, p.entry.serviceName, p.records]),
      [['4242', 'decoder-test', 70]],
    );
  });

  it('decodes each AnyValue type as the body and as nested values', async () => {
    const bodies = [
      'plain',
      '',
      'ünïcødé ✓ 🚀 日本語',
      true,
      false,
      0,
      1,
      -1,
      2147483647,
      -2147483648,
      4294967296,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      2 ** 60,
      -(2 ** 62),
      0.1,
      -1.5e300,
      Number.POSITIVE_INFINITY,
      new Uint8Array([0, 1, 254, 255]),
      new Uint8Array(0),
      [],
      [1, 'a', false, 2.5, null, new Uint8Array([7]), [1, [2, [3]]], { k: 'v' }],
      {},
      { a: { b: { c: { d: [1, { e: 'deep' }] } } }, empty: {}, list: [], n: null },
      null,
    ];
    const records = await sdkRecords((provider) => {
      const logger = provider.getLogger('types');
      for (const body of bodies) logger.emit({ body: body as never });
    });
    const { records: decoded } = new OtlpLogsDecoder().decode(serialize(records));
    assert.equal(decoded.length, bodies.length);
    for (let i = 0; i < bodies.length; i++)
      assert.deepEqual(decoded[i].body, asReceived(bodies[i]), `body #${i}`);
    assert.ok(Number.isNaN((await decodeBody(Number.NaN)) as number));
  });

  it('leaves absent fields undefined and keeps empty ones', async () => {
    const records = await sdkRecords((provider) => {
      provider.getLogger('empty').emit({ timestamp: [1, 2], observedTimestamp: [3, 4] });
      provider.getLogger('empty').emit({
        timestamp: [5, 6],
        body: '',
        attributes: { s: '', l: [] },
        severityNumber: SeverityNumber.UNSPECIFIED,
      });
    });
    const { records: decoded } = new OtlpLogsDecoder().decode(serialize(records));
    const [a, b] = decoded;
    assert.deepEqual(a.hrTime, [1, 2]);
    assert.deepEqual(a.hrTimeObserved, [3, 4]);
    assert.equal(a.body, undefined);
    assert.equal(a.severityNumber, undefined);
    assert.equal(a.severityText, undefined);
    assert.equal(a.eventName, undefined);
    assert.equal(a.spanContext, undefined);
    assert.deepEqual(a.attributes, {});
    assert.equal(a.droppedAttributesCount, 0);
    assert.deepEqual(a.instrumentationScope, { name: 'empty' });
    assert.equal(b.body, '');
    assert.deepEqual(b.attributes, { s: '', l: [] });
  });

  it('keeps the SDK dropped attribute count and trace flags', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      processors: [new SimpleLogRecordProcessor({ exporter })],
      logRecordLimits: { attributeCountLimit: 2 },
    });
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: 1,
    });
    provider.getLogger('limits').emit({ attributes: { a: 1, b: 2, c: 3, d: 4 }, context: ctx });
    await provider.forceFlush();
    const [sdk] = exporter.getFinishedLogRecords();
    assert.equal(sdk.droppedAttributesCount, 2);
    const [rec] = new OtlpLogsDecoder().decode(serialize([sdk])).records;
    assert.equal(rec.droppedAttributesCount, 2);
    assert.deepEqual(rec.spanContext, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: 1,
      isRemote: true,
    });
    assert.equal(rec.flags, 1);
  });

  it('caches one Resource per distinct resource and one scope object per distinct scope', async () => {
    const resA = resourceFromAttributes({ 'service.name': 'a', 'process.pid': 1 });
    const resB = resourceFromAttributes({ 'service.name': 'b', 'process.pid': '2' });
    const fromA = await sdkRecords((p) => {
      p.getLogger('s1').emit({ body: 1 });
      p.getLogger('s2', '2.0').emit({ body: 2 });
      p.getLogger('s1').emit({ body: 3 });
    }, resA);
    const fromB = await sdkRecords((p) => p.getLogger('s1').emit({ body: 4 }), resB);
    const decoder = new OtlpLogsDecoder();
    const first = decoder.decode(serialize([...fromA, ...fromB]));
    const second = decoder.decode(serialize([...fromB, ...fromA]));
    const byBody = (records: IngestedLogRecord[], body: number) =>
      records.find((r) => r.body === body) as IngestedLogRecord;
    const [a1, a2, a3, b4] = [1, 2, 3, 4].map((n) => byBody(first.records, n));
    assert.equal(a1.resource, a2.resource);
    assert.notEqual(a1.resource, b4.resource);
    assert.equal(a1.instrumentationScope, a3.instrumentationScope);
    assert.notEqual(a1.instrumentationScope, a2.instrumentationScope);
    assert.notEqual(
      a1.instrumentationScope,
      b4.instrumentationScope,
      'same scope bytes under another resource',
    );
    // identity is stable across requests
    assert.equal(byBody(second.records, 1).resource, a1.resource);
    assert.equal(byBody(second.records, 4).resource, b4.resource);
    assert.equal(byBody(second.records, 2).instrumentationScope, a2.instrumentationScope);
    assert.deepEqual(
      first.perResource.map((p) => [p.entry.pid, p.records]),
      [
        ['1', 3],
        ['2', 1],
      ],
    );
    assert.deepEqual(decoder.cacheSize(), { resources: 2, scopes: 3 });
  });

  it('bounds its caches (LRU)', () => {
    const decoder = new OtlpLogsDecoder({ maxResources: 2, maxScopes: 3 });
    for (let i = 0; i < 10; i++) {
      decoder.decode(request(ld(1, kv('process.pid', vi(3, i))), ld(1, `scope-${i}`), f64(1, 1n)));
    }
    assert.deepEqual(decoder.cacheSize(), { resources: 2, scopes: 3 });
  });
});

async function decodeBody(body: unknown): Promise<unknown> {
  const records = await sdkRecords((p) => p.getLogger('x').emit({ body: body as never }));
  return new OtlpLogsDecoder().decode(serialize(records)).records[0].body;
}

describe('OtlpLogsDecoder value mapping (hand-made bytes)', () => {
  const res = ld(1, kv('service.name', ld(1, 'hand')));
  const scope = ld(1, 'hand.scope');

  it('splits fixed64 nanoseconds exactly into HrTime', () => {
    const cases = [
      0n,
      1n,
      999_999_999n,
      1_000_000_000n,
      1_700_000_000_123_456_789n,
      2n ** 62n - 1n,
      2n ** 62n,
      2n ** 64n - 1n,
    ];
    const random = prng(7);
    for (let i = 0; i < 2000; i++) {
      cases.push(
        BigInt(Math.floor(random() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(random() * 2 ** 32)),
      );
    }
    for (const ns of cases) {
      const lo = Number(ns & 0xffffffffn);
      const hi = Number(ns >> 32n);
      assert.deepEqual(
        hrTimeFromNanos(lo, hi),
        [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)],
        `ns=${ns}`,
      );
    }
    const [rec] = new OtlpLogsDecoder().decode(
      request(
        res,
        scope,
        Buffer.concat([f64(1, 1_700_000_000_123_456_789n), f64(11, 1_700_000_001_000_000_001n)]),
      ),
    ).records;
    assert.deepEqual(rec.hrTime, [1_700_000_000, 123_456_789]);
    assert.deepEqual(rec.hrTimeObserved, [1_700_000_001, 1]);
  });

  it('keeps int64 values exact: numbers when safe integers, bigints beyond', () => {
    const ints: [bigint, number | bigint][] = [
      [0n, 0],
      [-1n, -1],
      [2n ** 53n - 1n, 2 ** 53 - 1],
      [2n ** 53n, 2n ** 53n],
      [2n ** 53n + 1n, 9007199254740993n],
      [2n ** 63n - 1n, 9223372036854775807n],
      [-(2n ** 63n), -(2n ** 63n)],
      [-(2n ** 53n) - 1n, -9007199254740993n],
      [-4294967296n, -4294967296],
    ];
    const attrs = ints.map(([v], i) => ld(6, kv(`i${i}`, vi(3, v))));
    const [rec] = new OtlpLogsDecoder().decode(request(res, scope, Buffer.concat(attrs))).records;
    for (const [i, [, expected]] of ints.entries())
      assert.equal(rec.attributes[`i${i}`], expected, `i${i}`);
  });

  it('decodes invalid UTF-8 leniently (U+FFFD), and enum/flags/unknown fields', () => {
    const bad = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0xc3]);
    const record = Buffer.concat([
      ld(5, ld(1, bad)),
      vi(2, 17),
      ld(3, 'ERROR'),
      vi(99, 12345), // unknown varint field
      ld(98, 'unknown bytes'),
      Buffer.concat([tag(97, 5), Buffer.alloc(4)]),
      Buffer.concat([tag(8, 5), Buffer.from([0x01, 0x02, 0, 0])]),
      ld(9, Buffer.alloc(16, 0xab)),
      ld(10, Buffer.alloc(8, 0xcd)),
      ld(12, 'my.event'),
    ]);
    const [rec] = new OtlpLogsDecoder().decode(request(res, scope, record)).records;
    assert.equal(rec.body, 'a\ufffd\ufffdb\ufffd');
    assert.equal(rec.severityNumber, 17);
    assert.equal(rec.severityText, 'ERROR');
    assert.equal(rec.flags, 0x0201);
    assert.deepEqual(rec.spanContext, {
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      traceFlags: 1,
      isRemote: true,
    });
    assert.equal(rec.eventName, 'my.event');
    assert.deepEqual(rec.hrTime, [0, 0], 'absent time_unix_nano stays unknown');
    assert.ok(
      rec.hrTimeObserved[0] > 1_600_000_000,
      'absent observed time becomes the receive time',
    );
  });

  it('keeps trace id and span id independently; drops wrong-length or all-zero ones', () => {
    const decoder = new OtlpLogsDecoder();
    const T = '01'.repeat(16);
    const S = '01'.repeat(8);
    const Z16 = '0'.repeat(32);
    const Z8 = '0'.repeat(16);
    const variants: [Buffer, string | undefined, string | undefined][] = [
      [Buffer.concat([ld(9, Buffer.alloc(15, 1)), ld(10, Buffer.alloc(8, 1))]), Z16, S],
      [Buffer.concat([ld(9, Buffer.alloc(16, 1)), ld(10, Buffer.alloc(9, 1))]), T, Z8],
      [Buffer.concat([ld(9, Buffer.alloc(16, 0)), ld(10, Buffer.alloc(8, 1))]), Z16, S],
      [Buffer.concat([ld(9, Buffer.alloc(16, 1)), ld(10, Buffer.alloc(8, 0))]), T, Z8],
      [ld(9, Buffer.alloc(16, 1)), T, Z8],
      [ld(10, Buffer.alloc(8, 1)), Z16, S],
      [
        Buffer.concat([ld(9, Buffer.alloc(15, 1)), ld(10, Buffer.alloc(7, 1))]),
        undefined,
        undefined,
      ],
    ];
    for (const [v, traceId, spanId] of variants) {
      const sc = decoder.decode(request(res, scope, v)).records[0].spanContext;
      assert.equal(sc?.traceId, traceId);
      assert.equal(sc?.spanId, spanId);
    }
    const flagsOnly = Buffer.concat([tag(8, 5), Buffer.from([0xff, 0x01, 0, 0x80])]);
    const [rec] = decoder.decode(request(res, scope, flagsOnly)).records;
    assert.equal(rec.spanContext, undefined);
    assert.equal(rec.flags, 0x800001ff, 'all 32 bits of flags, without any id');
  });

  it('stores a __proto__ key as an own property without touching the prototype', () => {
    const record = Buffer.concat([
      ld(6, kv('__proto__', ld(6, ld(1, kv('polluted', ld(1, 'yes')))))),
    ]);
    const [rec] = new OtlpLogsDecoder().decode(request(res, scope, record)).records;
    assert.equal(Object.getPrototypeOf(rec.attributes), Object.prototype);
    assert.ok(Object.hasOwn(rec.attributes, '__proto__'));
    assert.equal((rec.attributes as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('merges a resource split over several fields and handles missing resource/scope', () => {
    const split = ld(
      1,
      ld(1, ld(1, kv('a', ld(1, 'x')))),
      ld(1, ld(1, kv('b', ld(1, 'y')))),
      ld(2, ld(2, f64(1, 5n))),
    );
    const [rec] = new OtlpLogsDecoder().decode(split).records;
    assert.deepEqual(rec.resource.attributes, { a: 'x', b: 'y' });
    assert.deepEqual(rec.instrumentationScope, { name: '' });
    assert.deepEqual(rec.hrTime, [0, 5]);
    assert.deepEqual(new OtlpLogsDecoder().decode(new Uint8Array(0)).records, []);
  });
});

describe('OtlpLogsDecoder limits and malformed input', () => {
  const res = ld(1, kv('service.name', ld(1, 'hostile')));
  const scope = ld(1, 's');

  it('rejects AnyValue nesting deeper than maxDepth with a limit error', () => {
    let value = ld(1, 'leaf');
    for (let d = 1; d < 40; d++) value = ld(5, ld(1, value)); // arrays in arrays
    const bytes = request(res, scope, ld(5, value));
    assert.throws(
      () => new OtlpLogsDecoder().decode(bytes),
      (err: unknown) =>
        err instanceof OtlpDecodeError && err.kind === 'limit' && /maxDepth/.test(err.message),
    );
    assert.doesNotThrow(() => new OtlpLogsDecoder({ maxDepth: 64 }).decode(bytes));
  });

  it('drops attributes beyond maxAttributes and counts them', () => {
    const attrs = Array.from({ length: 6 }, (_, i) => ld(6, kv(`k${i}`, vi(3, i))));
    const [rec] = new OtlpLogsDecoder({ maxAttributes: 4 }).decode(
      request(res, scope, Buffer.concat([...attrs, vi(7, 3)])),
    ).records;
    assert.deepEqual(rec.attributes, { k0: 0, k1: 1, k2: 2, k3: 3 });
    assert.equal(rec.droppedAttributesCount, 5);
  });

  it('rejects collections longer than maxCollectionLength and messages over maxMessageBytes', () => {
    const list = ld(5, ...Array.from({ length: 11 }, () => ld(1, vi(2, 1))));
    assert.throws(
      () =>
        new OtlpLogsDecoder({ maxCollectionLength: 10 }).decode(request(res, scope, ld(5, list))),
      (err: unknown) => err instanceof OtlpDecodeError && err.kind === 'limit',
    );
    const bytes = request(res, scope, ld(5, ld(1, 'x'.repeat(2000))));
    assert.throws(
      () => new OtlpLogsDecoder({ maxMessageBytes: 1000 }).decode(bytes),
      (err: unknown) => err instanceof OtlpDecodeError && err.kind === 'limit',
    );
  });

  it('rejects bogus lengths without allocating them', () => {
    const hugeLength = Buffer.concat([tag(1, 2), varint(2 ** 31), Buffer.from('abc')]);
    const hugerLength = Buffer.concat([tag(1, 2), varint(2n ** 40n), Buffer.from('abc')]);
    for (const bytes of [hugeLength, hugerLength]) {
      assert.throws(
        () => new OtlpLogsDecoder().decode(bytes),
        (err: unknown) =>
          err instanceof OtlpDecodeError && err.kind === 'malformed' && /length/.test(err.message),
      );
    }
    // an 11-byte varint, an unterminated group, an end group without a start, field number 0
    for (const bytes of [
      Buffer.concat([tag(1, 0), Buffer.alloc(10, 0xff), Buffer.from([1])]),
      Buffer.concat([tag(1, 3)]),
      Buffer.concat([tag(5, 4)]),
      Buffer.concat([tag(5, 3), tag(6, 4)]),
      Buffer.from([0x02, 0x00]),
    ]) {
      assert.throws(() => new OtlpLogsDecoder().decode(bytes), OtlpDecodeError);
    }
  });

  it('answers every truncation of a valid request with a result or a typed error', async () => {
    const records = await sdkRecords((p) => {
      const logger = p.getLogger('fixture.child', '1.0.0', { schemaUrl: SCHEMA_URL });
      for (let i = 0; i < 14; i++) logger.emit(emittedRecord(1, i));
    });
    const bytes = Buffer.from(serialize(records));
    const decoder = new OtlpLogsDecoder();
    let errors = 0;
    for (let cut = 0; cut < bytes.length; cut++) {
      if (decodeOrTypedError(decoder, bytes.subarray(0, cut)) === 'error') errors++;
    }
    assert.ok(errors > bytes.length * 0.9, `${errors} of ${bytes.length} truncations rejected`);
    // the decoder still works after all that
    assert.equal(decoder.decode(bytes).records.length, 14);
  });

  it('answers random bytes and random mutations with a result or a typed error', async () => {
    const random = prng(42);
    const decoder = new OtlpLogsDecoder();
    for (let n = 0; n < 3000; n++) {
      const bytes = Buffer.alloc(Math.floor(random() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      decodeOrTypedError(decoder, bytes);
    }
    const records = await sdkRecords((p) => {
      const logger = p.getLogger('m');
      for (let i = 0; i < 7; i++) logger.emit(emittedRecord(2, i));
    });
    const valid = Buffer.from(serialize(records));
    for (let n = 0; n < 3000; n++) {
      const mutated = Buffer.from(valid);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++)
        mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      decodeOrTypedError(decoder, mutated);
    }
  });

  it('validates its options', () => {
    assert.throws(() => new OtlpLogsDecoder({ maxDepth: 0 }), /maxDepth/);
    assert.throws(() => new OtlpLogsDecoder({ maxAttributes: 1.5 }), /maxAttributes/);
  });
});

describe('OtlpLogsDecoder record order', () => {
  it('returns one sender’s records in exact time order, ties in wire order, times kept as sent', () => {
    const resource = resourceFromAttributes({ 'service.name': 'order' });
    const at = (ns: bigint): [number, number] => [Number(ns / 10n ** 9n), Number(ns % 10n ** 9n)];
    const base = 1_700_000_000_000_000_000n; // beyond 2^53 ns: 1 ns apart is not a double apart
    const sent: [string, bigint][] = [
      ['c', base + 2n],
      ['a1', base],
      ['b', base + 1n],
      ['a2', base],
      ['d', base + 5_000_000_000n],
      ['a3', base],
    ];
    const request = (records: [string, bigint][]) =>
      encodeLogsRequest(
        records.map(
          ([body, ns]) =>
            new PlainLogRecord({
              resource,
              instrumentationScope: { name: 's' },
              hrTime: at(ns),
              body,
            }),
        ),
      );
    const bytes = request(sent);
    const inOrder = request([...sent].sort((x, y) => (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0)));
    const { records } = new OtlpLogsDecoder().decode(bytes);
    assert.deepEqual(
      records.map((r) => r.body),
      ['a1', 'a2', 'a3', 'b', 'c', 'd'],
    );
    // already in order (equal times included): nothing is made to compare them
    const kept = new OtlpLogsDecoder().decode(inOrder).records as IngestedLogRecord[];
    assert.ok(kept.every((r) => r.timeHi >= 0));
    assert.deepEqual(
      kept.map((r) => r.hrTime),
      ['a1', 'a2', 'a3', 'b', 'c', 'd'].map((b) => at(sent.find(([x]) => x === b)![1])),
    );
  });
});
