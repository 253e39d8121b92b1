import { createRequire } from 'node:module';

/**
 * Loads one of starlog's own modules synchronously, when it is first needed: `require()` of an
 * ES module (Node ≥ 22.12; none of the modules loaded this way, nor their imports, has a
 * top-level `await`). Used where a module is large and only some processes need it (the
 * primary's set-up, the configuration parser), and the caller is synchronous.
 *
 * @param from - the caller's `import.meta.url`
 * @param path - the module relative to the caller, without extension (`'./primary'`): from
 *   source (type stripping) that file with `.ts`; built, the bundle's entry of the same base name
 *   (`dist/primary.js`; every entry and chunk of `dist/` is in one directory)
 * @throws what loading the module throws
 */
export function requireSibling<T>(from: string, path: string): T {
  if (from.endsWith('.ts')) return createRequire(from)(`${path}.ts`) as T;
  // built: one flat directory of bundled modules, the module an entry named after its file
  // (scripts/build-dist.ts), next to the chunk or entry that holds the caller's code
  return createRequire(from)(`./${path.slice(path.lastIndexOf('/') + 1)}.js`) as T;
}
