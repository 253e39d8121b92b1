/**
 * Figures of the automatic request tasks (README "Figures"), same run, interleaved rounds,
 * medians of CPU time:
 *
 * 1. added server CPU per request over a bare node:http hello-world handler that logs one pino
 *    line: (a) pino + pino-http (one "request completed" line per request) against (b) starlog's
 *    automatic request task (one access record written to a real JSON-lines file, the handler's
 *    pino line captured); target (b) ≤ (a). Each variant is one long-lived process (warmed up
 *    with 3,000 requests); every round measures each of them in turn (the order rotates per
 *    round) over `requests` requests sent from this process over 8 keep-alive connections.
 *    Two settings of where pino writes, each with its own bare baseline:
 *    - `stdout`: pino's default destination, the child's stdout being a real file (what a
 *      service does whose stdout is collected); under starlog those lines are not written
 *      there, the records go to starlog's file instead;
 *    - `devnull`: a discarding destination object: pino formats its lines and writes nothing,
 *      while starlog still writes its file (so (b) does I/O that (a) does not).
 * 2. CPU per pino record (200,000 records): pino alone against pino captured into starlog
 *    (the embedded default pipeline writing its JSON-lines file), for both destinations.
 *
 *   ./node_modules/.bin/node bench/http.ts [rounds=7] [requests=3000]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 7);
const requests = Number(process.argv[3] ?? 3000);
const script = fileURLToPath(new URL('./http-variant.ts', import.meta.url));
const env = { ...process.env };
for (const k of Object.keys(env))
  if (k.startsWith('STARLOG_') || k.startsWith('OTEL_')) delete env[k];
const outFiles: string[] = [];
process.once('exit', () => {
  for (const f of outFiles) rmSync(f, { force: true });
});

function spawnVariant(variant: string, dest: string) {
  const out = join(tmpdir(), `starlog-bench-http-out-${process.pid}-${outFiles.length}.log`);
  outFiles.push(out);
  const fd = openSync(out, 'w');
  const child = fork(script, [variant, dest], {
    env,
    cwd: tmpdir(),
    stdio: ['ignore', fd, 'inherit', 'ipc'],
  });
  closeSync(fd);
  return child;
}

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

async function load(port: number, agent: Agent, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < n) await get(port, agent);
    }),
  );
}

interface Server {
  name: string;
  child: ReturnType<typeof fork>;
  port: number;
  agent: Agent;
  us: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dests = ['stdout', 'devnull'];
const servers: Server[] = [];
for (const dest of dests) {
  for (const variant of ['bare', 'pino-http', 'starlog']) {
    const child = spawnVariant(variant, dest);
    const [ready] = (await once(child, 'message')) as [{ port: number }];
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    await load(ready.port, agent, 3000); // warm-up
    servers.push({ name: `${variant}/${dest}`, child, port: ready.port, agent, us: [] });
  }
}
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < servers.length; i++) {
    const s = servers[(i + r) % servers.length]!;
    s.child.send('start');
    await once(s.child, 'message');
    await load(s.port, s.agent, requests);
    s.child.send('stop');
    const [done] = (await once(s.child, 'message')) as [{ cpuUs: number }];
    s.us.push(done.cpuUs / requests);
  }
  process.stderr.write(`server round ${r + 1}/${rounds}\n`);
}
for (const s of servers) {
  s.child.send('exit');
  s.agent.destroy();
}

async function recordCpu(variant: string, dest: string): Promise<number> {
  const child = spawnVariant(variant, dest);
  const [done] = (await once(child, 'message')) as [{ perRecordUs: number }];
  await once(child, 'exit');
  return done.perRecordUs;
}
const rec: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const dest of dests) {
    for (const v of ['pino', 'pino-starlog']) {
      const key = `${v}/${dest}`;
      rec[key] ??= [];
      rec[key].push(await recordCpu(v, dest));
    }
  }
  process.stderr.write(`record round ${r + 1}/${rounds}\n`);
}

const result: Record<string, number> = {};
console.log(
  `server CPU per request (median of ${rounds} interleaved rounds of ${requests} requests; all threads, user + system):`,
);
for (const dest of dests) {
  const m = (v: string) => median(servers.find((s) => s.name === `${v}/${dest}`)!.us);
  const bare = m('bare');
  const a = m('pino-http') - bare;
  const b = m('starlog') - bare;
  console.log(`  pino destination ${dest}:`);
  console.log(`    bare handler + 1 pino line     ${bare.toFixed(1)} µs`);
  console.log(`    (a) + pino-http                +${a.toFixed(1)} µs`);
  console.log(
    `    (b) + starlog request task     +${b.toFixed(1)} µs   (b)/(a) = ${(b / a).toFixed(2)}, target ≤ 1`,
  );
  Object.assign(result, {
    [`${dest}.bareUs`]: bare,
    [`${dest}.pinoHttpAddedUs`]: a,
    [`${dest}.starlogAddedUs`]: b,
    [`${dest}.ratio`]: b / a,
  });
}
for (const dest of dests) {
  const p = median(rec[`pino/${dest}`]!);
  const c = median(rec[`pino-starlog/${dest}`]!);
  console.log(
    `pino record (${dest}): alone ${p.toFixed(2)} µs, captured into starlog ${c.toFixed(2)} µs (×${(c / p).toFixed(2)})`,
  );
  Object.assign(result, { [`${dest}.pinoRecordUs`]: p, [`${dest}.pinoCapturedRecordUs`]: c });
}
console.log(JSON.stringify(result));
