import type { AnyValue, Attributes } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

/**
 * Heap bytes of one held record that do not depend on its content: the sdk-logs `LogRecordImpl`
 * object with its two `[s, ns]` time arrays and its (empty) attributes object (≈ 300 bytes,
 * measured on Node 24 / V8 13), plus the lookback buffer's own node (≈ 80 bytes).
 * Calibrated with `bench/lookback.ts` (the `maxBytes` check) against real SDK records.
 */
export const RECORD_FIXED_BYTES = 420;

/**
 * Per attribute: its slot and share of the properties store's growth (≈ 16), plus the header of
 * a string value or a boxed number (≈ 16 on average over the two).
 */
const ATTRIBUTE_BYTES = 32;
/**
 * Extra per attribute beyond {@link FAST_ATTRIBUTES}: V8 turns an object with many properties
 * added one by one into a dictionary (≈ 100 bytes per entry in all, measured).
 */
const DICTIONARY_ATTRIBUTE_BYTES = 70;
const FAST_ATTRIBUTES = 16;
/** A sequential string: header (map, hash, length) rounded up, plus one byte per character. */
const STRING_HEADER_BYTES = 24;
/**
 * A formatted body (`\`request ${id} failed\``) is a tree of cons strings and number strings
 * (≈ 32 bytes per piece) until something flattens it: ≈ 100 bytes measured for typical messages.
 */
const BODY_PIECES_BYTES = 100;
/** A boxed number (HeapNumber); small integers (Smis) cost nothing, but telling costs more. */
const NUMBER_BYTES = 8;
/** An array or a plain object (header, elements/properties store) before its items. */
const CONTAINER_BYTES = 48;
/** Items of nested arrays/objects looked at; the rest is extrapolated from the average. */
const MAX_ITEMS = 32;
const MAX_DEPTH = 3;

/**
 * Estimates the heap bytes a log record occupies, cheaply and without allocating:
 * {@link RECORD_FIXED_BYTES} + body + attributes. A string body counts 24 + 100 + length (the
 * 100 are the cons-string pieces of a formatted message); each attribute 32 + the length of a
 * string value (+ 70 each beyond 16 attributes, when V8 switches the object to a dictionary);
 * nested arrays/objects 48 + their items (at most 32 items per level and 3 levels are visited,
 * the rest is extrapolated). One byte per character: strings with characters beyond Latin-1 use
 * two, so they are under-counted. Span contexts, resources and scopes are shared between records
 * and not counted. Calibrated on Node 24 against real sdk-logs records (`bench/lookback.ts`:
 * within ±7 % per record shape, ≈ 2 % on a mix).
 *
 * @returns estimated bytes (always ≥ {@link RECORD_FIXED_BYTES})
 */
export function estimateRecordBytes(record: ReadableLogRecord): number {
  const body = record.body;
  let bytes =
    typeof body === 'string'
      ? RECORD_FIXED_BYTES + STRING_HEADER_BYTES + BODY_PIECES_BYTES + body.length
      : body === undefined || body === null
        ? RECORD_FIXED_BYTES
        : RECORD_FIXED_BYTES + estimateValue(body, 0);
  const attributes: Attributes | undefined = record.attributes;
  let n = 0;
  // Kept small so that it inlines into the hot path: per attribute a constant (slot, plus the
  // header of a string value or a boxed number), plus string lengths; nested values walked.
  for (const key in attributes) {
    n++;
    const value = attributes[key];
    if (typeof value === 'string') bytes += value.length;
    else if (typeof value === 'object' && value !== null) bytes += estimateValue(value, 1);
  }
  return n > FAST_ATTRIBUTES
    ? bytes + n * ATTRIBUTE_BYTES + (n - FAST_ATTRIBUTES) * DICTIONARY_ATTRIBUTE_BYTES
    : bytes + n * ATTRIBUTE_BYTES;
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
