/**
 * Lookback buffering, ported from the Python starlog demo (demo_lookback_handler.py), in one
 * process: requests log DEBUG/INFO detail that is held per trace; only the requests that fail
 * (an ERROR record, or an HTTP 500 without one, flushed with flushActive()) have their trail
 * printed. At the end, stats() shows what was held, flushed and dropped.
 *
 * Run: ./node_modules/.bin/node examples/lookback/main.ts
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, SeverityNumber, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  ConsoleLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { LookbackProcessor } from 'starlog';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const lookback = new LookbackProcessor(
  new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() }),
  { capacity: 20, maxAge: '1m', followFor: '5s' },
);
const provider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'lookback-demo' }),
  processors: [lookback],
});
const logger = provider.getLogger('demo');

function log(severityNumber: SeverityNumber, body: string, attributes = {}) {
  logger.emit({ severityNumber, severityText: SeverityNumber[severityNumber], body, attributes });
}

// A small deterministic random generator, so that every run prints the same requests.
let seed = 7;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}

type Outcome = 'ok' | 'error' | 'http-500';

async function handle(id: number, outcome: Outcome): Promise<void> {
  const traceId = randomBytes(16).toString('hex');
  const span = { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.SAMPLED };
  await context.with(trace.setSpanContext(context.active(), span), async () => {
    log(SeverityNumber.INFO, `request ${id}: GET /orders/${id}`, { 'request.id': id });
    for (let step = 1; step <= 3; step++) {
      await sleep(Math.floor(random() * 5));
      log(SeverityNumber.DEBUG, `request ${id}: step ${step} done`, { 'request.id': id, step });
    }
    if (outcome === 'error') {
      log(SeverityNumber.ERROR, `request ${id}: payment service refused the order`, {
        'request.id': id,
      });
    } else if (outcome === 'http-500') {
      // Failed without an ERROR record: flush the trail of the active trace explicitly.
      lookback.flushActive();
      log(SeverityNumber.WARN, `request ${id}: answered 500`, { 'request.id': id });
    } else {
      log(SeverityNumber.DEBUG, `request ${id}: answered 200`, { 'request.id': id });
    }
  });
}

// 30 concurrent requests; about one in six fails.
const outcomes: Outcome[] = Array.from({ length: 30 }, () => {
  const r = random();
  return r < 0.12 ? 'error' : r < 0.17 ? 'http-500' : 'ok';
});
await Promise.all(outcomes.map((outcome, id) => handle(id, outcome)));

// Records without trace context are held per process: this one is flushed by the FATAL after it.
log(SeverityNumber.INFO, 'shutting down: closing the connection pool');
log(SeverityNumber.FATAL, 'connection pool did not close in time');

await provider.forceFlush();
// The successful requests' records are still held (stats().buffered); shutdown drops them.
const failed = outcomes.flatMap((o, id) => (o === 'ok' ? [] : [`${id} (${o})`]));
console.log(`\nfailing requests: ${failed.join(', ')}`);
console.log('lookback stats:', JSON.stringify(lookback.stats()));
await provider.shutdown();
