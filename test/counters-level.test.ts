/**
 * Counters that do not depend on the level: a logger call whose record is disabled still counts
 * its inc() counters, count() counts without logging, a record the level table filters counts
 * too; status records sum them, in a single process and from children (counter records shipped
 * like any record, not written to the destinations).
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SeverityNumber } from '@opentelemetry/api';
import { count, getLogger, inc, setupLogging } from '../src/index.ts';
import { emitPendingCounts } from '../src/processors/status/counters.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { until } from './support/wait.ts';

const fixture = fileURLToPath(new URL('./fixtures/count-child.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'starlog-counters-level-'));
after(() => rm(dir, { recursive: true, force: true }));

function scopesIn(text: string): Set<string> {
  const scopes = new Set<string>();
  for (const m of text.matchAll(/"scope":\{"name":"([^"]*)"/g)) scopes.add(m[1]!);
  return scopes;
}

test('one process and its children: status counters do not depend on the level', async () => {
  const file = join(dir, 'out.jsonl');
  const handle = await setupLogging({
    serviceName: 'counters-level',
    levels: 'warn',
    status: { interval: '1h' },
    file: { path: file },
    console: false,
  });
  const status = handle.status!;
  try {
    // single process: disabled calls, count(), a record the level table filters
    const log = getLogger('app');
    for (let i = 0; i < 5; i++) log.info(inc('requests').inc('2xx'), 'handled %d', i);
    log.debug(inc('requests'), 'debug');
    log.exception(new Error('x'), 'not logged either', inc('errors'));
    count('jobs', 3);
    count('jobs');
    // a record the pipeline's level table filters in onEmit (as one ingested from a child)
    handle.pipeline!.onEmit(
      new PlainLogRecord({
        resource: handle.resource!,
        instrumentationScope: { name: 'raw' },
        severityNumber: SeverityNumber.INFO,
        body: 'filtered by the level table',
        attributes: { 'starlog.count.raw': 2, other: 'x' },
      }) as never,
    );
    let c = status.snapshot().counters;
    assert.deepEqual(
      { requests: c.requests, '2xx': c['2xx'], jobs: c.jobs, raw: c.raw },
      { requests: 6, '2xx': 5, jobs: 4, raw: 2 },
    );
    // the counter record's way (what a child ships): counted once, as counters only
    const before = status.snapshot();
    count('jobs', 10);
    emitPendingCounts();
    c = status.snapshot().counters;
    assert.equal(c.jobs, 14);
    assert.equal(status.snapshot().total.count, before.total.count, 'not counted as a record');

    // children: natural end, process.exit(), and one that keeps running
    const env = { ...process.env };
    const natural = fork(fixture, ['natural'], { env });
    const exiting = fork(fixture, ['exit'], { env });
    const waiting = fork(fixture, ['wait'], { env });
    after(() => {
      if (waiting.exitCode === null && waiting.signalCode === null) waiting.kill('SIGKILL');
    });
    await Promise.all([once(natural, 'exit'), once(exiting, 'exit')]);
    await once(waiting, 'message');
    await until(
      () => {
        const s = status.snapshot().counters;
        return s.requests === 6 + 33 && s['2xx'] === 5 + 30 && s.jobs === 14 + 6;
      },
      {
        what: 'the counts of three children (10 disabled INFO + 1 DEBUG calls and count(jobs, 2) each)',
        timeoutMs: 60_000, // three Node start-ups on a shared 2-core machine
        intervalMs: 20,
      },
    );
    waiting.send('exit');
    await once(waiting, 'exit');
  } finally {
    await handle.shutdown();
  }
  const text = await readFile(file, 'utf8');
  assert.ok(!scopesIn(text).has('starlog.counts'), 'counter records are not written');
  assert.doesNotMatch(text, /handled \d/, 'the disabled records are not written');
  for (const how of ['natural', 'exit', 'wait']) assert.match(text, new RegExp(`written: ${how}`));
  const m = /"status\.count\.requests","value":\{"(?:int|double)Value":"?(\d+)/.exec(text);
  assert.ok(m, 'the final status record has status.count.requests');
  assert.equal(Number(m[1]), 39);
});
