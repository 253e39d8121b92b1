/**
 * The official OTLP/gRPC transport for requests starlog has already encoded: the export
 * delegate of `@opentelemetry/otlp-grpc-exporter-base` (what `OTLPLogExporter` is made of) with
 * a serializer that returns the pre-encoded bytes. Transport, options, `OTEL_EXPORTER_OTLP_*`
 * handling, concurrency limit and self-observability metrics stay the official ones.
 *
 * Loading this module loads `@grpc/grpc-js` (~65 modules, ~150 ms CPU): a child loads it with a
 * dynamic import at its first gRPC export (`otlp-bytes-exporter.ts`), not at start-up.
 *
 * @module
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import {
  createOtlpNetworkExportDelegate,
  OTLPExporterBase,
} from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
  createOtlpGrpcExporterMetrics,
  type OTLPGRPCExporterConfigNode,
} from '@opentelemetry/otlp-grpc-exporter-base';
import type { PrimaryTarget } from '../multiprocess/child/primary-target.ts';
import { TOKEN_METADATA_KEY } from '../multiprocess/protocol/token.ts';
import { OTLP_LOGS_EXPORT_PATH } from '../otlp/grpc-methods.ts';
import { decodeLogsExportResponse, type LogsExportResponse } from '../otlp/logs-response.ts';
import type { EncodedLogsExporter, EncodedLogsRequest } from './otlp-bytes-exporter.ts';
import { UnrefGrpcTransport } from './unref-grpc-transport.ts';

/**
 * The serializer handed to the official delegate: the request is already bytes; the response is
 * read by `logs-response.ts` (what `ProtobufLogsSerializer.deserializeResponse` reads, without
 * loading `@opentelemetry/otlp-transformer` and `@opentelemetry/sdk-metrics` into every child).
 */
const PRE_ENCODED = {
  serializeRequest: (request: EncodedLogsRequest): Uint8Array => request.bytes,
  deserializeResponse: (data: Uint8Array): LogsExportResponse => decodeLogsExportResponse(data),
};

/** The official exporter metrics' item counter for logs (as `LogsExporterMetricsHelper` of otlp-transformer 0.301). */
const LOGS_METRICS_HELPER = {
  name: 'log',
  countItems: (request: EncodedLogsRequest): number => request.length,
};

/**
 * An OTLP/gRPC logs exporter for encoded requests, configured like the official
 * `OTLPLogExporter` (same options object, same `OTEL_EXPORTER_OTLP_LOGS_*` /
 * `OTEL_EXPORTER_OTLP_*` fallbacks, same defaults).
 */
export class OtlpGrpcBytesExporter
  extends OTLPExporterBase<EncodedLogsRequest>
  implements EncodedLogsExporter
{
  constructor(config: OTLPGRPCExporterConfigNode = {}) {
    super(
      createOtlpGrpcExportDelegate(
        convertLegacyOtlpGrpcOptions(config, 'LOGS'),
        PRE_ENCODED,
        'otlp_grpc_log_exporter',
        LOGS_METRICS_HELPER as never,
        undefined,
        'LogsExportService',
        OTLP_LOGS_EXPORT_PATH,
      ),
    );
  }
}

/**
 * The exporter of encoded requests to the primary's receiver: the official OTLP export delegate
 * over {@link UnrefGrpcTransport} (plain-text gRPC: the socket is private, TCP is loopback only;
 * an open call does not keep the child alive), the token as metadata `x-starlog-token`,
 * `timeoutMillis` as the deadline of each call.
 */
export function bytesExporterToPrimary(
  target: PrimaryTarget,
  timeoutMillis: number,
  userAgent?: string,
): OTLPExporterBase<EncodedLogsRequest> {
  const metadata = new Metadata();
  if (target.token) metadata.set(TOKEN_METADATA_KEY, target.token);
  const config = convertLegacyOtlpGrpcOptions(
    { url: target.endpoint, credentials: credentials.createInsecure(), metadata, timeoutMillis },
    'LOGS',
  );
  return new OTLPExporterBase(
    createOtlpNetworkExportDelegate(
      config,
      PRE_ENCODED,
      createOtlpGrpcExporterMetrics(
        'otlp_grpc_log_exporter',
        LOGS_METRICS_HELPER as never,
        config.url,
        undefined,
      ),
      new UnrefGrpcTransport({
        address: config.url,
        path: OTLP_LOGS_EXPORT_PATH,
        metadata,
        ...(userAgent === undefined ? {} : { userAgent }),
      }),
    ),
  );
}
