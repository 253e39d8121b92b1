import type { AnyValue, Attributes } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

/**
 * Heap bytes of one held record that do not depend on its content: the sdk-logs `LogRecordImpl`
 * object with its two `[s, ns]` time arrays and its (empty) attributes object (≈ 300 bytes,
 * measured on Node 24 / V8 13), plus the lookback buffer's own node (≈ 80 bytes).
 * Calibrated with `bench/lookback.ts` (the `maxBytes` check) against real SDK records.
 */
export const RECORD_FIXED_BYTES = 380;

/** Per attribute while the attributes object keeps fast properties (a slot and its share of growth). */
const ATTRIBUTE_BYTES = 16;
/**
 * Per attribute beyond {@link FAST_ATTRIBUTES}: V8 turns an object with many properties added
 * one by one into a dictionary (hash table entries ≈ 100 bytes each, measured).
 */
const DICTIONARY_ATTRIBUTE_BYTES = 100;
const FAST_ATTRIBUTES = 16;
/** A sequential string: header (map, hash, length) rounded up, plus one byte per character. */
const STRING_HEADER_BYTES = 24;
/** A boxed number (HeapNumber); small integers (Smis) cost nothing, but telling costs more. */
const NUMBER_BYTES = 8;
/** An array or a plain object (header, elements/properties store) before its items. */
const CONTAINER_BYTES = 48;
/** Items of nested arrays/objects looked at; the rest is extrapolated from the average. */
const MAX_ITEMS = 32;
const MAX_DEPTH = 3;

/**
 * Estimates the heap bytes a log record occupies, cheaply and without allocating:
 * {@link RECORD_FIXED_BYTES} + body + Σ attributes (slot + value). Strings count 24 + length
 * (one byte per character: strings with characters beyond Latin-1 use two, so they are
 * under-counted by up to half); numbers 8; nested arrays/objects 48 + their items (at most 32
 * items per level and 3 levels deep are visited, the rest is extrapolated). Span contexts,
 * resources and scopes are shared between records and not counted.
 *
 * @returns estimated bytes (always ≥ {@link RECORD_FIXED_BYTES})
 */
export function estimateRecordBytes(record: ReadableLogRecord): number {
  let bytes = RECORD_FIXED_BYTES;
  const body = record.body;
  if (typeof body === 'string') bytes += STRING_HEADER_BYTES + body.length;
  else if (body !== undefined && body !== null) bytes += estimateValue(body, 0);
  return bytes + estimateAttributes(record.attributes);
}

function estimateAttributes(attributes: Attributes | undefined): number {
  if (attributes === undefined) return 0;
  let bytes = 0;
  let n = 0;
  for (const key in attributes) {
    n++;
    bytes += n > FAST_ATTRIBUTES ? DICTIONARY_ATTRIBUTE_BYTES : ATTRIBUTE_BYTES;
    const value = attributes[key];
    if (typeof value === 'string') bytes += STRING_HEADER_BYTES + value.length;
    else if (typeof value === 'number') bytes += NUMBER_BYTES;
    else if (typeof value === 'object' && value !== null) bytes += estimateValue(value, 1);
  }
  return bytes;
}

function estimateValue(value: AnyValue, depth: number): number {
  switch (typeof value) {
    case 'string':
      return STRING_HEADER_BYTES + value.length;
    case 'number':
      return NUMBER_BYTES;
    case 'object': {
      if (value === null) return 0;
      if (value instanceof Uint8Array) return CONTAINER_BYTES + value.byteLength;
      if (depth >= MAX_DEPTH) return CONTAINER_BYTES;
      if (Array.isArray(value)) {
        const n = value.length;
        const seen = Math.min(n, MAX_ITEMS);
        let items = 0;
        for (let i = 0; i < seen; i++) items += 8 + estimateValue(value[i] as AnyValue, depth + 1);
        return CONTAINER_BYTES + (seen === n ? items : Math.round((items / seen) * n));
      }
      let items = 0;
      let seen = 0;
      for (const key in value) {
        if (seen === MAX_ITEMS) {
          // Count all keys without visiting the rest of the values; extrapolate.
          let total = 0;
          for (const _ in value) total++;
          return CONTAINER_BYTES + Math.round((items / seen) * total);
        }
        seen++;
        items +=
          ATTRIBUTE_BYTES + estimateValue((value as Record<string, AnyValue>)[key], depth + 1);
      }
      return CONTAINER_BYTES + items;
    }
    default:
      return 0;
  }
}
