/**
 * The main job (`npm start`): a node:cluster primary with 2 fastify workers under a bounded load.
 *
 * - The primary runs setupLogging(): a receiver for its children, the pipeline (status records
 *   every second, lookback buffering per request trace), and the embedded default exporters
 *   (a JSON-lines file, and the console, which shows the status records and FATAL only).
 * - Workers (fastify, whose logger is pino, captured by starlog; a task per request from
 *   starlog's HTTP request tasks, no per-request code) and the pricing process each of them
 *   forks ship their records to the primary.
 * - autocannon sends a few thousand requests over about 5 seconds; 1 in 20 goes to /fail.
 * - At the end: a summary (records per process, the log file, drops), `starlog tree --failed`
 *   and the INFO lines of one successful request.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { getLogger, runTree, setupLogging } from 'starlog';

if (!cluster.isPrimary) {
  await import('./worker.ts');
} else {
  const logFile = process.env.STARLOG_FILE ?? 'logs/cluster-http.jsonl';
  const handle = await setupLogging({
    serviceName: 'cluster-http',
    levels: 'debug',
    status: {
      interval: '1s',
      template:
        'requests={http.requests} 2xx={http.2xx} 5xx={http.5xx} | info={INFO} debug={DEBUG} warn={WARN} error={ERROR} | lookback held={LOOKBACK-HELD} flushed={LOOKBACK-FLUSHED} dropped={LOOKBACK-DROPPED}',
    },
    lookback: { capacity: 200, maxAge: '30s', followFor: '2s' },
    file: { path: logFile },
    console: { minimumSeverity: 'fatal' },
  });
  const log = getLogger('main');
  const timeout = setTimeout(() => {
    log.fatal('main job did not finish within 90 s');
    process.exit(1);
  }, 90_000);
  timeout.unref();

  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.ts', import.meta.url)) });
  const workers: Worker[] = [cluster.fork(), cluster.fork()];
  const listening = await Promise.all(workers.map((w) => once(w, 'listening')));
  const [address] = listening[0] as [{ port: number }];
  log.info('2 workers listening on 127.0.0.1:%d', address.port);

  const paths = Array.from({ length: 20 }, (_, i) => (i === 13 ? `/fail/${i}` : `/orders/${i}`));
  const result = await autocannon({
    url: `http://127.0.0.1:${address.port}`,
    connections: 8,
    amount: 3000,
    overallRate: 600,
    requests: paths.map((path) => ({ method: 'GET', path })),
  });
  log.info(
    'load done: %d requests, %d non-2xx, %d errors, p99 %d ms',
    result.requests.total,
    result.non2xx,
    result.errors,
    result.latency.p99,
  );

  for (const w of workers) w.disconnect();
  await Promise.all(workers.map((w) => once(w, 'exit')));
  const stats = handle.stats();
  await handle.shutdown();

  const lines = [
    '',
    'summary',
    `  load: ${result.requests.total} requests, ${result.non2xx} answered 5xx on purpose, ${result.errors} errors`,
    `  log file: ${logFile}`,
    `  records received from children, per process:`,
    ...Object.entries(stats.receiver?.children ?? {}).map(
      ([pid, c]) => `    pid ${pid} (${c.serviceName ?? '?'}): ${c.records} records`,
    ),
    `  records in the primary's pipeline: ${stats.pipeline.records}`,
    `  lookback: held ${stats.lookback?.held ?? 0}, flushed ${stats.lookback?.flushed ?? 0}, dropped ${JSON.stringify(stats.lookback?.dropped ?? {})}`,
    `  dropped: ${stats.dropped} (expected: 0)`,
    '',
    'starlog tree --failed',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  // the first two failing requests; `npx starlog tree --failed <file>` shows them all
  let shown = '';
  const collect = new Writable({
    write(chunk, _enc, done) {
      shown += String(chunk);
      done();
    },
  });
  await runTree(
    [logFile],
    { failed: true },
    { stdout: collect, stderr: process.stderr, env: process.env },
  );
  const traces = shown.split(/\n(?=trace )/).filter((t) => t.startsWith('trace '));
  process.stdout.write(
    `${traces.length} failed requests; the first one, with all its tasks across processes:\n`,
  );
  const firstTrace = /^trace ([0-9a-f]{32})/.exec(traces[0] ?? '')?.[1];
  if (firstTrace !== undefined) await runTree([logFile], { trace: firstTrace });
  process.stdout.write(`(all of them: node dist/cli/main.js tree --failed ${logFile})\n`);
  await showOneSuccess(logFile);
  clearTimeout(timeout);
}

/** Prints the INFO and higher records of one request that succeeded, as `starlog tree` does. */
async function showOneSuccess(file: string): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  let traceId: string | undefined;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const m = /"stringValue":"GET \/orders\/:id 200 [^"]*"[\s\S]*?"traceId":"([0-9a-f]{32})"/.exec(
      line,
    );
    if (m !== null) {
      traceId = m[1];
      break;
    }
  }
  process.stdout.write('\none successful request (its INFO lines and above):\n');
  if (traceId === undefined) {
    process.stdout.write('  none in the file (no access record of a successful GET /orders/:id)\n');
    return;
  }
  let out = '';
  const collect = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  await runTree(
    [file],
    { trace: traceId },
    { stdout: collect, stderr: process.stderr, env: process.env },
  );
  const lines = out.split('\n').filter((l) => !/\+\d+\.\d+s (DEBUG|TRACE)/.test(l));
  process.stdout.write(`${lines.join('\n')}\n`);
}
