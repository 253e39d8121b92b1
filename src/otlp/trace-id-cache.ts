/**
 * The hex strings of the trace ids a decoder has recently read, by their 16 bytes: the records of
 * one trace get one string object, whichever request and child they come from and however they
 * interleave with other traces' records.
 *
 * Why: a primary's lookback buffer looks up the window of a record's trace in a `Map` by its trace
 * id. A new string for every record (what `hexSlice` makes) costs that lookup hashing its 32
 * characters and comparing them with the key's (120–180 ns per record of interleaved traces,
 * `bench/lookback.ts --pass-through --case decoded`); the same string object is hashed once (V8
 * keeps the hash in the string) and found by a pointer comparison. The decoder saves the string
 * (a native call and an allocation) as well.
 *
 * Two-way set-associative: 2,048 sets of two entries, the set chosen by the last 4 bytes (random
 * in W3C ids, and in 64-bit ids padded with zeros in front), a hit is 16 bytes equal (four 32-bit
 * words); a miss makes the string with `hexSlice`, puts it first in its set and moves the set's first
 * entry second (the second goes). Holds at most 4,096 strings (~250 KiB with the table). Never
 * throws for a Uint8Array holding 16 bytes at `s`.
 */

import type { SlicingBuffer } from './protobuf-reader.ts';

const SETS_BITS = 11;
const ENTRIES = 2 << SETS_BITS; // two per set

export class TraceIdCache {
  /** The four 32-bit words of each entry's id, entry `e` at `4 * e`. */
  private readonly words = new Int32Array(ENTRIES * 4);
  private readonly ids: (string | undefined)[] = new Array(ENTRIES).fill(undefined);

  /**
   * The lower-case hex string of the 16 bytes at `b[s]`: the cached one when they are cached,
   * else a new one (then cached).
   */
  get(b: SlicingBuffer, s: number): string {
    const w0 = b[s]! | (b[s + 1]! << 8) | (b[s + 2]! << 16) | (b[s + 3]! << 24);
    const w1 = b[s + 4]! | (b[s + 5]! << 8) | (b[s + 6]! << 16) | (b[s + 7]! << 24);
    const w2 = b[s + 8]! | (b[s + 9]! << 8) | (b[s + 10]! << 16) | (b[s + 11]! << 24);
    const w3 = b[s + 12]! | (b[s + 13]! << 8) | (b[s + 14]! << 16) | (b[s + 15]! << 24);
    const e = (Math.imul(w3 ^ (w3 >>> 16), 0x45d9f3b) >>> (32 - SETS_BITS)) << 1;
    const words = this.words;
    const ids = this.ids;
    let i = e << 2;
    if (words[i] === w0 && words[i + 1] === w1 && words[i + 2] === w2 && words[i + 3] === w3) {
      const id = ids[e];
      if (id !== undefined) return id;
    }
    i += 4;
    if (words[i] === w0 && words[i + 1] === w1 && words[i + 2] === w2 && words[i + 3] === w3) {
      const id = ids[e + 1];
      if (id !== undefined) return id;
    }
    const id = b.hexSlice(s, s + 16);
    // the set's first entry becomes its second
    i -= 4;
    words[i + 4] = words[i]!;
    words[i + 5] = words[i + 1]!;
    words[i + 6] = words[i + 2]!;
    words[i + 7] = words[i + 3]!;
    ids[e + 1] = ids[e];
    words[i] = w0;
    words[i + 1] = w1;
    words[i + 2] = w2;
    words[i + 3] = w3;
    ids[e] = id;
    return id;
  }
}
