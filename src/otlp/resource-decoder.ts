/**
 * The resources of ingested records: read exactly as sent (`raw-values.ts`), then given to
 * processors as an SDK `Resource` with the attributes it can hold, the raw form kept next to it
 * (`value-types.ts`) for the file encoder.
 *
 * @module
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { type ProtobufReader, WT_LEN, WT_VARINT } from './protobuf-reader.ts';
import { type RawLimits, readRawKeyValue } from './raw-values.ts';
import {
  type OtlpJsonAnyValue,
  type OtlpJsonKeyValue,
  type RawResource,
  setRawResource,
} from './value-types.ts';

/** A cached sender resource with the facts the receiver's statistics need. */
export interface IngestedResource {
  /**
   * The resource for processors: an SDK `Resource` with the attributes it can hold (strings,
   * booleans, numbers, homogeneous arrays of them; an int64 beyond ±2^53 as its decimal string),
   * the last one of a duplicated key. Everything else is only in {@link raw}.
   */
  readonly resource: Resource;
  /** The resource exactly as sent (what the JSON-lines file writes). */
  readonly raw: RawResource;
  /** `process.pid` of the resource as a string (at most 256 characters), or `'unknown'` */
  readonly pid: string;
  /** `service.name` of the resource (at most 256 characters), if it has one */
  readonly serviceName: string | undefined;
  /** internal id, unique per decoder */
  readonly id: number;
}

/** Limits honoured while reading a resource. */
export interface ResourceLimits extends RawLimits {
  readonly maxAttributes: number;
}

/**
 * Reads a `Resource` message sent in the pieces [pieces[0], pieces[1]), … (protobuf merges them:
 * attributes append, the last dropped_attributes_count wins). Attributes beyond
 * `maxAttributes` are dropped and added to the dropped count.
 */
export function readResource(
  r: ProtobufReader,
  pieces: readonly number[],
  schemaUrl: string,
  limits: ResourceLimits,
): RawResource {
  const attributes: OtlpJsonKeyValue[] = [];
  let dropped = 0;
  let over = 0;
  for (let i = 0; i < pieces.length; i += 2) {
    const end = pieces[i + 1]!;
    r.pos = pieces[i]!;
    while (r.pos < end) {
      const tag = r.tag(end);
      const field = tag >>> 3;
      if (field === 1 && r.is(tag, WT_LEN, end)) {
        const len = r.length(end);
        const s = r.pos;
        if (attributes.length >= limits.maxAttributes) over++;
        else attributes.push(readRawKeyValue(r, s, s + len, 1, limits));
        r.pos = s + len;
      } else if (field === 2 && r.is(tag, WT_VARINT, end)) dropped = r.varint32(end);
      else if (field !== 1 && field !== 2) r.skip(tag, end);
    }
  }
  return { attributes, droppedAttributesCount: (dropped + over) >>> 0, schemaUrl };
}

/** Longest `pid`/`serviceName` kept in an {@link IngestedResource} (they are statistics keys). */
const MAX_FACT_LENGTH = 256;

/**
 * `s` cut to {@link MAX_FACT_LENGTH} code units, as a fresh flat string (a V8 substring would keep
 * the whole, possibly huge, original alive).
 */
function shortFact(s: string): string {
  return s.length <= MAX_FACT_LENGTH
    ? s
    : Buffer.from(s.slice(0, MAX_FACT_LENGTH), 'utf8').toString('utf8');
}

/** A scalar raw value as an attribute value; undefined for what an SDK Resource cannot hold. */
function scalar(v: OtlpJsonAnyValue): string | number | boolean | undefined {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : v.intValue;
  }
  if ('doubleValue' in v)
    return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  return undefined;
}

function attributeValue(v: OtlpJsonAnyValue): AttributeValue | undefined {
  const s = scalar(v);
  if (s !== undefined) return s;
  if (!('arrayValue' in v)) return undefined;
  const out: (string | number | boolean)[] = [];
  let type: string | undefined;
  for (const item of v.arrayValue.values) {
    const x = scalar(item);
    if (x === undefined || (type !== undefined && typeof x !== type)) return undefined;
    type = typeof x;
    out.push(x);
  }
  return out as AttributeValue;
}

/** Builds the cached entry of a raw resource: the SDK Resource, registered with its raw form. */
export function ingestedResource(raw: RawResource, id: number): IngestedResource {
  const attributes: Attributes = {};
  for (const { key, value } of raw.attributes) {
    if (key === '') continue;
    const v = attributeValue(value);
    if (v === undefined) continue;
    if (key === '__proto__') {
      Object.defineProperty(attributes, key, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else attributes[key] = v;
  }
  const resource = resourceFromAttributes(
    attributes,
    raw.schemaUrl === '' ? undefined : { schemaUrl: raw.schemaUrl },
  );
  setRawResource(resource, raw);
  const pid = attributes['process.pid'];
  const service = attributes['service.name'];
  return {
    resource,
    raw,
    pid: typeof pid === 'string' || typeof pid === 'number' ? shortFact(String(pid)) : 'unknown',
    serviceName: typeof service === 'string' ? shortFact(service) : undefined,
    id,
  };
}
