/**
 * Runs every benchmark in this folder one after the other (`npm run bench`) and prints the final
 * JSON line of each. The figures in the README come from these runs, on an otherwise idle
 * 2-core machine. Each bench can also be run alone: `./node_modules/.bin/node bench/<name>.ts`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches: [string, string[]][] = [
  ['status.ts', []],
  ['lookback.ts', []],
  ['tasks.ts', ['--records-only']],
  ['levels.ts', []],
  ['exporters.ts', []],
  ['shipping.ts', []],
  ['receiver-throughput.ts', []],
  ['tree.ts', ['--mb', '50']],
  ['fuzz.ts', ['20000']],
  ['soak.ts', ['--seconds', '10']],
  ['http.ts', ['5', '4000']],
];

const results: Record<string, unknown> = {};
for (const [file, args] of benches) {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  process.stdout.write(`\n### ${file} ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [path, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  process.stdout.write(run.stdout);
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  try {
    results[file] = JSON.parse(last);
  } catch {
    results[file] = { exitCode: run.status, note: 'no JSON line' };
  }
}
process.stdout.write(`\n${JSON.stringify(results)}\n`);
