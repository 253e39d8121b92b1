import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { decodeLogsExportResponse } from '../src/otlp/logs-response.ts';

/** The official reading, with int64 values as plain numbers (protobufjs may give a Long). */
function official(bytes: Uint8Array): unknown {
  const r = ProtobufLogsSerializer.deserializeResponse(bytes) as {
    partialSuccess?: { rejectedLogRecords?: unknown; errorMessage?: string };
  };
  const p = r.partialSuccess;
  if (p === undefined || p === null) return {};
  const out: Record<string, unknown> = {};
  if (p.rejectedLogRecords !== undefined && Number(p.rejectedLogRecords) !== 0)
    out.rejectedLogRecords = Number(p.rejectedLogRecords);
  if (p.errorMessage) out.errorMessage = p.errorMessage;
  return { partialSuccess: out };
}

function ours(bytes: Uint8Array): unknown {
  const p = decodeLogsExportResponse(bytes).partialSuccess;
  if (p === undefined) return {};
  const out: Record<string, unknown> = {};
  if (p.rejectedLogRecords) out.rejectedLogRecords = p.rejectedLogRecords;
  if (p.errorMessage) out.errorMessage = p.errorMessage;
  return { partialSuccess: out };
}

test('ExportLogsServiceResponse: read as the official ProtobufLogsSerializer reads it', () => {
  const cases: [string, number[]][] = [
    ['empty (what the receiver answers)', []],
    ['partial success: 5 rejected, "x"', [0x0a, 0x05, 0x08, 0x05, 0x12, 0x01, 0x78]],
    ['partial success, empty', [0x0a, 0x00]],
    ['2^40 rejected', [0x0a, 0x07, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]],
    ['unknown fields skipped', [0x10, 0x01, 0x0a, 0x04, 0x18, 0x07, 0x08, 0x03, 0x1a, 0x00]],
  ];
  for (const [name, bytes] of cases) {
    const b = Uint8Array.from(bytes);
    assert.deepEqual(ours(b), official(b), name);
  }
  // never throws: bytes that are not a response read as an empty one
  assert.deepEqual(decodeLogsExportResponse(Uint8Array.from([0x0a, 0x05, 0x08])), {});
});
