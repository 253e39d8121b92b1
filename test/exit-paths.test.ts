/**
 * Every way a child can go: a real child process (fixtures/exit-*.ts, run on this Node) emits N
 * records through ShippingProcessor + the official OTLPLogExporter to starlog's receiver (real
 * gRPC server and OTLP decoder); the primary must receive each body 0..N-1 exactly once (at least once where a batch was in flight),
 * and the child must end exactly as the same fixture does without starlog (STARLOG_TEST_DISABLED=1).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ProcessResult, runProcess } from './support/process.ts';
import {
  startRealReceiver,
  startTestReceiver,
  type TestReceiver,
} from './support/test-receiver.ts';

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stats?: Record<string, number>;
  json: Record<string, unknown>[];
}

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
  opts: {
    signal?: NodeJS.Signals;
    disabled?: boolean;
    /** once stdout has `disconnected`, write `kill` to stdin when this holds (or after 45 s) */
    killWhen?: () => boolean;
  } = {},
): Promise<RunResult> {
  const env2 = { ...process.env, ...env, STARLOG_TEST_DISABLED: opts.disabled ? '1' : '0' };
  const withJson = (r: ProcessResult): RunResult => {
    const json = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const stats = json.find((j) => j.stats)?.stats as Record<string, number> | undefined;
    return { ...r, stats, json };
  };
  if (opts.killWhen) return runKilledWhen(fixture(file), args, env2, opts.killWhen).then(withJson);
  return runProcess(process.execPath, [fixture(file), ...args], {
    env: env2,
    signal: opts.signal,
    timeoutMs: 20_000,
  }).then(withJson);
}

/**
 * Runs the cluster fixture: once its stdout says `disconnected`, writes `kill` to its stdin when
 * `killWhen()` holds (the receiver has every record) or after 45 s, so the test never depends on
 * a fixed delay being long enough.
 */
function runKilledWhen(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  killWhen: () => boolean,
): Promise<ProcessResult> {
  const child = spawn(process.execPath, [file, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const deadline = Date.now() + 45_000;
  const poll = setInterval(() => {
    if (!stdout.includes('disconnected\n')) return;
    if (!killWhen() && Date.now() < deadline) return;
    clearInterval(poll);
    child.stdin.end('kill\n');
  }, 20);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not end within 60 s; stdout=${stdout} stderr=${stderr}`));
    }, 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Asserts the receiver got bodies '0'..'n-1', each exactly once (or at least once). */
function assertBodies(r: TestReceiver, n: number, exactlyOnce = true): void {
  const seen = new Map<string, number>();
  for (const body of r.bodies) {
    const b = body.split(' ')[0] as string; // without the padding
    seen.set(b, (seen.get(b) ?? 0) + 1);
  }
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!seen.has(String(i))) missing.push(i);
  assert.equal(
    missing.length,
    0,
    `missing ${missing.length} of ${n} records, first ${missing.slice(0, 5)}`,
  );
  assert.equal(seen.size, n, 'unexpected bodies');
  if (exactlyOnce) assert.equal(r.bodies.length, n, 'duplicates');
  assert.equal(r.unauthorized, 0);
}

interface Case {
  name: string;
  file?: string;
  args: string[];
  signal?: NodeJS.Signals;
  env?: Record<string, string>;
  n?: number;
  /** compare stderr with the run without starlog */
  sameStderr?: boolean;
  exactlyOnce?: boolean;
  tcp?: boolean;
  /** use the small counting gRPC server (grpc-js' default 4 MiB limit) instead of starlog's receiver */
  testServer?: boolean;
  /** the fixture kills its cluster worker when told: once the receiver has every record */
  killWhenReceived?: boolean;
  check?: (on: RunResult, off: RunResult) => void;
}

const cases: Case[] = [
  { name: 'normal end of the event loop (beforeExit)', args: ['normal'] },
  {
    name: 'process.exit(3) right after emitting (synchronous export, lazy worker)',
    args: ['exit'],
  },
  {
    name: 'process.exit(3) with an eager worker, over TCP',
    args: ['exit'],
    env: { SHIP_WORKER: 'eager' },
    tcp: true,
  },
  {
    name: 'process.exit(3) while batches are in flight (at least once)',
    args: ['exit-later'],
    exactlyOnce: false,
  },
  { name: 'SIGTERM, starlog the only listener (re-raised)', args: ['signal'], signal: 'SIGTERM' },
  { name: 'SIGINT, starlog the only listener (re-raised)', args: ['signal'], signal: 'SIGINT' },
  {
    name: 'SIGTERM, the application exits itself',
    args: ['signal-app-exits'],
    signal: 'SIGTERM',
    exactlyOnce: false,
  },
  {
    name: 'SIGTERM, the application keeps running (no re-raise)',
    args: ['signal-app-stays'],
    signal: 'SIGTERM',
    check: (on) => assert.match(on.stdout, /app-sigterm/),
  },
  { name: 'uncaught exception', args: ['uncaught'], sameStderr: true },
  { name: 'unhandled rejection', args: ['unhandled'], sameStderr: true },
  {
    name: 'cluster worker disconnected by the primary, then SIGKILLed',
    file: 'exit-cluster',
    args: [],
    killWhenReceived: true,
    check: (on, off) => {
      assert.deepEqual(on.json.find((j) => j.worker)?.worker, { code: null, signal: 'SIGKILL' });
      assert.deepEqual(
        on.json.find((j) => j.worker),
        off.json.find((j) => j.worker),
      );
    },
  },
  {
    name: 'worker thread, normal end',
    file: 'exit-worker-thread',
    args: ['normal'],
    check: (on, off) => {
      assert.deepEqual(on.json.find((j) => j.thread)?.thread, { code: 0 });
      assert.deepEqual(
        on.json.find((j) => j.thread),
        off.json.find((j) => j.thread),
      );
    },
  },
  {
    name: 'worker thread, process.exit(6) inside the thread',
    file: 'exit-worker-thread',
    args: ['exit'],
    check: (on, off) => {
      assert.deepEqual(on.json.find((j) => j.thread)?.thread, { code: 6 });
      assert.deepEqual(
        on.json.find((j) => j.thread),
        off.json.find((j) => j.thread),
      );
    },
  },
  {
    name: 'process.exit() with 100,000 records queued (synchronous export split into requests)',
    args: ['exit'],
    n: 100_000,
    env: { SHIP_QUEUE: '200000', SHIP_BATCH: '200000', SHIP_TIMEOUT: '15s' },
  },
  {
    name: 'process.exit() with 8 MB queued: requests split below the 4 MiB gRPC limit',
    args: ['exit'],
    n: 2000,
    env: { SHIP_BATCH: '100000', PAD: '4000', SHIP_TIMEOUT: '15s' },
    testServer: true,
  },
];

describe('exit paths', { concurrency: 2 }, () => {
  for (const c of cases) {
    test(c.name, async () => {
      const n = c.n ?? 5000;
      const receiver = c.testServer
        ? await startTestReceiver({ tcp: c.tcp })
        : await startRealReceiver({ tcp: c.tcp });
      try {
        // a generous exit budget: the test is about completeness, not speed (bench/shipping.ts)
        const env = { ...receiver.env, N: String(n), SHIP_TIMEOUT: '10s', ...c.env };
        const file = c.file ?? 'exit-child';
        const [on, off] = await Promise.all([
          run(file, c.args, env, {
            signal: c.signal,
            killWhen: c.killWhenReceived ? () => receiver.records >= n : undefined,
          }),
          run(file, c.args, env, {
            signal: c.signal,
            disabled: true,
            killWhen: c.killWhenReceived ? () => true : undefined,
          }),
        ]);
        await receiver.settled?.();
        assertBodies(receiver, n, c.exactlyOnce ?? true);
        assert.equal(on.code, off.code, `exit code with starlog ${on.code}, without ${off.code}`);
        assert.equal(
          on.signal,
          off.signal,
          `signal with starlog ${on.signal}, without ${off.signal}`,
        );
        if (c.sameStderr) assert.equal(on.stderr, off.stderr);
        if (on.stats) {
          assert.equal(on.stats.queued, n);
          assert.equal(on.stats.queueFull, 0);
          assert.equal(on.stats.exportFailed, 0);
          assert.equal(on.stats.pending, 0);
        }
        c.check?.(on, off);
      } finally {
        await receiver.close();
      }
    });
  }

  test('a synchronous burst of 100,000 records: received + counted drops = sent', async () => {
    const n = 100_000;
    const receiver = await startRealReceiver();
    try {
      const on = await run('exit-child', ['normal'], {
        ...receiver.env,
        N: String(n),
        SHIP_DELAY: '200ms',
        SHIP_QUEUE: '65536', // the fixture's queue, in records (no backpressure in the fixture)
      });
      assert.equal(on.code, 0);
      const stats = on.stats;
      assert.ok(stats, on.stdout);
      // the burst is synchronous, so nothing leaves before the queue (65,536) is full
      assert.equal(stats.queued, 65_536);
      assert.equal(stats.queueFull, n - 65_536);
      assert.equal(stats.exported, receiver.records);
      assert.equal(receiver.records + stats.queueFull + stats.exportFailed, n);
      assert.equal(new Set(receiver.bodies).size, receiver.records);
    } finally {
      await receiver.close();
    }
  });

  test('receiver down at exit: the loss is counted, the exit code is unchanged', async () => {
    const receiver = await startRealReceiver();
    const env = { ...receiver.env, N: '3000', SHIP_TIMEOUT: '500ms' };
    await receiver.close();
    const on = await run('exit-child', ['exit'], env);
    assert.equal(on.code, 3, on.stderr);
    assert.ok(on.stats, on.stdout);
    assert.equal(on.stats.exported, 0);
    assert.equal(on.stats.exportFailed, 3000);
  });
});
