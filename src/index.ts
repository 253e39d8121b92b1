/**
 * starlog: OpenTelemetry-native logging for multi-process Node.js services.
 * Public exports only; see README.md.
 */
export { getLogger, type Logger, type LogMethod } from './logger.ts';
export {
  formatLevelSpec,
  type LevelRule,
  type LevelSpec,
  LevelTable,
  parseLevelSpec,
} from './pipeline/level-table.ts';
export { Pipeline, type PipelineOptions, type PipelineStats } from './pipeline/pipeline.ts';
export {
  registerGlobalLoggerProvider,
  unregisterGlobalLoggerProvider,
} from './setup/register-global.ts';
export { SEVERITY_NAMES, type SeverityName, severityName } from './severity.ts';
export { type Duration, parseDuration } from './util/duration.ts';
export { PlainLogRecord, type PlainLogRecordInit } from './util/plain-log-record.ts';
