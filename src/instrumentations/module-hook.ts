/**
 * Finds the logging libraries of the application, however and whenever they are loaded:
 *
 * - already loaded (CommonJS `require` or an ESM `import` of these CommonJS packages, both of
 *   which go through the CommonJS cache): found in `require.cache`;
 * - loaded later: a synchronous, in-thread module hook (`module.registerHooks`, Node ≥ 22.15)
 *   appends one line to the package's main file that hands its `module.exports` to starlog.
 *   It works alike for `require()` and `import` (ESM apps included), runs no loader thread and
 *   needs no `--import` of a third-party hook.
 *
 * Only the main files of pino, winston and bunyan are touched; every other module passes
 * through unchanged.
 */
import { createRequire, registerHooks } from 'node:module';
import { diag } from '@opentelemetry/api';

/** The packages starlog captures, by the end of their main file's path. */
export const PACKAGE_MAIN: Readonly<Record<string, string>> = Object.freeze({
  pino: '/pino/pino.js',
  winston: '/winston/lib/winston.js',
  bunyan: '/bunyan/lib/bunyan.js',
});

/** Called with a package's `module.exports` once per loaded copy. */
export type PackageHandler = (name: string, exports: unknown) => void;

const CALLBACK = Symbol.for('starlog.instrument');
const seen = new WeakSet<object>();
let handler: PackageHandler | undefined;
let hooked = false;

function dispatch(name: string, exports: unknown): void {
  if (handler === undefined || exports === null) return;
  if (typeof exports !== 'object' && typeof exports !== 'function') return;
  if (seen.has(exports as object)) return;
  seen.add(exports as object);
  try {
    handler?.(name, exports);
  } catch (err) {
    diag.error(`starlog: instrumenting ${name} failed; its records are not captured`, err);
  }
}

function packageOf(path: string): string | undefined {
  const p = path.replaceAll('\\', '/');
  for (const name in PACKAGE_MAIN) if (p.endsWith(PACKAGE_MAIN[name]!)) return name;
  return undefined;
}

/**
 * Calls `onPackage` for each of pino, winston, bunyan already loaded, and (through the module
 * hook, installed once per process) for each loaded later. A later call replaces the handler.
 */
export function watchPackages(onPackage: PackageHandler): void {
  handler = onPackage;
  (globalThis as Record<symbol, unknown>)[CALLBACK] = dispatch;
  if (!hooked) {
    hooked = true;
    if (typeof registerHooks === 'function') {
      try {
        registerHooks({
          load(url, context, nextLoad) {
            const result = nextLoad(url, context);
            // a require()d file of a package without "type" comes with no format
            const cjs = result.format === 'commonjs' || result.format == null;
            const name = cjs ? packageOf(url) : undefined;
            if (name === undefined || result.source === undefined || result.source === null) {
              return result;
            }
            const call = `\n;globalThis[Symbol.for('starlog.instrument')]?.(${JSON.stringify(name)}, module.exports);\n`;
            return { ...result, source: `${String(result.source)}${call}` };
          },
        });
      } catch (err) {
        diag.warn(
          'starlog: module hook not installed; only loggers loaded before are captured',
          err,
        );
      }
    }
  }
  const cache = createRequire(import.meta.url).cache;
  for (const path of Object.keys(cache)) {
    const name = packageOf(path);
    if (name !== undefined) dispatch(name, cache[path]?.exports);
  }
}

/** Stops handing packages to the handler (the hook stays, and passes modules through). */
export function unwatchPackages(): void {
  handler = undefined;
}
