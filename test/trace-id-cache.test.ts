import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SeverityNumber, TraceFlags, trace } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { LoggerProvider, type ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { OtlpLogsDecoder } from '../src/otlp/logs-decoder.ts';
import type { SlicingBuffer } from '../src/otlp/protobuf-reader.ts';
import { TraceIdCache } from '../src/otlp/trace-id-cache.ts';

/** SDK records, one per trace id given, in that order; serialized as a child sends them. */
function request(traceIds: string[]): Uint8Array {
  const records: ReadWriteLogRecord[] = [];
  const logger = new LoggerProvider({
    processors: [
      { onEmit: (r) => records.push(r), forceFlush: async () => {}, shutdown: async () => {} },
    ],
  }).getLogger('test');
  for (const [i, traceId] of traceIds.entries()) {
    const context = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: randomBytes(8).toString('hex'),
      traceFlags: TraceFlags.SAMPLED,
    });
    logger.emit({ severityNumber: SeverityNumber.DEBUG, body: `r${i}`, context });
  }
  return ProtobufLogsSerializer.serializeRequest(records)!;
}

const ids = (n: number) => Array.from({ length: n }, () => randomBytes(16).toString('hex'));

type Hex = { hexSlice(start: number, end: number): string };

/** Runs `f` counting the hex strings made of 16 bytes (trace ids) by any Buffer. */
function countTraceIdStrings(f: () => void): number {
  const proto = Buffer.prototype as unknown as Hex;
  const original = proto.hexSlice;
  let n = 0;
  proto.hexSlice = function (this: Buffer, start: number, end: number) {
    if (end - start === 16) n++;
    return original.call(this, start, end);
  };
  try {
    f();
  } finally {
    proto.hexSlice = original;
  }
  return n;
}

describe('trace id strings of decoded records', () => {
  it('a trace seen before gets the string made the first time, across interleaved traces and requests', () => {
    const traces = ids(300);
    const decoder = new OtlpLogsDecoder();
    const first = request(traces);
    const again = request([...traces].reverse()); // the same traces in a later request
    let a: ReturnType<OtlpLogsDecoder['decode']>['records'] = [];
    let b: typeof a = [];
    assert.equal(
      countTraceIdStrings(() => {
        a = decoder.decode(first).records;
      }),
      300,
    );
    // 300 traces in 2,048 sets of two: a set gets a third trace now and then (its oldest goes)
    const madeAgain = countTraceIdStrings(() => {
      b = decoder.decode(again).records;
    });
    assert.ok(madeAgain <= 30, `${madeAgain} of 300 trace id strings made again (at most 30)`);
    for (const [i, r] of a.entries()) {
      assert.equal(r.spanContext?.traceId, traces[i]);
      assert.equal(b[traces.length - 1 - i]!.spanContext?.traceId, traces[i]);
    }
  });

  it('is exact beyond its capacity, for ids that share their last bytes, at any offset', () => {
    const cache = new TraceIdCache();
    const buf = (hex: string) => Buffer.from(hex, 'hex') as SlicingBuffer;
    // 10,000 ids (more than the 4,096 entries), then ids equal in their last 12 bytes (one set)
    const many = ids(10_000);
    const sameTail = Array.from(
      { length: 50 },
      (_, i) => `${i.toString(16).padStart(8, '0')}${'ab'.repeat(4)}${'cd'.repeat(4)}0badcafe`,
    );
    for (let round = 0; round < 2; round++) {
      for (const id of [...many, ...sameTail]) assert.equal(cache.get(buf(id), 0), id);
    }
    const b = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(many[0]!, 'hex')]);
    assert.equal(cache.get(b as SlicingBuffer, 3), many[0]);
    // a hit makes no string
    const recent = sameTail.at(-1)!;
    assert.equal(
      countTraceIdStrings(() => assert.equal(cache.get(buf(recent), 0), recent)),
      0,
    );
  });
});
