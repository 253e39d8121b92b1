/**
 * starlog's one-pass OTLP logs encoder: `ExportLogsServiceRequest` protobuf bytes
 * (`opentelemetry/proto/collector/logs/v1/logs_service.proto`) built record by record, as the
 * records are emitted, byte-identical to the official `ProtobufLogsSerializer` of
 * `@opentelemetry/otlp-transformer` 0.301 for the same records (same field order, same
 * omissions, records grouped by resource then instrumentation scope object in first-seen order;
 * see `test/otlp-encoder.test.ts`).
 *
 * A {@link LogsRequestBuilder} keeps one growing buffer of encoded `LogRecord`s per
 * (resource, scope) pair; {@link LogsRequestBuilder.build} writes the request around them.
 * Hot path: the record writer is kept together in this file on purpose.
 *
 * @module
 */
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ProtobufWriter, varintSize } from './protobuf-writer.ts';

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** Writes the fields of an OTLP `AnyValue` message (`common.proto`) for a JS value. */
export function writeAnyValue(w: ProtobufWriter, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.writeByte(0x0a); // string_value = 1
      w.writeString(value);
      return;
    case 'boolean':
      w.writeByte(0x10); // bool_value = 2
      w.writeByte(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.writeByte(0x18); // int_value = 3
        w.writeVarint(value);
      } else {
        w.writeByte(0x21); // double_value = 4
        w.writeDouble(value);
      }
      return;
    case 'object': {
      if (value === null) return;
      if (value instanceof Uint8Array) {
        w.writeByte(0x3a); // bytes_value = 7
        w.writeBytes(value);
      } else if (Array.isArray(value)) {
        w.writeByte(0x2a); // array_value = 5
        const at = w.startLength();
        for (const item of value) {
          w.writeByte(0x0a); // ArrayValue.values = 1
          const itemAt = w.startLength();
          writeAnyValue(w, item);
          w.finishLength(itemAt);
        }
        w.finishLength(at);
      } else {
        w.writeByte(0x32); // kvlist_value = 6
        const at = w.startLength();
        writeKeyValues(w, value as Record<string, unknown>, 0x0a); // KeyValueList.values = 1
        w.finishLength(at);
      }
      return;
    }
    default:
      // undefined, functions, symbols, bigints: an empty AnyValue, as the official serializer
      return;
  }
}

/**
 * Writes each own enumerable property of `object` as a `KeyValue` message under the one-byte
 * field key `tag` (e.g. `0x32`: `LogRecord.attributes = 6`).
 */
export function writeKeyValues(
  w: ProtobufWriter,
  object: Record<string, unknown>,
  tag: number,
): void {
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    w.writeByte(tag);
    const at = w.startLength();
    w.writeByte(0x0a); // key = 1
    w.writeString(key);
    w.writeByte(0x12); // value = 2
    const valueAt = w.startLength();
    writeAnyValue(w, object[key]);
    w.finishLength(valueAt);
    w.finishLength(at);
  }
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return c - 55;
}

/** Length-delimited bytes of a hex string (trace and span ids), as the official `hexToBinary`. */
function writeHex(w: ProtobufWriter, hex: string): void {
  const n = hex.length;
  if ((n & 1) !== 0) throw new RangeError(`starlog: odd-length hex id ${JSON.stringify(hex)}`);
  w.writeVarint(n >> 1);
  w.ensure(n >> 1);
  const buf = w.buf;
  for (let i = 0; i < n; i += 2) {
    buf[w.pos++] = (hexDigit(hex.charCodeAt(i)) << 4) | hexDigit(hex.charCodeAt(i + 1));
  }
}

/**
 * Writes one record as a `ScopeLogs.log_records` field (key `0x12` + length + `LogRecord`).
 * Throws on values the official serializer also cannot write (cyclic bodies, odd hex ids).
 */
export function writeLogRecord(w: ProtobufWriter, r: ReadableLogRecord): void {
  w.writeByte(0x12);
  const reserve = recordLengthReserve;
  const at = w.startLength(reserve);
  w.writeByte(0x09); // time_unix_nano = 1, fixed64
  w.writeHrTime(r.hrTime);
  const severity = r.severityNumber;
  if (severity !== undefined && severity !== 0) {
    w.writeByte(0x10); // severity_number = 2
    w.writeVarint(severity);
  }
  if (r.severityText) {
    w.writeByte(0x1a); // severity_text = 3
    w.writeString(r.severityText);
  }
  if (r.body !== undefined) {
    w.writeByte(0x2a); // body = 5
    const bodyAt = w.startLength();
    writeAnyValue(w, r.body);
    w.finishLength(bodyAt);
  }
  if (r.attributes) writeKeyValues(w, r.attributes as Record<string, unknown>, 0x32); // attributes = 6
  w.writeByte(0x38); // dropped_attributes_count = 7 (always written, as the official serializer)
  w.writeVarint(r.droppedAttributesCount);
  const sc = r.spanContext;
  if (sc !== undefined) {
    if (sc.traceFlags) {
      w.writeByte(0x45); // flags = 8, fixed32
      w.writeFixed32(sc.traceFlags);
    }
    if (sc.traceId) {
      w.writeByte(0x4a); // trace_id = 9
      writeHex(w, sc.traceId);
    }
    if (sc.spanId) {
      w.writeByte(0x52); // span_id = 10
      writeHex(w, sc.spanId);
    }
  }
  w.writeByte(0x59); // observed_time_unix_nano = 11, fixed64
  w.writeHrTime(r.hrTimeObserved);
  if (r.eventName) {
    w.writeByte(0x62); // event_name = 12
    w.writeString(r.eventName);
  }
  recordLengthReserve = varintSize(w.pos - at - reserve);
  w.finishLength(at, reserve);
}

/**
 * Bytes reserved for a record's length varint: the size of the previous record's (records of one
 * application are alike, and a wrong guess only costs a `copyWithin` of the record in
 * `finishLength`; a fixed 2 moved every record under 128 bytes, most of them).
 */
let recordLengthReserve = 2;

/** `ResourceLogs.resource` (field 1, with key and length) for a resource. */
export function encodeResourceField(resource: Resource): Buffer {
  const w = new ProtobufWriter(256);
  w.writeByte(0x0a);
  const at = w.startLength(2);
  if (resource.attributes) writeKeyValues(w, resource.attributes as Record<string, unknown>, 0x0a);
  w.writeByte(0x10); // dropped_attributes_count = 2, always 0 (as the official serializer)
  w.writeByte(0);
  w.finishLength(at, 2);
  return Buffer.from(w.view());
}

/** `ScopeLogs.scope` (field 1, with key and length) for an instrumentation scope. */
export function encodeScopeField(scope: InstrumentationScope): Buffer {
  const w = new ProtobufWriter(128);
  w.writeByte(0x0a);
  const at = w.startLength();
  w.writeByte(0x0a); // name = 1 (always)
  w.writeString(scope.name);
  if (scope.version) {
    w.writeByte(0x12); // version = 2
    w.writeString(scope.version);
  }
  const s = scope as InstrumentationScope & {
    attributes?: Record<string, unknown>;
    droppedAttributesCount?: number;
  };
  if (s.attributes) writeKeyValues(w, s.attributes, 0x1a); // attributes = 3
  if (s.droppedAttributesCount) {
    w.writeByte(0x20); // dropped_attributes_count = 4
    w.writeVarint(s.droppedAttributesCount);
  }
  w.finishLength(at);
  return Buffer.from(w.view());
}

/** A `schema_url = 3` field, or no bytes when `url` is empty. */
function schemaUrlField(url: string | undefined): Buffer {
  if (!url) return EMPTY;
  const w = new ProtobufWriter(url.length * 3 + 8);
  w.writeByte(0x1a);
  w.writeString(url);
  return Buffer.from(w.view());
}

const EMPTY = Buffer.alloc(0);

/** Encoded records of one (resource, scope) pair. */
interface ScopeGroup {
  resource: Resource;
  scope: InstrumentationScope;
  records: ProtobufWriter;
}

/** Where a {@link LogsRequestBuilder} takes and returns its record buffers. */
export interface WriterPool {
  take(): ProtobufWriter;
  give(w: ProtobufWriter): void;
}

/** A pool that keeps up to `max` writers for reuse (their buffers stay allocated). */
export function writerPool(max = 8, initialBytes = 64 * 1024): WriterPool {
  const free: ProtobufWriter[] = [];
  return {
    take: () => free.pop() ?? new ProtobufWriter(initialBytes),
    give(w) {
      w.reset();
      if (free.length < max && w.buf.length <= 4 * 1024 * 1024) free.push(w);
    },
  };
}

const unpooled: WriterPool = { take: () => new ProtobufWriter(4096), give: () => {} };

/**
 * Collects encoded records, grouped by resource then scope object (first seen first, as the
 * official serializer groups them), and builds the `ExportLogsServiceRequest` around them.
 */
export class LogsRequestBuilder {
  /** Records added. */
  count = 0;
  /** Bytes of the encoded records so far (without the resource and scope framing). */
  bytes = 0;
  /** The resource of the last record added (kept after `build()`). */
  lastResource: Resource | undefined;
  private readonly _groups: ScopeGroup[] = [];
  private _last: ScopeGroup | undefined;
  private readonly _pool: WriterPool;

  constructor(pool: WriterPool = unpooled) {
    this._pool = pool;
  }

  /**
   * Encodes `record` into its group. On an error (a value the official serializer cannot write
   * either) nothing is added and the error is thrown.
   */
  add(record: ReadableLogRecord): void {
    const resource = record.resource;
    const scope = record.instrumentationScope;
    let g = this._last;
    if (g === undefined || g.scope !== scope || g.resource !== resource)
      g = this._group(resource, scope);
    const w = g.records;
    const before = w.pos;
    try {
      writeLogRecord(w, record);
    } catch (err) {
      w.pos = before;
      throw err;
    }
    this.bytes += w.pos - before;
    this.count++;
    this.lastResource = resource;
  }

  /** Resources whose attributes are still being resolved (wait for them before {@link build}). */
  pendingResources(): Promise<void>[] | undefined {
    let out: Promise<void>[] | undefined;
    for (const g of this._groups) {
      const r = g.resource;
      if (r.asyncAttributesPending && r.waitForAsyncAttributes) {
        out ??= [];
        out.push(r.waitForAsyncAttributes());
      }
    }
    return out;
  }

  /**
   * The request's bytes, then the record buffers go back to the pool (the builder is empty
   * afterwards and may be reused).
   */
  build(): Buffer {
    const groups = this._groups;
    // one ResourceLogs per resource, in first-seen order
    const resources: Resource[] = [];
    for (const g of groups) if (!resources.includes(g.resource)) resources.push(g.resource);
    const parts: {
      head: Buffer;
      tail: Buffer;
      scopes: { head: Buffer; tail: Buffer; g: ScopeGroup; len: number }[];
      len: number;
    }[] = [];
    let total = 0;
    for (const resource of resources) {
      const head = resourceField(resource);
      const tail = schemaUrlField(resource.schemaUrl);
      const scopes = [];
      let len = head.length + tail.length;
      for (const g of groups) {
        if (g.resource !== resource) continue;
        const sHead = scopeField(g.scope);
        const sTail = schemaUrlField(g.scope.schemaUrl);
        const sLen = sHead.length + g.records.pos + sTail.length;
        scopes.push({ head: sHead, tail: sTail, g, len: sLen });
        len += 1 + varintSize(sLen) + sLen;
      }
      parts.push({ head, tail, scopes, len });
      total += 1 + varintSize(len) + len;
    }
    const out = new ProtobufWriter(Math.max(total, 1));
    for (const p of parts) {
      out.writeByte(0x0a); // resource_logs = 1
      out.writeVarint(p.len);
      out.writeRaw(p.head);
      for (const s of p.scopes) {
        out.writeByte(0x12); // scope_logs = 2
        out.writeVarint(s.len);
        out.writeRaw(s.head);
        out.writeRaw(s.g.records.view());
        out.writeRaw(s.tail);
      }
      out.writeRaw(p.tail);
    }
    this.clear();
    return out.buf.length === out.pos ? out.buf : out.view();
  }

  /** Drops what was added; the record buffers go back to the pool. */
  clear(): void {
    for (const g of this._groups) this._pool.give(g.records);
    this._groups.length = 0;
    this._last = undefined;
    this.count = 0;
    this.bytes = 0;
  }

  private _group(resource: Resource, scope: InstrumentationScope): ScopeGroup {
    for (const g of this._groups) {
      if (g.scope === scope && g.resource === resource) {
        this._last = g;
        return g;
      }
    }
    const g: ScopeGroup = { resource, scope, records: this._pool.take() };
    this._groups.push(g);
    this._last = g;
    return g;
  }
}

const resourceCache = new WeakMap<Resource, Buffer>();
const scopeCache = new WeakMap<InstrumentationScope, Buffer>();

function resourceField(resource: Resource): Buffer {
  let b = resourceCache.get(resource);
  if (b === undefined) {
    b = encodeResourceField(resource);
    // a resource still resolving async attributes may change: cache only settled ones
    if (!resource.asyncAttributesPending) resourceCache.set(resource, b);
  }
  return b;
}

function scopeField(scope: InstrumentationScope): Buffer {
  let b = scopeCache.get(scope);
  if (b === undefined) {
    b = encodeScopeField(scope);
    scopeCache.set(scope, b);
  }
  return b;
}

/**
 * Encodes `records` as one `ExportLogsServiceRequest`: the same bytes as
 * `ProtobufLogsSerializer.serializeRequest(records)`. Throws where it throws.
 */
export function encodeLogsRequest(records: readonly ReadableLogRecord[]): Buffer {
  const b = new LogsRequestBuilder();
  for (const r of records) b.add(r);
  return b.build();
}
