/**
 * Soak: children log at a sustained rate while their primary is restarted once in the middle;
 * checks that every record is delivered or counted as dropped, exactly, and samples the
 * primaries' resident memory.
 *
 * The bench is the parent of everything: primary #1 (this file with `--role primary`: a real
 * `setupLogging()` primary on a fixed unix socket path, destination a rotating JSON-lines file,
 * status records every 5 s, plus a stage that counts the children's records per child), then N
 * children (`test/fixtures/reliability-child.ts` with `setupLogging()` child defaults: queue
 * 32 MiB of encoded records, spill 32 MiB, retries 100 ms..5 s) that each emit `--rate` records/s for
 * `--seconds`. At half time primary #1 is stopped (gracefully: SIGTERM-like IPC `stop` →
 * `handle.shutdown()`; with `--crash`: SIGKILL) and primary #2 starts on the same path with the
 * same token. At the end: per child, sent = delivered (#1 + #2) + the drops the (last) primary counted for it.
 *
 * With `--hang S`, primary #1 is not restarted: it is stopped with SIGSTOP (a hung primary: its
 * socket accepts, nothing answers) `--hang-at` seconds after the stream starts (default
 * min(5, seconds / 4)) and resumed with SIGCONT S seconds later; the children's exports in flight
 * time out (gRPC deadline 30 s), are retried, and the primary must ingest every batch once
 * (duplicates are counted per record at the primary and must be 0). `--record-bytes N` pads
 * every record with an N-byte attribute (`rel.pad`). The children's resident memory is sampled
 * every second; its growth over an idle child's (setupLogging done, nothing logged: ~105 MB from
 * the TypeScript sources, see `bench/child-memory.ts`) is compared with their queue bound
 * (`maxQueueBytes` 32 MiB + `maxSpillBytes` 32 MiB) + 64 MB.
 *
 * Usage: ./node_modules/.bin/node bench/soak.ts [--seconds 60] [--rate 5000] [--children 4] [--crash]
 *   [--hang S [--hang-at S]] [--record-bytes N] [--no-backpressure]
 * CI-sized: --seconds 10
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import type { ShippingStats } from '../src/export/shipping-processor.ts';
import { generateToken } from '../src/multiprocess/protocol/token.ts';
import { setupLogging } from '../src/setup/setup-logging.ts';
import { childDrops, type RelChild, startChild } from '../test/support/reliability-children.ts';

/** The primary's resident memory bound stated in the README (Figures), MB. */
const RSS_BOUND_MB = 300;
/** A child's bound: its queue (32 MiB) and spill (32 MiB) of encoded records, plus 64 MB (issue 11), in MiB as `mb()` counts. */
const CHILD_RSS_BOUND_MB = (64 * 1048576 + 64_000_000) / 1048576;

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '5000' },
    children: { type: 'string', default: '4' },
    crash: { type: 'boolean', default: false },
    hang: { type: 'string' },
    'hang-at': { type: 'string' },
    'record-bytes': { type: 'string' },
    'no-backpressure': { type: 'boolean', default: false },
    socket: { type: 'string' },
    file: { type: 'string' },
  },
});

interface Delivered {
  type: 'delivered';
  /** distinct records per child */
  perChild: Record<string, number>;
  dropped: number;
  /** records that reached the pipeline a second time (same child and seq) */
  duplicates?: number;
  /** requests the receiver recognised as sent again and did not ingest */
  refusedRequests?: number;
  /** requests the receiver refused because the child had stopped waiting for them (deadline passed) */
  expiredRequests?: number;
  /** the primary's drop count per child (its latest drop reports), keyed by pid */
  childDropped?: Record<string, number>;
  /** records children counted as dropped that this primary had ingested (not counted by it) */
  uncountedDrops?: number;
  /** requests refused because their child had reported the batch dropped */
  refusedDropped?: number;
}

if (args.role === 'primary') await runPrimary();
else await runBench();

/** The primary: setupLogging on the given socket; counts child records; reports RSS every second. */
async function runPrimary(): Promise<void> {
  const handle = await setupLogging({
    role: 'primary',
    endpoint: `unix:${args.socket}`,
    // --crash: no rotation, the bench counts what primary #1 wrote before it died
    file: args.crash
      ? { path: args.file as string }
      : { path: args.file as string, maxSize: 64 * 1024 * 1024, maxFiles: 2 },
    console: false,
    collector: false,
    status: { interval: '5s' },
  });
  const perChild: Record<string, number> = {};
  // one byte per seq and child: duplicates seen without a Set's memory in the RSS figure
  const seen: Uint8Array[] = [];
  let duplicates = 0;
  handle.pipeline.addStage({
    onEmit(record: ReadWriteLogRecord) {
      const c = record.attributes['rel.child'];
      const seq = record.attributes['rel.seq'];
      if (typeof c !== 'number' || typeof seq !== 'number') return;
      let bits = seen[c] ?? new Uint8Array(1 << 16);
      if (seq >= bits.length) {
        const grown = new Uint8Array(Math.max(bits.length * 2, seq + 1));
        grown.set(bits);
        bits = grown;
      }
      seen[c] = bits;
      if (bits[seq] === 1) {
        duplicates++;
        return;
      }
      bits[seq] = 1;
      perChild[c] = (perChild[c] ?? 0) + 1;
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  });
  const sample = () => process.send?.({ type: 'rss', rss: process.memoryUsage().rss });
  const timer = setInterval(sample, 1000);
  sample();
  process.on('message', async (msg: { type: string }) => {
    if (msg.type !== 'stop') return;
    clearInterval(timer);
    await handle.shutdown();
    const d: Delivered = {
      type: 'delivered',
      perChild,
      dropped: handle.stats().dropped,
      duplicates,
      refusedRequests: handle.stats().receiver?.duplicates ?? 0,
      expiredRequests: handle.stats().receiver?.expired ?? 0,
      childDropped: Object.fromEntries(
        Object.entries(handle.stats().receiver?.children ?? {}).map(([pid, c]) => [
          pid,
          c.dropped?.total ?? 0,
        ]),
      ),
      uncountedDrops: handle.stats().receiver?.uncountedDrops ?? 0,
      refusedDropped: handle.stats().receiver?.refusedDropped ?? 0,
    };
    process.send?.(d, () => process.exit(0));
  });
  process.send?.({ type: 'ready' });
}

interface Primary {
  proc: ChildProcess;
  maxRss: number;
  delivered: Promise<Delivered | undefined>;
}

/** A child's drops by reason (only the reasons that are not zero). */
function dropsByReason(s: ShippingStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [
    'queueFull',
    'spillOverflow',
    'exportFailed',
    'exportRejected',
    'afterShutdown',
  ] as const)
    if (s[k] > 0) out[k] = s[k];
  return out;
}

/** Child records per `rel.child` in an OTLP-JSON lines file (what a crashed primary wrote). */
function countWritten(path: string): Record<string, number> {
  const out: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    let req: {
      resourceLogs: {
        scopeLogs: {
          logRecords: { attributes?: { key: string; value: { intValue?: string | number } }[] }[];
        }[];
      }[];
    };
    try {
      req = JSON.parse(line);
    } catch {
      continue; // a line cut short by the crash
    }
    for (const rl of req.resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const lr of sl.logRecords) {
          const c = lr.attributes?.find((a) => a.key === 'rel.child')?.value.intValue;
          if (c !== undefined) out[String(c)] = (out[String(c)] ?? 0) + 1;
        }
  }
  return out;
}

function startPrimary(socket: string, file: string, token: string): Promise<Primary> {
  const proc = fork(
    fileURLToPath(import.meta.url),
    ['--role', 'primary', '--socket', socket, '--file', file, ...(args.crash ? ['--crash'] : [])],
    {
      env: { ...process.env, STARLOG_TOKEN: token, STARLOG_ENDPOINT: '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const p: Primary = { proc, maxRss: 0, delivered: Promise.resolve(undefined) };
  p.delivered = new Promise((resolve) => {
    proc.on('message', (m: { type: string; rss?: number }) => {
      if (m.type === 'rss') p.maxRss = Math.max(p.maxRss, m.rss as number);
      if (m.type === 'delivered') resolve(m as Delivered);
    });
    proc.on('exit', () => resolve(undefined));
  });
  return new Promise((resolve, reject) => {
    proc.on('message', (m: { type: string }) => m.type === 'ready' && resolve(p));
    proc.on('exit', (code) => reject(new Error(`primary exited with ${code} before ready`)));
  });
}

async function runBench(): Promise<void> {
  const seconds = Number(args.seconds);
  const rate = Number(args.rate);
  const n = Number(args.children);
  const hang = args.hang === undefined ? undefined : Number(args.hang);
  const hangAt = args['hang-at'] === undefined ? Math.min(5, seconds / 4) : Number(args['hang-at']);
  const recordBytes = args['record-bytes'] === undefined ? undefined : Number(args['record-bytes']);
  const dir = mkdtempSync(join(tmpdir(), 'starlog-soak-'));
  const socket = join(dir, 'primary.sock');
  const token = generateToken();
  const env = { STARLOG_ENDPOINT: `unix://${socket}`, STARLOG_TOKEN: token };
  try {
    const first = await startPrimary(socket, join(dir, 'p1.jsonl'), token);
    const children: RelChild[] = await Promise.all(
      Array.from({ length: n }, (_, index) =>
        startChild(env, {
          index,
          setup: true,
          ...(recordBytes ? { recordBytes } : {}),
          // --no-backpressure: a full queue drops (queueFull) instead of sending synchronously
          ...(args['no-backpressure']
            ? { setupOptions: { childQueue: { backpressure: false } } }
            : {}),
        }),
      ),
    );
    // resident memory of an idle child (setupLogging done, nothing logged yet): the growth is compared with the bound
    const baseRss = Math.max(...(await Promise.all(children.map((c) => c.rss()))));
    let maxSpillBytes = 0;
    let maxPending = 0;
    let maxQueueBytes = 0;
    let maxChildRss = 0;
    const poll = setInterval(async () => {
      for (const c of children) {
        const s = await c.stats().catch(() => undefined);
        if (s) {
          maxSpillBytes = Math.max(maxSpillBytes, s.spillBytes);
          maxPending = Math.max(maxPending, s.pending);
          maxQueueBytes = Math.max(maxQueueBytes, s.queueBytes);
        }
        maxChildRss = Math.max(maxChildRss, await c.rss().catch(() => 0));
      }
    }, 1000);
    const t0 = performance.now();
    const streaming = children.map((c) => c.stream(rate, seconds));

    let d1: Delivered | undefined;
    let second: Primary;
    let downtimeMs: number;
    if (hang !== undefined) {
      await new Promise((r) => setTimeout(r, hangAt * 1000));
      const down = performance.now();
      first.proc.kill('SIGSTOP');
      console.log(`primary stopped (SIGSTOP) at ${hangAt} s for ${hang} s`);
      await new Promise((r) => setTimeout(r, hang * 1000));
      first.proc.kill('SIGCONT');
      downtimeMs = performance.now() - down;
      console.log(`primary resumed (SIGCONT) after ${downtimeMs.toFixed(0)} ms`);
      second = first;
    } else {
      await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
      const down = performance.now();
      if (args.crash) first.proc.kill('SIGKILL');
      else first.proc.send({ type: 'stop' });
      // SIGKILL: what primary #1 acknowledged but had not written yet is lost; count what it wrote
      d1 = (await first.delivered) ?? {
        type: 'delivered',
        perChild: countWritten(join(dir, 'p1.jsonl')),
        dropped: Number.NaN,
      };
      second = await startPrimary(socket, join(dir, 'p2.jsonl'), token);
      downtimeMs = performance.now() - down;
      console.log(
        `primary restarted (${args.crash ? 'SIGKILL' : 'graceful'}), down ${downtimeMs.toFixed(0)} ms`,
      );
    }

    await Promise.all(streaming);
    const streamSeconds = (performance.now() - t0) / 1000;
    const drainStart = performance.now();
    clearInterval(poll);
    const finals: { sent: number; stats: ShippingStats }[] = [];
    for (const c of children) {
      await c.flush();
      finals.push(await c.shutdown());
    }
    const drainMs = performance.now() - drainStart;
    second.proc.send({ type: 'stop' });
    const d2 = await second.delivered;

    let totalSent = 0;
    let totalDelivered = 0;
    let totalDrops = 0;
    let retries = 0;
    let exact = (d2?.duplicates ?? 0) + (d1?.duplicates ?? 0) === 0;
    const rows: string[] = [];
    for (let i = 0; i < n; i++) {
      const f = finals[i] as { sent: number; stats: ShippingStats };
      const delivered = (d1?.perChild[i] ?? 0) + (d2?.perChild[i] ?? 0);
      // the drops the primary counts for this child (the last primary has the latest report);
      // the child's own count may include a batch the primary ingested but never acknowledged
      const pid = String(children[i]?.proc.pid);
      const own = childDrops(f.stats);
      const drops = d2?.childDropped?.[pid] ?? d1?.childDropped?.[pid] ?? own;
      const ok = f.sent === delivered + drops;
      exact &&= ok;
      totalSent += f.sent;
      totalDelivered += delivered;
      totalDrops += drops;
      retries += f.stats.retries;
      rows.push(
        `child ${i}: sent ${f.sent} = delivered ${delivered} (${d1 ? d1.perChild[i] : '-'} + ${d2?.perChild[i] ?? 0}) + drops ${drops} (the child's own count ${own}: ${JSON.stringify(dropsByReason(f.stats))})  ${ok ? 'OK' : `MISMATCH (${f.sent - delivered - drops})`}  retries ${f.stats.retries}`,
      );
    }
    if (args.crash) {
      console.log(
        `crash: ${totalSent - totalDelivered - totalDrops} records acknowledged by primary #1 but never written (its queue and in-flight exports at SIGKILL)`,
      );
    }
    const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
    console.log(rows.join('\n'));
    console.log(
      `sent ${totalSent}, delivered ${totalDelivered}, counted drops ${totalDrops}: ${exact ? 'exact' : 'NOT exact'}; ` +
        `duplicates at the primary ${(d1?.duplicates ?? 0) + (d2?.duplicates ?? 0)} (requests refused as sent again ${(d1?.refusedRequests ?? 0) + (d2?.refusedRequests ?? 0)}, as past their deadline ${(d1?.expiredRequests ?? 0) + (d2?.expiredRequests ?? 0)}, as reported dropped ${(d1?.refusedDropped ?? 0) + (d2?.refusedDropped ?? 0)}); ingested records children counted as dropped, not counted by the primary: ${(d1?.uncountedDrops ?? 0) + (d2?.uncountedDrops ?? 0)}; ` +
        `primary RSS max ${mb(first.maxRss)} MB (#1), ${mb(second.maxRss)} MB (#2); ` +
        `child RSS max ${mb(maxChildRss)} MB (idle ${mb(baseRss)} MB, growth ${mb(maxChildRss - baseRss)} MB), queue max ${mb(maxQueueBytes)} MB, spill max ${mb(maxSpillBytes)} MB; drain after the stream ${drainMs.toFixed(0)} ms`,
    );
    console.log(
      JSON.stringify({
        bench: 'soak',
        seconds,
        streamSeconds: Math.round(streamSeconds * 10) / 10,
        children: n,
        ratePerChild: rate,
        restart: hang !== undefined ? `SIGSTOP ${hang} s` : args.crash ? 'SIGKILL' : 'graceful',
        recordBytes: recordBytes ?? null,
        backpressure: !args['no-backpressure'],
        downtimeMs: Math.round(downtimeMs),
        sent: totalSent,
        delivered: totalDelivered,
        drops: totalDrops,
        exact,
        lostInCrash: args.crash ? totalSent - totalDelivered - totalDrops : 0,
        retries,
        primaryMaxRssMB:
          hang !== undefined ? [mb(first.maxRss)] : [mb(first.maxRss), mb(second.maxRss)],
        primaryDropped: [d1?.dropped ?? null, d2?.dropped ?? null],
        duplicates: (d1?.duplicates ?? 0) + (d2?.duplicates ?? 0),
        refusedRequests: (d1?.refusedRequests ?? 0) + (d2?.refusedRequests ?? 0),
        expiredRequests: (d1?.expiredRequests ?? 0) + (d2?.expiredRequests ?? 0),
        refusedDropped: (d1?.refusedDropped ?? 0) + (d2?.refusedDropped ?? 0),
        uncountedDrops: (d1?.uncountedDrops ?? 0) + (d2?.uncountedDrops ?? 0),
        childMaxRssMB: mb(maxChildRss),
        childIdleRssMB: mb(baseRss),
        childMaxQueueMB: mb(maxQueueBytes),
        childMaxSpillMB: mb(maxSpillBytes),
        childMaxPending: maxPending,
        drainMs: Math.round(drainMs),
      }),
    );
    if (!exact && !args.crash) process.exitCode = 1;
    // the stated bound (README, Figures): a primary at 20,000 records/s stays under 300 MB RSS
    const maxRssMB = Math.max(mb(first.maxRss), mb(second.maxRss));
    if (maxRssMB > RSS_BOUND_MB) {
      process.stderr.write(
        `primary RSS ${maxRssMB} MB is over the stated bound of ${RSS_BOUND_MB} MB\n`,
      );
      process.exitCode = 1;
    }
    if (mb(maxChildRss - baseRss) > CHILD_RSS_BOUND_MB) {
      process.stderr.write(
        `child RSS grew by ${mb(maxChildRss - baseRss)} MB, over its queue + spill bound + 64 MB (${CHILD_RSS_BOUND_MB.toFixed(0)} MB)\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
