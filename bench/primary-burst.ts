/**
 * A single-process application (a starlog primary, no children) logging N records in one
 * synchronous loop into a file, against pino writing to a file, with the same call:
 * `info({ route: '/orders', status: 200, ms: 1.5, user: 'u1' }, 'handled request %d', i)`.
 *
 * Each run is a fresh process: set up, 2,000 warm-up records, then the timed part (the loop and
 * the flush: `handle.shutdown()`, `dest.end()`): records/s over it, CPU µs per record of the
 * process, and records missing from the file. Contenders: starlog (`setupLogging`, JSON-lines
 * file only: `console: false`, `status: false`), pino 10 with `pino.destination(file)` (its
 * default: synchronous writes) and with `sync: false` (sonic-boom 4.2.0, pinned). Rounds are
 * interleaved (every contender once per round, rotating order); figures are medians, and the
 * ratios medians of per-round ratios to pino (sync), so a busy machine affects all alike.
 * starlog is loaded from `src/` (type stripping changes start-up, not the loop).
 *
 *   ./node_modules/.bin/node bench/primary-burst.ts [--rounds 5] [--records 200000]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const ATTRS = { route: '/orders', status: 200, ms: 1.5, user: 'u1' };
type Info = (attrs: Record<string, unknown>, msg: string, ...args: unknown[]) => void;
type Make = (file: string) => Promise<{ info: Info; flush(): Promise<void> }>;

function pino(sync: boolean): Make {
  return async (file) => {
    const { default: pino } = await import('pino');
    const dest = pino.destination({ dest: file, sync, append: true });
    if (!sync) await new Promise((resolve) => dest.once('ready', resolve));
    const logger = pino(dest as never);
    return {
      info: (attrs, msg, ...args) => logger.info(attrs, msg, ...args),
      flush: () =>
        new Promise<void>((resolve) => {
          dest.once('close', () => resolve());
          dest.end();
        }),
    };
  };
}

const CONTENDERS: Record<string, Make> = {
  'pino (sync destination, its default)': pino(true),
  'pino (sync: false)': pino(false),
  'starlog primary': async (file) => {
    const { setupLogging, getLogger } = await import('../src/index.ts');
    const handle = await setupLogging({
      role: 'primary',
      serviceName: 'bench',
      config: false,
      file: { path: file },
      console: false,
      collector: false,
      status: false,
    });
    const logger = getLogger('bench');
    return {
      info: (attrs, msg, ...args) => logger.info(attrs as never, msg, ...args),
      flush: () => handle.shutdown(),
    };
  },
};
const NAMES = Object.keys(CONTENDERS);
const BASE = NAMES[0] as string;

interface Run {
  cpuUs: number;
  wallMs: number;
}

async function logProcess(name: string, n: number, file: string): Promise<Run> {
  const { info, flush } = await (CONTENDERS[name] as Make)(file);
  for (let i = 0; i < 2000; i++) info(ATTRS, 'warm up %d', i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) info({ ...ATTRS }, 'handled request %d', i);
  await flush();
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, wallMs: performance.now() - t0 };
}

function runForked(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: Run | undefined;
    child.on('message', (m) => {
      result = m as Run;
    });
    child.on('exit', (code) =>
      result ? resolve(result) : reject(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

const countIn = (file: string): number =>
  (readFileSync(file, 'utf8').match(/"handled request \d+"/g) ?? []).length;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    name: { type: 'string' },
    records: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
    file: { type: 'string' },
  },
});
const n = Number(values.records);
if (values.role === 'log') {
  process.send?.(await logProcess(values.name as string, n, values.file as string));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'starlog-burst-'));
  const rounds = Number(values.rounds);
  const res: Record<string, { rate: number[]; cpu: number[]; xRate: number[]; xCpu: number[] }> =
    {};
  const lost: Record<string, number> = {};
  let fileNo = 0;
  for (let r = 0; r < rounds; r++) {
    const runs: Record<string, Run> = {};
    for (let i = 0; i < NAMES.length; i++) {
      const name = NAMES[(i + r) % NAMES.length] as string;
      const file = join(dir, `f${fileNo++}.log`);
      runs[name] = await runForked([
        '--role',
        'log',
        '--name',
        name,
        '--records',
        String(n),
        '--file',
        file,
      ]);
      lost[name] = Math.max(lost[name] ?? 0, n - countIn(file));
      rmSync(file, { force: true });
    }
    const base = runs[BASE] as Run;
    for (const name of NAMES) {
      const run = runs[name] as Run;
      const p = res[name] ?? { rate: [], cpu: [], xRate: [], xCpu: [] };
      res[name] = p;
      p.rate.push(n / (run.wallMs / 1000));
      p.cpu.push(run.cpuUs / n);
      p.xRate.push(base.wallMs / run.wallMs);
      p.xCpu.push(run.cpuUs / base.cpuUs);
    }
    console.log(`round ${r + 1}/${rounds} done`);
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `\nOne process, ${n.toLocaleString('en')} records in one synchronous loop into a file (${rounds} rounds)`,
  );
  console.log(
    '| contender | records/s (median) | × pino (sync) | CPU µs/record | × pino (sync) | lost (max) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const name of NAMES) {
    const p = res[name] as (typeof res)[string];
    console.log(
      `| ${name} | ${Math.round(median(p.rate)).toLocaleString('en')} | ${median(p.xRate).toFixed(2)} | ${median(p.cpu).toFixed(2)} | ${median(p.xCpu).toFixed(2)} | ${lost[name]} |`,
    );
  }
}
