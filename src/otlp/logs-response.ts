/**
 * Decodes an `ExportLogsServiceResponse` (opentelemetry-proto
 * `collector/logs/v1/logs_service.proto`: 1 `partial_success` → `ExportLogsPartialSuccess`:
 * 1 `rejected_log_records` int64, 2 `error_message` string) into the shape the official
 * exporter's response handler reads, without loading `@opentelemetry/otlp-transformer` (its
 * index loads every signal's serializers and `@opentelemetry/sdk-metrics`: ~80 modules and
 * ~2 MB of resident memory in every child, for a response starlog's receiver leaves empty).
 *
 * @module
 */

/** What `ProtobufLogsSerializer.deserializeResponse` returns, as far as starlog reads it. */
export interface LogsExportResponse {
  partialSuccess?: { rejectedLogRecords?: number; errorMessage?: string };
}

/**
 * The response's partial success, if any. Never throws: bytes that are not a response read as
 * an empty response (the exporter then reports plain success).
 */
export function decodeLogsExportResponse(bytes: Uint8Array): LogsExportResponse {
  try {
    const out: LogsExportResponse = {};
    walk(bytes, 0, bytes.length, (field, start, end) => {
      if (field !== 1 || end < 0) return;
      const partial: NonNullable<LogsExportResponse['partialSuccess']> = {};
      walk(bytes, start, end, (f, s, e, value) => {
        if (f === 1 && e < 0) partial.rejectedLogRecords = value;
        else if (f === 2 && e >= 0)
          partial.errorMessage = Buffer.from(bytes.subarray(s, e)).toString('utf8');
      });
      out.partialSuccess = partial;
    });
    return out;
  } catch {
    return {};
  }
}

/**
 * Calls `fn(field, start, end, value)` for each field of the message in `bytes[pos, end)`:
 * length-delimited fields with their content's range, varints with `end = -1` and their value
 * (other wire types are skipped). Throws on truncated input.
 */
function walk(
  bytes: Uint8Array,
  pos: number,
  end: number,
  fn: (field: number, start: number, end: number, value: number) => void,
): void {
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (pos >= end) throw new RangeError('truncated');
      const b = bytes[pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  };
  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) fn(field, pos, -1, varint());
    else if (wire === 2) {
      const len = varint();
      if (pos + len > end) throw new RangeError('truncated');
      fn(field, pos, pos + len, 0);
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new RangeError(`wire type ${wire}`);
  }
}
