/**
 * `starlog run` end to end with real processes: `node src/cli/main.ts run ... -- COMMAND` in a
 * temporary directory, the records read back from its JSON-lines file.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, runProcess } from './support/process.ts';
import { quietRunArgs } from './support/starlog-run.ts';

const OTEL_CHILD = fileURLToPath(new URL('./fixtures/run-otel-child.ts', import.meta.url));

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface FlatRecord {
  body: unknown;
  severityNumber?: number;
  severityText?: string;
  scope: string;
  resource: Record<string, unknown>;
  attributes: Record<string, unknown>;
}

let dir: string;
let n = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-run-test-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `starlog run --log-file F --status-interval 1h --console-level off [flags] -- command`.
 * `signal` is sent to starlog run once `readyText` appeared on its stdout.
 */
function starlogRun(
  flags: string[],
  command: string[],
  opts: { signal?: NodeJS.Signals; readyText?: string; env?: Record<string, string> } = {},
): Promise<RunResult & { logFile: string }> {
  const logFile = join(dir, `run-${++n}.jsonl`);
  const args = quietRunArgs(logFile, flags, command);
  return runProcess(process.execPath, args, {
    cwd: dir,
    env: cleanEnv(opts.env),
    signal: opts.signal,
    readyText: opts.readyText,
    group: true,
  }).then((r) => ({ ...r, logFile }));
}

function attrs(
  list: { key: string; value: Record<string, unknown> }[] | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    const v = Object.values(value)[0];
    out[key] =
      'intValue' in value
        ? Number(v)
        : 'arrayValue' in value
          ? (v as { values?: { stringValue: string }[] }).values?.map((x) => x.stringValue)
          : v;
  }
  return out;
}

/** Every record of an OTLP/JSON lines file, flattened. */
function readRecords(file: string): FlatRecord[] {
  const out: FlatRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of JSON.parse(line).resourceLogs) {
      const resource = attrs(rl.resource?.attributes);
      for (const sl of rl.scopeLogs) {
        for (const r of sl.logRecords) {
          out.push({
            body: r.body?.stringValue,
            severityNumber: r.severityNumber,
            severityText: r.severityText,
            scope: sl.scope?.name,
            resource,
            attributes: attrs(r.attributes),
          });
        }
      }
    }
  }
  return out;
}

const fromChild = (records: FlatRecord[]) =>
  records.filter((r) => r.scope !== 'starlog.status' && r.scope !== 'starlog.run');

describe('starlog run: exit status', () => {
  test('the child’s exit code is passed through (0 and 3), and the end is recorded', async () => {
    const ok = await starlogRun([], ['sh', '-c', 'exit 0']);
    assert.equal(ok.code, 0, ok.stderr);
    const three = await starlogRun([], ['sh', '-c', 'echo out; exit 3']);
    assert.equal(three.code, 3, three.stderr);
    assert.equal(three.stdout, 'out\n');
    const end = readRecords(three.logFile).find((r) => r.scope === 'starlog.run');
    assert.match(String(end?.body), /^sh \(pid \d+\) exited with code 3$/);
    assert.equal(end?.severityText, 'WARN');
    assert.deepEqual(end?.attributes, { 'process.exit.code': 3 });
  });

  test('a command that does not exist: one line on stderr, exit code 127', async () => {
    const r = await starlogRun([], ['starlog-no-such-command-xyz', 'arg']);
    assert.equal(r.code, 127);
    assert.equal(r.stderr, 'starlog run: starlog-no-such-command-xyz: command not found\n');
  });

  test('a file that is not executable: exit code 126', async () => {
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, 'echo hi\n');
    chmodSync(file, 0o644);
    const r = await starlogRun([], [file]);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /^starlog run: .*not-executable\.sh: cannot execute: EACCES\n$/);
  });

  test('an invalid option value: exit code 2 before anything runs', async () => {
    const r = await starlogRun(['--level', 'loud'], ['sh', '-c', 'echo ran']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^starlog run: cannot set up logging: .*loud/);
  });
});

describe('starlog run: the child’s environment', () => {
  test('the receiver variables (TCP with --endpoint tcp); --register keeps NODE_OPTIONS', async () => {
    const r = await starlogRun(
      ['--endpoint', 'tcp', '--register'],
      [
        'sh',
        '-c',
        'echo "$STARLOG_ENDPOINT|$OTEL_EXPORTER_OTLP_LOGS_ENDPOINT|$OTEL_EXPORTER_OTLP_LOGS_PROTOCOL|$OTEL_EXPORTER_OTLP_LOGS_HEADERS|$STARLOG_PRIMARY_PID|$NODE_OPTIONS"',
      ],
      { env: { NODE_OPTIONS: '--no-warnings' } },
    );
    assert.equal(r.code, 0, r.stderr);
    const [endpoint, otlp, protocol, headers, primaryPid, nodeOptions] = r.stdout.trim().split('|');
    assert.match(endpoint!, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(otlp, endpoint);
    assert.equal(protocol, 'grpc');
    assert.match(headers!, /^x-starlog-token=[0-9a-f]{32,}$/);
    assert.match(primaryPid!, /^\d+$/);
    assert.match(nodeOptions!, /^--no-warnings --import=file:\/\/.*\/register\.(ts|js)$/);
  });

  test('an invalid --endpoint is refused by the option parser', async () => {
    const r = await starlogRun(['--endpoint', '10.1.2.3:80'], ['sh', '-c', 'echo ran']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /option '--endpoint <endpoint>' argument '10\.1\.2\.3:80' is invalid/);
  });
});

describe('starlog run --config', () => {
  test('the file applies (service name, status template); the child gets STARLOG_CONFIG', async () => {
    const config = join(dir, 'run-config.yaml');
    writeFileSync(
      config,
      'service:\n  name: cfg-app\nstatus:\n  template: "custom {TOTAL} records"\n',
    );
    const r = await starlogRun(['--config', config], ['sh', '-c', 'echo "$STARLOG_CONFIG"']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${config}\n`);
    const records = readRecords(r.logFile);
    const status = records.find((x) => x.scope === 'starlog.status');
    assert.equal(status?.body, 'custom 1 records');
    assert.equal(status?.resource['service.name'], 'cfg-app');
  });

  test('an invalid file: the loader’s message, exit code 2, nothing runs', async () => {
    const config = join(dir, 'bad-config.yaml');
    writeFileSync(config, 'status:\n  interval: soon\n');
    const r = await starlogRun(['--config', config], ['sh', '-c', 'echo ran']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^starlog run: .*bad-config\.yaml:2:13: status\.interval: expected a duration[^\n]*got "soon"\n$/,
    );
  });
});

describe('starlog run: signals', () => {
  test('SIGTERM is forwarded to a child that traps it; the exit code is the child’s', async () => {
    const r = await starlogRun(
      [],
      ['sh', '-c', "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done"],
      { signal: 'SIGTERM' },
    );
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, 'ready\ngot TERM\n');
  });

  test('SIGINT ends a child that does not trap it, and starlog run ends by SIGINT too', async () => {
    const r = await starlogRun([], ['sh', '-c', 'echo ready; exec sleep 30'], { signal: 'SIGINT' });
    assert.equal(r.code, null, r.stderr);
    assert.equal(r.signal, 'SIGINT');
    const end = readRecords(r.logFile).find((x) => x.scope === 'starlog.run');
    assert.match(String(end?.body), /ended by SIGINT$/);
  });

  test('SIGUSR2 is forwarded too (a signal Node.js children may use)', async () => {
    const r = await starlogRun(
      [],
      ['sh', '-c', "trap 'echo got USR2; exit 0' USR2; echo ready; while :; do sleep 0.05; done"],
      { signal: 'SIGUSR2' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ready\ngot USR2\n');
  });
});

describe('starlog run --capture-output', () => {
  test('each line of a shell script becomes a record; the output passes through unchanged', async () => {
    const r = await starlogRun(
      ['--capture-output'],
      ['sh', '-c', 'echo a; echo b >&2; echo "\\"q\\" é\\ttab"; printf partial'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a\n"q" é\ttab\npartial');
    assert.equal(r.stderr, 'b\n');
    const records = fromChild(readRecords(r.logFile));
    const byBody = new Map(records.map((x) => [x.body, x]));
    assert.deepEqual([...byBody.keys()].sort(), ['"q" é\ttab', 'a', 'b', 'partial']);
    assert.equal(records.length, 4);
    for (const [body, sev, stream] of [
      ['a', 'INFO', 'stdout'],
      ['b', 'WARN', 'stderr'],
      ['partial', 'INFO', 'stdout'],
    ] as const) {
      const rec = byBody.get(body)!;
      assert.equal(rec.severityText, sev);
      assert.equal(rec.severityNumber, sev === 'INFO' ? 9 : 13);
      assert.equal(rec.scope, 'starlog.capture');
      assert.deepEqual(rec.attributes, { 'log.iostream': stream });
    }
    const res = byBody.get('a')!.resource;
    assert.equal(res['service.name'], 'sh');
    assert.equal(res['starlog.role'], 'child');
    assert.equal(res['process.command'], 'sh');
    assert.equal(typeof res['process.pid'], 'number');
    // the status record written at shutdown counted them (3 info, 1 warn, + the exit record)
    const status = readRecords(r.logFile).find((x) => x.scope === 'starlog.status');
    assert.equal(status?.attributes['status.INFO'], 4);
    assert.equal(status?.attributes['status.WARN'], 1);
  });

  test('a line longer than 64 KiB is split into records of at most 64 KiB', async () => {
    const r = await starlogRun(
      ['--capture-output'],
      [process.execPath, '-e', "process.stdout.write('x'.repeat(150000) + '\\nend\\n')"],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 150005);
    const bodies = fromChild(readRecords(r.logFile)).map((x) => x.body as string);
    assert.deepEqual(
      bodies.map((b) => b.length),
      [65536, 65536, 150000 - 2 * 65536, 3],
    );
  });
});

describe('starlog run --register (Node.js child with only the OpenTelemetry API)', () => {
  test('its records arrive with its own resource', async () => {
    const r = await starlogRun(['--register'], [process.execPath, OTEL_CHILD], { env: { N: '3' } });
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(/pid (\d+)/.exec(r.stdout)?.[1]);
    const records = fromChild(readRecords(r.logFile));
    assert.deepEqual(
      records.map((x) => x.body),
      ['record 0', 'record 1', 'record 2'],
    );
    for (const x of records) {
      assert.equal(x.scope, 'run-fixture');
      assert.equal(x.resource['process.pid'], pid);
      assert.equal(x.resource['starlog.role'], 'child');
      assert.equal(x.resource['service.name'], 'run-otel-child');
    }
  });

  test('flush at exit: 1000 records then process.exit(0) → all 1000 in the file', async () => {
    const r = await starlogRun(['--register'], [process.execPath, OTEL_CHILD], {
      env: { N: '1000', END: 'exit' },
    });
    assert.equal(r.code, 0, r.stderr);
    const bodies = new Set(fromChild(readRecords(r.logFile)).map((x) => x.body));
    assert.equal(bodies.size, 1000);
    for (let i = 0; i < 1000; i++) assert.ok(bodies.has(`record ${i}`), `record ${i} missing`);
  });

  test('SIGTERM forwarded to a child without handler: its records are flushed, both end by SIGTERM', async () => {
    const r = await starlogRun(['--register'], [process.execPath, OTEL_CHILD], {
      env: { N: '50', END: 'wait' },
      signal: 'SIGTERM',
    });
    assert.equal(r.signal, 'SIGTERM', r.stderr);
    assert.equal(fromChild(readRecords(r.logFile)).length, 50);
  });

  test('with --capture-output too: the child’s records and its output lines', async () => {
    const r = await starlogRun(['--register', '--capture-output'], [process.execPath, OTEL_CHILD], {
      env: { N: '2' },
    });
    assert.equal(r.code, 0, r.stderr);
    const records = fromChild(readRecords(r.logFile));
    const captured = records.filter((x) => x.scope === 'starlog.capture');
    const own = records.filter((x) => x.scope === 'run-fixture');
    assert.equal(own.length, 2);
    assert.equal(captured.length, 1);
    assert.match(String(captured[0]!.body), /^pid \d+ emitted 2$/);
    // same process, two resources: the child's own and the one starlog run describes it with
    assert.equal(captured[0]!.resource['process.pid'], own[0]!.resource['process.pid']);
  });
});
