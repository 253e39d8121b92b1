/**
 * Builds the JavaScript of `dist/` with esbuild (`npm run build` runs it after `tsc` wrote the
 * declarations): starlog's own modules bundled into a few entries and shared chunks, every
 * dependency left external (one copy of every `@opentelemetry/*` package, the application's).
 *
 * Why: a process that imports starlog spent most of its start-up in Node's module loader
 * (resolution, `package.json` reads, one compilation per file: ~110 files of starlog's own);
 * a bundle loads a handful of files instead (README, "starlog against pino…", part 2).
 *
 * Layout: every entry and chunk is a file directly in `dist/` (so a module's `import.meta.url`
 * is `dist/<file>.js` whichever chunk its code lands in; `src/util/require-sibling.ts`,
 * `src/cli/run/options.ts`, `src/cli/main.ts` and `src/view/server.ts` rely on it). What loads
 * lazily stays lazy: dynamic `import()` becomes a chunk, and the modules loaded synchronously by
 * `requireSibling()` (the primary's set-up, the configuration parser, the live view) are entries
 * named after their file. `dist/cli/main.js` (the bin) imports `dist/cli-main.js`;
 * `dist/register.cjs` is `src/register.cts` on its own (CommonJS).
 *
 * Usage: node scripts/build-dist.ts (from the package root)
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

/** Entries: the package's exports, the bin, and every module `requireSibling()` or a worker loads. */
const ENTRIES = {
  index: 'src/index.ts',
  register: 'src/register.ts',
  'cli-main': 'src/cli/main.ts',
  // requireSibling(): the base name of the file is the entry's name
  primary: 'src/setup/primary.ts',
  load: 'src/config/load.ts',
  schema: 'src/config/schema.ts',
  live: 'src/view/live.ts',
  // new Worker(new URL('./live-worker.js', import.meta.url)) in src/view/live.ts
  'live-worker': 'src/view/live-worker.ts',
};

await build({
  entryPoints: ENTRIES,
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
await build({
  entryPoints: { register: 'src/register.cts' },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist',
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  logLevel: 'warning',
});
mkdirSync('dist/cli', { recursive: true });
writeFileSync('dist/cli/main.js', "#!/usr/bin/env node\nimport '../cli-main.js';\n");
chmodSync('dist/cli/main.js', 0o755);
