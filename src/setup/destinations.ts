import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ShippingProcessor } from '../export/shipping-processor.ts';
import { JsonlFileExporter } from '../exporters/jsonl-file.ts';
import { PrettyConsoleExporter } from '../exporters/pretty-console.ts';
import { TOKEN_METADATA_KEY } from '../multiprocess/protocol/token.ts';
import type {
  CollectorSetupOptions,
  ConsoleSetupOptions,
  FileSetupOptions,
  SetupOptions,
} from '../options.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { SeverityFilterProcessor } from '../pipeline/severity-filter.ts';

/** The primary's destinations: where records leave the process. */
export interface Destinations {
  /** Gets ordinary records (each destination applies its own minimum severity). */
  main: LogRecordProcessor;
  /** Gets status records (the console shows them whatever its minimum severity). */
  status: LogRecordProcessor;
  /** The export queue of each destination, by name (`file`, `console`, `collector`). */
  queues: Record<string, ShippingProcessor>;
  /** Where the JSON-lines file is, if there is one. */
  filePath?: string;
}

/**
 * Builds the primary's destinations: an OTLP/gRPC exporter to a collector when `options.collector`
 * has an endpoint (the environment at start was applied to the options by `toSetupOptions`, with
 * or without a configuration file), else the embedded default (JSON-lines file + console).
 * Each destination sits behind its own {@link ShippingProcessor} (bounded queue, drops counted).
 */
export function buildDestinations(options: SetupOptions): Destinations {
  const queues: Record<string, ShippingProcessor> = {};
  const main: LogRecordProcessor[] = [];
  const status: LogRecordProcessor[] = [];
  const collectorOptions = options.collector === false ? undefined : options.collector;
  const collectorEndpoint = collectorOptions?.endpoint;
  let filePath: string | undefined;
  const statusTo = options.status === false ? 'all' : (options.status?.destination ?? 'all');
  const wantsStatus = (name: 'collector' | 'file' | 'console') =>
    statusTo === 'all' || statusTo === name;

  if (collectorEndpoint !== undefined && collectorOptions !== undefined) {
    const q = new ShippingProcessor({
      exporter: collectorExporter(collectorEndpoint, collectorOptions),
    });
    queues.collector = q;
    main.push(filtered(q, collectorOptions.minSeverity));
    if (wantsStatus('collector')) status.push(q);
  }
  const embedded = collectorEndpoint === undefined;
  const fileOptions = options.file === false ? undefined : options.file;
  if (options.file !== false && (embedded || fileOptions !== undefined)) {
    const f: FileSetupOptions = fileOptions ?? {};
    filePath = f.path ?? './logs/starlog.jsonl';
    const q = new ShippingProcessor({
      exporter: new JsonlFileExporter({ path: filePath, maxSize: f.maxSize, maxFiles: f.maxFiles }),
    });
    queues.file = q;
    main.push(filtered(q, f.minSeverity));
    if (wantsStatus('file')) status.push(q);
  }
  const consoleOptions = options.console === false ? undefined : options.console;
  if (options.console !== false && (embedded || consoleOptions !== undefined)) {
    const c: ConsoleSetupOptions = consoleOptions ?? {};
    const q = new ShippingProcessor({
      exporter: new PrettyConsoleExporter({ template: c.template, colors: c.colors }),
      scheduledDelay: 50,
    });
    queues.console = q;
    main.push(filtered(q, c.minSeverity));
    if (wantsStatus('console')) status.push(q);
  }
  return {
    main: fanOut(main),
    status: fanOut(status),
    queues,
    filePath,
  };
}

function filtered(
  next: LogRecordProcessor,
  minSeverity: string | number | undefined,
): LogRecordProcessor {
  return minSeverity === undefined ? next : new SeverityFilterProcessor(next, { minSeverity });
}

function fanOut(stages: LogRecordProcessor[]): LogRecordProcessor {
  if (stages.length === 1) return stages[0]!;
  // a Pipeline that lets every severity through: isolation per destination, nothing else
  return new Pipeline({ stages, levels: 'trace' });
}

/**
 * The official OTLP/gRPC exporter pointed at a collector. Everything is passed explicitly: the
 * primary puts its receiver's `OTEL_EXPORTER_OTLP_LOGS_*` variables into `process.env` for its
 * children, and the exporter would otherwise pick those up (insecure credentials, the receiver's
 * token header) at its first export.
 */
function collectorExporter(endpoint: string, options: CollectorSetupOptions): OTLPLogExporter {
  const metadata = new Metadata();
  // an explicit empty entry keeps the receiver's token (in process.env for children) away from the collector
  metadata.set(TOKEN_METADATA_KEY, '');
  for (const [k, v] of Object.entries(options.headers ?? {})) metadata.set(k, v);
  const insecure = options.insecure ?? /^http:\/\//i.test(endpoint);
  return new OTLPLogExporter({
    url: endpoint,
    metadata,
    credentials: insecure ? credentials.createInsecure() : credentials.createSsl(),
    ...(options.compression === 'gzip' ? { compression: 'gzip' as never } : {}),
  });
}
