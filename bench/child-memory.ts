/**
 * What an idle child's resident memory consists of (issue 11, the child memory figure): each case
 * is a fresh process under a real receiver that prints its RSS after a full GC
 * (`--expose-gc`), median over ROUNDS runs:
 * - `bare JS`: node with nothing loaded;
 * - `bare TS`: node running a one-line `.ts` file (Node's type stripping loads its transformer);
 * - `OTel packages`: the packages a child loads (api, core, resources, sdk-logs, grpc-js, the OTLP
 *   exporter bases), from JS;
 * - `setupLogging child (dist)` / `(src)`: `setupLogging({ role: 'child' })` done, from the built
 *   package (`npm run build` first) and from the TypeScript sources (as `bench/soak.ts` runs);
 * - `… + worker`: the same after the synchronous export's worker thread started (a backpressure
 *   flush: a 2 KB queue and 100 records emitted in one loop).
 *
 * Usage: ./node_modules/.bin/node bench/child-memory.ts [rounds=3]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';

const rounds = Number(process.argv[2] ?? 3);
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starlog-child-memory-'));
const receiver = await startReceiver({
  processor: { onEmit() {}, forceFlush: async () => {}, shutdown: async () => {} },
});

const PRINT = `globalThis.gc(); process.stdout.write(String(process.memoryUsage().rss));`;
const OTEL = [
  '@opentelemetry/api',
  '@opentelemetry/core',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-logs',
  '@grpc/grpc-js',
  '@opentelemetry/otlp-exporter-base',
  '@opentelemetry/otlp-grpc-exporter-base',
];
const setup = (entry: string, worker: boolean) => `
const { setupLogging } = await import(${JSON.stringify(join(root, entry))});
const h = await setupLogging({ role: 'child', serviceName: 'idle', ${worker ? 'childQueue: { maxQueueBytes: 2000 }, shutdownTimeoutMs: 2000 ' : ''}});
${worker ? "const l = h.provider.getLogger('m'); for (let i = 0; i < 100; i++) l.emit({ severityNumber: 9, body: 'x'.repeat(100) }); await h.forceFlush(); await new Promise((r) => setTimeout(r, 500));" : ''}
${PRINT}
await h.shutdown();`;

const cases: Array<[string, string, string]> = [
  ['bare JS', 'mjs', PRINT],
  ['bare TS', 'ts', `${PRINT}\nconst typed: number = 1; void typed;`],
  [
    'OTel packages (JS)',
    'mjs',
    `${OTEL.map((m) => `await import('${import.meta.resolve(m)}');`).join('\n')}\n${PRINT}`,
  ],
  ['setupLogging child (dist)', 'mjs', setup('dist/index.js', false)],
  ['setupLogging child (dist) + worker', 'mjs', setup('dist/index.js', true)],
  ['setupLogging child (src, TS)', 'ts', setup('src/setup/setup-logging.ts', false)],
  ['setupLogging child (src, TS) + worker', 'ts', setup('src/setup/setup-logging.ts', true)],
];
if (!existsSync(join(root, 'dist/index.js'))) {
  throw new Error('dist/ is missing: run `npm run build` first');
}

function rss(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', file], {
      cwd: root,
      env: { ...process.env, ...receiver.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      const n = Number(out.trim());
      if (code === 0 && n > 0) resolve(n);
      else reject(new Error(`${file}: exit ${code} within 60 s, output ${JSON.stringify(out)}`));
    });
  });
}

const results = new Map<string, number[]>();
try {
  for (let r = 0; r < rounds; r++) {
    for (const [name, ext, code] of cases) {
      const file = join(dir, `case-${cases.findIndex((c) => c[0] === name)}.${ext}`);
      writeFileSync(file, code);
      const list = results.get(name) ?? [];
      list.push(await rss(file));
      results.set(name, list);
    }
  }
  const mb = (b: number) => (b / 1048576).toFixed(1);
  console.log(`idle child resident memory after a full GC, median of ${rounds} (MB = MiB):`);
  for (const [name] of cases) {
    const list = (results.get(name) ?? []).sort((a, b) => a - b);
    const median = list[Math.floor(list.length / 2)] ?? 0;
    console.log(
      `  ${name.padEnd(40)} ${mb(median).padStart(6)} MB  (runs: ${list.map(mb).join(', ')})`,
    );
  }
} finally {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
