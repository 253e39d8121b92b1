import type { ReadWriteLogRecord } from '@opentelemetry/sdk-logs';

/**
 * One record held by a LookbackProcessor. It sits in two linked lists at once: the list of its
 * key's buffer (oldest first, singly linked: records only ever leave a key from its front or all
 * together) and the processor-wide list in insertion order (doubly linked, so that a record can
 * leave from anywhere). The processor-wide list is ordered by insertion time, so its head is both
 * the oldest record (the `maxAge` bound) and the first to go for `maxBytes`.
 */
export class HeldRecord {
  readonly record: ReadWriteLogRecord;
  /** Insertion time: whole ms since the processor's clock origin (a Smi, no boxing). */
  readonly at: number;
  /** Estimated heap bytes (see record-size.ts). */
  readonly bytes: number;
  readonly buffer: KeyBuffer;
  nextInKey: HeldRecord | null = null;
  prev: HeldRecord | null = null;
  next: HeldRecord | null = null;

  constructor(record: ReadWriteLogRecord, at: number, bytes: number, buffer: KeyBuffer) {
    this.record = record;
    this.at = at;
    this.bytes = bytes;
    this.buffer = buffer;
  }
}

/**
 * The buffer of one key: its held records (oldest first) and its place in the processor's
 * least-recently-used list of buffers (the `maxKeys` bound evicts from the LRU head).
 */
export class KeyBuffer {
  readonly key: unknown;
  head: HeldRecord | null = null;
  tail: HeldRecord | null = null;
  count = 0;
  lruPrev: KeyBuffer | null = null;
  lruNext: KeyBuffer | null = null;

  constructor(key: unknown) {
    this.key = key;
  }
}
