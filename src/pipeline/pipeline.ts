import { type Context, diag, type SeverityNumber } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { hasNoCounterKeys } from '../multiprocess/receiver/ingested-log-record.ts';
import { countAttributes } from '../processors/status/counters.ts';
import { type LevelSpec, LevelTable } from './level-table.ts';

/** Options of {@link Pipeline}. */
export interface PipelineOptions {
  /** The stages, in order; each gets every enabled record. Default: none. */
  stages?: LogRecordProcessor[];
  /**
   * The level table: a {@link LevelTable} to share, or a level string such as
   * `'info,app.db=debug'`. Default: `process.env.STARLOG_LEVEL`, else `'info'`.
   */
  levels?: LevelTable | string | LevelSpec;
  /** Upper bound for `forceFlush()`/`shutdown()` of all stages, ms. Default 30,000. */
  timeoutMs?: number;
  /** @deprecated the old name of `timeoutMs` (accepted, with a warning through `diag`) */
  timeoutMillis?: number;
}

/** Counters of a {@link Pipeline}. */
export interface PipelineStats {
  /** Records handed to `onEmit` and enabled by the level table. */
  records: number;
  /** Records handed to `onEmit` but disabled by the level table (e.g. ingested from a child). */
  filtered: number;
  /** Exceptions thrown by stages, in total (each also reported through `diag`). */
  stageErrors: number;
}

/**
 * The one root `LogRecordProcessor` starlog gives each process's `LoggerProvider`.
 *
 * - Fans every record out to its stages in order. Each stage is isolated: one that throws is
 *   reported through `diag` and counted in `stats().stageErrors`, and the stages after it still
 *   run; `logger.emit()` never sees the exception.
 * - Answers `enabled()` from its {@link LevelTable}, and applies the same table in `onEmit` so that
 *   records that do not come through an SDK Logger (records ingested from children) obey it too.
 * - Stages can be added and removed at run time (copy-on-write: a record being fanned out sees
 *   the stage list as it was when it arrived).
 */
export class Pipeline implements LogRecordProcessor {
  /** The level table consulted by `enabled()` and `onEmit()`. */
  readonly levels: LevelTable;
  private stages: readonly LogRecordProcessor[];
  private readonly timeoutMs: number;
  private readonly counters: PipelineStats = { records: 0, filtered: 0, stageErrors: 0 };
  private shutdownPromise: Promise<void> | undefined;
  /**
   * A one-entry cache of the level threshold by instrumentation scope *object*: the SDK passes
   * its Logger's one scope object to `enabled()` and puts the same object on every record of that
   * Logger (ingested records share one object per child scope too), so a process that mostly
   * logs through one logger pays an identity compare instead of a Map lookup by name, twice per
   * record. Valid while `levels.version` equals `cachedVersion`.
   */
  private cachedScope: InstrumentationScope | undefined;
  private cachedMin = 0;
  private cachedVersion = -1;

  /** @throws Error when `levels` is an invalid level string */
  constructor(options: PipelineOptions = {}) {
    const levels = options.levels ?? process.env.STARLOG_LEVEL ?? 'info';
    this.levels = levels instanceof LevelTable ? levels : new LevelTable(levels);
    this.stages = [...(options.stages ?? [])];
    if (options.timeoutMs === undefined && options.timeoutMillis !== undefined)
      diag.warn('Pipeline: timeoutMillis is deprecated, use timeoutMs');
    this.timeoutMs = options.timeoutMs ?? options.timeoutMillis ?? 30_000;
  }

  /** Appends a stage (it gets records emitted from now on). */
  addStage(stage: LogRecordProcessor): void {
    this.stages = [...this.stages, stage];
  }

  /** Inserts a stage before the others. */
  prependStage(stage: LogRecordProcessor): void {
    this.stages = [stage, ...this.stages];
  }

  /** Removes a stage; returns whether it was there. The stage is not shut down. */
  removeStage(stage: LogRecordProcessor): boolean {
    if (!this.stages.includes(stage)) return false;
    this.stages = this.stages.filter((s) => s !== stage);
    return true;
  }

  /** Puts `next` where `stage` was; returns whether `stage` was there. Neither is shut down. */
  replaceStage(stage: LogRecordProcessor, next: LogRecordProcessor): boolean {
    if (!this.stages.includes(stage)) return false;
    this.stages = this.stages.map((s) => (s === stage ? next : s));
    return true;
  }

  /** The current stages, in order (a copy). */
  getStages(): LogRecordProcessor[] {
    return [...this.stages];
  }

  onEmit(record: ReadWriteLogRecord, context?: Context): void {
    if (this.shutdownPromise !== undefined) return;
    if (!this.allows(record.instrumentationScope, record.severityNumber)) {
      this.counters.filtered++;
      // its inc() counters count anyway (see count()); a received record without any: not decoded
      if (!hasNoCounterKeys(record)) countAttributes(record.attributes);
      return;
    }
    this.counters.records++;
    const stages = this.stages;
    for (let i = 0; i < stages.length; i++) {
      try {
        stages[i]!.onEmit(record, context);
      } catch (err) {
        this.stageFailed(stages[i]!, 'onEmit', err);
      }
    }
  }

  enabled(options: {
    context: Context;
    instrumentationScope: InstrumentationScope;
    severityNumber?: SeverityNumber;
    eventName?: string;
  }): boolean {
    if (this.shutdownPromise !== undefined) return false;
    return this.allows(options.instrumentationScope, options.severityNumber);
  }

  /** The level rule: UNSPECIFIED (absent or 0) always passes, as in `LevelTable.enabled`. */
  private allows(scope: InstrumentationScope, severity: number | undefined): boolean {
    if (severity === undefined || severity === 0) return true;
    return severity >= this.minSeverity(scope);
  }

  /** The level table's minimum severity for a scope, through the one-entry cache. */
  private minSeverity(scope: InstrumentationScope): number {
    const version = this.levels.version;
    if (scope === this.cachedScope && version === this.cachedVersion) return this.cachedMin;
    const min = this.levels.minSeverity(scope.name);
    this.cachedScope = scope;
    this.cachedMin = min;
    this.cachedVersion = version;
    return min;
  }

  /** Flushes every stage (in parallel); a failing stage is reported, never rethrown. */
  async forceFlush(): Promise<void> {
    await this.bounded(
      Promise.all(
        this.stages.map((s) =>
          Promise.resolve()
            .then(() => s.forceFlush())
            .catch((err) => this.stageFailed(s, 'forceFlush', err)),
        ),
      ),
      'forceFlush',
    );
  }

  /**
   * Shuts the stages down one after the other, in order (so a stage that reports at shutdown,
   * like the status processor, reaches the stages after it before they close). Idempotent.
   * Records emitted after shutdown began are ignored.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.bounded(
      (async () => {
        for (const s of this.stages) {
          try {
            await s.shutdown();
          } catch (err) {
            this.stageFailed(s, 'shutdown', err);
          }
        }
      })(),
      'shutdown',
    );
    return this.shutdownPromise;
  }

  /** Counters since construction (a copy). */
  stats(): PipelineStats {
    return { ...this.counters };
  }

  private stageFailed(stage: LogRecordProcessor, where: string, err: unknown): void {
    this.counters.stageErrors++;
    diag.error(`starlog: pipeline stage ${stage.constructor?.name ?? '?'}.${where} threw`, err);
  }

  private bounded(work: Promise<unknown>, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        diag.warn(`starlog: pipeline ${what} did not finish within ${this.timeoutMs} ms`);
        resolve();
      }, this.timeoutMs);
      timer.unref();
    });
    return Promise.race([work.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
  }
}
