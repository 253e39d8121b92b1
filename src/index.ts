/**
 * starlog: OpenTelemetry-native logging for multi-process Node.js services.
 * Public exports only; see README.md.
 */

// configuration
export { ConfigError, type ConfigIssue } from './config/errors.ts';
export {
  CONFIG_FILE_NAMES,
  findConfigFile,
  type LoadConfigOptions,
  type LoadedConfig,
} from './config/find.ts';
// the YAML parser and the schema library load only when a configuration file is read
export { loadConfig, loadConfigSync } from './config/load-lazy.ts';
export { diffReloadable, formatReloadReport, reloadConfig } from './config/reload.ts';
export { toSetupOptions } from './config/to-options.ts';
export {
  ShippingProcessor,
  type ShippingProcessorOptions,
  type ShippingStats,
} from './export/shipping-processor.ts';
// set-up
export type { ConsoleWriterStats } from './exporters/console-writer.ts';
// exporters
export {
  DEFAULT_FILE_MODE,
  JsonlFileExporter,
  type JsonlFileExporterOptions,
  type JsonlFileExporterStats,
} from './exporters/jsonl-file.ts';
export {
  detectColors,
  PrettyConsoleExporter,
  type PrettyConsoleExporterOptions,
} from './exporters/pretty-console.ts';
export type { InstrumentationOptions } from './instrumentations/install.ts';
// loaded on the first call: a child (and an application that only logs) never loads them
export {
  getLevels,
  requestFileReopen,
  requestReload,
  runTree,
  setLevels,
  startLiveView,
  startReceiver,
  viewFiles,
} from './lazy-exports.ts';
export { getLogger, type Logger, type LogMethod } from './logger.ts';
// multi-process
export {
  type ExitHooks,
  type ExitHooksOptions,
  installExitHooks,
} from './multiprocess/child/exit-hooks.ts';
// control of a running primary from another process
// (the clients are grpc-js clients, loaded at the first call: lazy-exports.ts)
export { LevelControlError, PrimaryControlError } from './multiprocess/control/control-errors.ts';
export type {
  LevelClientOptions,
  SetLevelsOptions,
} from './multiprocess/control/level-client.ts';
export type { ReloadAnswer, ReopenAnswer } from './multiprocess/control/primary-control.ts';
export {
  type PrimaryRecord,
  type PrimaryRecordLookup,
  readPrimaryRecord,
} from './multiprocess/control/primary-record.ts';
export { childEnv, fork, setChildEnvironment, spawn } from './multiprocess/fork.ts';
export type { LevelChange, LevelState } from './multiprocess/protocol/level-control.ts';
export { IngestedLogRecord } from './multiprocess/receiver/ingested-log-record.ts';
export type {
  Receiver,
  ReceiverEnv,
  ReceiverOptions,
  ReceiverStats,
} from './multiprocess/receiver/receiver.ts';
export type {
  CollectorSetupOptions,
  ConsoleSetupOptions,
  FileSetupOptions,
  LookbackSetupOptions,
  MinSeverity,
  SetupOptions,
  StatusSetupOptions,
} from './options.ts';
export { encodeLogsRequest } from './otlp/json-encoder.ts';
export { OtlpDecodeError, OtlpLogsDecoder } from './otlp/logs-decoder.ts';
export {
  type OtlpJsonAnyValue,
  type OtlpJsonKeyValue,
  type RawResource,
  rawResourceOf,
} from './otlp/value-types.ts';
export {
  formatLevelSpec,
  type LevelRule,
  type LevelSpec,
  LevelTable,
  parseLevelSpec,
} from './pipeline/level-table.ts';
export { Pipeline, type PipelineOptions, type PipelineStats } from './pipeline/pipeline.ts';
export {
  type SeverityFilterOptions,
  SeverityFilterProcessor,
} from './pipeline/severity-filter.ts';
export {
  type LookbackKey,
  type LookbackOptions,
  LookbackProcessor,
  type LookbackStats,
} from './processors/lookback/lookback-processor.ts';
export { LookbackSpanProcessor } from './processors/lookback/span-processor.ts';
// processors
export {
  COUNT_PREFIX,
  COUNTS_FLUSH_MS,
  COUNTS_SCOPE_NAME,
  type CountAttributes,
  type CountMethods,
  count,
  inc,
} from './processors/status/counters.ts';
export {
  DEFAULT_STATUS_INTERVAL,
  DEFAULT_STATUS_TEMPLATE,
  STATUS_EVENT_NAME,
  STATUS_SCOPE,
  STATUS_SCOPE_NAME,
  type StatusCount,
  StatusProcessor,
  type StatusProcessorOptions,
  type StatusSnapshot,
} from './processors/status/status-processor.ts';
export type { LoggingHandle, LoggingStats } from './setup/handle.ts';
export {
  registerGlobalLoggerProvider,
  unregisterGlobalLoggerProvider,
} from './setup/register-global.ts';
export { setupLogging } from './setup/setup-logging.ts';
export { SEVERITY_NAMES, type SeverityName, severityName } from './severity.ts';
// tasks
export { ensureContextManager } from './tasks/context-manager.ts';
export { HTTP_SCOPE_NAME, type HttpTaskOptions } from './tasks/http-server.ts';
export { continueTaskFromEnv, processTask, taskCarrier, taskEnv } from './tasks/propagation.ts';
export { currentTask, importTask, type TaskFunction, task, to } from './tasks/scope.ts';
export { Task } from './tasks/task.ts';
export { TaskAttributesProcessor } from './tasks/task-attributes-processor.ts';
// tree viewer
export type { TreeCommandOptions, TreeIo } from './tree/run-tree.ts';
export { type Duration, parseDuration } from './util/duration.ts';
export { PlainLogRecord, type PlainLogRecordInit } from './util/plain-log-record.ts';
// starlog view
export type { LiveView, ViewSetupOptions } from './view/live.ts';
export type { FilesView, ViewFilesOptions } from './view/view-files.ts';
