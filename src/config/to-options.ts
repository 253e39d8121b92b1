/**
 * The configuration file (validated) and the environment, turned into `setupLogging()` options.
 *
 * @module
 */
import { resolve } from 'node:path';
import type { Attributes } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import type {
  CollectorSetupOptions,
  ConsoleSetupOptions,
  FileSetupOptions,
  LookbackSetupOptions,
  SetupOptions,
  StatusSetupOptions,
} from '../options.ts';
import { requireSibling } from '../util/require-sibling.ts';
import { checkLevelString, isCollectorEndpoint } from './checks.ts';
import type { StarlogConfig } from './config-types.ts';
import {
  dropInFromEnvironment,
  type Env,
  levelsFromEnvironment,
  readOtlpEnvironment,
  resourceAttributesFromEnvironment,
  serviceNameFromEnvironment,
  type Warn,
} from './environment.ts';
import { ConfigError, ENVIRONMENT } from './errors.ts';

/** Options of {@link toSetupOptions}. */
export interface ToSetupOptionsOptions {
  /** The configuration file as named in error messages. */
  file?: string;
  /** Relative `exporters.file.path` values resolve against this (the file's directory). */
  baseDir?: string;
  /** Receives every ignored environment value (they also go to `diag.warn`). */
  warnings?: string[];
}

/** Copies the defined values only, so that results compare equal with `deepStrictEqual`. */
function defined<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * Turns a validated configuration (or none) into `setupLogging()` options and applies the
 * environment. Where both speak, the environment wins:
 *
 * | variable | overrides |
 * |---|---|
 * | `OTEL_SERVICE_NAME` | `service.name` |
 * | `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, percent-decoded) | merged into `service.attributes`, per key |
 * | `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` | `exporters.otlp.endpoint` (turns the collector on when the file has no `exporters.otlp`) |
 * | `OTEL_EXPORTER_OTLP_HEADERS`, then `OTEL_EXPORTER_OTLP_LOGS_HEADERS` | merged into `exporters.otlp.headers`, per key (the logs variable wins) |
 * | `OTEL_EXPORTER_OTLP_LOGS_COMPRESSION`, else `OTEL_EXPORTER_OTLP_COMPRESSION` | `exporters.otlp.compression` |
 * | `OTEL_EXPORTER_OTLP_LOGS_INSECURE`, else `OTEL_EXPORTER_OTLP_INSECURE` | `exporters.otlp.insecure` |
 * | `STARLOG_LEVEL` | `levels` (replaced, not merged) |
 * | `STARLOG_HTTP_TASKS` (`true`, `false` or the section as JSON) | `httpTasks` (replaced) |
 * | `STARLOG_INSTRUMENTATIONS` (likewise) | `instrumentations` (replaced) |
 *
 * `exporters.otlp.enabled: false` keeps the collector off whatever the environment says. Invalid
 * `OTEL_*` values are ignored with a warning (as the OpenTelemetry specification asks);
 * `OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL` other than `grpc` is warned about (starlog forwards over
 * gRPC only). Empty variables count as unset.
 *
 * @throws ConfigError for an invalid `STARLOG_LEVEL` (file `environment`), or when the collector
 *   is on but neither the file nor the environment gives its endpoint
 */
export function toSetupOptions(
  config: StarlogConfig | undefined,
  env: Env = process.env,
  options: ToSetupOptionsOptions = {},
): SetupOptions {
  const c: StarlogConfig = config ?? {};
  const warn = (message: string) => {
    options.warnings?.push(message);
    diag.warn(`starlog: ${message}`);
  };
  const out: SetupOptions = {};

  const serviceName = serviceNameFromEnvironment(env) ?? c.service?.name;
  if (serviceName !== undefined) out.serviceName = serviceName;
  const envAttributes = resourceAttributesFromEnvironment(env, warn);
  if (c.service?.attributes !== undefined || Object.keys(envAttributes).length > 0) {
    out.resourceAttributes = { ...c.service?.attributes, ...envAttributes } as Attributes;
  }

  const envLevel = levelsFromEnvironment(env);
  if (envLevel !== undefined) {
    const checked = checkLevelString(envLevel);
    if (!('levels' in checked)) {
      throw new ConfigError(ENVIRONMENT, [
        { path: 'STARLOG_LEVEL', message: `expected ${checked.expected}, got ${checked.got}` },
      ]);
    }
    out.levels = checked.levels;
  } else if (c.levels !== undefined) {
    out.levels = c.levels;
  }

  if (c.receiver?.endpoint !== undefined) out.endpoint = c.receiver.endpoint;

  if (c.status !== undefined) {
    const { enabled, ...status } = c.status;
    out.status = enabled === false ? false : defined<StatusSetupOptions>(status);
  }
  if (c.lookback !== undefined) {
    const { enabled, ...lookback } = c.lookback;
    out.lookback = enabled === false ? false : defined<LookbackSetupOptions>(lookback);
  }
  if (c.view !== undefined) {
    const { enabled, ...view } = c.view;
    out.view = enabled === false ? false : { ...view };
  }

  const dropIn = dropInOptions(c, env, warn);
  if (dropIn.httpTasks !== undefined) out.httpTasks = dropIn.httpTasks;
  if (dropIn.instrumentations !== undefined) out.instrumentations = dropIn.instrumentations;

  const ex = c.exporters;
  if (ex?.file !== undefined) {
    const { enabled, path, ...file } = ex.file;
    out.file =
      enabled === false
        ? false
        : defined<FileSetupOptions>({
            path:
              path !== undefined && options.baseDir !== undefined
                ? resolve(options.baseDir, path)
                : path,
            ...file,
          });
  }
  if (ex?.console !== undefined) {
    const { enabled, colors, ...console } = ex.console;
    out.console =
      enabled === false
        ? false
        : defined<ConsoleSetupOptions>({
            ...console,
            colors: colors === 'auto' ? undefined : colors,
          });
  }

  const collector = collectorOptions(c, env, warn);
  if (collector === 'missing-endpoint') {
    throw new ConfigError(options.file ?? ENVIRONMENT, [
      {
        path: 'exporters.otlp.endpoint',
        message: `expected a collector endpoint like 'http://collector:4317' (or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT in the environment), got nothing`,
      },
    ]);
  }
  if (collector !== undefined) out.collector = collector;

  if (c.shutdownTimeout !== undefined) out.shutdownTimeoutMs = c.shutdownTimeout;
  return out;
}

function collectorOptions(
  c: StarlogConfig,
  env: Env,
  warn: Warn,
): CollectorSetupOptions | false | 'missing-endpoint' | undefined {
  const otlp = c.exporters?.otlp;
  if (otlp?.enabled === false) return false;
  const fromEnv = readOtlpEnvironment(env, warn, isCollectorEndpoint);
  if (otlp === undefined && fromEnv.endpoint === undefined) return undefined;
  const endpoint = fromEnv.endpoint ?? otlp?.endpoint;
  if (endpoint === undefined) return 'missing-endpoint';
  const headers =
    otlp?.headers !== undefined || fromEnv.headers !== undefined
      ? { ...otlp?.headers, ...fromEnv.headers }
      : undefined;
  return defined<CollectorSetupOptions>({
    endpoint,
    headers,
    compression: fromEnv.compression ?? otlp?.compression,
    insecure: fromEnv.insecure ?? otlp?.insecure,
    minimumSeverity: otlp?.minimumSeverity,
    minSeverity: otlp?.minSeverity,
  });
}

type Switchable<T> = (T & { enabled?: boolean }) | undefined;

function switchOff<T extends object>(section: Switchable<T>): T | false | undefined {
  if (section === undefined) return undefined;
  const { enabled, ...rest } = section;
  return enabled === false ? false : defined(rest as T);
}

/**
 * `httpTasks` and `instrumentations` from the configuration (`c`) and the environment
 * (`STARLOG_HTTP_TASKS`, `STARLOG_INSTRUMENTATIONS`: it wins; an invalid value is ignored with a
 * warning). Also what a child uses when its code gives neither.
 */
export function dropInOptions(
  c: StarlogConfig,
  env: Env,
  warn: Warn,
): Pick<SetupOptions, 'httpTasks' | 'instrumentations'> {
  const fromEnv = dropInFromEnvironment(env);
  const read = <K extends 'httpTasks' | 'instrumentations'>(
    key: K,
    name: string,
    text: string | undefined,
  ): StarlogConfig[K] => {
    if (text === undefined) return c[key];
    // the schema library loads only when one of these variables is set (not in most children)
    const { parseDropInSection } = requireSibling<typeof import('./schema.ts')>(
      import.meta.url,
      './schema',
    );
    const parsed = parseDropInSection(key, text);
    if (parsed !== undefined && 'error' in parsed) {
      warn(`${name}: ignored ${JSON.stringify(text)}: ${parsed.error}`);
      return c[key];
    }
    return parsed as StarlogConfig[K];
  };
  const out: Pick<SetupOptions, 'httpTasks' | 'instrumentations'> = {};
  const h = switchOff(read('httpTasks', 'STARLOG_HTTP_TASKS', fromEnv.httpTasks));
  if (h !== undefined) out.httpTasks = h;
  const i = switchOff(
    read('instrumentations', 'STARLOG_INSTRUMENTATIONS', fromEnv.instrumentations),
  );
  if (i !== undefined) out.instrumentations = i;
  return out;
}

/**
 * The environment a primary gives its children for `httpTasks` / `instrumentations` when its
 * configuration file or environment set them (`options`: what `toSetupOptions` made of them;
 * options in code are not passed on: a primary's own code often differs from its children's).
 */
export function dropInEnvironment(
  options: Pick<SetupOptions, 'httpTasks' | 'instrumentations'>,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (options.httpTasks !== undefined) {
    const { ignore: _code, ...h } =
      typeof options.httpTasks === 'object' ? options.httpTasks : { ignore: undefined };
    out.STARLOG_HTTP_TASKS =
      options.httpTasks === false
        ? 'false'
        : Object.keys(h).length === 0
          ? 'true'
          : JSON.stringify(h);
  }
  if (options.instrumentations !== undefined) {
    const i = options.instrumentations;
    out.STARLOG_INSTRUMENTATIONS =
      i === false
        ? 'false'
        : i === true || Object.keys(i).length === 0
          ? 'true'
          : JSON.stringify(i);
  }
  return out;
}
