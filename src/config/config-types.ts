import type { AttributeValue } from '@opentelemetry/api';

/*
 * The shape of a validated configuration file, as plain TypeScript types: the public .d.ts files
 * refer to these, never to the zod schema (src/config/schema.ts checks at compile time that its
 * output is exactly this shape), so a consumer type-checks starlog with `skipLibCheck: false`
 * without zod's declaration files.
 */

/** A minimum severity in a configuration file: a lower-case level name or a severity number 1–24. */
export type ConfigSeverity = string | number;

/** `status` section: see `StatusSetupOptions`. Durations in ms. */
export interface StatusConfig {
  enabled?: boolean;
  interval?: number;
  template?: string;
  destination?: 'all' | 'console' | 'file';
}

/** `lookback` section: see `LookbackSetupOptions`. Durations in ms, sizes in bytes. */
export interface LookbackConfig {
  enabled?: boolean;
  capacity?: number;
  maxAge?: number;
  flushSeverity?: ConfigSeverity;
  holdSeverity?: ConfigSeverity;
  /** Canonical level-string form, like `levels`. */
  hold?: string;
  holdUntraced?: boolean;
  maxKeys?: number;
  maxBytes?: number;
  followFor?: number;
  onShutdown?: 'drop' | 'flush';
}

/** `view` section: see `ViewSetupOptions`. Durations in ms, sizes in bytes. */
export interface ViewConfig {
  enabled?: boolean;
  port?: number;
  maxSize?: number;
  maxAge?: number;
  /** records per second the view takes at most */
  maxRate?: number;
}

/** `httpTasks` section: see `HttpTaskOptions` (`ignore` is an option in code only). */
export interface HttpTasksConfig {
  enabled?: boolean;
  entryRecord?: boolean;
  counters?: boolean;
}

/** `instrumentations` section: see `InstrumentationOptions`. */
export interface InstrumentationsConfig {
  enabled?: boolean;
  pino?: boolean;
  winston?: boolean;
  bunyan?: boolean;
  keepOutput?: boolean;
}

/** `exporters.otlp` section. */
export interface OtlpExporterConfig {
  enabled?: boolean;
  endpoint?: string;
  headers?: Record<string, string>;
  compression?: 'gzip' | 'none';
  insecure?: boolean;
  minimumSeverity?: ConfigSeverity;
  /** @deprecated the old name of `minimumSeverity` */
  minSeverity?: ConfigSeverity;
}

/** `exporters.file` section. Sizes in bytes. */
export interface FileExporterConfig {
  enabled?: boolean;
  path?: string;
  maxSize?: number;
  maxFiles?: number;
  minimumSeverity?: ConfigSeverity;
  /** @deprecated the old name of `minimumSeverity` */
  minSeverity?: ConfigSeverity;
}

/** `exporters.console` section. */
export interface ConsoleExporterConfig {
  enabled?: boolean;
  template?: string;
  colors?: boolean | 'auto';
  minimumSeverity?: ConfigSeverity;
  /** @deprecated the old name of `minimumSeverity` */
  minSeverity?: ConfigSeverity;
}

/**
 * A validated, normalized configuration file (`starlog.config.yaml` / `.json`): durations in ms,
 * sizes in bytes, `levels` in canonical string form (`formatLevelSpec`), minimum severities as
 * lower-case names or numbers.
 */
export interface StarlogConfig {
  service?: { name?: string; attributes?: Record<string, AttributeValue> };
  receiver?: { endpoint?: string };
  levels?: string;
  status?: StatusConfig;
  lookback?: LookbackConfig;
  view?: ViewConfig;
  httpTasks?: HttpTasksConfig;
  instrumentations?: InstrumentationsConfig;
  exporters?: {
    otlp?: OtlpExporterConfig;
    file?: FileExporterConfig;
    console?: ConsoleExporterConfig;
  };
  shutdownTimeout?: number;
}
