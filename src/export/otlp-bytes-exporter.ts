/**
 * Exporters of requests starlog has already encoded, and the child's exporter to its primary.
 *
 * The OTLP/gRPC transport (`otlp-grpc-bytes.ts`: `@opentelemetry/otlp-grpc-exporter-base` and
 * through it `@grpc/grpc-js`, ~65 modules, ~150 ms CPU to load) is loaded here with a dynamic
 * import at the first export, not at start-up: a child whose records leave as hand-off files
 * (batches sealed while the application does not yield, the exit path) or through the sync
 * worker never loads it, and one that exports over gRPC pays for it off its critical path.
 *
 * @module
 */
import { diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { primaryTarget } from '../multiprocess/child/primary-target.ts';
import {
  type ExporterOf,
  GrpcCode,
  ReconnectingExporter,
  type ReconnectingExporterOptions,
} from './retry.ts';

/**
 * An encoded `ExportLogsServiceRequest`: its protobuf bytes and how many log records it holds
 * (`length`, as the official exporter metrics count items).
 */
export interface EncodedLogsRequest {
  readonly bytes: Uint8Array;
  readonly length: number;
}

/** An exporter of encoded requests (the shape of the official exporters, over bytes). */
export interface EncodedLogsExporter {
  export(request: EncodedLogsRequest, resultCallback: (result: ExportResult) => void): void;
  forceFlush?(): Promise<void>;
  shutdown(): Promise<void>;
}

type GrpcBytesModule = typeof import('./otlp-grpc-bytes.ts');
let grpcBytesModule: Promise<GrpcBytesModule> | undefined;
let grpcBytesRequested = false;

/**
 * Whether this process has asked for the OTLP/gRPC transport yet (an export reached a
 * {@link DeferredExporter}): until then a child's `shutdown()` may hand its records over in a
 * file instead of loading it (`setup/child.ts`).
 */
export function grpcTransportRequested(): boolean {
  return grpcBytesRequested;
}

/**
 * Loads `otlp-grpc-bytes.ts` (once; after a failure the next call tries again).
 *
 * @returns the module; rejects with the import's error
 */
export function loadGrpcBytesModule(): Promise<GrpcBytesModule> {
  grpcBytesRequested = true;
  grpcBytesModule ??= import('./otlp-grpc-bytes.ts').catch((err: unknown) => {
    grpcBytesModule = undefined;
    throw err;
  });
  return grpcBytesModule;
}

/**
 * An exporter made when first needed: `make()` runs at the first `export()` and the exports
 * until it settles wait, in order, then go to the exporter it made (nothing is dropped or
 * reordered). When `make()` rejects, the error goes to `diag` and every waiting export fails
 * with gRPC status UNAVAILABLE (`code` 14, `grpc/status.proto`), which the shipping processor
 * retries with backoff and {@link ReconnectingExporter} answers with a new generation, so the
 * next export calls `make()` again.
 */
export class DeferredExporter<I> implements ExporterOf<I> {
  private readonly _make: () => Promise<ExporterOf<I>>;
  private _delegate: ExporterOf<I> | undefined;
  private _making: Promise<void> | undefined;
  private _waiting: [I, (result: ExportResult) => void][] = [];

  constructor(make: () => Promise<ExporterOf<I>>) {
    this._make = make;
  }

  export(items: I, resultCallback: (result: ExportResult) => void): void {
    if (this._delegate) {
      this._delegate.export(items, resultCallback);
      return;
    }
    this._waiting.push([items, resultCallback]);
    this._making ??= this._start();
  }

  async forceFlush(): Promise<void> {
    await this._making;
    await this._delegate?.forceFlush?.();
  }

  async shutdown(): Promise<void> {
    await this._making;
    await this._delegate?.shutdown();
  }

  private _start(): Promise<void> {
    return this._make().then(
      (delegate) => {
        // set and drained in one step: a later export() cannot overtake a waiting one
        this._delegate = delegate;
        const waiting = this._waiting;
        this._waiting = [];
        for (const [items, callback] of waiting) {
          // one export that throws must not strand the ones after it (as BatchQueue.send)
          try {
            delegate.export(items, callback);
          } catch (error) {
            callback({ code: ExportResultCode.FAILED, error: error as Error });
          }
        }
      },
      (err: unknown) => {
        diag.error('starlog: could not load the OTLP/gRPC exporter', err);
        const error = Object.assign(
          new Error(`starlog: could not load the OTLP/gRPC exporter: ${String(err)}`),
          { code: GrpcCode.UNAVAILABLE, details: 'starlog: exporter not loaded', cause: err },
        );
        const waiting = this._waiting;
        this._waiting = [];
        this._making = undefined;
        for (const [, callback] of waiting) callback({ code: ExportResultCode.FAILED, error });
      },
    );
  }
}

/**
 * The child's exporter to the primary (`STARLOG_ENDPOINT`, `STARLOG_TOKEN`), on a fresh channel
 * after an outage (see {@link ReconnectingExporter}; generation `n > 0` uses
 * `userAgent: 'starlog-reconnect/n'`). `timeoutMillis` (default 30 s) is the gRPC deadline of
 * each Export call. The gRPC transport is loaded at the first export ({@link DeferredExporter}).
 *
 * @throws Error when `STARLOG_ENDPOINT` is not set
 */
export function createPrimaryBytesExporter(
  env: Record<string, string | undefined> = process.env,
  options: ReconnectingExporterOptions & { timeoutMillis?: number } = {},
): ReconnectingExporter<EncodedLogsRequest> {
  const target = primaryTarget(env);
  return new ReconnectingExporter<EncodedLogsRequest>(
    (generation) =>
      new DeferredExporter(() =>
        loadGrpcBytesModule().then((m) =>
          m.bytesExporterToPrimary(
            target,
            options.timeoutMillis ?? 30_000,
            generation > 0 ? `starlog-reconnect/${generation}` : undefined,
          ),
        ),
      ),
    options,
  );
}
