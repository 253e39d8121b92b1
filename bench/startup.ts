/**
 * Start-up of a child and of a single-process application (issue 11 item 1): per case, the
 * modules loaded and the process's CPU time until exit (test/fixtures/module-census.ts), median
 * over ROUNDS runs, and (cases `child`, `dist`, `single`) the CPU time until its first record was
 * logged (`first record`, before the shutdown that exports it). Cases: `child` (`setupLogging()` from the public entry under a receiver, one
 * record, shutdown), `dist` (the same child from the built package, `dist/index.js`: `npm run
 * build` first), `register` (`--import starlog/register` in a child, one record), `single`
 * (`setupLogging()` without a configuration file, no primary: a primary of its own).
 * Further arguments name other checkouts of starlog (with node_modules and the two fixtures) to
 * measure in the same rounds, interleaved, e.g. the main branch before a change.
 *
 * Usage: ./node_modules/.bin/node bench/startup.ts [rounds=10] [otherRoot…]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';

const rounds = Number(process.argv[2] ?? 10);
const roots = [
  fileURLToPath(new URL('..', import.meta.url)),
  ...process.argv.slice(3).map((r) => resolve(r)),
];
const cwd = mkdtempSync(join(tmpdir(), 'starlog-startup-bench-'));
const receiver = await startReceiver({
  processor: { onEmit() {}, forceFlush: async () => {}, shutdown: async () => {} },
});
const base: NodeJS.ProcessEnv = {};
for (const [k, v] of Object.entries(process.env)) {
  if (!k.startsWith('STARLOG_') && !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS') base[k] = v;
}

function argsOf(root: string, kind: string): string[] {
  const f = (p: string) => join(root, p);
  const census = ['--import', f('test/fixtures/module-census.ts')];
  const app = f('test/fixtures/startup-app.ts');
  if (kind === 'register') return [...census, '--import', f('src/register.ts'), app, 'api'];
  return [...census, app, kind === 'dist' ? 'dist' : 'setup'];
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done) => {
    const c = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const deadline = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('close', (status) => {
      clearTimeout(deadline);
      done({ status, stderr });
    });
  });
}

const results = new Map<string, { modules: number[]; cpu: number[]; first: number[] }>();
for (let round = 0; round < rounds; round++) {
  for (const kind of ['child', 'dist', 'register', 'single']) {
    for (const root of roots) {
      const env = kind === 'single' ? base : { ...base, ...receiver.env };
      // spawned asynchronously: the receiver of this process answers the child meanwhile
      const r = await run(argsOf(root, kind), env);
      const modules = /modules (\[.*\])/.exec(r.stderr);
      const cpu = /cpu-ms ([\d.]+)/.exec(r.stderr);
      const first = /cpu-ms-at-first-record ([\d.]+)/.exec(r.stderr);
      if (r.status !== 0 || !modules || !cpu)
        throw new Error(`${kind} in ${root} failed: ${r.stderr}`);
      const key = `${kind}\t${root}`;
      const entry = results.get(key) ?? { modules: [], cpu: [], first: [] };
      if (first) entry.first.push(Number(first[1]));
      entry.modules.push((JSON.parse(modules[1]) as string[]).length);
      entry.cpu.push(Number(cpu[1]));
      results.set(key, entry);
    }
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(
  `# ${new Date().toISOString()}, Node ${process.version}, ${rounds} rounds, shared 2-core machine`,
);
for (const [key, { modules, cpu, first }] of results) {
  const [kind, root] = key.split('\t');
  const atFirst = first.length ? `, at first record ${median(first).toFixed(0)}` : '';
  console.log(
    `${kind.padEnd(9)} modules ${median(modules)}, CPU ms median ${median(cpu).toFixed(0)}${atFirst}  ${root}`,
  );
}
await receiver.close();
rmSync(cwd, { recursive: true, force: true });
