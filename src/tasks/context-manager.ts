import { context, createContextKey, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

const PROBE_KEY = createContextKey('starlog.context-probe');

let ready = false;

/** Whether the global context manager propagates values (a probe through `context.with`). */
export function hasWorkingContextManager(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE_KEY, true);
  try {
    return context.with(probe, () => context.active().getValue(PROBE_KEY)) === true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the OpenTelemetry Context API propagates: if no working global context manager is
 * registered (probe: a value set with `context.with` must be visible through `context.active()`),
 * registers an enabled `AsyncLocalStorageContextManager` from `@opentelemetry/context-async-hooks`.
 * A manager registered by someone else is kept. Returns whether context propagation works
 * afterwards; never throws (a failure is reported through `diag.error`). Cheap after the first
 * successful call. Called by `setupLogging()` and lazily by every task function.
 */
export function ensureContextManager(): boolean {
  if (ready) return true;
  if (hasWorkingContextManager()) {
    ready = true;
    return true;
  }
  try {
    const manager = new AsyncLocalStorageContextManager().enable();
    if (!context.setGlobalContextManager(manager)) {
      diag.error(
        'starlog: a global context manager is registered but does not propagate context; tasks will not be visible to records',
      );
      return false;
    }
  } catch (err) {
    diag.error('starlog: registering an AsyncLocalStorageContextManager failed', err);
    return false;
  }
  ready = hasWorkingContextManager();
  return ready;
}

let attempted = false;

/**
 * The lazy form used by every task function: runs {@link ensureContextManager} once per process
 * (so a broken setup is reported once, not per task).
 */
export function ensureContextManagerOnce(): void {
  if (ready || attempted) return;
  attempted = true;
  ensureContextManager();
}

/** @internal for tests: forget that the context manager was checked */
export function resetContextManagerCheck(): void {
  ready = false;
  attempted = false;
}
