/**
 * THE reader of the environment starlog understands (`OTEL_*` and `STARLOG_*`): the configuration
 * loader (`toSetupOptions`), the primary's destinations (`setupLogging()` without a configuration
 * file), `starlog/register` and the set-up of primaries and children all read it through here, so
 * the same variables mean the same thing on every path. Empty variables count as unset; invalid
 * `OTEL_*` values are ignored with a warning (as the OpenTelemetry specification asks).
 *
 * @module
 */

/** An environment: `process.env` or a plain object of the same shape. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Receives a message about an ignored value. */
export type Warn = (message: string) => void;

/** The trimmed value of `name`, `undefined` when unset or empty. */
export function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** `STARLOG_CONFIG`: the configuration file to read instead of the lookup. */
export function configFileFromEnvironment(env: Env): string | undefined {
  return envValue(env, 'STARLOG_CONFIG');
}

/** `STARLOG_LEVEL`: the level table (not validated here: the caller reports its own error). */
export function levelsFromEnvironment(env: Env): string | undefined {
  return envValue(env, 'STARLOG_LEVEL');
}

/**
 * `STARLOG_HTTP_TASKS` and `STARLOG_INSTRUMENTATIONS`: `true`, `false`, or the JSON of the
 * configuration file's `httpTasks` / `instrumentations` section (validated by the caller). A
 * primary puts the values of its configuration file here for its children.
 */
export function dropInFromEnvironment(env: Env): {
  httpTasks: string | undefined;
  instrumentations: string | undefined;
} {
  return {
    httpTasks: envValue(env, 'STARLOG_HTTP_TASKS'),
    instrumentations: envValue(env, 'STARLOG_INSTRUMENTATIONS'),
  };
}

/** `OTEL_SERVICE_NAME`. */
export function serviceNameFromEnvironment(env: Env): string | undefined {
  return envValue(env, 'OTEL_SERVICE_NAME');
}

/** `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, percent-decoded); `{}` when unset. */
export function resourceAttributesFromEnvironment(env: Env, warn: Warn): Record<string, string> {
  const text = envValue(env, 'OTEL_RESOURCE_ATTRIBUTES');
  return text === undefined ? {} : parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', text, warn);
}

/** The collector settings of the environment (`OTEL_EXPORTER_OTLP_*`); each unset one is absent. */
export interface OtlpEnvironment {
  /** `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` (the first valid one). */
  endpoint?: string;
  /** `OTEL_EXPORTER_OTLP_HEADERS`, then `OTEL_EXPORTER_OTLP_LOGS_HEADERS`, merged per key (the logs variable wins). */
  headers?: Record<string, string>;
  /** `OTEL_EXPORTER_OTLP_LOGS_COMPRESSION`, else `OTEL_EXPORTER_OTLP_COMPRESSION`. */
  compression?: 'gzip' | 'none';
  /** `OTEL_EXPORTER_OTLP_LOGS_INSECURE`, else `OTEL_EXPORTER_OTLP_INSECURE`. */
  insecure?: boolean;
}

/**
 * Reads `OTEL_EXPORTER_OTLP_*` for the collector. Invalid values are ignored and reported through
 * `warn`; `OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL` other than `grpc` is warned about (starlog forwards
 * over gRPC only).
 * @param isEndpoint - whether a value is a collector endpoint (the config schema's rule)
 */
export function readOtlpEnvironment(
  env: Env,
  warn: Warn,
  isEndpoint: (value: string) => boolean,
): OtlpEnvironment {
  const out: OtlpEnvironment = {};
  for (const name of ['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
    const value = envValue(env, name);
    if (value === undefined) continue;
    if (isEndpoint(value)) {
      out.endpoint = value;
      break;
    }
    warn(
      `${name}: ignored ${JSON.stringify(value)}: expected a gRPC endpoint like 'http://collector:4317'`,
    );
  }

  const headers: Record<string, string> = {};
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_LOGS_HEADERS']) {
    const value = envValue(env, name);
    if (value !== undefined) Object.assign(headers, parseKeyValueList(name, value, warn));
  }
  if (Object.keys(headers).length > 0) out.headers = headers;

  for (const name of ['OTEL_EXPORTER_OTLP_LOGS_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION']) {
    const value = envValue(env, name)?.toLowerCase();
    if (value === undefined) continue;
    if (value === 'gzip' || value === 'none') {
      out.compression = value;
      break;
    }
    warn(`${name}: ignored ${JSON.stringify(value)}: expected 'gzip' or 'none'`);
  }

  for (const name of ['OTEL_EXPORTER_OTLP_LOGS_INSECURE', 'OTEL_EXPORTER_OTLP_INSECURE']) {
    const insecure = parseBool(name, envValue(env, name), warn);
    if (insecure !== undefined) {
      out.insecure = insecure;
      break;
    }
  }

  for (const name of ['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = envValue(env, name);
    if (value === undefined) continue;
    if (value !== 'grpc') {
      warn(
        `${name}: ignored ${JSON.stringify(value)}: starlog forwards to a collector over OTLP/gRPC only`,
      );
    }
    break;
  }
  return out;
}

/**
 * Parses `key=value,key2=value2` with percent-encoded values (the format of
 * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`, OpenTelemetry specification
 * "Environment Variable Specification" / W3C Baggage). Entries that cannot be read are reported
 * through `warn` and left out.
 */
export function parseKeyValueList(
  name: string,
  value: string,
  warn: (message: string) => void,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const key = eq === -1 ? '' : entry.slice(0, eq).trim();
    if (key === '') {
      warn(`${name}: ignored ${JSON.stringify(entry)}: expected key=value`);
      continue;
    }
    try {
      out[key] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      warn(`${name}: ignored ${JSON.stringify(entry)}: the value is not valid percent-encoding`);
    }
  }
  return out;
}

function parseBool(name: string, value: string | undefined, warn: Warn): boolean | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  warn(`${name}: ignored ${JSON.stringify(value)}: expected true or false`);
  return undefined;
}
