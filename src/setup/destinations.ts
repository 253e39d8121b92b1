import { credentials, Metadata } from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ShippingProcessor } from '../export/shipping-processor.ts';
import { JsonlFileExporter } from '../exporters/jsonl-file.ts';
import { PrettyConsoleExporter } from '../exporters/pretty-console.ts';
import { SyncExporter } from '../multiprocess/child/sync-export.ts';
import { TOKEN_METADATA_KEY } from '../multiprocess/protocol/token.ts';
import type {
  CollectorSetupOptions,
  ConsoleSetupOptions,
  FileSetupOptions,
  SetupOptions,
} from '../options.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { minimumSeverityOf, SeverityFilterProcessor } from '../pipeline/severity-filter.ts';
import type { ExitWriter } from './primary-exit-hooks.ts';

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
  /** The JSON-lines file exporter, if there is one (reopen, fault counters). */
  file?: JsonlFileExporter;
  /** The console exporter, if there is one (buffer counters). */
  console?: PrettyConsoleExporter;
  /** The synchronous writer of each destination (by queue name), for process exit. */
  exitWriters: Record<string, ExitWriter>;
}

/**
 * Builds the primary's destinations: an OTLP/gRPC exporter to a collector when `options.collector`
 * has an endpoint (the environment at start was applied to the options by `toSetupOptions`, with
 * or without a configuration file), else the embedded default (JSON-lines file + console).
 * Each destination sits behind its own {@link ShippingProcessor} (bounded queue, drops counted).
 */
export function buildDestinations(options: SetupOptions): Destinations {
  const queues: Record<string, ShippingProcessor> = {};
  // every destination's queue bounded in bytes (ShippingProcessor's defaults unless given)
  const bounds = {
    maxQueueBytes: options.destinationQueue?.maxQueueBytes,
    maxSpillBytes: options.destinationQueue?.maxSpillBytes,
    maxExportBatchBytes: options.destinationQueue?.maxExportBatchBytes,
  };
  const main: LogRecordProcessor[] = [];
  const status: LogRecordProcessor[] = [];
  const collectorOptions = options.collector === false ? undefined : options.collector;
  const collectorEndpoint = collectorOptions?.endpoint;
  let filePath: string | undefined;
  const statusTo = options.status === false ? 'all' : (options.status?.destination ?? 'all');
  const wantsStatus = (name: 'collector' | 'file' | 'console') =>
    statusTo === 'all' || statusTo === name;

  const exitWriters: Record<string, ExitWriter> = {};
  let file: JsonlFileExporter | undefined;
  let console: PrettyConsoleExporter | undefined;
  if (collectorEndpoint !== undefined && collectorOptions !== undefined) {
    const q = new ShippingProcessor({
      ...bounds,
      exporter: collectorExporter(collectorEndpoint, collectorOptions),
    });
    queues.collector = q;
    exitWriters.collector = collectorExitWriter(collectorEndpoint, collectorOptions);
    main.push(filtered(q, minimumSeverityOf(collectorOptions, 'collector')));
    if (wantsStatus('collector')) status.push(q);
  }
  const embedded = collectorEndpoint === undefined;
  const fileOptions = options.file === false ? undefined : options.file;
  if (options.file !== false && (embedded || fileOptions !== undefined)) {
    const f: FileSetupOptions = fileOptions ?? {};
    filePath = f.path ?? './logs/starlog.jsonl';
    file = new JsonlFileExporter({
      path: filePath,
      maxSize: f.maxSize,
      maxFiles: f.maxFiles,
      mode: f.mode,
      reopenSignal: f.reopenSignal,
    });
    const exporter = file;
    // a full queue is written synchronously by the emitting thread, not dropped (see writeSync)
    const q = new ShippingProcessor({
      ...bounds,
      exporter,
      writeSync: (records) => exporter.exportSync(records),
    });
    queues.file = q;
    exitWriters.file = (records) => exporter.exportSync(records);
    main.push(filtered(q, minimumSeverityOf(f, 'file')));
    if (wantsStatus('file')) status.push(q);
  }
  const consoleOptions = options.console === false ? undefined : options.console;
  if (options.console !== false && (embedded || consoleOptions !== undefined)) {
    const c: ConsoleSetupOptions = consoleOptions ?? {};
    console = new PrettyConsoleExporter({
      template: c.template,
      colors: c.colors,
      maxBufferedBytes: c.maxBufferedBytes,
    });
    const exporter = console;
    const q = new ShippingProcessor({ ...bounds, exporter, scheduledDelay: 50 });
    queues.console = q;
    exitWriters.console = (records, timeoutMs) => exporter.exportSync(records, timeoutMs);
    main.push(filtered(q, minimumSeverityOf(c, 'console')));
    if (wantsStatus('console')) status.push(q);
  }
  return {
    main: fanOut(main),
    status: fanOut(status),
    queues,
    filePath,
    file,
    console,
    exitWriters,
  };
}

/**
 * The synchronous export of a collector destination at process exit: the children's worker-thread
 * export (`SyncExporter`) to the collector. It speaks plaintext gRPC without headers, so it is
 * used for an insecure collector without headers (the usual local agent); otherwise the records
 * left at exit are counted as failed (call `handle.shutdown()` to deliver them).
 */
function collectorExitWriter(endpoint: string, options: CollectorSetupOptions): ExitWriter {
  const insecure = options.insecure ?? /^http:\/\//i.test(endpoint);
  if (!insecure || Object.keys(options.headers ?? {}).length > 0) {
    return (records) => {
      if (records.length > 0) {
        diag.warn(
          `starlog: ${records.length} records for the collector left at exit; the synchronous export supports only an insecure collector without headers (await handle.shutdown() before exiting)`,
        );
      }
      return { exported: 0, failed: records.length };
    };
  }
  return (records, timeoutMs) => {
    if (records.length === 0 || timeoutMs <= 0) return { exported: 0, failed: records.length };
    const exporter = new SyncExporter({ endpoint, timeoutMs });
    try {
      const r = exporter.export(records);
      return { exported: r.exported, failed: r.failed };
    } finally {
      exporter.close();
    }
  };
}

function filtered(
  next: LogRecordProcessor,
  minimumSeverity: string | number | undefined,
): LogRecordProcessor {
  return minimumSeverity === undefined
    ? next
    : new SeverityFilterProcessor(next, { minimumSeverity });
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
