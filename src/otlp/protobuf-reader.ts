/**
 * A minimal protobuf wire-format reader (https://protobuf.dev/programming-guides/encoding/) for
 * the primary's hot path: varints, fixed32/64, doubles, length-delimited fields and the skipping
 * of unknown fields of every wire type, groups (3/4) included. It reads a Node `Buffer` in place;
 * the caller passes the end of the enclosing message to every read, so nothing is read past it.
 *
 * Wire types are the protobuf ones: 0 varint, 1 i64, 2 len, 3 start group, 4 end group, 5 i32.
 *
 * @module
 */

/** Why a request could not be decoded: `malformed` bytes, or a `limit` of the decoder exceeded. */
export type OtlpDecodeErrorKind = 'malformed' | 'limit';

/**
 * Thrown by the reader and by {@link OtlpLogsDecoder.decode} for bytes that are not a valid
 * message (`kind: 'malformed'`) or that exceed a limit (`kind: 'limit'`).
 * Nothing of a failed request is returned (all or nothing).
 */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
  readonly kind: OtlpDecodeErrorKind;
  /** byte offset in the request where the problem was found */
  readonly offset: number;

  constructor(kind: OtlpDecodeErrorKind, message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.kind = kind;
    this.offset = offset;
  }
}

export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
export const WT_SGROUP = 3;
export const WT_EGROUP = 4;
export const WT_I32 = 5;

/** Deepest group nesting skipped (groups are unknown fields here; protobuf's own limit is 100). */
const MAX_GROUP_DEPTH = 64;

const TWO_32 = 4294967296;
const KEY_SLOTS = 1024;
const MAX_KEY_BYTES = 48;

export interface SlicingBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

const EMPTY = Buffer.alloc(0) as SlicingBuffer;

/**
 * Reads protobuf fields from one buffer. State: the buffer, the read position `pos`, and the
 * last 64-bit value read as two uint32 halves `lo`/`hi` (no allocation per value).
 * Every read throws {@link OtlpDecodeError} (`malformed`) instead of reading past `end`.
 */
export class ProtobufReader {
  buf: SlicingBuffer = EMPTY;
  pos = 0;
  /** low 32 bits (uint32) of the last varint/fixed64 read */
  lo = 0;
  /** high 32 bits (uint32) of the last varint/fixed64 read */
  hi = 0;

  /** Starts reading `bytes` (not copied) at offset 0. */
  reset(bytes: Uint8Array): void {
    this.buf = (
      Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    ) as SlicingBuffer;
    this.pos = 0;
  }

  /** Lets go of the buffer (a reader must not pin a request). */
  release(): void {
    this.buf = EMPTY;
    this.pos = 0;
  }

  truncated(): OtlpDecodeError {
    return new OtlpDecodeError('malformed', 'truncated message', this.pos);
  }

  /**
   * Reads a field tag: a varint that must fit in 32 bits (field numbers are at most 2^29 - 1).
   * Without this check a tag like `0x1_0000_000a` would be read as field 1, wire type 2.
   */
  tag(end: number): number {
    const tag = this.varint32(end);
    if (this.hi !== 0) throw new OtlpDecodeError('malformed', 'tag longer than 32 bits', this.pos);
    if (tag >>> 3 === 0) throw new OtlpDecodeError('malformed', 'field number 0', this.pos);
    return tag;
  }

  /**
   * True when `tag` has wire type `wireType`. Otherwise the field is skipped as an unknown one
   * (what Google's parsers do with a known field number of the wrong wire type) and false returned.
   */
  is(tag: number, wireType: number, end: number): boolean {
    if ((tag & 7) === wireType) return true;
    this.skip(tag, end);
    return false;
  }

  /** Reads a varint; returns its low 32 bits (uint32) and leaves bits 32..63 in `hi`. */
  varint32(end: number): number {
    const p = this.pos;
    if (p >= end) throw this.truncated();
    const c = this.buf[p]!;
    if (c < 0x80) {
      this.pos = p + 1;
      this.hi = 0;
      return c;
    }
    this.#varint64From(c, p + 1, end);
    return this.lo;
  }

  /** Slow path of a varint whose first byte `first` was read; result in lo/hi. */
  #varint64From(first: number, p: number, end: number): void {
    const buf = this.buf;
    let lo = first & 0x7f;
    let hi = 0;
    let c = 0;
    for (let shift = 7; shift < 28; shift += 7) {
      if (p >= end) throw this.truncated();
      c = buf[p++]!;
      lo |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.pos = p;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (p >= end) throw this.truncated();
    c = buf[p++]!;
    lo |= (c & 0x7f) << 28;
    hi = (c & 0x7f) >>> 4;
    if (c >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) throw new OtlpDecodeError('malformed', 'varint longer than 10 bytes', p);
        if (p >= end) throw this.truncated();
        c = buf[p++]!;
        hi |= (c & 0x7f) << shift;
        if (c < 0x80) break;
      }
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** Reads a length prefix and checks that that many bytes follow within `end`. */
  length(end: number): number {
    const len = this.varint32(end);
    if (this.hi !== 0 || len > end - this.pos) {
      throw new OtlpDecodeError(
        'malformed',
        `length ${this.hi !== 0 ? '>= 2^32' : len} exceeds the enclosing message`,
        this.pos,
      );
    }
    return len;
  }

  /** Reads a length-delimited UTF-8 string (lenient: invalid bytes become U+FFFD). */
  string(end: number): string {
    const len = this.length(end);
    const s = this.pos;
    this.pos = s + len;
    return s === s + len ? '' : this.buf.utf8Slice(s, s + len);
  }

  /**
   * Reads a length-delimited string that repeats across messages (an attribute key): the same
   * bytes give the same string object, from a small cache (1,024 slots by FNV-1a hash of the
   * bytes, strings up to 48 bytes), so repeated keys cost no new string and keep V8's cached hash.
   */
  key(end: number): string {
    const len = this.length(end);
    const s = this.pos;
    const e = s + len;
    this.pos = e;
    if (len === 0) return '';
    const b = this.buf;
    if (len > MAX_KEY_BYTES) return b.utf8Slice(s, e);
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 16777619);
    const slot = h & (KEY_SLOTS - 1);
    const cached = this.#keyBytes[slot];
    if (cached !== undefined && cached.length === len) {
      let i = 0;
      while (i < len && cached[i] === b[s + i]) i++;
      if (i === len) return this.#keyStrings[slot]!;
    }
    const str = b.utf8Slice(s, e);
    this.#keyBytes[slot] = Uint8Array.prototype.slice.call(b, s, e) as Uint8Array;
    this.#keyStrings[slot] = str;
    return str;
  }

  readonly #keyBytes: (Uint8Array | undefined)[] = new Array(KEY_SLOTS).fill(undefined);
  readonly #keyStrings: (string | undefined)[] = new Array(KEY_SLOTS).fill(undefined);

  /** The UTF-8 text of [start, end) (lenient). */
  str(start: number, end: number): string {
    return start === end ? '' : this.buf.utf8Slice(start, end);
  }

  /** The bytes [start, end) as one-byte characters: a cheap, exact cache key. */
  latin1(start: number, end: number): string {
    return start === end ? '' : this.buf.latin1Slice(start, end);
  }

  /** The bytes [start, end) as lower-case hex. */
  hex(start: number, end: number): string {
    return this.buf.hexSlice(start, end);
  }

  /**
   * Reads an int64 varint: a `number` when it is a safe integer (|v| ≤ 2^53 − 1), otherwise a
   * `bigint` (exact; no value is ever rounded).
   */
  int64(end: number): number | bigint {
    const lo = this.varint32(end);
    const hi = this.hi;
    if (hi === 0) return lo;
    if (hi === 0xffffffff && lo !== 0) return lo - TWO_32;
    const value = (hi | 0) * TWO_32 + lo;
    if (Number.isSafeInteger(value)) return value;
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  fixed32(end: number): number {
    const buf = this.buf;
    const p = this.pos;
    if (p + 4 > end) throw this.truncated();
    this.pos = p + 4;
    return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
  }

  /** Reads a fixed64 into lo/hi. */
  fixed64(end: number): void {
    const buf = this.buf;
    const p = this.pos;
    if (p + 8 > end) throw this.truncated();
    this.lo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
    this.hi = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
    this.pos = p + 8;
  }

  double(end: number): number {
    const p = this.pos;
    if (p + 8 > end) throw this.truncated();
    this.pos = p + 8;
    return this.buf.readDoubleLE(p);
  }

  /**
   * Skips the field whose tag was just read: every wire type, a group (3) up to its matching end
   * group (4). A lone end group, or an end group of another field, is malformed.
   */
  skip(tag: number, end: number, depth = 0): void {
    switch (tag & 7) {
      case WT_VARINT:
        this.varint32(end);
        return;
      case WT_I64:
        if (this.pos + 8 > end) throw this.truncated();
        this.pos += 8;
        return;
      case WT_LEN: {
        const len = this.length(end); // before reading pos: length() moves it
        this.pos += len;
        return;
      }
      case WT_I32:
        if (this.pos + 4 > end) throw this.truncated();
        this.pos += 4;
        return;
      case WT_SGROUP: {
        if (depth >= MAX_GROUP_DEPTH) {
          throw new OtlpDecodeError(
            'limit',
            `groups nested deeper than ${MAX_GROUP_DEPTH}`,
            this.pos,
          );
        }
        const field = tag >>> 3;
        for (;;) {
          const inner = this.tag(end);
          if ((inner & 7) === WT_EGROUP) {
            if (inner >>> 3 !== field) {
              throw new OtlpDecodeError(
                'malformed',
                `end group ${inner >>> 3} in group ${field}`,
                this.pos,
              );
            }
            return;
          }
          this.skip(inner, end, depth + 1);
        }
      }
      default:
        throw new OtlpDecodeError(
          'malformed',
          (tag & 7) === WT_EGROUP
            ? `end group ${tag >>> 3} without a start`
            : `unsupported wire type ${tag & 7}`,
          this.pos,
        );
    }
  }
}
