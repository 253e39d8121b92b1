/**
 * Decodes the values of a LogRecord (AnyValue, KeyValue, ArrayValue, KeyValueList) into
 * JavaScript values, with protobuf's merge rules and the double marks of `value-types.ts`. Used
 * by the logs decoder for scope attributes and for records it does not keep lazily, and by
 * {@link materialiseRecordValues} when a lazily kept record's body or attributes are asked for.
 *
 * Value mapping: see `OtlpLogsDecoder`. Field numbers: `common/v1/common.proto` (KeyValue:
 * 1 key, 2 value; AnyValue oneof: 1 string, 2 bool, 3 int, 4 double, 5 array, 6 kvlist, 7 bytes),
 * `logs/v1/logs.proto` (LogRecord: 5 body, 6 attributes).
 *
 * @module
 */
import type { AnyValue, Attributes } from '@opentelemetry/api';
import { OtlpDecodeError, ProtobufReader, WT_I64, WT_LEN, WT_VARINT } from './protobuf-reader.ts';
import { markDouble, unmarkDouble } from './value-types.ts';

/** The limits the value decoder honours (see `OtlpDecodeLimits`). */
export interface ValueLimits {
  readonly maxDepth: number;
  readonly maxAttributes: number;
  readonly maxCollectionLength: number;
}

/** Expected wire type of AnyValue fields 0..7. */
const ANY_WIRE_TYPES = [-1, WT_LEN, WT_VARINT, WT_VARINT, WT_I64, WT_LEN, WT_LEN, WT_LEN];

function isKvlist(v: AnyValue): v is Record<string, AnyValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * Reads values with a {@link ProtobufReader} it shares with its owner. Throws
 * {@link OtlpDecodeError} for malformed bytes or exceeded limits.
 */
export class ValueDecoder {
  readonly r: ProtobufReader;
  readonly limits: ValueLimits;
  /** whether the last AnyValue read is a whole double (see value-types.ts) */
  whole = false;
  /** whether a double mark was set since the owner last cleared it */
  marked = false;

  constructor(r: ProtobufReader, limits: ValueLimits) {
    this.r = r;
    this.limits = limits;
  }

  /** Reads one length-delimited KeyValue at the reader's position into `into`, honouring maxAttributes. */
  attribute(
    end: number,
    into: Record<string, unknown>,
    counter: { n: number; dropped: number },
  ): void {
    const r = this.r;
    const len = r.length(end);
    const s = r.pos;
    const e = s + len;
    if (counter.n >= this.limits.maxAttributes) counter.dropped++;
    else {
      this.keyValue(s, e, into, 1);
      counter.n++;
    }
    r.pos = e;
  }

  /** Decodes a KeyValue message [start, end) into `into`. `depth` is the depth of its value. */
  keyValue(start: number, end: number, into: Record<string, unknown>, depth: number): void {
    const r = this.r;
    let key = '';
    let value: AnyValue = null;
    let whole = false;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field === 1 && r.is(tag, WT_LEN, end)) key = r.key(end);
      else if (field === 2 && r.is(tag, WT_LEN, end)) {
        const len = r.length(end);
        const s = r.pos;
        value = this.anyValue(s, s + len, depth, value, whole);
        whole = this.whole;
        r.pos = s + len;
      } else if (field !== 1 && field !== 2) r.skip(tag, end);
    }
    if (key === '__proto__') {
      Object.defineProperty(into, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      into[key] = value;
    }
    if (whole) {
      markDouble(into, key);
      this.marked = true;
    } else if (this.marked && typeof value === 'number') unmarkDouble(into, key);
  }

  /**
   * Decodes an AnyValue message [start, end), merged into `prev` (an earlier piece of the same
   * value; `prevWhole`: it is a whole double). Scalars: the last wins; arrays and kvlists of the
   * same kind merge. None → null. Leaves in `whole` whether the result is a whole double.
   */
  anyValue(
    start: number,
    end: number,
    depth: number,
    prev: AnyValue,
    prevWhole: boolean,
  ): AnyValue {
    if (depth > this.limits.maxDepth) {
      throw new OtlpDecodeError(
        'limit',
        `AnyValue nested deeper than maxDepth ${this.limits.maxDepth}`,
        start,
      );
    }
    const r = this.r;
    let value: AnyValue = prev === undefined ? null : prev;
    let whole = prevWhole;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field > 7 || (tag & 7) !== ANY_WIRE_TYPES[field]) {
        r.skip(tag, end);
        continue;
      }
      if (field === 4) {
        const d = r.double(end);
        value = d;
        whole = Number.isInteger(d) && !Object.is(d, -0);
        continue;
      }
      whole = false;
      switch (field) {
        case 1:
          value = r.string(end);
          break;
        case 2:
          value = r.varint32(end) !== 0 || r.hi !== 0;
          break;
        case 3:
          value = r.int64(end) as AnyValue;
          break;
        default: {
          const len = r.length(end);
          const s = r.pos;
          if (field === 5)
            value = this.arrayValue(s, s + len, depth, Array.isArray(value) ? value : []);
          else if (field === 6)
            value = this.kvlistValue(s, s + len, depth, isKvlist(value) ? value : {});
          else value = new Uint8Array(r.buf.subarray(s, s + len)); // a copy
          r.pos = s + len;
        }
      }
    }
    this.whole = whole;
    return value;
  }

  arrayValue(start: number, end: number, depth: number, out: AnyValue[]): AnyValue[] {
    const r = this.r;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag >>> 3 === 1 && r.is(tag, WT_LEN, end)) {
        const len = r.length(end);
        const s = r.pos;
        if (out.length >= this.limits.maxCollectionLength) {
          throw new OtlpDecodeError(
            'limit',
            `array longer than maxCollectionLength ${this.limits.maxCollectionLength}`,
            s,
          );
        }
        const i = out.length;
        out.push(this.anyValue(s, s + len, depth + 1, null, false));
        if (this.whole) {
          markDouble(out, i);
          this.marked = true;
        }
        r.pos = s + len;
      } else if (tag >>> 3 !== 1) r.skip(tag, end);
    }
    return out;
  }

  kvlistValue(
    start: number,
    end: number,
    depth: number,
    out: Record<string, AnyValue>,
  ): Record<string, AnyValue> {
    const r = this.r;
    let n = Object.keys(out).length;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag >>> 3 === 1 && r.is(tag, WT_LEN, end)) {
        const len = r.length(end);
        const s = r.pos;
        if (++n > this.limits.maxCollectionLength) {
          throw new OtlpDecodeError(
            'limit',
            `kvlist longer than maxCollectionLength ${this.limits.maxCollectionLength}`,
            s,
          );
        }
        this.keyValue(s, s + len, out, depth + 1);
        r.pos = s + len;
      } else if (tag >>> 3 !== 1) r.skip(tag, end);
    }
    return out;
  }
}

/** The body and attributes of a LogRecord, as {@link materialiseRecordValues} decodes them. */
export interface RecordValues {
  body: AnyValue | undefined;
  attributes: Attributes;
  /** the body is a whole double */
  bodyWhole: boolean;
  /** a whole double was marked in the attributes or inside the body */
  marked: boolean;
}

/** No limit: the records materialised here passed the decoder's limits when they were received. */
const NO_LIMITS: ValueLimits = {
  maxDepth: Number.MAX_SAFE_INTEGER,
  maxAttributes: Number.MAX_SAFE_INTEGER,
  maxCollectionLength: Number.MAX_SAFE_INTEGER,
};
const lazyReader = new ProtobufReader();
const lazyValues = new ValueDecoder(lazyReader, NO_LIMITS);

/**
 * Decodes the body (field 5) and attributes (field 6) of the LogRecord message `buf[start, end)`
 * that the logs decoder checked when it received it (so no limit applies here). Never throws:
 * bytes that fail anyway give what was decoded so far.
 */
export function materialiseRecordValues(buf: Uint8Array, start: number, end: number): RecordValues {
  const r = lazyReader;
  const v = lazyValues;
  const out: RecordValues = { body: undefined, attributes: {}, bodyWhole: false, marked: false };
  const counter = { n: 0, dropped: 0 };
  v.marked = false;
  r.reset(buf);
  try {
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === 0x2a) {
        const len = r.length(end);
        const s = r.pos;
        out.body = v.anyValue(s, s + len, 1, out.body, out.bodyWhole);
        out.bodyWhole = v.whole;
        r.pos = s + len;
      } else if (tag === 0x32) v.attribute(end, out.attributes, counter);
      else r.skip(tag, end);
    }
  } catch {
    // not expected: the bytes were checked when the request was received
  } finally {
    r.release();
  }
  out.marked = v.marked;
  return out;
}
