/**
 * What the decoder knows about received values that a JavaScript value cannot say by itself, kept
 * next to the values so that the JSON-lines file writes exactly what a sender sent:
 *
 * - **whole doubles.** An OTLP `double_value` of 2.0 or 2^60 decodes to the JS number `2` /
 *   `2 ** 60`, which looks like an integer. The decoder marks the (container, key) where it put
 *   such a number; the file encoder writes a marked number as `doubleValue`. A processor sees a
 *   plain `number`. The mark follows the container object: a processor that copies attributes
 *   into a new object loses it (the copy is then written as `intValue`, like any integral JS
 *   number). `-0` needs no mark: it is always written as the double `-0`.
 * - **raw resources.** The SDK's `Resource` cannot hold every AnyValue type (`resourceFromAttributes`
 *   drops kvlists, bytes, empty values, mixed arrays), nor a `dropped_attributes_count`, nor
 *   duplicate or empty keys. The decoder keeps each received resource in the OTLP/JSON form
 *   ({@link RawResource}) next to the `Resource` it hands to processors; the file encoder writes
 *   the raw one.
 *
 * @module
 */
import type { Resource } from '@opentelemetry/resources';

/**
 * An AnyValue in the OTLP/JSON mapping (OTLP specification, "JSON Protobuf Encoding";
 * `opentelemetry/proto/common/v1/common.proto`): `intValue` a decimal string, `doubleValue` a
 * number or `"NaN"`/`"Infinity"`/`"-Infinity"`, `bytesValue` standard base64; `{}` the empty value.
 */
export type OtlpJsonAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number | string }
  | { bytesValue: string }
  | { arrayValue: { values: OtlpJsonAnyValue[] } }
  | { kvlistValue: { values: OtlpJsonKeyValue[] } }
  | Record<string, never>;

/** A KeyValue in the OTLP/JSON mapping. */
export interface OtlpJsonKeyValue {
  key: string;
  value: OtlpJsonAnyValue;
}

/**
 * A `Resource` message exactly as received (`opentelemetry/proto/resource/v1/resource.proto`:
 * 1 attributes, in wire order with duplicates and empty keys kept, 2 dropped_attributes_count)
 * plus the `schema_url` of its `ResourceLogs` (field 3; `''` when unset).
 */
export interface RawResource {
  readonly attributes: readonly OtlpJsonKeyValue[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

const wholeDoubles = new WeakMap<object, Set<string | number>>();
const rawResources = new WeakMap<object, RawResource>();

/** Marks `container[key]` as holding a double (see the module comment). */
export function markDouble(container: object, key: string | number): void {
  let set = wholeDoubles.get(container);
  if (set === undefined) {
    set = new Set();
    wholeDoubles.set(container, set);
  }
  set.add(key);
}

/** Forgets the mark of `container[key]` (the value was replaced). */
export function unmarkDouble(container: object, key: string | number): void {
  wholeDoubles.get(container)?.delete(key);
}

/** The keys of `container` marked as holding doubles, if any. */
export function doubleKeys(container: object): ReadonlySet<string | number> | undefined {
  return wholeDoubles.get(container);
}

/** Keeps `raw` as the exact form of `resource`. */
export function setRawResource(resource: Resource, raw: RawResource): void {
  rawResources.set(resource, raw);
}

/** The resource exactly as a sender sent it, for a `Resource` made by the decoder. */
export function rawResourceOf(resource: Resource): RawResource | undefined {
  return rawResources.get(resource);
}
