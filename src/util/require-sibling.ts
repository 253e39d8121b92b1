import { createRequire } from 'node:module';

/**
 * Loads one of starlog's own modules synchronously, when it is first needed: `require()` of an
 * ES module (Node ≥ 22.12; none of the modules loaded this way, nor their imports, has a
 * top-level `await`). Used where a module is large and only some processes need it (the
 * primary's set-up, the configuration parser), and the caller is synchronous.
 *
 * @param from - the caller's `import.meta.url`
 * @param path - the module relative to the caller, without extension (`'./primary'`): the
 *   caller's own extension is added (`.ts` run from source by type stripping, `.js` from dist)
 * @throws what loading the module throws
 */
export function requireSibling<T>(from: string, path: string): T {
  const ext = from.slice(from.lastIndexOf('.'));
  return createRequire(from)(`${path}${ext}`) as T;
}
