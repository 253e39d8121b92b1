/**
 * Status records from a single process (Python starlog's StatusHandler demo, ported): a loop logs
 * at random severities and counts requests; every 2 seconds a status record sums up the interval.
 *
 *   ./node_modules/.bin/node examples/status-line/main.ts
 *
 * Runs for about 7 seconds and exits by itself. The file `logs/status-line.jsonl` gets every
 * record; the console shows only the status records and errors.
 */
import { getLogger, inc, setupLogging } from 'starlog';

const handle = await setupLogging({
  serviceName: 'status-line',
  levels: 'debug',
  status: {
    interval: '2s',
    template:
      '{requests} requests ({slow} slow) | {DEBUG} debug, {INFO} info, {WARNING} warning, {ERROR} error | {TOTAL-SIZE} bytes in {window}',
  },
  file: { path: 'logs/status-line.jsonl' },
  console: { minimumSeverity: 'error' },
});
const log = getLogger('demo');

const until = Date.now() + 7000;
let n = 0;
while (Date.now() < until) {
  n++;
  const r = Math.random();
  if (r < 0.6) log.debug('tick %d', n);
  else if (r < 0.9) log.info(inc('requests'), 'request %d served', n);
  else if (r < 0.99) log.warn(inc('requests').inc('slow'), 'request %d was slow', n);
  else log.error(inc('requests'), 'request %d failed', n);
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await handle.shutdown();
