import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ConsoleLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';

/**
 * The processor a {@link StatusProcessor} emits its status records through when none is given:
 * for now a `SimpleLogRecordProcessor` (sdk-logs 3.x options form) with the SDK's `ConsoleLogRecordExporter` (stdout).
 * Each call returns a new processor, owned (and shut down) by the StatusProcessor that made it.
 */
export function defaultStatusProcessor(): LogRecordProcessor {
  return new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() });
}
