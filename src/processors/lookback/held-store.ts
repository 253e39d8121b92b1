import { type Context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { HeldRecord, KeyBuffer } from './held-record.ts';
import { estimateRecordBytes, RECORD_FIXED_BYTES } from './record-size.ts';

/** Held records dropped by a bound, by bound (see `LookbackStats.dropped`). */
export interface DropCounts {
  capacity: number;
  age: number;
  keys: number;
  bytes: number;
}

/** The bounds a {@link HeldStore} enforces (the processor's current options). */
export interface StoreBounds {
  capacity: number;
  maxAgeMs: number;
  maxKeys: number;
  maxBytes: number;
}

/**
 * The records a LookbackProcessor holds: one buffer per key, a least-recently-used list of the
 * buffers (the `maxKeys` bound evicts from its head) and one list of every held record in
 * arrival order, which is also age order (its head is the oldest record: the `maxAge` bound and
 * the first to go for `maxBytes`). Every bound costs O(1) amortised per insert; every drop is
 * counted by bound in {@link HeldStore.dropped}. Records are only read, never changed.
 */
export class HeldStore {
  /** Records held now. */
  count = 0;
  /** Estimated heap bytes of the records held now. */
  bytes = 0;
  /** Records ever held. */
  heldTotal = 0;
  readonly dropped: DropCounts = { capacity: 0, age: 0, keys: 0, bytes: 0 };

  private readonly bounds: StoreBounds;
  private readonly buffers = new Map<unknown, KeyBuffer>();
  private lruHead: KeyBuffer | null = null;
  private lruTail: KeyBuffer | null = null;
  private oldest: HeldRecord | null = null;
  private newest: HeldRecord | null = null;

  /** @param bounds - read at every insert, so a reconfigured processor changes them in place */
  constructor(bounds: StoreBounds) {
    this.bounds = bounds;
  }

  /** Buffers (keys) holding records now. */
  get keys(): number {
    return this.buffers.size;
  }

  /** Holds `record` under `key` (received at `now`, ms), then enforces every bound. */
  hold(key: unknown, record: ReadWriteLogRecord, now: number): void {
    this.pruneAge(now);
    let buffer = this.buffers.get(key);
    if (buffer === undefined) {
      if (this.buffers.size >= this.bounds.maxKeys && this.lruHead !== null) {
        const victim = this.lruHead;
        this.dropped.keys += victim.count;
        this.removeAll(victim);
      }
      buffer = new KeyBuffer(key);
      this.buffers.set(key, buffer);
      this.lruAppend(buffer);
    } else if (buffer !== this.lruTail) {
      this.lruUnlink(buffer);
      this.lruAppend(buffer);
    }
    let bytes: number;
    try {
      bytes = estimateRecordBytes(record);
    } catch {
      bytes = RECORD_FIXED_BYTES;
    }
    const node = new HeldRecord(record, now, bytes, buffer);
    if (buffer.tail === null) buffer.head = node;
    else buffer.tail.nextInKey = node;
    buffer.tail = node;
    buffer.count++;
    node.prev = this.newest;
    if (this.newest === null) this.oldest = node;
    else this.newest.next = node;
    this.newest = node;
    this.count++;
    this.bytes += bytes;
    this.heldTotal++;
    if (buffer.count > this.bounds.capacity) {
      this.dropOldestOf(buffer);
      this.dropped.capacity++;
    }
    while (this.bytes > this.bounds.maxBytes && this.oldest !== null) {
      this.dropOldestOf(this.oldest.buffer);
      this.dropped.bytes++;
    }
  }

  /**
   * Takes `key`'s records out (oldest first), or every held record in arrival order without a
   * key; an empty array when there are none.
   */
  take(key?: unknown): ReadWriteLogRecord[] {
    if (key === undefined) {
      const records: ReadWriteLogRecord[] = [];
      for (let node = this.oldest; node !== null; node = node.next) records.push(node.record);
      this.clear();
      return records;
    }
    if (this.count === 0) return EMPTY;
    const buffer = this.buffers.get(key);
    if (buffer === undefined) return EMPTY;
    const records: ReadWriteLogRecord[] = new Array(buffer.count);
    let i = 0;
    for (let node = buffer.head; node !== null; node = node.nextInKey) {
      records[i++] = node.record;
      this.unlink(node);
    }
    buffer.head = buffer.tail = null;
    buffer.count = 0;
    this.removeBuffer(buffer);
    return records;
  }

  /** Forgets `key`'s records (or every record); returns how many. */
  remove(key?: unknown): number {
    if (key === undefined) {
      const n = this.count;
      this.clear();
      return n;
    }
    if (this.count === 0) return 0;
    const buffer = this.buffers.get(key);
    if (buffer === undefined) return 0;
    const n = buffer.count;
    this.removeAll(buffer);
    return n;
  }

  /** Drops the records received before `now - maxAge` (counted as `dropped.age`). */
  pruneAge(now: number): void {
    const limit = now - this.bounds.maxAgeMs;
    while (this.oldest !== null && this.oldest.at < limit) {
      // The processor-wide oldest record is also the oldest of its key.
      this.dropOldestOf(this.oldest.buffer);
      this.dropped.age++;
    }
  }

  /** Enforces bounds made smaller (a reconfiguration), counting each drop by bound. */
  enforce(now: number): void {
    for (const buffer of [...this.buffers.values()]) {
      while (buffer.count > this.bounds.capacity) {
        this.dropOldestOf(buffer);
        this.dropped.capacity++;
      }
    }
    while (this.buffers.size > this.bounds.maxKeys && this.lruHead !== null) {
      const victim = this.lruHead;
      this.dropped.keys += victim.count;
      this.removeAll(victim);
    }
    while (this.bytes > this.bounds.maxBytes && this.oldest !== null) {
      this.dropOldestOf(this.oldest.buffer);
      this.dropped.bytes++;
    }
    this.pruneAge(now);
  }

  /** Removes the oldest record of a buffer (and the buffer, when it becomes empty). */
  private dropOldestOf(buffer: KeyBuffer): void {
    const node = buffer.head!;
    buffer.head = node.nextInKey;
    if (buffer.head === null) buffer.tail = null;
    buffer.count--;
    this.unlink(node);
    if (buffer.count === 0) this.removeBuffer(buffer);
  }

  /** Takes a buffer's records out of every structure. */
  private removeAll(buffer: KeyBuffer): void {
    for (let node = buffer.head; node !== null; node = node.nextInKey) this.unlink(node);
    buffer.head = buffer.tail = null;
    buffer.count = 0;
    this.removeBuffer(buffer);
  }

  private clear(): void {
    this.buffers.clear();
    this.lruHead = this.lruTail = null;
    this.oldest = this.newest = null;
    this.count = 0;
    this.bytes = 0;
  }

  /** Unlinks a record from the processor-wide list and takes it out of the totals. */
  private unlink(node: HeldRecord): void {
    if (node.prev === null) this.oldest = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.newest = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = null;
    this.count--;
    this.bytes -= node.bytes;
  }

  private removeBuffer(buffer: KeyBuffer): void {
    this.buffers.delete(buffer.key);
    this.lruUnlink(buffer);
  }

  private lruAppend(buffer: KeyBuffer): void {
    buffer.lruPrev = this.lruTail;
    buffer.lruNext = null;
    if (this.lruTail === null) this.lruHead = buffer;
    else this.lruTail.lruNext = buffer;
    this.lruTail = buffer;
  }

  private lruUnlink(buffer: KeyBuffer): void {
    if (buffer.lruPrev === null) {
      if (this.lruHead === buffer) this.lruHead = buffer.lruNext;
    } else buffer.lruPrev.lruNext = buffer.lruNext;
    if (buffer.lruNext === null) {
      if (this.lruTail === buffer) this.lruTail = buffer.lruPrev;
    } else buffer.lruNext.lruPrev = buffer.lruPrev;
    buffer.lruPrev = buffer.lruNext = null;
  }
}

const EMPTY: ReadWriteLogRecord[] = [];

/**
 * The Context a flushed record is sent with: only its own span context (the original Context is
 * not kept while it is held: it would pin spans and baggage in memory).
 */
export function contextOf(record: ReadWriteLogRecord): Context {
  const sc = record.spanContext;
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
}
