/**
 * Checks the body and attributes of a LogRecord without decoding them, so that the logs decoder
 * can keep them as bytes (materialised only when asked for, written to the JSON-lines file by
 * transcoding). A value passes only in its plain, canonical form, for which the transcoded
 * OTLP/JSON is byte for byte what the materialised value gives:
 *
 * - an AnyValue has at most one field, of a known kind and wire type (no merged pieces);
 * - a KeyValue has at most one key and one value, no other field; a key does not start with a
 *   digit (JavaScript orders integer-like keys first) and no key repeats in its list (the last
 *   would win in an object);
 * - an ArrayValue/KeyValueList has only `values` fields, at most `maxCollectionLength`;
 * - nesting stays within `maxDepth` and within the file encoder's `MAX_DEPTH`.
 *
 * Anything else (also malformed bytes: the reader throws and the scan answers false) makes the
 * decoder decode the whole record the exact way instead, which rejects what it must.
 *
 * @module
 */
import { COUNT_PREFIX } from '../semconv.ts';
import { MAX_DEPTH } from './json-encoder.ts';
import type { ProtobufReader } from './protobuf-reader.ts';

/** What the scan needs of the decoder's limits. */
export interface ScanLimits {
  readonly maxDepth: number;
  readonly maxCollectionLength: number;
}

/** `starlog.count.` (the prefix of `inc()` counters, `processors/status/counters.ts`) as bytes */
/** Keys compared for repeats per list; longer lists take the exact path. */
const MAX_LIST_KEYS = 64;
const COUNT_PREFIX_BYTES = Buffer.from(COUNT_PREFIX, 'latin1');

/**
 * Scans values for one decoder (shares its reader). `counterKeys` is set when an attribute key
 * scanned by {@link attribute} starts with `starlog.count.`.
 */
export class ValueScan {
  private readonly r: ProtobufReader;
  private readonly maxDepth: number;
  private readonly maxCollectionLength: number;
  /** key ranges of the list being scanned, per depth: start, length, … */
  private readonly keys = new Int32Array((MAX_DEPTH + 1) * MAX_LIST_KEYS * 2);
  /** number of keys in each list being scanned, by depth */
  private readonly keyCounts = new Int32Array(MAX_DEPTH + 1);
  counterKeys = false;

  constructor(r: ProtobufReader, limits: ScanLimits) {
    this.r = r;
    this.maxDepth = Math.min(limits.maxDepth, MAX_DEPTH);
    this.maxCollectionLength = limits.maxCollectionLength;
  }

  /** Starts the attributes of a record. */
  startRecord(): void {
    this.counterKeys = false;
    this.keyCounts[0] = 0;
  }

  /**
   * Scans one attribute KeyValue [start, end) of the record (see {@link startRecord}); false when
   * it does not pass or is malformed. Never throws.
   */
  attribute(start: number, end: number): boolean {
    try {
      return this.keyValue(start, end, 1, 0);
    } catch {
      return false;
    }
  }

  /** Scans the body's AnyValue [start, end); false when it does not pass or is malformed. Never throws. */
  body(start: number, end: number): boolean {
    try {
      return this.anyValue(start, end, 1);
    } catch {
      return false;
    }
  }

  /** Scans an AnyValue [start, end) at `depth` (1: a body or an attribute's value). */
  private anyValue(start: number, end: number, depth: number): boolean {
    if (depth > this.maxDepth) return false;
    const r = this.r;
    r.pos = start;
    if (start === end) return true;
    const tag = r.tag(end);
    switch (tag) {
      case 0x0a: // string
      case 0x3a: {
        // bytes
        const len = r.length(end);
        r.pos += len;
        break;
      }
      case 0x10: // bool
      case 0x18: // int
        r.varint32(end);
        break;
      case 0x21: // double
        if (r.pos + 8 > end) return false;
        r.pos += 8;
        break;
      case 0x2a: {
        const len = r.length(end);
        const s = r.pos;
        if (!this.list(s, s + len, depth, false)) return false;
        r.pos = s + len;
        break;
      }
      case 0x32: {
        const len = r.length(end);
        const s = r.pos;
        if (!this.list(s, s + len, depth, true)) return false;
        r.pos = s + len;
        break;
      }
      default:
        return false;
    }
    return r.pos === end;
  }

  /** An ArrayValue (`kv` false) or KeyValueList whose items are at depth + 1. */
  private list(start: number, end: number, depth: number, kv: boolean): boolean {
    const r = this.r;
    if (kv) this.keyCounts[depth] = 0;
    let n = 0;
    r.pos = start;
    while (r.pos < end) {
      if (r.tag(end) !== 0x0a) return false;
      const len = r.length(end);
      const s = r.pos;
      if (++n > this.maxCollectionLength) return false;
      if (!kv) {
        if (!this.anyValue(s, s + len, depth + 1)) return false;
      } else if (!this.keyValue(s, s + len, depth + 1, depth)) return false;
      r.pos = s + len;
    }
    return true;
  }

  /**
   * A KeyValue whose value is at `depth`, an item of list `list` (0: the record's attributes, d: a
   * kvlist at depth d); its key range is kept there (no repeat allowed).
   */
  private keyValue(start: number, end: number, depth: number, list: number): boolean {
    const r = this.r;
    let key = -1;
    let keyLen = 0;
    let value = false;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag === 0x0a && key < 0) {
        keyLen = r.length(end);
        key = r.pos;
        r.pos += keyLen;
      } else if (tag === 0x12 && !value) {
        const len = r.length(end);
        const s = r.pos;
        if (!this.anyValue(s, s + len, depth)) return false;
        r.pos = s + len;
        value = true;
      } else return false;
    }
    if (key < 0) {
      key = start;
      keyLen = 0;
    }
    const b = r.buf;
    if (keyLen > 0) {
      const c = b[key]!;
      if (c >= 0x30 && c <= 0x39) return false; // integer-like keys come first in an object
      if (list === 0 && c === 0x73 && keyLen >= COUNT_PREFIX_BYTES.length && !this.counterKeys) {
        this.counterKeys =
          b.compare(
            COUNT_PREFIX_BYTES,
            0,
            COUNT_PREFIX_BYTES.length,
            key,
            key + COUNT_PREFIX_BYTES.length,
          ) === 0;
      }
    }
    const keys = this.keys;
    const n = this.keyCounts[list]!;
    if (n >= MAX_LIST_KEYS) return false; // long lists: the exact path
    const base = list * MAX_LIST_KEYS * 2;
    for (let i = base; i < base + n * 2; i += 2) {
      if (keys[i + 1] !== keyLen) continue;
      const other = keys[i]!;
      let j = 0;
      while (j < keyLen && b[other + j] === b[key + j]) j++;
      if (j === keyLen) return false; // a repeated key
    }
    keys[base + n * 2] = key;
    keys[base + n * 2 + 1] = keyLen;
    this.keyCounts[list] = n + 1;
    return true;
  }
}
