/**
 * Splits an encoded `ExportLogsServiceRequest` in two halves by log record, keeping each
 * record's resource and scope (for a request the peer found too large). Reads only the framing
 * (field keys and lengths) of what `logs-encoder.ts` writes; records are copied as they are.
 *
 * @module
 */
import { ProtobufWriter } from './protobuf-writer.ts';

interface Field {
  field: number;
  /** the whole field: key, length and content */
  start: number;
  end: number;
  /** the content of a length-delimited field */
  contentStart: number;
}

function readVarint(b: Uint8Array, at: { pos: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = b[at.pos++];
    if (byte === undefined) throw new RangeError('starlog: truncated varint');
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
    shift += 7;
    if (shift > 63) throw new RangeError('starlog: varint too long');
  }
}

/** The fields of a message in `b[start, end)`; only wire types 0, 1, 2 and 5 occur. */
function fields(b: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  const at = { pos: start };
  while (at.pos < end) {
    const fieldStart = at.pos;
    const key = readVarint(b, at);
    const wire = key & 7;
    let contentStart = at.pos;
    if (wire === 0) readVarint(b, at);
    else if (wire === 1) at.pos += 8;
    else if (wire === 5) at.pos += 4;
    else if (wire === 2) {
      const len = readVarint(b, at);
      contentStart = at.pos;
      at.pos += len;
    } else throw new RangeError(`starlog: unexpected wire type ${wire}`);
    out.push({ field: key >>> 3, start: fieldStart, end: at.pos, contentStart });
  }
  if (at.pos !== end) throw new RangeError('starlog: truncated message');
  return out;
}

/** The number of log records in an encoded request. */
export function countLogRecords(request: Uint8Array): number {
  let n = 0;
  for (const rl of fields(request, 0, request.length)) {
    if (rl.field !== 1) continue;
    for (const sl of fields(request, rl.contentStart, rl.end)) {
      if (sl.field !== 2) continue;
      for (const f of fields(request, sl.contentStart, sl.end)) if (f.field === 2) n++;
    }
  }
  return n;
}

/**
 * The first `firstCount` log records and the rest, as two requests (the same resources and
 * scopes around them; empty groups left out).
 */
export function splitLogsRequest(request: Uint8Array, firstCount: number): [Buffer, Buffer] {
  const a = new ProtobufWriter(request.length + 64);
  const b = new ProtobufWriter(request.length + 64);
  let seen = 0;
  for (const rl of fields(request, 0, request.length)) {
    if (rl.field !== 1) continue;
    const parts = fields(request, rl.contentStart, rl.end);
    const startA = openGroup(a, 0x0a, parts, request, 2);
    const startB = openGroup(b, 0x0a, parts, request, 2);
    let usedA = false;
    let usedB = false;
    for (const p of parts) {
      if (p.field !== 2) continue;
      const inner = fields(request, p.contentStart, p.end);
      const sA = openGroup(a, 0x12, inner, request, 2);
      const sB = openGroup(b, 0x12, inner, request, 2);
      let inA = 0;
      let inB = 0;
      for (const f of inner) {
        if (f.field !== 2) continue;
        if (seen++ < firstCount) {
          a.writeRaw(request.subarray(f.start, f.end));
          inA++;
        } else {
          b.writeRaw(request.subarray(f.start, f.end));
          inB++;
        }
      }
      closeGroup(a, sA, inA > 0, inner, request, 2);
      closeGroup(b, sB, inB > 0, inner, request, 2);
      usedA ||= inA > 0;
      usedB ||= inB > 0;
    }
    // resource_logs: resource (1) first, scope_logs (2) written above, schema_url (3) last
    closeGroup(a, startA, usedA, parts, request, 2);
    closeGroup(b, startB, usedB, parts, request, 2);
  }
  return [Buffer.from(a.view()), Buffer.from(b.view())];
}

interface Open {
  at: number;
  pos: number;
}

/** Starts a group (`key` + length) and copies the fields before `manyField`. */
function openGroup(
  w: ProtobufWriter,
  key: number,
  inner: Field[],
  src: Uint8Array,
  manyField: number,
): Open {
  const pos = w.pos;
  w.writeByte(key);
  const at = w.startLength(4);
  for (const f of inner) if (f.field < manyField) w.writeRaw(src.subarray(f.start, f.end));
  return { at, pos };
}

function closeGroup(
  w: ProtobufWriter,
  open: Open,
  used: boolean,
  inner: Field[],
  src: Uint8Array,
  manyField: number,
): void {
  if (!used) {
    w.pos = open.pos;
    return;
  }
  for (const f of inner) if (f.field > manyField) w.writeRaw(src.subarray(f.start, f.end));
  w.finishLength(open.at, 4);
}
