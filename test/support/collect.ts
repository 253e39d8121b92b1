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

/** A LogRecordProcessor that only counts the records given to `onEmit` (`n`). */
export class CountingProcessor implements LogRecordProcessor {
  n = 0;
  onEmit(): void {
    this.n++;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
