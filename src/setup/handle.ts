import type { Resource } from '@opentelemetry/resources';
import type { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { ShippingStats } from '../export/shipping-processor.ts';
import type { ConsoleWriterStats } from '../exporters/console-writer.ts';
import type { JsonlFileExporterStats } from '../exporters/jsonl-file.ts';
import type { LevelChange } from '../multiprocess/protocol/level-control.ts';
import type { Receiver, ReceiverStats } from '../multiprocess/receiver/receiver.ts';
import type { LevelTable } from '../pipeline/level-table.ts';
import type { Pipeline, PipelineStats } from '../pipeline/pipeline.ts';
import type { StatusProcessor } from '../processors/status/status-processor.ts';

/** Counters of a set-up process (all cumulative since `setupLogging()`). */
export interface LoggingStats {
  role: 'primary' | 'child';
  /** The root processor: records enabled / filtered by the level table, stage errors. */
  pipeline: PipelineStats;
  /** Primary: what the receiver got from children (per child by pid). */
  receiver?: ReceiverStats;
  /** Per destination (`file`, `console`, `collector`; in a child `primary`): the export queue. */
  destinations: Record<string, ShippingStats>;
  /** Primary with lookback: held, flushed and dropped records. */
  lookback?: {
    buffered: number;
    held: number;
    flushed: number;
    dropped: Record<string, number>;
  };
  /**
   * Records lost, summed over every reason that loses a record: destination queue overflow,
   * spill overflow, failed and rejected exports, records emitted after shutdown, stage errors,
   * receiver processor errors, and (primary) the drops its children reported
   * (`receiver.dropped.total`). Lookback drops (records never meant to be written unless their
   * trace failed) are not included; they are in `lookback.dropped`.
   */
  dropped: number;
  /**
   * Primary with a JSON-lines file: records written, and those not written by reason
   * (`failedBy.noSpace` disk full, `openFailed` the file could not be (re)opened, `writeFailed`
   * another write error, `afterClose`); these are also in `dropped` (as the file queue's
   * `exportFailed`) and in the status gauges `DROPPED-DISK-FULL`, `DROPPED-FILE-OPEN`,
   * `DROPPED-FILE-WRITE`.
   */
  file?: JsonlFileExporterStats;
  /**
   * Primary with the console on standard output: bytes written and buffered, records dropped
   * because the terminal or pipe did not read (also in `dropped` and the gauge `DROPPED-CONSOLE`).
   */
  console?: ConsoleWriterStats;
}

/** What `setupLogging()` returns. */
export interface LoggingHandle {
  /** Whether this process is the primary (runs the receiver and the processors) or a child. */
  readonly role: 'primary' | 'child';
  /** The registered LoggerProvider (also the global one in both API slots). */
  readonly provider: LoggerProvider;
  /** The root processor of this process. */
  readonly pipeline: Pipeline;
  /** The level table in force (`pipeline.levels`). */
  readonly levels: LevelTable;
  /** The resource of this process's records. */
  readonly resource: Resource;
  /** Primary: the receiver children ship to. */
  readonly receiver?: Receiver;
  /** Primary with `view`: the URL of the live view, with its token. */
  readonly viewUrl?: string;
  /** Primary: the status processor, unless `status: false`. */
  readonly status?: StatusProcessor;
  /**
   * Changes the level table of every process (in a child, through the primary), like
   * `starlog level set`: `'app.db=debug'` merges one rule, a bare level sets the default,
   * `{ spec, replace: true }` replaces the whole table, `{ spec: '', unset: ['app.db'] }` removes a
   * rule. Children apply the change within milliseconds.
   * @returns the table now in force, e.g. `'info,app.db=debug'`
   * @throws (rejects) an Error naming the bad entry; the table stays as it was everywhere
   */
  setLevels(change: string | LevelChange): Promise<string>;
  /** Counters, see {@link LoggingStats}. */
  stats(): LoggingStats;
  /** Exports everything emitted so far (children: to the primary; primary: to the destinations). */
  forceFlush(): Promise<void>;
  /**
   * Primary: closes the receiver (in-flight exports finish), emits the last status record, then
   * flushes and closes the destinations. Child: flushes to the primary. Then unregisters the
   * global provider. Idempotent; never rejects.
   */
  shutdown(): Promise<void>;
}
