/**
 * The `ExportLogsServiceResponse` of an OTLP logs export (`collector/logs/v1/logs_service.proto`),
 * read without `@opentelemetry/otlp-transformer`: a child imports nothing of that package (its
 * index loads the metrics and trace serializers and `@opentelemetry/sdk-metrics`, ~80 modules
 * and ~50 ms of every child's start-up) for the one thing it needs from it, this message.
 *
 * @module
 */
import { ProtobufReader, WT_LEN, WT_VARINT } from './protobuf-reader.ts';

/** The fields the official response handler looks at (`partialSuccess`, when sent). */
export interface ExportLogsResponse {
  partialSuccess?: { rejectedLogRecords?: number; errorMessage?: string };
}

/**
 * Decodes an `ExportLogsServiceResponse`: `partial_success = 1` (`rejected_log_records = 1`,
 * int64; `error_message = 2`), unknown fields skipped, as the official
 * `ProtobufLogsSerializer.deserializeResponse` (an empty message gives `{}`).
 * @throws OtlpDecodeError on malformed bytes (the official one throws too)
 */
export function decodeExportLogsResponse(bytes: Uint8Array): ExportLogsResponse {
  const out: ExportLogsResponse = {};
  if (bytes.byteLength === 0) return out;
  const r = new ProtobufReader();
  r.reset(bytes);
  const end = bytes.byteLength;
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag >>> 3 !== 1 || !r.is(tag, WT_LEN, end)) {
      if (tag >>> 3 !== 1) r.skip(tag, end);
      continue;
    }
    const partial: { rejectedLogRecords?: number; errorMessage?: string } = {};
    const len = r.length(end);
    const stop = r.pos + len;
    while (r.pos < stop) {
      const t = r.tag(stop);
      if (t >>> 3 === 1 && r.is(t, WT_VARINT, stop)) {
        const lo = r.varint32(stop);
        partial.rejectedLogRecords = r.hi * 2 ** 32 + lo;
      } else if (t >>> 3 === 2 && r.is(t, WT_LEN, stop)) {
        partial.errorMessage = r.string(stop);
      } else if (t >>> 3 !== 1 && t >>> 3 !== 2) {
        r.skip(t, stop);
      }
    }
    out.partialSuccess = { ...out.partialSuccess, ...partial };
  }
  return out;
}
