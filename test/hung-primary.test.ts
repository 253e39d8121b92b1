/**
 * A hung primary (issue 11 items 3 and 4): a real `setupLogging()` primary in its own process,
 * stopped with SIGSTOP (its socket still accepts, nothing answers), and real `setupLogging()`
 * children. Times are shrunk through options (a 2 s export deadline, a 1.5 s shutdownTimeoutMs)
 * so that the tests stay short; `bench/soak.ts --hang 35` / `--hang 120` runs the real ones.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LoggingStats } from '../src/setup/handle.ts';
import { cleanEnv } from './support/process.ts';
import { childDrops, startChild } from './support/reliability-children.ts';
import { until, within } from './support/wait.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const SKIP = process.platform === 'win32' ? 'SIGSTOP is not available on this platform' : undefined;
if (SKIP) console.log(`# hung-primary tests skipped: ${SKIP}`);

/** A primary process (`hung-primary.ts`) writing `dir/out.jsonl`. */
interface PrimaryProcess {
  proc: ChildProcess;
  env: Record<string, string>;
  file: string;
  stats(): Promise<LoggingStats>;
  close(): Promise<LoggingStats>;
}

async function startPrimary(dir: string): Promise<PrimaryProcess> {
  const file = join(dir, 'out.jsonl');
  const proc = fork(fixture('hung-primary.ts'), [file], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (what: string) =>
    within(
      new Promise<Record<string, unknown>>((resolve) =>
        proc.once('message', (m) => resolve(m as Record<string, unknown>)),
      ),
      { what: `the primary process to answer (${what})`, timeoutMs: 30_000 },
    );
  const { env } = (await next('its environment')) as { env: Record<string, string> };
  return {
    proc,
    env,
    file,
    stats: async () => {
      proc.send({ type: 'stats' });
      return (await next('stats')).stats as LoggingStats;
    },
    close: async () => {
      proc.send({ type: 'close' });
      return (await next('close')).stats as LoggingStats;
    },
  };
}

/** Bodies of the log records in an OTLP-JSON lines file, in file order (duplicates kept). */
function bodiesIn(path: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const req = JSON.parse(line) as {
      resourceLogs: { scopeLogs: { logRecords: { body?: { stringValue?: string } }[] }[] }[];
    };
    for (const rl of req.resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const lr of sl.logRecords) {
          const b = lr.body?.stringValue;
          if (b !== undefined) out.push(b);
        }
  }
  return out;
}

const SHUTDOWN_MS = 1500;
/** Start-up, IPC and scheduling on a shared machine; the unbounded paths took 30 s and more. */
const MARGIN_MS = 4500;

// the three run side by side (each has its own primary): the file stays short in the suite
describe('a hung primary', { concurrency: 3 }, () => {
  test('a primary hung (SIGSTOP 5 s) longer than the export deadline (2 s): every record in the file once, nothing counted as dropped', {
    skip: SKIP,
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starlog-hung-'));
    const primary = await startPrimary(dir);
    const child = await startChild(primary.env, {
      index: 0,
      setup: true,
      setupOptions: { childQueue: { exportTimeout: 2000 } },
    });
    try {
      const streaming = child.stream(1000, 7);
      await until(async () => ((await primary.stats()).receiver?.records ?? 0) > 0, {
        what: 'the first records at the primary',
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      primary.proc.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 5000)); // the fault itself: the primary hangs 5 s
      primary.proc.kill('SIGCONT');
      const sent = await within(streaming, {
        what: 'the child to finish streaming',
        timeoutMs: 60_000,
      });
      const s = await within(child.flush(), {
        what: 'the child to flush after the primary resumed',
        timeoutMs: 60_000,
      });
      const p = await primary.close();
      const bodies = bodiesIn(primary.file).filter((b) => b.startsWith('0:'));
      const unique = new Set(bodies).size;
      console.log(
        `# sent ${sent}, in the file ${bodies.length} (${unique} distinct), child retries ${s.retries}, requests the primary refused as sent again ${p.receiver?.duplicates} and as past their deadline ${p.receiver?.expired}`,
      );
      assert.equal(childDrops(s), 0, `child drops ${JSON.stringify(s)}`);
      assert.ok(s.retries > 0, 'the timed-out exports were retried');
      assert.equal(unique, sent, 'every record in the file');
      assert.equal(bodies.length, unique, 'no record written twice');
      assert.equal(p.dropped, 0, 'the primary counted nothing as dropped');
      await child.shutdown();
    } finally {
      child.proc.kill('SIGKILL');
      primary.proc.kill('SIGCONT');
      primary.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`handle.shutdown() of a child while its primary is hung ends within shutdownTimeoutMs (${SHUTDOWN_MS} ms), exports in flight included; what was not delivered is counted`, {
    skip: SKIP,
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starlog-hung-'));
    const primary = await startPrimary(dir);
    // the export deadline stays the default 30 s: only shutdownTimeoutMs may bound the shutdown
    const child = await startChild(primary.env, {
      index: 0,
      setup: true,
      setupOptions: { shutdownTimeoutMs: SHUTDOWN_MS },
    });
    try {
      primary.proc.kill('SIGSTOP');
      const sent = await child.emit(5000);
      await until(async () => (await child.stats()).inFlight > 0, {
        what: 'exports in flight to the hung primary',
        timeoutMs: 30_000,
        intervalMs: 20,
      });
      const t0 = performance.now();
      const { stats } = await within(child.shutdown(), {
        what: 'handle.shutdown() of the child',
        timeoutMs: 60_000,
      });
      const ms = performance.now() - t0;
      console.log(
        `# shutdown took ${ms.toFixed(0)} ms; sent ${sent}, exported ${stats.exported}, exportFailed ${stats.exportFailed}`,
      );
      assert.ok(
        ms < SHUTDOWN_MS + MARGIN_MS,
        `shutdown took ${ms.toFixed(0)} ms, more than shutdownTimeoutMs ${SHUTDOWN_MS} + ${MARGIN_MS} ms`,
      );
      assert.equal(stats.pending, 0, 'nothing left pending');
      assert.ok(stats.exportFailed > 0, 'the records not delivered are counted in exportFailed');
      assert.equal(stats.exported + childDrops(stats), sent, 'sent = exported + counted drops');
      // the primary resumes: it reads the requests that were in flight (within their deadline)
      // and the child's last drop report (a hand-off file naming those batches): each record is
      // in the file or in the primary's drop count, once
      primary.proc.kill('SIGCONT');
      const p = await primary.close();
      const bodies = bodiesIn(primary.file).filter((b) => b.startsWith('0:'));
      const unique = new Set(bodies).size;
      const dropped = p.receiver?.dropped.total ?? 0;
      console.log(
        `# after the resume: in the file ${bodies.length} (${unique} distinct), the primary counted ${dropped} dropped, ${p.receiver?.uncountedDrops} ingested records not counted, ${p.receiver?.refusedDropped} requests refused as dropped`,
      );
      assert.equal(bodies.length, unique, 'no record written twice');
      assert.equal(unique + dropped, sent, "sent = delivered + the primary's drops");
    } finally {
      child.proc.kill('SIGKILL');
      primary.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`a child whose event loop runs dry while its primary is hung ends within shutdownTimeoutMs (${SHUTDOWN_MS} ms); what was not delivered is handed off or counted`, {
    skip: SKIP,
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starlog-hung-'));
    const primary = await startPrimary(dir);
    const records = 2000;
    const proc = spawn(process.execPath, [fixture('dry-child.ts')], {
      cwd: dir,
      env: {
        ...cleanEnv(primary.env),
        SHUTDOWN_MS: String(SHUTDOWN_MS),
        DRY_RECORDS: String(records),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      proc.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
      await until(() => out.includes('ready\n'), {
        what: 'the child to set up logging',
        timeoutMs: 30_000,
      });
      primary.proc.kill('SIGSTOP');
      const t0 = performance.now();
      proc.kill('SIGUSR2');
      const code = await within(exited, {
        what: 'the child to end after its event loop ran dry',
        timeoutMs: 60_000,
      });
      const ms = performance.now() - t0;
      assert.equal(code, 0, out);
      assert.ok(out.includes('logged\n'), out);
      const line = out.split('\n').find((l) => l.startsWith('stats ')) as string;
      const stats = JSON.parse(line.slice('stats '.length)) as LoggingStats;
      const s = stats.destinations.primary as NonNullable<LoggingStats['destinations']['primary']>;
      console.log(
        `# ended ${ms.toFixed(0)} ms after logging; exported ${s.exported}, dropped ${stats.dropped}`,
      );
      assert.ok(
        ms < SHUTDOWN_MS + MARGIN_MS,
        `the child took ${ms.toFixed(0)} ms, more than shutdownTimeoutMs ${SHUTDOWN_MS} + ${MARGIN_MS} ms`,
      );
      assert.equal(s.pending, 0, 'nothing left pending');
      // at exit the rest is handed off (a file in the primary's directory, counted exported) or,
      // where that is not possible, counted as dropped: either way sent = exported + drops
      assert.equal(s.exported + childDrops(s), records, 'sent = exported + counted drops');
    } finally {
      proc.kill('SIGKILL');
      primary.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
