/**
 * Several processes shipping to one primary (Python starlog's multi-process demo, ported): the
 * primary starts a forked child, a spawned child, two cluster workers and a worker thread; each
 * logs a few records and exits; the primary's status records count them all, and the summary
 * shows the records received per process.
 *
 *   ./node_modules/.bin/node examples/multiprocess/main.ts
 */
import cluster from 'node:cluster';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isMainThread, Worker } from 'node:worker_threads';
import { fork, getLogger, inc, setupLogging, spawn, task } from 'starlog';

const self = fileURLToPath(import.meta.url);
const kind =
  process.argv[2] ?? (cluster.isWorker ? 'cluster' : isMainThread ? 'primary' : 'thread');

if (kind === 'primary') {
  const handle = await setupLogging({
    serviceName: 'multiprocess-demo',
    status: {
      interval: '1s',
      template: '{INFO} info, {WARN} warn from all processes; {jobs} jobs',
    },
    file: { path: 'logs/multiprocess.jsonl' },
    console: { minimumSeverity: 'warn' },
  });
  await task('run the demo', async () => {
    const children = [
      fork(self, ['forked']),
      spawn(process.execPath, [self, 'spawned'], { stdio: 'inherit' }),
    ];
    cluster.setupPrimary({ exec: self });
    const workers = [cluster.fork(), cluster.fork()];
    const thread = new Worker(self);
    await Promise.all([
      ...children.map((c) => once(c, 'exit')),
      ...workers.map((w) => once(w, 'exit')),
      once(thread, 'exit'),
    ]);
  });
  const stats = handle.stats();
  await handle.shutdown();
  process.stdout.write('\nrecords received per process:\n');
  for (const [pid, c] of Object.entries(stats.receiver?.children ?? {})) {
    process.stdout.write(`  pid ${pid} (${c.serviceName ?? '?'}): ${c.records}\n`);
  }
  process.stdout.write(`dropped: ${stats.dropped}; every record is in logs/multiprocess.jsonl\n`);
} else {
  await setupLogging({ serviceName: `demo-${kind}` });
  const log = getLogger(`demo.${kind}`);
  for (let i = 0; i < 50; i++) log.info(inc('jobs'), '%s child did job %d', kind, i);
  log.warn('%s child (pid %d) is done', kind, process.pid);
  if (kind === 'cluster') process.disconnect?.();
}
