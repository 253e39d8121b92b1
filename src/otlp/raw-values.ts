/**
 * Reads AnyValue/KeyValue messages into the OTLP/JSON form ({@link OtlpJsonAnyValue}) exactly:
 * every type, duplicate and empty keys, in wire order. Used for resources, which are decoded once
 * per distinct resource and cached, so this path favours exactness over speed.
 *
 * Protobuf merge rules (https://protobuf.dev/programming-guides/encoding/#last-one-wins): a
 * scalar member of the AnyValue oneof read twice, last wins; an `array_value`/`kvlist_value` read
 * twice (or an AnyValue sent in two pieces) merges: the values append.
 *
 * @module
 */
import {
  OtlpDecodeError,
  type ProtobufReader,
  WT_I64,
  WT_LEN,
  WT_VARINT,
} from './protobuf-reader.ts';
import type { OtlpJsonAnyValue, OtlpJsonKeyValue } from './value-types.ts';

/** The limits the reading honours (see `OtlpDecodeLimits`). */
export interface RawLimits {
  readonly maxDepth: number;
  readonly maxCollectionLength: number;
}

/** A double in the OTLP/JSON mapping: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`. */
export function jsonDouble(v: number): number | string {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

/** Reads the KeyValue message [start, end); `depth` is the depth of its value. */
export function readRawKeyValue(
  r: ProtobufReader,
  start: number,
  end: number,
  depth: number,
  limits: RawLimits,
): OtlpJsonKeyValue {
  let key = '';
  let value: OtlpJsonAnyValue = {};
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag(end);
    const field = tag >>> 3;
    if (field === 1 && r.is(tag, WT_LEN, end)) key = r.string(end);
    else if (field === 2 && r.is(tag, WT_LEN, end)) {
      const len = r.length(end);
      const s = r.pos;
      value = readRawAnyValue(r, s, s + len, depth, limits, value);
      r.pos = s + len;
    } else if (field !== 1 && field !== 2) r.skip(tag, end);
  }
  return { key, value };
}

/** Reads the AnyValue message [start, end), merged into `prev` (a previous piece of it). */
export function readRawAnyValue(
  r: ProtobufReader,
  start: number,
  end: number,
  depth: number,
  limits: RawLimits,
  prev: OtlpJsonAnyValue,
): OtlpJsonAnyValue {
  if (depth > limits.maxDepth) {
    throw new OtlpDecodeError(
      'limit',
      `AnyValue nested deeper than maxDepth ${limits.maxDepth}`,
      start,
    );
  }
  let value = prev;
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag(end);
    const field = tag >>> 3;
    if (field === 1 && r.is(tag, WT_LEN, end)) value = { stringValue: r.string(end) };
    else if (field === 2 && r.is(tag, WT_VARINT, end)) {
      value = { boolValue: r.varint32(end) !== 0 || r.hi !== 0 };
    } else if (field === 3 && r.is(tag, WT_VARINT, end)) value = { intValue: String(r.int64(end)) };
    else if (field === 4 && r.is(tag, WT_I64, end))
      value = { doubleValue: jsonDouble(r.double(end)) };
    else if ((field === 5 || field === 6 || field === 7) && r.is(tag, WT_LEN, end)) {
      const len = r.length(end);
      const s = r.pos;
      const e = s + len;
      if (field === 7) value = { bytesValue: r.buf.toString('base64', s, e) };
      else if (field === 5) {
        const values = 'arrayValue' in value ? value.arrayValue.values : [];
        readList(r, s, e, limits, values.length, (ps, pe) =>
          values.push(readRawAnyValue(r, ps, pe, depth + 1, limits, {})),
        );
        value = { arrayValue: { values } };
      } else {
        const values = 'kvlistValue' in value ? value.kvlistValue.values : [];
        readList(r, s, e, limits, values.length, (ps, pe) =>
          values.push(readRawKeyValue(r, ps, pe, depth + 1, limits)),
        );
        value = { kvlistValue: { values } };
      }
      r.pos = e;
    } else if (field < 1 || field > 7) r.skip(tag, end);
  }
  return value;
}

/** Calls `each` for every field 1 (`values`) of an ArrayValue/KeyValueList message [start, end). */
function readList(
  r: ProtobufReader,
  start: number,
  end: number,
  limits: RawLimits,
  count: number,
  each: (start: number, end: number) => void,
): void {
  let n = count;
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag >>> 3 === 1 && r.is(tag, WT_LEN, end)) {
      const len = r.length(end);
      const s = r.pos;
      if (++n > limits.maxCollectionLength) {
        throw new OtlpDecodeError(
          'limit',
          `collection longer than maxCollectionLength ${limits.maxCollectionLength}`,
          s,
        );
      }
      each(s, s + len);
      r.pos = s + len;
    } else if (tag >>> 3 !== 1) r.skip(tag, end);
  }
}
