/**
 * The JSON-lines writer transcodes the body and attributes of received records that nobody
 * decoded or changed straight from their protobuf bytes. The line must be byte for byte the line
 * written from the same records once decoded (and the string encoder's): generated records of
 * every AnyValue type, hand-built values the SDK cannot send (int64 beyond 2^53, whole doubles,
 * -0, padded varints, invalid UTF-8, repeated and integer-like keys, deep nesting), and the fuzz
 * corpus's mutations of real requests.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnyValue, Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { IngestedLogRecord } from '../src/multiprocess/receiver/ingested-log-record.ts';
import { encodeLogsRequest as encodeJson } from '../src/otlp/json-encoder.ts';
import { encodeLogsRequestLine } from '../src/otlp/json-line-writer.ts';
import { OtlpLogsDecoder } from '../src/otlp/logs-decoder.ts';
import { encodeLogsRequest } from '../src/otlp/logs-encoder.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import {
  deepAnyValue,
  makeSeeds,
  mutateBytes,
  mutateStructure,
  oneRecord,
  Prng,
} from './support/fuzz/corpus.ts';
import {
  concat,
  lenField,
  stringField,
  tag,
  varint,
  WT_I64,
  WT_VARINT,
} from './support/protobuf.ts';
import { anyValue } from './support/values.ts';

/** Decodes `bytes` twice: lazily kept records, and the same records decoded at once. */
function both(bytes: Uint8Array, decoder = new OtlpLogsDecoder()) {
  const lazy = decoder.decode(bytes).records;
  const decoded = decoder.decode(bytes).records;
  for (const [i, r] of decoded.entries()) {
    void r.body; // decodes body and attributes
    r.hrTimeObserved = lazy[i]!.hrTimeObserved; // the receive time, when the sender sent none
  }
  return { lazy, decoded };
}

/** Asserts the transcoded line equals the decoded records' line (and the string encoder's). */
function same(bytes: Uint8Array, what: string, decoder?: OtlpLogsDecoder): number {
  const { lazy, decoded } = both(bytes, decoder);
  const nLazy = lazy.filter((r) => r.isLazy).length;
  const a = encodeLogsRequestLine(lazy).line;
  const b = encodeLogsRequestLine(decoded).line;
  if (!a.equals(b)) {
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    assert.fail(
      `${what}: lines differ at byte ${i}:\n transcoded …${a.subarray(Math.max(0, i - 60), i + 60).toString()}\n decoded    …${b.subarray(Math.max(0, i - 60), i + 60).toString()}`,
    );
  }
  assert.equal(b.toString(), `${encodeJson(decoded).json}\n`, `${what}: string encoder`);
  return nLazy;
}

const resource = resourceFromAttributes({ 'service.name': 'transcode', 'process.pid': 7 });
const scope = { name: 'transcode' };

function plain(body: unknown, attributes: Record<string, unknown>): PlainLogRecord {
  return new PlainLogRecord({
    resource,
    instrumentationScope: scope,
    hrTime: [1_700_000_000, 5],
    severityNumber: 9,
    severityText: 'INFO',
    body: body as AnyValue,
    attributes: attributes as Attributes,
  });
}

/** A request of one record with these LogRecord fields after a time and a severity. */
function record(...fields: Uint8Array[]): Uint8Array {
  const time = concat([tag(1, WT_I64), Buffer.from('0010a5d4e8000000', 'hex')]);
  return oneRecord(concat([time, tag(2, WT_VARINT), varint(9), ...fields]));
}
const body = (v: Uint8Array) => lenField(5, v);
const attr = (key: string, v: Uint8Array | undefined) =>
  lenField(6, concat([stringField(1, key), ...(v === undefined ? [] : [lenField(2, v)])]));
const int = (v: bigint) => concat([tag(3, WT_VARINT), varint(v)]);
const dbl = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return concat([tag(4, WT_I64), b]);
};
const str = (s: string) => stringField(1, s);
const bytesValue = (b: Uint8Array) => lenField(7, b);
const array = (...items: Uint8Array[]) => lenField(5, concat(items.map((i) => lenField(1, i))));
const kvlist = (...kvs: [string, Uint8Array][]) =>
  lenField(
    6,
    concat(kvs.map(([k, v]) => lenField(1, concat([stringField(1, k), lenField(2, v)])))),
  );

describe('JSON-lines transcoding of records kept as bytes', () => {
  test('generated records of every AnyValue type (seeded), as body and attributes', () => {
    const source = new Prng(1313);
    const r = () => source.u32() / 4294967296;
    let lazy = 0;
    let all = 0;
    for (let batch = 0; batch < 20; batch++) {
      const records: ReadableLogRecord[] = [];
      const n = 1 + Math.floor(r() * 100);
      for (let i = 0; i < n; i++) {
        const attrs: Record<string, unknown> = {};
        const na = Math.floor(r() * 6);
        for (let j = 0; j < na; j++) attrs[`attr.${j}`] = anyValue(r, 0);
        if (i % 7 === 0) attrs['7'] = 1; // an integer-like key: JavaScript puts it first
        records.push(plain(anyValue(r, 0), attrs));
      }
      lazy += same(encodeLogsRequest(records), `batch ${batch}`);
      all += n;
    }
    assert.ok(lazy > all / 2, `most records kept as bytes (${lazy} of ${all})`);
  });

  test('values the SDK does not send: int64 beyond 2^53, whole doubles, -0, bytes, odd keys', () => {
    const cases: [string, Uint8Array][] = [
      ['int64 2^60', record(body(int(2n ** 60n)))],
      ['int64 max and min', record(attr('a', int(2n ** 63n - 1n)), attr('b', int(-(2n ** 63n))))],
      [
        'int64 -1, 0, 2^53',
        record(attr('a', int(-1n)), attr('b', int(0n)), attr('c', int(2n ** 53n))),
      ],
      ['small ints', record(attr('a', int(127n)), attr('b', int(128n)), attr('c', int(16384n)))],
      ['whole doubles', record(body(dbl(2)), attr('a', dbl(2 ** 60)), attr('b', dbl(1e21)))],
      [
        '-0, NaN, infinities',
        record(body(dbl(-0)), attr('a', dbl(Number.NaN)), attr('b', dbl(-Infinity))),
      ],
      [
        'doubles in lists',
        record(
          body(array(dbl(3), int(3n), dbl(-0))),
          attr('m', kvlist(['x', dbl(4)], ['y', int(4n)])),
        ),
      ],
      [
        'bytes',
        record(
          body(bytesValue(Uint8Array.of(0, 255, 128))),
          attr('e', bytesValue(new Uint8Array(0))),
        ),
      ],
      [
        'empty values',
        record(body(new Uint8Array(0)), attr('none', undefined), attr('empty', new Uint8Array(0))),
      ],
      [
        'empty lists',
        record(body(array()), attr('k', kvlist()), attr('l', lenField(5, new Uint8Array(0)))),
      ],
      ['empty key', record(attr('', str('v')))],
      [
        'non-ASCII',
        record(
          body(str('Grüße 🙂 世界')),
          attr('ключ', str('значение')),
          attr('🙂', str('"q" \\ \u0001 \u2028')),
        ),
      ],
      [
        'invalid UTF-8',
        record(
          body(lenField(1, Uint8Array.of(0x61, 0xff, 0xed, 0xa0, 0x80))),
          attr('k', lenField(1, Uint8Array.of(0xc0, 0x80))),
        ),
      ],
      [
        'bools, padded',
        record(
          attr('t', concat([tag(2, WT_VARINT), varint(1)])),
          attr('f', concat([tag(2, WT_VARINT), varint(0)])),
          attr(
            'p',
            concat([
              tag(2, WT_VARINT),
              Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02),
            ]),
          ),
        ),
      ],
      ['repeated key', record(attr('a', int(1n)), attr('b', int(2n)), attr('a', dbl(3)))],
      ['repeated key in a kvlist', record(body(kvlist(['a', int(1n)], ['a', str('x')])))],
      ['integer-like keys', record(attr('z', int(1n)), attr('10', int(2n)), attr('2', int(3n)))],
      ['__proto__', record(attr('__proto__', str('p')), attr('x', kvlist(['__proto__', int(1n)])))],
      ['deep arrays', record(body(deepAnyValue(32, 'array')))],
      ['deep kvlists', record(attr('d', deepAnyValue(32, 'kvlist')))],
      ['merged body', record(body(str('a')), body(str('b')))],
      ['two oneof fields', record(body(concat([str('a'), int(5n)])))],
      ['counter key', record(attr('starlog.count.requests', int(3n)))],
      [
        '70 attributes',
        record(...Array.from({ length: 70 }, (_, i) => attr(`k${i}`, int(BigInt(i))))),
      ],
      [
        'a repeat among 40',
        record(...Array.from({ length: 40 }, (_, i) => attr(`k${i % 39}`, str('v')))),
      ],
    ];
    for (const [what, bytes] of cases) same(bytes, what);
    // deeper than the file encoder's MAX_DEPTH, when the decoder allows it
    const deep = new OtlpLogsDecoder({ maxDepth: 40 });
    same(record(body(deepAnyValue(36, 'array'))), 'deeper than MAX_DEPTH', deep);
  });

  test('the fuzz corpus: every mutation that decodes gives the same line', async () => {
    const seeds = await makeSeeds();
    const rng = new Prng(4242);
    let decodedInputs = 0;
    for (let i = 0; i < 1000; i++) {
      const seed = rng.pick(seeds);
      const input = i % 2 === 0 ? mutateStructure(rng, seed).body : mutateBytes(rng, seed).body;
      try {
        new OtlpLogsDecoder().decode(input);
      } catch {
        continue;
      }
      decodedInputs++;
      same(input, `mutation ${i}`);
    }
    assert.ok(decodedInputs > 100, `enough mutations decode (${decodedInputs})`);
  });

  test('the attributes repeated record after record (kept by the decoder and the writer) give the same line', () => {
    // one decoder: each record's attribute run is compared with the previous record's
    const decoder = new OtlpLogsDecoder();
    const run = [attr('route', str('/orders')), attr('status', int(200n))];
    const dropped = concat([tag(7, WT_VARINT), varint(2n)]);
    const cases: [string, Uint8Array][] = [
      ['first', record(body(str('a')), ...run)],
      ['the same run', record(body(str('b')), ...run)],
      ['the same run, then a repeated key', record(...run, attr('route', str('/x')))],
      ['the same run again', record(...run)],
      ['the same run, then another key', record(...run, attr('user', str('u1')))],
      ['the same run, a field, a repeated key', record(...run, dropped, attr('status', int(5n)))],
      ['a run with a field inside', record(run[0]!, dropped, run[1]!)],
      ['the same bytes as that, not kept', record(run[0]!, dropped, run[1]!)],
      ['a counter key', record(attr('starlog.count.requests', int(3n)))],
      ['the counter key again', record(attr('starlog.count.requests', int(3n)))],
      ['a shorter run', record(run[0]!)],
    ];
    for (const [what, bytes] of cases) same(bytes, what, decoder);
    const again = decoder.decode(record(attr('starlog.count.requests', int(3n)))).records;
    assert.equal((again[0] as IngestedLogRecord).counterKeys, true);
    const repeat = decoder.decode(record(...run, attr('route', str('/x')))).records;
    assert.deepEqual(repeat[0]!.attributes, { route: '/x', status: 200 });
  });

  test('changed records are written from their values; reading them decodes once', () => {
    const bytes = record(body(str('hello')), attr('a', int(1n)), attr('s', dbl(2)));
    const { lazy, decoded } = both(bytes);
    const [l] = lazy as [IngestedLogRecord];
    const [d] = decoded as [IngestedLogRecord];
    assert.ok(l.isLazy);
    assert.equal(l.lazyStringBodyBytes(), 5);
    assert.ok(l.lazyByteLength() > 0);
    l.severityNumber = 17; // an eager field: still transcoded
    d.severityNumber = 17;
    assert.ok(encodeLogsRequestLine([l]).line.equals(encodeLogsRequestLine([d]).line));
    assert.ok(l.isLazy);
    l.setAttribute('b', 'x');
    d.setAttribute('b', 'x');
    assert.ok(!l.isLazy);
    assert.equal(l.lazyStringBodyBytes(), -1);
    assert.ok(encodeLogsRequestLine([l]).line.equals(encodeLogsRequestLine([d]).line));
    assert.deepEqual(l.attributes, { a: 1, s: 2, b: 'x' });
  });

  test('times, levels and attribute runs repeated across records, lines and decoders give the same line', () => {
    // the writer copies a time written earlier in the line, the last severity block and the
    // attribute run by the decoder's id: repeats, changes back and forth, two decoders
    const records: PlainLogRecord[] = [];
    const levels: [number | undefined, string | undefined][] = [
      [9, 'INFO'],
      [9, 'INFO'],
      [13, 'WARN'],
      [9, 'INFO'],
      [9, undefined],
      [undefined, 'INFO'],
      [9, 'INFO'],
    ];
    // bodies of 8-16 bytes with a byte to escape (or non-ASCII) at every position: the writer
    // copies ASCII 4 bytes at a time
    const odd = ['"', '\\', '\n', '\u0001', '\u007f', 'é', '€', '\ud83d\ude00', '\ud800'];
    const special = (i: number) => {
      const text = 'abcdefghijklmnop'.slice(0, 8 + (i % 9));
      const at = i % text.length;
      return `${text.slice(0, at)}${odd[i % odd.length]}${text.slice(at)}`;
    };
    // in time order (the decoder keeps the times as sent then), each time repeated, over seconds
    const at = (ns: bigint): [number, number] => [Number(ns / 10n ** 9n), Number(ns % 10n ** 9n)];
    for (let i = 0; i < 40; i++) {
      const [severityNumber, severityText] = levels[i % levels.length]!;
      records.push(
        new PlainLogRecord({
          resource,
          instrumentationScope: scope,
          hrTime: at(1_700_000_000_999_999_000n + BigInt(Math.floor(i / 3)) * 400_000_001n),
          hrTimeObserved: at(1_700_000_001_000_000_000n + BigInt(Math.floor(i / 5)) * 1_000_000n),
          severityNumber,
          severityText,
          body: i % 2 === 0 ? `request ${i}` : special(i),
          attributes:
            i % 6 === 5 ? { route: '/x', status: 500 } : { route: '/orders', status: 200, ms: 1.5 },
        }),
      );
    }
    const bytes = encodeLogsRequest(records);
    const kept = new OtlpLogsDecoder().decode(bytes).records as IngestedLogRecord[];
    assert.ok(kept.every((r) => r.timeHi >= 0 && r.observedHi >= 0 && r.attrRun > 0));
    const one = new OtlpLogsDecoder();
    const two = new OtlpLogsDecoder();
    for (const decoder of [one, two, one, two]) {
      assert.equal(same(bytes, 'repeats', decoder), records.length);
    }
    // invalid UTF-8 and non-ASCII bytes at every position of a 12-byte string
    for (const odd of [[0xff], [0xc3, 0x28], [0xc3, 0xa9], [0xed, 0xa0, 0x80], [0x80]]) {
      for (let at = 0; at <= 12; at++) {
        const text = Buffer.from('abcdefghijkl');
        const raw = Buffer.concat([text.subarray(0, at), Buffer.from(odd), text.subarray(at)]);
        same(record(body(lenField(1, raw))), `bytes ${odd} at ${at}`);
      }
    }
  });
});
