/**
 * Figures of the automatic request tasks (README "Figures"), same run, interleaved rounds,
 * medians of CPU time:
 *
 * 1. added server CPU per request over a bare node:http hello-world handler that logs one pino
 *    line: (a) pino + pino-http (one "request completed" line per request) against (b) starlog's
 *    automatic request task (one access record, the handler's pino line captured); target
 *    (b) ≤ (a). Each variant is its own process; the load comes from this process over
 *    keep-alive connections.
 * 2. CPU per pino record: pino alone (discarding destination) against pino captured into
 *    starlog (the embedded default pipeline writing to /dev/null).
 *
 *   ./node_modules/.bin/node bench/http.ts [rounds=5] [requests=4000]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 5);
const requests = Number(process.argv[3] ?? 4000);
const script = fileURLToPath(new URL('./http-variant.ts', import.meta.url));
const env = { ...process.env };
for (const k of Object.keys(env))
  if (k.startsWith('STARLOG_') || k.startsWith('OTEL_')) delete env[k];

function get(port: number, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    r.on('error', reject);
    r.end();
  });
}

async function load(port: number, n: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < n) await get(port, agent);
    }),
  );
  agent.destroy();
}

async function serverCpu(variant: string): Promise<number> {
  const child = fork(script, [variant], {
    env,
    cwd: '/tmp',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ port: number }];
  await load(ready.port, 1000); // warm-up
  child.send('start');
  await load(ready.port, requests);
  child.send('stop');
  const [done] = (await once(child, 'message')) as [{ cpuUs: number }];
  await once(child, 'exit');
  return done.cpuUs / requests;
}

async function recordCpu(variant: string): Promise<number> {
  const child = fork(script, [variant], {
    env,
    cwd: '/tmp',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [done] = (await once(child, 'message')) as [{ perRecordUs: number }];
  await once(child, 'exit');
  return done.perRecordUs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const http: Record<string, number[]> = {
  bare: [],
  'pino-http': [],
  starlog: [],
  'starlog-plain': [],
};
const rec: Record<string, number[]> = { pino: [], 'pino-starlog': [] };
for (let r = 0; r < rounds; r++) {
  for (const v of Object.keys(http)) http[v]!.push(await serverCpu(v));
  for (const v of Object.keys(rec)) rec[v]!.push(await recordCpu(v));
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}
const bare = median(http.bare!);
const a = median(http['pino-http']!) - bare;
const b = median(http.starlog!) - bare;
console.log(`server CPU per request (median of ${rounds} rounds, ${requests} requests each):`);
console.log(`  bare handler + 1 pino line     ${bare.toFixed(1)} µs`);
console.log(`  (a) + pino-http                +${a.toFixed(1)} µs`);
console.log(
  `  (b) + starlog request task     +${b.toFixed(1)} µs   (b)/(a) = ${(b / a).toFixed(2)}, target ≤ 1`,
);
console.log(
  `  (setupLogging() without request tasks and capture: +${(median(http['starlog-plain']!) - bare).toFixed(1)} µs)`,
);
const p = median(rec.pino!);
const c = median(rec['pino-starlog']!);
console.log(
  `pino record: alone ${p.toFixed(2)} µs, captured into starlog ${c.toFixed(2)} µs (×${(c / p).toFixed(2)})`,
);
console.log(
  JSON.stringify({
    bareUs: bare,
    pinoHttpAddedUs: a,
    starlogAddedUs: b,
    ratio: b / a,
    pinoRecordUs: p,
    pinoCapturedRecordUs: c,
  }),
);
