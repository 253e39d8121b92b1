/**
 * `starlog view` figures:
 *  1. indexing: 1,000,000 generated records (requests shaped like the main job's: a root task per
 *     request, subtasks in a second process, DEBUG/INFO records, 5 % failed with an ERROR and a
 *     stack; attributes user, order.id, http.response.status_code) stored into a file database in
 *     batches of 5,000: records/s (target ≥ 100,000) and bytes on disk per record;
 *  2. queries on that database, median of 7: the failed-requests page (first 50 traces, failed
 *     first), an attribute equality search (`user=leo`), a numeric one
 *     (`http.response.status_code>=500`), free text (target < 200 ms each);
 *  3. live: a real primary (setupLogging: JSON-lines file destination) emitting 200,000 records as
 *     fast as it can, with and without `view: true` (default `maxRate`; env BENCH_VIEW_RATE sets
 *     another), interleaved rounds (a fresh process each; which side goes first alternates),
 *     median records/s (target: drop ≤ 10 %), the primary thread's and the whole process's CPU µs
 *     per record; what the view stored and what its stage dropped (beyond `maxRate`, beyond a
 *     tenth of it while the primary's event loop is saturated, or when indexing is behind, it
 *     drops and counts);
 *     then the view paced at 50,000 records/s for 5 s: records lost (target 0) and how long after
 *     the last record the store holds them all (the tail's lag).
 *
 *  4. the stage's own cost on the primary's thread, per record it takes: `BatchEncoder.add` and
 *     the copy `postMessage` makes (`v8.serialize`, the same serializer), records from a real
 *     LoggerProvider with 6 attributes (task id and name, user, order.id, method, path), CPU time
 *     of this thread (robust to other load on the machine), median of 7 rounds of 100 batches.
 *
 * Run: ./node_modules/.bin/node bench/view.ts [--records 1000000] [--rounds 3] [--skip-live]
 *   [--skip-indexing]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serialize } from 'node:v8';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { getLogger } from '../src/logger.ts';
import { setupLogging } from '../src/setup/setup-logging.ts';
import { BatchEncoder } from '../src/view/live-encoding.ts';
import { ViewQueries } from '../src/view/store/queries.ts';
import type { ViewRow } from '../src/view/store/row.ts';
import { ViewStore } from '../src/view/store/store.ts';
import { CollectingProcessor } from '../test/support/collect.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    'skip-live': { type: 'boolean', default: false },
    'skip-indexing': { type: 'boolean', default: false },
    'primary-round': { type: 'string' },
  },
});
const TOTAL = Number(values.records);
const ROUNDS = Number(values.rounds);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const USERS = ['leo', 'ann', 'bob', 'eve', 'kim', 'max', 'sam', 'zoe'];
const STACK =
  'Error: payment declined\n    at charge (file:///app/worker.ts:54:15)\n    at async handle (file:///app/worker.ts:40:5)\n    at async Server.<anonymous> (file:///app/server.ts:12:3)';

/** A trace id whose first characters vary (as random ids do). */
const traceId = (n: number) => hex(Math.imul(n + 1, 2654435761) >>> 0, 8) + hex(n, 24);

/** One request: ~10 records over 2 processes; `fail` ends it with an ERROR. */
function request(n: number, t: number, out: ViewRow[]): void {
  const trace = traceId(n);
  const root = `${n}@${trace.slice(0, 8)}`;
  const fail = n % 20 === 13;
  const user = USERS[n % USERS.length]!;
  const status = fail ? 500 : 200;
  const attrs = { user, 'order.id': `A-${n}`, 'http.method': 'GET', 'url.path': `/orders/${n}` };
  const proc = 1 + (n % 2);
  const name = `GET /orders/${n % 100}`;
  out.push({
    t,
    sev: 9,
    proc,
    logger: 'starlog.task',
    body: name,
    trace,
    span: hex(n, 16),
    task: root,
    tname: name,
    attrs,
  });
  out.push({
    t: t + 0.1,
    sev: 5,
    proc,
    logger: 'app.http',
    body: 'request headers parsed',
    trace,
    span: hex(n, 16),
    task: root,
    attrs,
  });
  const sub = `${root}/1`;
  out.push({
    t: t + 0.2,
    sev: 9,
    proc,
    logger: 'starlog.task',
    body: 'load order',
    trace,
    task: sub,
    tname: 'load order',
    attrs,
  });
  out.push({
    t: t + 0.3,
    sev: 5,
    proc,
    logger: 'app.db',
    body: `SELECT * FROM orders WHERE id = ${n}`,
    trace,
    task: sub,
    attrs,
  });
  out.push({
    t: t + 0.9,
    sev: 9,
    proc,
    logger: 'starlog.task',
    body: 'load order',
    trace,
    task: sub,
    tname: 'load order',
    outcome: 'success',
    dur: 0.7,
    attrs,
  });
  const remote = `${root}/2`;
  out.push({
    t: t + 1,
    sev: 9,
    proc: 3,
    logger: 'starlog.task',
    body: 'quote',
    trace,
    task: remote,
    tname: 'quote',
    attrs,
  });
  out.push({
    t: t + 1.2,
    sev: 5,
    proc: 3,
    logger: 'app.pricing',
    body: 'looking up sku-1 in the price list',
    trace,
    task: remote,
    attrs,
  });
  out.push({
    t: t + 1.5,
    sev: 9,
    proc: 3,
    logger: 'starlog.task',
    body: `quoted ${n % 50}`,
    trace,
    task: remote,
    tname: 'quote',
    outcome: 'success',
    dur: 0.5,
    attrs,
  });
  if (fail) {
    out.push({
      t: t + 2,
      sev: 17,
      proc,
      logger: 'app.http',
      body: `payment declined for order A-${n}`,
      trace,
      task: root,
      attrs: { ...attrs, 'http.response.status_code': status },
    });
    out.push({
      t: t + 2.1,
      sev: 17,
      proc,
      logger: 'starlog.task',
      body: `FAILED ${name}`,
      trace,
      task: root,
      tname: name,
      outcome: 'failure',
      dur: 2.1,
      exc: 'Error: payment declined',
      stack: STACK,
      attrs,
    });
  } else {
    out.push({
      t: t + 2,
      sev: 9,
      proc,
      logger: 'app.http',
      body: `handled ${name} ${status}`,
      trace,
      task: root,
      attrs: { ...attrs, 'http.response.status_code': status },
    });
    out.push({
      t: t + 2.1,
      sev: 9,
      proc,
      logger: 'starlog.task',
      body: name,
      trace,
      task: root,
      tname: name,
      outcome: 'success',
      dur: 2.1,
      attrs,
    });
  }
}

function indexing() {
  const dir = mkdtempSync(join(tmpdir(), 'starlog-bench-view-'));
  const path = join(dir, 'view.sqlite');
  const store = new ViewStore({ path });
  for (const [key, service] of [
    [1, 'shop'],
    [2, 'shop'],
    [3, 'pricing'],
  ] as const) {
    store.addProcess({ key, pid: String(1000 + key), service });
  }
  let stored = 0;
  let n = 0;
  let ms = 0;
  let cpuMs = 0;
  const t0 = 1_700_000_000_000;
  while (stored < TOTAL) {
    const batch: ViewRow[] = [];
    while (batch.length < 5000) request(n++, t0 + n * 0.5, batch);
    const start = performance.now();
    const c0 = process.cpuUsage();
    store.add(batch);
    ms += performance.now() - start;
    const c = process.cpuUsage(c0);
    cpuMs += (c.user + c.system) / 1000;
    stored += batch.length;
  }
  store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const bytes = statSync(path).size;
  const q = new ViewQueries(store.db);
  const time = (fn: () => unknown) => {
    const xs: number[] = [];
    let rows = 0;
    for (let i = 0; i < 7; i++) {
      const s = performance.now();
      const r = fn() as unknown[];
      xs.push(performance.now() - s);
      rows = r.length;
    }
    return { ms: Number(median(xs).toFixed(1)), rows };
  };
  const queries = {
    failedPage: time(() => q.traces({ limit: 50 })),
    attrEquals: time(() => q.search({ q: 'user=leo', limit: 100 })),
    attrNumeric: time(() => q.search({ q: 'http.response.status_code>=500', limit: 100 })),
    attrRare: time(() => q.search({ q: 'order.id=A-777', limit: 100 })),
    freeText: time(() => q.search({ q: 'declined', limit: 100 })),
    tracePrefix: time(() => q.search({ q: `trace:${traceId(4242).slice(0, 8)}`, limit: 100 })),
    oneTrace: time(() => q.trace(traceId(4242))),
  };
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    records: stored,
    recordsPerSecond: Math.round(stored / (ms / 1000)),
    recordsPerCpuSecond: Math.round(stored / (cpuMs / 1000)),
    bytesPerRecord: Math.round(bytes / stored),
    queries,
  };
}

/** One primary, in its own process (a fresh process per round: setupLogging once per process). */
async function primaryRound(
  view: boolean,
  records: number,
): Promise<{
  rate: number;
  mainThreadUsPerRecord: number;
  processUsPerRecord: number;
  added: number;
  dropped: number;
}> {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--primary-round',
      view ? 'view' : 'plain',
      '--records',
      String(records),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  await once(child, 'exit');
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** The view's counters from its page (`/api/summary`): records stored, records the stage dropped. */
async function viewCounters(viewUrl: string): Promise<{ added: number; dropped: number }> {
  const url = new URL(viewUrl);
  const login = await fetch(url, { redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const r = await fetch(`${url.origin}/api/summary`, { headers: { cookie } });
  const s = ((await r.json()) as { store: { added: number; dropped?: number } }).store;
  return { added: s.added, dropped: s.dropped ?? 0 };
}

async function primaryRoundHere(view: boolean, records: number) {
  const dir = mkdtempSync(join(tmpdir(), 'starlog-bench-view-live-'));
  const cwd = process.cwd();
  process.chdir(dir);
  const handle = await setupLogging({
    config: false,
    status: false,
    console: false,
    file: { path: join(dir, 'out.jsonl') },
    view: view ? { print: false, maxRate: Number(process.env.BENCH_VIEW_RATE ?? 60_000) } : false,
  });
  const log = getLogger('bench');
  const start = performance.now();
  const cpu0 = process.threadCpuUsage();
  const all0 = process.cpuUsage();
  for (let i = 0; i < records; i++) {
    log.info({ user: USERS[i % 8]!, 'order.id': i }, 'handled request %d', i);
    if (i % 2000 === 1999) await new Promise((r) => setImmediate(r));
  }
  await handle.forceFlush();
  const ms = performance.now() - start;
  const cpu = process.threadCpuUsage(cpu0);
  const all = process.cpuUsage(all0);
  let counters = { added: 0, dropped: 0 };
  if (handle.viewUrl !== undefined) {
    // the stage posts its drop count within 50 ms; the worker indexes what it took
    const until = performance.now() + 10_000;
    do {
      await new Promise((r) => setTimeout(r, 60));
      counters = await viewCounters(handle.viewUrl);
    } while (counters.added + counters.dropped < records && performance.now() < until);
  }
  const res = {
    rate: records / (ms / 1000),
    mainThreadUsPerRecord: (cpu.user + cpu.system) / records,
    processUsPerRecord: (all.user + all.system) / records,
    ...counters,
  };
  await handle.shutdown();
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
  return res;
}

async function paced() {
  const dir = mkdtempSync(join(tmpdir(), 'starlog-bench-view-paced-'));
  const cwd = process.cwd();
  process.chdir(dir);
  const handle = await setupLogging({
    config: false,
    status: false,
    console: false,
    file: { path: join(dir, 'out.jsonl') },
    view: { print: false },
  });
  const log = getLogger('bench');
  const RATE = 50_000;
  const SECONDS = 5;
  const start = performance.now();
  let sent = 0;
  while (sent < RATE * SECONDS) {
    const due = Math.min(RATE * SECONDS, Math.floor(((performance.now() - start) / 1000) * RATE));
    for (; sent < due; sent++)
      log.info({ user: USERS[sent % 8]!, 'order.id': sent }, 'paced %d', sent);
    await new Promise((r) => setTimeout(r, 5));
  }
  const emitSeconds = (performance.now() - start) / 1000;
  const doneAt = performance.now();
  // every record is either stored or counted as dropped by the stage
  let c = await viewCounters(handle.viewUrl!);
  while (c.added + c.dropped < sent && performance.now() - doneAt < 30_000) {
    await new Promise((r) => setTimeout(r, 20));
    c = await viewCounters(handle.viewUrl!);
  }
  const have = c.added;
  const lagMs = Math.round(performance.now() - doneAt);
  const dropped = c.dropped;
  await handle.shutdown();
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
  return {
    offeredPerSecond: Math.round(sent / emitSeconds),
    sent,
    stored: have,
    droppedByStage: dropped,
    allStoredWithinMs: lagMs,
  };
}

function stageCost() {
  const collected = new CollectingProcessor();
  const recs: ReadableLogRecord[] = collected.records;
  const provider = new LoggerProvider({ processors: [collected] });
  const log = provider.getLogger('app.http');
  for (let i = 0; i < 2000; i++) {
    log.emit({
      severityNumber: 9,
      body: `handled request ${i}`,
      attributes: {
        'task.id': `${i}@4bf92f35/1`,
        'task.name': 'load order',
        user: USERS[i % 8]!,
        'order.id': i,
        'http.method': 'GET',
        'url.path': `/orders/${i}`,
      },
    });
  }
  const encoder = new BatchEncoder();
  const round = (copy: boolean) => {
    const c0 = process.threadCpuUsage();
    for (let k = 0; k < 100; k++) {
      for (const r of recs) encoder.add(r, 1);
      const { batch } = encoder.take();
      if (copy) serialize(batch);
    }
    const c = process.threadCpuUsage(c0);
    return (c.user + c.system) / (100 * recs.length);
  };
  round(true);
  const encode: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < 7; i++) {
    encode.push(round(false));
    total.push(round(true));
  }
  return {
    encodeUsPerRecord: Number(median(encode).toFixed(3)),
    encodeAndCopyUsPerRecord: Number(median(total).toFixed(3)),
  };
}

if (values['primary-round'] !== undefined) {
  const r = await primaryRoundHere(values['primary-round'] === 'view', TOTAL);
  console.log(JSON.stringify(r));
  process.exit(0);
}
const result: Record<string, unknown> = { stage: stageCost() };
console.log(JSON.stringify(result.stage, null, 2));
if (!values['skip-indexing']) {
  result.indexing = indexing();
  console.log(JSON.stringify(result.indexing, null, 2));
}
if (!values['skip-live']) {
  const without: number[] = [];
  const withView: number[] = [];
  const cpuWithout: number[] = [];
  const cpuWith: number[] = [];
  const allWithout: number[] = [];
  const allWith: number[] = [];
  let viewAdded = 0;
  let viewDropped = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // alternate which side goes first (a fresh process each): neither always runs on a warmer
    // or cooler machine
    const first = r % 2 === 0 ? await primaryRound(false, 200_000) : undefined;
    const v = await primaryRound(true, 200_000);
    const p = first ?? (await primaryRound(false, 200_000));
    without.push(p.rate);
    withView.push(v.rate);
    cpuWithout.push(p.mainThreadUsPerRecord);
    cpuWith.push(v.mainThreadUsPerRecord);
    allWithout.push(p.processUsPerRecord);
    allWith.push(v.processUsPerRecord);
    viewAdded += v.added;
    viewDropped += v.dropped;
    console.error(
      `round ${r + 1}: ${Math.round(p.rate)} vs ${Math.round(v.rate)} records/s (${(((p.rate - v.rate) / p.rate) * 100).toFixed(1)} %), main thread ${p.mainThreadUsPerRecord.toFixed(2)} vs ${v.mainThreadUsPerRecord.toFixed(2)} µs/record, process ${p.processUsPerRecord.toFixed(2)} vs ${v.processUsPerRecord.toFixed(2)} µs/record; view stored ${v.added}, dropped ${v.dropped}`,
    );
  }
  const a = median(without);
  const b = median(withView);
  result.primary = {
    recordsPerSecondWithout: Math.round(a),
    recordsPerSecondWithView: Math.round(b),
    drop: `${(((a - b) / a) * 100).toFixed(1)} %`,
    medianOfRoundDrops: `${(median(without.map((x, i) => ((x - withView[i]!) / x) * 100))).toFixed(1)} %`,
    mainThreadUsPerRecordWithout: Number(median(cpuWithout).toFixed(2)),
    mainThreadUsPerRecordWithView: Number(median(cpuWith).toFixed(2)),
    processUsPerRecordWithout: Number(median(allWithout).toFixed(2)),
    processUsPerRecordWithView: Number(median(allWith).toFixed(2)),
    rounds: ROUNDS,
    recordsTheViewStored: viewAdded,
    recordsTheViewDropped: viewDropped,
  };
  console.log(JSON.stringify(result.primary, null, 2));
  result.paced = await paced();
  console.log(JSON.stringify(result.paced, null, 2));
}
