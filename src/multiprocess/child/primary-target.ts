import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { TOKEN_METADATA_KEY } from '../protocol/token.ts';

/** Where a child reaches its primary: the receiver's gRPC target and the token. */
export interface PrimaryTarget {
  /** `STARLOG_ENDPOINT`: `unix:///…/receiver.sock` or `http://127.0.0.1:PORT` */
  endpoint: string;
  /** `STARLOG_TOKEN`, or `''` when there is none */
  token: string;
  /** `STARLOG_HANDOFF_DIR`: the primary's hand-off directory (`protocol/handoff.ts`), if it has one */
  handoffDir: string | undefined;
}

/**
 * Reads the primary's receiver from the environment a primary gives its children
 * (`STARLOG_ENDPOINT`, `STARLOG_TOKEN`, `STARLOG_HANDOFF_DIR`).
 * @throws Error when `STARLOG_ENDPOINT` is not set
 */
export function primaryTarget(
  env: {
    readonly STARLOG_ENDPOINT?: string;
    readonly STARLOG_TOKEN?: string;
    readonly STARLOG_HANDOFF_DIR?: string;
  } = process.env,
): PrimaryTarget {
  const endpoint = env.STARLOG_ENDPOINT?.trim();
  if (!endpoint) {
    throw new Error(
      'starlog: STARLOG_ENDPOINT is not set; a child needs the environment of its primary (receiver.env)',
    );
  }
  return {
    endpoint,
    token: env.STARLOG_TOKEN?.trim() ?? '',
    handoffDir: env.STARLOG_HANDOFF_DIR?.trim() || undefined,
  };
}

/**
 * The official `OTLPLogExporter` (`@opentelemetry/exporter-logs-otlp-grpc`) pointed at the
 * primary's receiver: plain-text gRPC (the socket is private, TCP is loopback only) and the
 * token as metadata `x-starlog-token`, all passed explicitly rather than read from the
 * `OTEL_EXPORTER_OTLP_LOGS_*` variables.
 */
export function exporterToPrimary(
  target: PrimaryTarget,
  timeoutMillis: number,
  userAgent?: string,
): OTLPLogExporter {
  const metadata = new Metadata();
  if (target.token) metadata.set(TOKEN_METADATA_KEY, target.token);
  return new OTLPLogExporter({
    url: target.endpoint,
    credentials: credentials.createInsecure(),
    metadata,
    timeoutMillis,
    ...(userAgent === undefined ? {} : { userAgent }),
  });
}
