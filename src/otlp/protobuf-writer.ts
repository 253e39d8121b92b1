/**
 * A growable protobuf writer for the child's one-pass OTLP encoder (`logs-encoder.ts`).
 *
 * It writes the same bytes as the official `ProtobufWriter` of `@opentelemetry/otlp-transformer`
 * 0.301 (varints, fixed32/64, doubles little-endian, strings as UTF-8 with lone surrogates
 * replaced by U+FFFD, length-delimited fields with a minimal length varint), but into a Node
 * `Buffer` that lives outside the JS heap, without a size-estimation pass, and with native
 * UTF-8 writes for long or non-ASCII strings. Hot path: kept in one file on purpose.
 *
 * @module
 */

/** Bytes a varint of `v` (0 ≤ v < 2^32) takes. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Appends protobuf wire data to a Buffer that doubles when full. Never shrinks. */
export class ProtobufWriter {
  /** The bytes; valid up to {@link ProtobufWriter.pos}. Replaced when the writer grows. */
  buf: Buffer;
  /** Bytes written. */
  pos = 0;

  /** @param initialBytes - first capacity, bytes (default 4 KiB) */
  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Forgets what was written (keeps the capacity). */
  reset(): void {
    this.pos = 0;
  }

  /** A view of the bytes written (shares memory with the writer until it grows or is reset). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Appends raw bytes. */
  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** One byte (a one-byte field key, e.g. `0x0a` for field 1, wire type 2). */
  writeByte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A field key: `(field << 3) | wireType`. */
  writeTag(field: number, wireType: number): void {
    this.writeVarint((field << 3) | wireType);
  }

  /**
   * A varint. Like the official writer: 0 ≤ v < 2^32 as unsigned; anything else (negative,
   * larger, NaN, non-integer) as a 64-bit two's complement of its integer part, 10 bytes when
   * negative.
   */
  writeVarint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    if (value >= 0 && value <= 4294967295) {
      let v = value >>> 0;
      while (v > 127) {
        buf[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 4294967296) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = abs >>> 0;
      high = (abs / 4294967296) >>> 0;
      low = ~low >>> 0;
      high = ~high >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 127) {
      buf[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low & 127;
  }

  /** 4 bytes little-endian. */
  writeFixed32(value: number): void {
    this.ensure(4);
    const v = value >>> 0;
    const buf = this.buf;
    buf[this.pos++] = v & 255;
    buf[this.pos++] = (v >>> 8) & 255;
    buf[this.pos++] = (v >>> 16) & 255;
    buf[this.pos++] = (v >>> 24) & 255;
  }

  /** 8 bytes little-endian from two 32-bit halves. */
  writeFixed64(low: number, high: number): void {
    this.ensure(8);
    const l = low >>> 0;
    const h = high >>> 0;
    const buf = this.buf;
    buf[this.pos++] = l & 255;
    buf[this.pos++] = (l >>> 8) & 255;
    buf[this.pos++] = (l >>> 16) & 255;
    buf[this.pos++] = (l >>> 24) & 255;
    buf[this.pos++] = h & 255;
    buf[this.pos++] = (h >>> 8) & 255;
    buf[this.pos++] = (h >>> 16) & 255;
    buf[this.pos++] = (h >>> 24) & 255;
  }

  /**
   * An OTLP time (`[seconds, nanoseconds]`) as fixed64 nanoseconds, with the official
   * `writeHrTimeAsFixed64` arithmetic (exact for any time the SDK makes).
   */
  writeHrTime(hrTime: readonly [number, number]): void {
    const seconds = hrTime[0];
    const nanos = hrTime[1];
    const lo16 = seconds & 65535;
    const hiBits = (seconds / 65536) >>> 0;
    const fromLo = lo16 * 1e9;
    const fromHi = hiBits * 1e9;
    const loLow = fromLo >>> 0;
    const loHigh = Math.floor(fromLo / 4294967296);
    const hiLow = ((fromHi & 65535) * 65536) >>> 0;
    const hiHigh = (fromHi / 65536) >>> 0;
    const low = loLow + hiLow + nanos;
    const carry = Math.floor(low / 4294967296);
    this.writeFixed64(low >>> 0, (loHigh + hiHigh + carry) >>> 0);
  }

  /** A double, 8 bytes little-endian. */
  writeDouble(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** Length-delimited bytes. */
  writeBytes(bytes: Uint8Array): void {
    this.writeVarint(bytes.length);
    this.writeRaw(bytes);
  }

  /** A length-delimited UTF-8 string (lone surrogates become U+FFFD, as `TextEncoder` does). */
  writeString(s: string): void {
    const n = s.length;
    if (n < 128) {
      // ASCII fast path: the length fits one byte
      this.ensure(n + 1);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const max = n * 3;
    const reserved = varintSize(max);
    this.ensure(reserved + max);
    const start = this.pos;
    const written = this.buf.write(s, start + reserved, max, 'utf8');
    const size = varintSize(written);
    if (size < reserved) {
      this.buf.copyWithin(start + size, start + reserved, start + reserved + written);
    }
    this.pos = start;
    this.writeVarint(written);
    this.pos = start + size + written;
  }

  /**
   * Starts a length-delimited field whose length is not known yet: reserves `reserve` bytes for
   * the length and returns where they are. End it with {@link ProtobufWriter.finishLength}.
   */
  startLength(reserve = 1): number {
    this.ensure(reserve);
    const at = this.pos;
    this.pos += reserve;
    return at;
  }

  /** Writes the length of the field started at `at` (reserving `reserve` bytes), moving its content if the varint size differs. */
  finishLength(at: number, reserve = 1): void {
    const contentStart = at + reserve;
    const length = this.pos - contentStart;
    const size = varintSize(length);
    if (size !== reserve) {
      this.ensure(size - reserve);
      this.buf.copyWithin(at + size, contentStart, this.pos);
      this.pos += size - reserve;
    }
    const buf = this.buf;
    let v = length;
    let p = at;
    while (v > 127) {
      buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[p] = v;
  }
}
