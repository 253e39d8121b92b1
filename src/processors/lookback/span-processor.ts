import { type Context, diag, type SpanContext, SpanStatusCode } from '@opentelemetry/api';

/**
 * The parts of an ended span (sdk-trace `ReadableSpan`) that {@link LookbackSpanProcessor} reads.
 * Declared here so that `@opentelemetry/sdk-trace` stays an optional peer dependency.
 */
export interface EndedSpan {
  spanContext(): SpanContext;
  readonly parentSpanContext?: SpanContext;
  readonly status: { code: SpanStatusCode; message?: string };
}

/**
 * A `SpanProcessor` (structurally, for `@opentelemetry/sdk-trace`'s TracerProvider
 * `spanProcessors`) that ties a {@link LookbackProcessor} to the outcome of traces: when a local
 * root span (one without a parent, or with a remote parent) ends with status ERROR, the buffer
 * of its trace is flushed (and its `followFor` window starts); when it ends otherwise, the buffer
 * is released at once (counted as `discarded`, and so are the trace's records that would be held
 * and arrive within `followFor`) instead of waiting for `maxAge`.
 *
 * Keys are trace ids, i.e. this assumes the LookbackProcessor's default key function. Only spans
 * that record (sampled, or record-only) reach `onEnd`: the buffers of other traces wait for an
 * ERROR record or `maxAge`. Never throws; `forceFlush`/`shutdown` do nothing (the
 * LoggerProvider owns the LookbackProcessor).
 */
/** What the span processor needs of a lookback buffer (a `LookbackProcessor`). */
export interface LookbackBuffers {
  /** writes the records held under `key`; returns how many */
  flush(key: string): number;
  /** forgets the records held under `key` and those that arrive soon after; returns how many */
  release(key: string): number;
}

export class LookbackSpanProcessor {
  private readonly lookback: LookbackBuffers;

  constructor(lookback: LookbackBuffers) {
    this.lookback = lookback;
  }

  onStart(_span: unknown, _parentContext: Context): void {}

  onEnd(span: EndedSpan): void {
    try {
      const parent = span.parentSpanContext;
      if (parent !== undefined && parent.isRemote !== true) return;
      const traceId = span.spanContext().traceId;
      if (span.status.code === SpanStatusCode.ERROR) this.lookback.flush(traceId);
      else this.lookback.release(traceId);
    } catch (err) {
      diag.error('starlog LookbackSpanProcessor: onEnd failed', err);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
