/** Collecting processors for tests: keep what reaches them, in order. */
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';

/** A LogRecordProcessor that keeps every record given to `onEmit` (for a receiver or pipeline). */
export class CollectingProcessor implements LogRecordProcessor {
  readonly records: ReadWriteLogRecord[] = [];
  onEmit(record: ReadWriteLogRecord): void {
    this.records.push(record);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
