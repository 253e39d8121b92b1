/**
 * The receiver's OTLP logs service (`LogsService/Export`): token, backpressure, decode, hand each
 * record to the processor, keep drop reports as statistics.
 *
 * @module
 */
import {
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { diag, ROOT_CONTEXT } from '@opentelemetry/api';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BACKPRESSURE_DETAILS } from '../../export/retry.ts';
import { OTLP_LOGS_EXPORT_PATH, rawMethod } from '../../otlp/grpc-methods.ts';
import {
  OtlpDecodeError,
  type OtlpDecodeResult,
  type OtlpLogsDecoder,
} from '../../otlp/logs-decoder.ts';
import { batchDeadlineOf, batchIdOf, DROP_REPORT_SCOPE } from '../protocol/drop-report.ts';
import type { BatchArrival } from './batch-ledger.ts';
import type { ChildStatsTable } from './child-stats.ts';
import type { IngestedLogRecord } from './ingested-log-record.ts';
import type { TokenCheck } from './token-check.ts';

/** The hand-made service definition: bytes in, bytes out (we decode in the handler). */
export const LOGS_SERVICE: ServiceDefinition = {
  Export: rawMethod(OTLP_LOGS_EXPORT_PATH, 'export'),
};

const EMPTY_RESPONSE = Buffer.alloc(0); // an ExportLogsServiceResponse without partial_success

/** Counters of the logs service (see `ReceiverStats`). */
export interface LogsServiceCounters {
  requests: number;
  records: number;
  invalidArgument: number;
  resourceExhausted: number;
  backpressure: number;
  duplicates: number;
  /** requests refused because their deadline (`BATCH_DEADLINE_KEY`) had passed */
  expired: number;
  /** requests refused because their child had reported the batch dropped (`batch-ledger.ts`) */
  refusedDropped: number;
  processorErrors: number;
}

/** The `Export` handler and its counters. */
export class LogsService {
  readonly counters: LogsServiceCounters = {
    requests: 0,
    records: 0,
    invalidArgument: 0,
    resourceExhausted: 0,
    backpressure: 0,
    duplicates: 0,
    expired: 0,
    refusedDropped: 0,
    processorErrors: 0,
  };
  private lastProcessorReport = 0;
  private unreportedProcessorErrors = 0;

  private readonly decoder: OtlpLogsDecoder;
  private readonly processor: LogRecordProcessor;
  private readonly token: TokenCheck;
  private readonly children: ChildStatsTable;
  private readonly backpressure: (() => boolean) | undefined;

  constructor(
    decoder: OtlpLogsDecoder,
    processor: LogRecordProcessor,
    token: TokenCheck,
    children: ChildStatsTable,
    backpressure: (() => boolean) | undefined,
  ) {
    this.decoder = decoder;
    this.processor = processor;
    this.token = token;
    this.children = children;
    this.backpressure = backpressure;
  }

  /** The handlers to pass to `server.addService(LOGS_SERVICE, …)`. */
  handlers(): {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => void;
  } {
    return { Export: (call, callback) => this.export(call, callback) };
  }

  private export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
    const counters = this.counters;
    counters.requests++;
    if (!this.token.check(call.metadata)) {
      callback(this.token.error);
      return;
    }
    if (this.backpressure !== undefined && isBusy(this.backpressure)) {
      counters.backpressure++;
      callback({ code: status.RESOURCE_EXHAUSTED, details: BACKPRESSURE_DETAILS });
      return;
    }
    const error = this.ingest(call.request);
    if (error !== null) callback(error);
    else callback(null, EMPTY_RESPONSE);
  }

  /**
   * Decodes one `ExportLogsServiceRequest` (all or nothing), skips a batch ingested already,
   * hands each record to the processor and keeps drop reports: the body of an authenticated
   * `Export` call, or a request of a hand-off file (`handoff-intake.ts`). Returns the status to
   * answer with when the request is refused (malformed or over a limit; counted and reported
   * through `diag`), else `null`.
   */
  ingest(body: Buffer): { code: status; details: string } | null {
    const counters = this.counters;
    let result: OtlpDecodeResult;
    try {
      result = this.decoder.decode(body);
    } catch (err) {
      const limit = err instanceof OtlpDecodeError && err.kind === 'limit';
      if (limit) counters.resourceExhausted++;
      else counters.invalidArgument++;
      const message = err instanceof Error ? err.message : String(err);
      diag.warn(`starlog receiver: rejected an Export request: ${message}`);
      return {
        code: limit ? status.RESOURCE_EXHAUSTED : status.INVALID_ARGUMENT,
        details: `starlog receiver: ${message}`,
      };
    }
    const records = result.records;
    if (this.isExpired(records)) {
      // the child gave up on this request (it timed out while the primary was hung): not ingested
      counters.expired++;
      return {
        code: status.DEADLINE_EXCEEDED,
        details: 'starlog receiver: past the request deadline',
      };
    }
    const arrival = this.arrival(records);
    if (arrival === 'duplicate') {
      counters.duplicates++;
      return null;
    }
    if (arrival === 'dropped') {
      counters.refusedDropped++;
      return {
        code: status.FAILED_PRECONDITION,
        details: 'starlog receiver: the sender counted this batch as dropped',
      };
    }
    let reports: IngestedLogRecord[] | undefined;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as IngestedLogRecord;
      if (record.instrumentationScope.name === DROP_REPORT_SCOPE) {
        // a child's drop counts (drop-report.ts): statistics, not a record for the pipeline
        reports ??= [];
        reports.push(record);
        continue;
      }
      try {
        this.processor.onEmit(record, ROOT_CONTEXT);
      } catch (err) {
        this.reportProcessorError(err);
      }
    }
    counters.records += records.length - (reports?.length ?? 0);
    this.children.tally(result);
    if (reports !== undefined) this.children.takeDropReports(result, reports);
    return null;
  }

  private reportProcessorError(err: unknown): void {
    this.counters.processorErrors++;
    this.unreportedProcessorErrors++;
    const now = Date.now();
    if (now - this.lastProcessorReport >= 10_000) {
      diag.error(
        `starlog receiver: processor.onEmit threw for ${this.unreportedProcessorErrors} record(s) (${this.counters.processorErrors} in all); last error:`,
        err,
      );
      this.lastProcessorReport = now;
      this.unreportedProcessorErrors = 0;
    }
  }

  /** Whether a request's drop report names a deadline (`BATCH_DEADLINE_KEY`) that has passed. */
  private isExpired(records: readonly unknown[]): boolean {
    const last = records[records.length - 1] as IngestedLogRecord | undefined;
    if (last === undefined || last.instrumentationScope.name !== DROP_REPORT_SCOPE) return false;
    const deadline = batchDeadlineOf(last.attributes);
    return deadline !== undefined && Date.now() > deadline;
  }

  /**
   * What to do with a request by its batch id (`drop-report.ts`, `BATCH_ID_KEY`, in the drop
   * report appended last; its other records are the batch), see `BatchLedger`: `duplicate` when
   * it was ingested already (a child sent it again: its export timed out, or its exit export
   * resent a batch that was in flight), `dropped` when its child reported it dropped.
   */
  private arrival(records: readonly unknown[]): BatchArrival {
    const last = records[records.length - 1] as IngestedLogRecord | undefined;
    if (last === undefined || last.instrumentationScope.name !== DROP_REPORT_SCOPE) return 'ingest';
    const batch = batchIdOf(last.attributes);
    if (batch === '') return 'ingest';
    return this.children.batches.arrive(batch, records.length - 1);
  }
}

function isBusy(backpressure: () => boolean): boolean {
  try {
    return backpressure() === true;
  } catch (err) {
    diag.warn('starlog receiver: the backpressure function threw; accepting the call', err);
    return false;
  }
}
