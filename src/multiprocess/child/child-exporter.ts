/**
 * The child side of multi-process logging: the official OTLP/gRPC log exporter pointed at the
 * primary's receiver, behind a batch processor sized for bursts.
 *
 * @module
 */
import {
  type Attributes,
  type Counter,
  createNoopMeter,
  diag,
  type Meter,
  type MeterProvider,
  type ObservableCallback,
  type ObservableUpDownCounter,
} from '@opentelemetry/api';
import type { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { exporterToPrimary, primaryTarget } from './primary-target.ts';

/** Batch settings of {@link createChildExport}; see {@link CHILD_EXPORT_DEFAULTS}. */
export interface ChildExportOptions {
  /** Records held while exports are in flight; beyond it records are dropped (counted, warned). */
  maxQueueSize?: number;
  /** Records per Export request. */
  maxExportBatchSize?: number;
  /** Longest a record waits before a partial batch is sent, in ms. */
  scheduledDelayMillis?: number;
  /** Deadline of one Export call, in ms (a failed export loses its batch: the gRPC exporter does not retry). */
  exportTimeoutMillis?: number;
}

/**
 * Defaults of {@link createChildExport}, chosen for throughput without silent loss:
 * - `maxQueueSize: 65_536` records (the SDK default 2048 drops a burst of a few thousand
 *   records without a word). A record in the queue is ~0.5–1 KiB of heap, so the worst case is
 *   ~32–64 MiB per child, and a child emitting as fast as it can in one synchronous loop
 *   keeps 65k records before anything is lost.
 * - `maxExportBatchSize: 2048` records: the batch processor keeps only one export in flight, so
 *   large batches amortise the per-call cost (serialisation set-up, one HTTP/2 round trip,
 *   decode set-up in the primary); 2048 records of up to ~8 KiB each stay below the receiver's
 *   16 MiB max message size.
 * - `scheduledDelayMillis: 200` ms: a quiet child's records reach the primary within 0.2 s
 *   (a full batch is sent at once regardless).
 * - `exportTimeoutMillis: 30_000` ms (the SDK default).
 */
export const CHILD_EXPORT_DEFAULTS: Readonly<Required<ChildExportOptions>> = Object.freeze({
  maxQueueSize: 65_536,
  maxExportBatchSize: 2048,
  scheduledDelayMillis: 200,
  exportTimeoutMillis: 30_000,
});

/** Counters of a child's export path (from the batch processor's own self-observability hooks). */
export interface ChildExportStats {
  /** records waiting in the batch processor's queue now */
  queued: number;
  /** records dropped because the queue was full */
  dropped: number;
  /** records the receiver accepted */
  exported: number;
  /** records lost in failed exports (receiver down, rejected, timed out) */
  failed: number;
}

/** What {@link createChildExport} returns. */
export interface ChildExport {
  /** the official `OTLPLogExporter` (gRPC) pointed at the primary */
  exporter: OTLPLogExporter;
  /** a `BatchLogRecordProcessor` around `exporter`; add it to the child's LoggerProvider (or Pipeline) */
  processor: BatchLogRecordProcessor;
  /** a snapshot of the counters; `queued` lets a producer pace itself */
  stats(): ChildExportStats;
}

const PROCESSED = 'otel.sdk.processor.log.processed';
const QUEUE_SIZE = 'otel.sdk.processor.log.queue.size';
const ERROR_TYPE = 'error.type';

/**
 * A MeterProvider that only listens to the batch processor's self-observability instruments
 * (`otel.sdk.processor.log.processed` with `error.type`, and the observable queue size): the
 * public way to learn about dropped and failed records without a metrics SDK.
 */
function createWatchingMeterProvider(): { provider: MeterProvider; stats(): ChildExportStats } {
  const noop = createNoopMeter();
  const counts = { dropped: 0, exported: 0, failed: 0 };
  const queueCallbacks: ObservableCallback[] = [];
  let lastWarn = 0;
  let unwarnedDrops = 0;

  const processed: Counter = {
    add(value: number, attributes?: Attributes): void {
      const error = attributes?.[ERROR_TYPE];
      if (error === undefined) {
        counts.exported += value;
      } else if (error === 'queue_full') {
        counts.dropped += value;
        unwarnedDrops += value;
        const now = Date.now();
        if (now - lastWarn >= 10_000) {
          diag.warn(
            `starlog: the child's log queue is full: dropped ${unwarnedDrops} record(s) (${counts.dropped} in all); raise maxQueueSize or emit less`,
          );
          lastWarn = now;
          unwarnedDrops = 0;
        }
      } else {
        counts.failed += value;
      }
    },
  };
  const queue: ObservableUpDownCounter = {
    addCallback(callback: ObservableCallback): void {
      queueCallbacks.push(callback);
    },
    removeCallback(callback: ObservableCallback): void {
      const i = queueCallbacks.indexOf(callback);
      if (i >= 0) queueCallbacks.splice(i, 1);
    },
  };
  const meter: Meter = {
    createCounter: (name, options) =>
      name === PROCESSED ? (processed as never) : noop.createCounter(name, options),
    createObservableUpDownCounter: (name, options) =>
      name === QUEUE_SIZE ? (queue as never) : noop.createObservableUpDownCounter(name, options),
    createGauge: (name, options) => noop.createGauge(name, options),
    createHistogram: (name, options) => noop.createHistogram(name, options),
    createUpDownCounter: (name, options) => noop.createUpDownCounter(name, options),
    createObservableGauge: (name, options) => noop.createObservableGauge(name, options),
    createObservableCounter: (name, options) => noop.createObservableCounter(name, options),
    addBatchObservableCallback: () => {},
    removeBatchObservableCallback: () => {},
  };
  return {
    provider: { getMeter: () => meter },
    stats(): ChildExportStats {
      let queued = 0;
      for (const callback of queueCallbacks) {
        void callback({
          observe(value: number): void {
            queued += value;
          },
        });
      }
      return { queued, ...counts };
    },
  };
}

function checkPositive(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(
      `starlog: ${what} must be a positive integer; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Creates the child's export path to the primary's receiver: the official `OTLPLogExporter`
 * from `@opentelemetry/exporter-logs-otlp-grpc`, with `url = STARLOG_ENDPOINT`
 * (`unix:///path` or `http://127.0.0.1:PORT`), plain-text credentials
 * (`credentials.createInsecure()`: the unix socket is private and TCP is loopback only) and
 * the token as metadata `x-starlog-token`, behind a `BatchLogRecordProcessor` sized by
 * {@link CHILD_EXPORT_DEFAULTS}. Dropped records (full queue) are counted and reported through
 * `diag.warn` (at most every 10 s) instead of vanishing.
 *
 * Note: the gRPC exporter does not retry; a failed export loses its batch (counted in
 * `stats().failed`). Call `processor.forceFlush()`/`shutdown()` before the child exits.
 *
 * @param env - where `STARLOG_ENDPOINT` and `STARLOG_TOKEN` are read; default `process.env`
 * @param options - batch settings, defaults {@link CHILD_EXPORT_DEFAULTS}
 * @throws Error when `STARLOG_ENDPOINT` is not set; TypeError for a bad option
 */
export function createChildExport(
  env: Record<string, string | undefined> = process.env,
  options: ChildExportOptions = {},
): ChildExport {
  const target = primaryTarget(env);
  const settings = { ...CHILD_EXPORT_DEFAULTS, ...options };
  const maxQueueSize = checkPositive(settings.maxQueueSize, 'maxQueueSize');
  const maxExportBatchSize = checkPositive(settings.maxExportBatchSize, 'maxExportBatchSize');
  if (maxExportBatchSize > maxQueueSize) {
    throw new TypeError(
      `starlog: maxExportBatchSize (${maxExportBatchSize}) must not exceed maxQueueSize (${maxQueueSize})`,
    );
  }
  const scheduledDelayMillis = checkPositive(settings.scheduledDelayMillis, 'scheduledDelayMillis');
  const exportTimeoutMillis = checkPositive(settings.exportTimeoutMillis, 'exportTimeoutMillis');

  const exporter = exporterToPrimary(target, exportTimeoutMillis);
  const watch = createWatchingMeterProvider();
  const processor = new BatchLogRecordProcessor({
    exporter,
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMillis,
    exportTimeoutMillis,
    selfObsMeterProvider: watch.provider,
  });
  return { exporter, processor, stats: watch.stats };
}
