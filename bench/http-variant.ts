/**
 * One side of bench/http.ts, in its own process: `node bench/http-variant.ts <variant> <dest>`.
 *
 * Variants: `bare` (a node:http hello-world handler that logs one pino line), `pino-http` (the
 * same plus pino-http's "request completed" line), `starlog` (the same handler under
 * setupLogging(): its pino line captured, a request task with one access record, written to a
 * JSON-lines file in the temporary directory), and for the record cost `pino` / `pino-starlog`
 * (200,000 pino records, alone or captured).
 *
 * `dest`: where pino writes: `devnull` (a discarding object: pino formats the line, nothing is
 * written) or `stdout` (pino's default destination; bench/http.ts points the child's stdout at a
 * real file). Under starlog a stdout destination is not written (the record reaches starlog's
 * file instead, see src/instrumentations/pino.ts); a discarding one still gets every line.
 *
 * The server measures its CPU time (process.cpuUsage: every thread, user + system) between the
 * parent's 'start' and 'stop' messages, as many times as the parent asks.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const variant = process.argv[2] ?? 'bare';
const dest = process.argv[3] ?? 'devnull';
const devnull = { write: (_s: string) => true };

if (variant === 'starlog' || variant === 'pino-starlog') {
  const { setupLogging } = await import('../src/index.ts');
  // a real file (the JSON-lines exporter refuses /dev/null: not a regular file), removed at exit
  const file = join(tmpdir(), `starlog-bench-http-${process.pid}.jsonl`);
  process.once('exit', () => rmSync(file, { force: true }));
  await setupLogging({
    serviceName: 'bench',
    status: false,
    console: false,
    file: { path: file },
    config: false,
  });
}
const { default: pino } = await import('pino');
const make = (name: string) => (dest === 'stdout' ? pino({ name }) : pino({ name }, devnull));

if (variant === 'pino' || variant === 'pino-starlog') {
  const log = make('bench');
  for (let i = 0; i < 20_000; i++) log.info({ i }, 'warm-up %d', i);
  const t0 = process.cpuUsage();
  const n = 200_000;
  // in chunks, yielding in between: starlog's file writer drains its queue (a 200,000-record
  // synchronous loop fills the 65,536-record queue and the rest would be dropped, not written),
  // and so does pino's asynchronous stdout destination
  for (let i = 0; i < n; ) {
    for (const end = i + 1000; i < end; i++) log.info({ i }, 'record %d', i);
    await new Promise(setImmediate);
  }
  const cpu = process.cpuUsage(t0);
  process.send?.({ perRecordUs: (cpu.user + cpu.system) / n });
  process.disconnect?.();
} else {
  const log = make('app');
  const withHttp =
    variant === 'pino-http' ? (await import('pino-http')).pinoHttp({ logger: log }) : undefined;
  const server = createServer((req, res) => {
    withHttp?.(req, res);
    log.info('hello');
    res.end('hello world');
  });
  server.keepAliveTimeout = 600_000;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as { port: number }).port });
  });
  let t0: NodeJS.CpuUsage | undefined;
  process.on('message', (m: string) => {
    if (m === 'start') {
      t0 = process.cpuUsage();
      process.send?.('started');
    } else if (m === 'stop' && t0 !== undefined) {
      const cpu = process.cpuUsage(t0);
      process.send?.({ cpuUs: cpu.user + cpu.system });
    } else if (m === 'exit') {
      server.close();
      server.closeAllConnections();
      process.disconnect?.();
    }
  });
}
