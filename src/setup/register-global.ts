import { logs as apiLogs, diag, type LoggerProvider } from '@opentelemetry/api';
import { logs as apiLogsLegacy } from '@opentelemetry/api-logs';

/**
 * Registers `provider` as the global LoggerProvider in both global slots: `@opentelemetry/api`
 * (1.10+, where the Logs API is stable) and the separate slot of `@opentelemetry/api-logs` that
 * older appenders such as `@opentelemetry/winston-transport` still read.
 *
 * @returns whether each slot took the provider (a slot that already holds another provider keeps
 * it, and the OpenTelemetry API reports that through `diag`)
 */
export function registerGlobalLoggerProvider(provider: LoggerProvider): {
  api: boolean;
  apiLogs: boolean;
} {
  const api = apiLogs.setGlobalLoggerProvider(provider) || sameDelegate(provider);
  let legacy = false;
  try {
    // api-logs declares its own (structurally identical) LoggerProvider type
    const asLegacy = provider as unknown as Parameters<
      typeof apiLogsLegacy.setGlobalLoggerProvider
    >[0];
    legacy = apiLogsLegacy.setGlobalLoggerProvider(asLegacy) === asLegacy;
  } catch (err) {
    diag.warn('starlog: could not register the provider with @opentelemetry/api-logs', err);
  }
  return { api, apiLogs: legacy };
}

/** Clears both global slots (tests and shutdown). */
export function unregisterGlobalLoggerProvider(): void {
  apiLogs.disable();
  apiLogsLegacy.disable();
}

function sameDelegate(provider: LoggerProvider): boolean {
  const current = apiLogs.getLoggerProvider() as { getDelegate?: () => unknown };
  return current === provider || current.getDelegate?.() === provider;
}
