import assert from 'node:assert/strict';
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { runLevel } from '../src/cli/level.ts';
import { subscribeLevels } from '../src/multiprocess/child/level-subscriber.ts';
import {
  getLevels,
  type LevelControlError,
  setLevels,
} from '../src/multiprocess/control/level-client.ts';
import {
  primaryRecordPath,
  readPrimaryRecord,
  removePrimaryRecord,
  writePrimaryRecord,
} from '../src/multiprocess/control/primary-record.ts';
import {
  decodeEmptyRequest,
  decodeLevelChange,
  decodeLevelState,
  LevelMessageError,
  MAX_LEVEL_MESSAGE_BYTES,
  mergeLevelChange,
} from '../src/multiprocess/protocol/level-control.ts';
import { type Receiver, startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { LevelTable, parseLevelSpec } from '../src/pipeline/level-table.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { cleanEnv, type ProcessResult, runProcess } from './support/process.ts';
import { until, within } from './support/wait.ts';

const CHILD = fileURLToPath(new URL('./fixtures/level-child.ts', import.meta.url));
const CLI = fileURLToPath(new URL('./fixtures/level-cli.ts', import.meta.url));
const WRONG_TOKEN = '0'.repeat(32);

/** Runs the level command in a real process (test/fixtures/level-cli.ts). */
function cli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: options.env ?? cleanEnv(),
  });
}

interface ChildMessage {
  type: 'ready' | 'table' | 'state' | 'exit';
  name: string;
  pid?: number;
  ok?: boolean;
  spec?: string;
  at?: number;
  changes?: number;
  code?: number | null;
  stats?: { connected: boolean; rejected: number };
}

/** One forked level-child (with its relayed grandchild messages). */
class Kid {
  readonly process: ChildProcess;
  readonly messages: ChildMessage[] = [];
  readonly exited: Promise<number | null>;
  constructor(name: string, env: NodeJS.ProcessEnv, grandchild = false) {
    this.process = fork(CHILD, grandchild ? [name, '--grandchild'] : [name], {
      env,
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (m) => this.messages.push(m as ChildMessage));
    this.exited = new Promise((resolve) => this.process.on('exit', (code) => resolve(code)));
  }
  of(name: string, type: ChildMessage['type']): ChildMessage[] {
    return this.messages.filter((m) => m.name === name && m.type === type);
  }
  async state(name: string): Promise<ChildMessage> {
    const before = this.of(name, 'state').length;
    this.process.send({ cmd: 'get', name });
    await until(() => this.of(name, 'state').length > before, { what: `state of ${name}` });
    return this.of(name, 'state').at(-1)!;
  }
}

describe('level change merge and messages', () => {
  const current = parseLevelSpec('info,app.db=warn,app.*=error');

  it('merges entries into the table: only the named patterns change', () => {
    const next = mergeLevelChange(current, { spec: 'app.db=debug,app.http=trace' });
    assert.equal(new LevelTable(next).toString(), 'info,app.db=debug,app.*=error,app.http=trace');
    assert.equal(
      new LevelTable(mergeLevelChange(current, { spec: 'warn' })).toString(),
      'warn,app.db=warn,app.*=error',
    );
    assert.equal(
      new LevelTable(mergeLevelChange(current, { spec: '*=debug' })).toString(),
      'debug,app.db=warn,app.*=error',
    );
  });

  it('replaces the whole table with replace, and removes rules with unset', () => {
    assert.equal(
      new LevelTable(mergeLevelChange(current, { spec: 'app.x=debug', replace: true })).toString(),
      'info,app.x=debug',
    );
    assert.equal(
      new LevelTable(mergeLevelChange(current, { spec: '', unset: ['app.db', 'nope'] })).toString(),
      'info,app.*=error',
    );
  });

  it('rejects bad changes with a message naming the entry', () => {
    assert.throws(
      () => mergeLevelChange(current, { spec: 'app.db=loud' }),
      /unknown level 'loud' in 'app\.db=loud'/,
    );
    assert.throws(
      () => mergeLevelChange(current, { spec: 'a..b=debug' }),
      /malformed logger pattern 'a\.\.b'/,
    );
    assert.throws(
      () => mergeLevelChange(current, { spec: 'x=debug', unset: ['a b'] }),
      /malformed logger pattern 'a b' to unset/,
    );
    assert.throws(() => mergeLevelChange(current, { spec: ' ' }), /empty level change/);
    assert.throws(() => mergeLevelChange(current, { spec: '', replace: true }), /needs a spec/);
  });

  it('decodes messages strictly and never evaluates them', () => {
    const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    assert.deepEqual(decodeLevelChange(enc({ spec: 'a=debug', replace: true, unset: ['b'] })), {
      spec: 'a=debug',
      replace: true,
      unset: ['b'],
    });
    assert.throws(
      () => decodeLevelChange(enc({ spec: 'a=debug', extra: 1 })),
      /unknown field "extra"/,
    );
    assert.throws(() => decodeLevelChange(enc({ spec: 1 })), /spec must be a string/);
    assert.throws(
      () => decodeLevelChange(enc({ spec: 'x', replace: 'yes' })),
      /replace must be true or false/,
    );
    assert.throws(() => decodeLevelChange(enc({ spec: 'x', unset: [1] })), /unset must be a list/);
    assert.throws(() => decodeLevelChange(enc('(() => process.exit(1))()')), /not UTF-8 JSON/);
    assert.throws(() => decodeLevelChange(enc('[]')), /must be a JSON object/);
    assert.throws(() => decodeLevelChange(Buffer.from([0x7b, 0xff, 0x7d])), LevelMessageError);
    assert.throws(
      () => decodeLevelChange(Buffer.alloc(MAX_LEVEL_MESSAGE_BYTES + 1, 32)),
      new RegExp(`at most ${MAX_LEVEL_MESSAGE_BYTES} are accepted`),
    );
    assert.throws(() => decodeLevelState(enc({ spec: 'info', version: -1 })), /version/);
    assert.throws(
      () => decodeLevelState(enc({ spec: 'info', version: 1, __proto__x: 1 })),
      /unknown field/,
    );
    decodeEmptyRequest(Buffer.alloc(0));
    decodeEmptyRequest(enc({}));
    assert.throws(() => decodeEmptyRequest(enc({ a: 1 })), /unknown field "a"/);
  });
});

describe('primary record', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'starlog-record-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes .starlog/primary.json (0700/0600), reads it back, removes only its own', async () => {
    const path = await writePrimaryRecord(
      { endpoint: 'unix:///x.sock', token: 'ab'.repeat(16) },
      dir,
    );
    assert.equal(path, primaryRecordPath(dir));
    assert.equal((await stat(join(dir, '.starlog'))).mode & 0o777, 0o700);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const found = await readPrimaryRecord(dir);
    assert.ok(found.ok);
    assert.equal(found.record.endpoint, 'unix:///x.sock');
    assert.equal(found.record.pid, process.pid);
    assert.ok(!Number.isNaN(Date.parse(found.record.startedAt)));
    assert.equal(await removePrimaryRecord(dir, process.pid + 1), false);
    assert.equal(await removePrimaryRecord(dir), true);
    const gone = await readPrimaryRecord(dir);
    assert.ok(!gone.ok);
    assert.match(gone.reason, /no starlog primary recorded/);
  });

  it('ignores a record whose primary is no longer running, saying so', async () => {
    const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const pid = dead.pid!;
    await new Promise((resolve) => dead.on('exit', resolve));
    await writePrimaryRecord({ endpoint: 'unix:///x.sock', token: 'ab'.repeat(16), pid }, dir);
    const found = await readPrimaryRecord(dir);
    assert.ok(!found.ok);
    assert.match(found.reason, new RegExp(`\\(pid ${pid}, started .*\\) is no longer running`));
    await writeFile(primaryRecordPath(dir), '{"endpoint": 1}');
    const bad = await readPrimaryRecord(dir);
    assert.ok(!bad.ok);
    assert.match(bad.reason, /is not a starlog primary record/);
  });
});

describe('level control on the receiver (in process)', () => {
  let levels: LevelTable;
  let receiver: Receiver;
  before(async () => {
    levels = new LevelTable('info,app.db=warn');
    receiver = await startReceiver({ processor: new Pipeline({ levels }), levels });
  });
  after(async () => {
    await receiver.close();
  });

  it('Get and Set through the client; an invalid change is INVALID_ARGUMENT and changes nothing', async () => {
    const where = { endpoint: receiver.endpoint, token: receiver.env.STARLOG_TOKEN };
    const v0 = levels.version;
    assert.deepEqual(await getLevels(where), { spec: 'info,app.db=warn', version: v0 });
    const state = await setLevels({ ...where, spec: 'app.db=debug' });
    assert.deepEqual(state, { spec: 'info,app.db=debug', version: v0 + 1 });
    assert.equal(levels.toString(), 'info,app.db=debug');
    for (const [spec, named] of [
      ['app.db=loud', "'loud'"],
      ['a..b=debug', "'a..b'"],
    ] as const) {
      await assert.rejects(setLevels({ ...where, spec }), (err: LevelControlError) => {
        assert.equal(err.code, status.INVALID_ARGUMENT);
        assert.ok(err.message.includes(named), err.message);
        return true;
      });
    }
    assert.equal(levels.toString(), 'info,app.db=debug');
    assert.equal(levels.version, v0 + 1);
    const stats = receiver.stats().levels!;
    assert.equal(stats.invalidSets, 2);
    assert.equal(stats.sets, 1);
  });

  it('refuses a wrong token on Get, Set and Watch (UNAUTHENTICATED, counted)', async () => {
    const before = receiver.stats().rejected.unauthenticated;
    const where = { endpoint: receiver.endpoint, token: WRONG_TOKEN };
    for (const attempt of [getLevels(where), setLevels({ ...where, spec: 'debug' })]) {
      await assert.rejects(attempt, (err: LevelControlError) => {
        assert.equal(err.code, status.UNAUTHENTICATED);
        assert.match(err.message, /refused the token/);
        return true;
      });
    }
    const table = new LevelTable('fatal');
    const sub = subscribeLevels(table, { ...receiver.env, STARLOG_TOKEN: WRONG_TOKEN });
    assert.equal(await sub.ready, false);
    sub.close();
    assert.equal(table.toString(), 'fatal');
    assert.equal(receiver.stats().rejected.unauthenticated, before + 3);
    assert.notEqual(levels.toString(), 'debug');
  });

  it('a subscriber follows in-process changes and keeps its table after close', async () => {
    const table = new LevelTable('info');
    const sub = subscribeLevels(table, receiver.env);
    assert.equal(await sub.ready, true);
    assert.equal(table.toString(), levels.toString());
    levels.set('warn,app.*=trace');
    await until(() => table.toString() === 'warn,app.*=trace', { what: 'the change' });
    assert.equal(sub.stats().connected, true);
    sub.close();
    // a second subscriber shows when the change has reached subscribers; the closed one keeps its table
    const witness = new LevelTable('info');
    const open = subscribeLevels(witness, receiver.env);
    assert.equal(await open.ready, true);
    levels.set('error');
    await until(() => witness.toString() === 'error', { what: 'an open subscriber to see error' });
    open.close();
    assert.equal(table.toString(), 'warn,app.*=trace');
  });

  it('works over loopback TCP as well', async () => {
    const own = new LevelTable('warn');
    const r = await startReceiver({
      processor: new Pipeline({ levels: own }),
      levels: own,
      endpoint: 'tcp',
    });
    try {
      assert.match(r.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      const table = new LevelTable('info');
      const sub = subscribeLevels(table, r.env);
      assert.equal(await sub.ready, true);
      assert.equal(table.toString(), 'warn');
      await setLevels({ endpoint: r.endpoint, token: r.env.STARLOG_TOKEN, spec: 'x.y=debug' });
      await until(() => table.toString() === 'warn,x.y=debug', { what: 'the change over TCP' });
      sub.close();
    } finally {
      await r.close();
    }
  });

  it('a receiver without levels answers UNIMPLEMENTED', async () => {
    const plain = await startReceiver({ processor: new Pipeline({ levels: 'info' }) });
    try {
      await assert.rejects(
        getLevels({ endpoint: plain.endpoint, token: plain.env.STARLOG_TOKEN }),
        /does not serve level control/,
      );
      assert.equal(plain.stats().levels, undefined);
    } finally {
      await plain.close();
    }
  });

  it('close() ends Watch streams cleanly (without waiting for the close timeout)', async () => {
    const own = new LevelTable('debug');
    const r = await startReceiver({
      processor: new Pipeline({ levels: own }),
      levels: own,
      closeTimeoutMs: 600_000,
    });
    const table = new LevelTable('info');
    const sub = subscribeLevels(table, r.env, { minBackoffMs: 10_000 });
    assert.equal(await sub.ready, true);
    assert.equal(r.stats().levels!.watchers, 1);
    await within(r.close(), {
      timeoutMs: 10_000,
      what: 'receiver.close() with an open Watch stream',
    });
    await until(() => !sub.stats().connected, { what: 'the subscriber to notice' });
    assert.equal(table.toString(), 'debug');
    sub.close();
  });

  it('runLevel reports a missing primary in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'starlog-none-'));
    let err = '';
    const io = {
      stdout: { write: () => true } as never,
      stderr: {
        write: (s: string) => {
          err += s;
          return true;
        },
      } as never,
      env: {},
      cwd: dir,
    };
    assert.equal(await runLevel(undefined, {}, io), 1);
    assert.match(err, /^starlog level: no starlog primary recorded for .*\n$/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('level control across processes', () => {
  let levels: LevelTable;
  let receiver: Receiver;
  let cwd: string;
  let kids: Kid[] = [];
  let late: Kid | undefined;
  let childEnv: NodeJS.ProcessEnv;
  const names = ['c0', 'c1', 'c2', 'c3'];
  const everyone = [...names, 'c0.g'];
  const kidOf = (name: string) => kids[Number(name[1])]!;
  let appliedAt = 0;

  before(async () => {
    levels = new LevelTable('info');
    levels.onChange(() => {
      appliedAt = performance.timeOrigin + performance.now();
    });
    receiver = await startReceiver({ processor: new Pipeline({ levels }), levels });
    cwd = await mkdtemp(join(tmpdir(), 'starlog-cwd-'));
    await writePrimaryRecord(
      { endpoint: receiver.endpoint, token: receiver.env.STARLOG_TOKEN },
      cwd,
    );
    childEnv = { ...cleanEnv(), ...receiver.env, STARLOG_LEVEL: 'info' };
    kids = names.map((name, i) => new Kid(name, childEnv, i === 0));
    await until(() => everyone.every((n) => kidOf(n.slice(0, 2)).of(n, 'ready').length === 1), {
      what: 'children and grandchild ready',
      timeoutMs: 60_000,
    });
  });

  after(async () => {
    for (const k of [...kids, ...(late ? [late] : [])]) k.process.kill();
    await receiver.close();
    await rm(cwd, { recursive: true, force: true });
  });

  it('all children and the grandchild are subscribed', () => {
    for (const n of everyone) {
      const ready = kidOf(n.slice(0, 2)).of(n, 'ready')[0]!;
      assert.equal(ready.ok, true, n);
      assert.equal(ready.spec, 'info');
    }
    assert.equal(receiver.stats().levels!.watchers, 5);
  });

  it('`starlog level set` (primary found from the cwd record) reaches 4 children and a grandchild', async () => {
    const res = await cli(['level', 'set', 'app.db=debug'], { cwd });
    assert.equal(res.stderr, '');
    assert.equal(res.code, 0);
    assert.equal(res.stdout, 'info,app.db=debug\n');
    await until(
      () =>
        everyone.every((n) =>
          kidOf(n.slice(0, 2))
            .of(n, 'table')
            .some((m) => m.spec === 'info,app.db=debug'),
        ),
      { what: 'every process to apply the change' },
    );
    const latencies = everyone.map(
      (n) => kidOf(n.slice(0, 2)).of(n, 'table').at(-1)!.at! - appliedAt,
    );
    console.log(
      `# level change applied in the primary → in ${everyone.length} processes: ${latencies.map((l) => `${l.toFixed(1)} ms`).join(', ')} (max ${Math.max(...latencies).toFixed(1)} ms)`,
    );
    const got = await cli(['level', 'get', '--json'], { cwd });
    assert.equal(got.code, 0);
    assert.deepEqual(JSON.parse(got.stdout), {
      endpoint: receiver.endpoint,
      spec: 'info,app.db=debug',
      version: levels.version,
    });
  });

  it('a child started after the change gets the new table at once', async () => {
    late = new Kid('late', childEnv);
    await until(() => late!.of('late', 'ready').length === 1, {
      what: 'the late child',
      timeoutMs: 60_000,
    });
    const ready = late.of('late', 'ready')[0]!;
    assert.equal(ready.ok, true);
    assert.equal(ready.spec, 'info,app.db=debug');
  });

  it('a malformed change is rejected with the message, and no table changes anywhere', async () => {
    const before = await Promise.all(everyone.map((n) => kidOf(n.slice(0, 2)).state(n)));
    const loud = await cli(['level', 'set', 'app.db=loud'], { cwd });
    assert.equal(loud.code, 1);
    assert.match(loud.stderr, /^starlog level: .*unknown level 'loud' in 'app\.db=loud'.*\n$/);
    assert.equal(loud.stdout, '');
    const dots = await cli(
      [
        'level',
        'set',
        'a..b=debug',
        '--endpoint',
        receiver.endpoint,
        '--token',
        receiver.env.STARLOG_TOKEN,
      ],
      {},
    );
    assert.equal(dots.code, 1);
    assert.match(dots.stderr, /^starlog level: .*malformed logger pattern 'a\.\.b'.*\n$/);
    assert.equal(levels.toString(), 'info,app.db=debug');
    // a valid change afterwards is the next (and only) change every process sees
    const next = await cli(['level', 'set', '--replace', 'warn'], {
      env: {
        ...cleanEnv(),
        STARLOG_ENDPOINT: receiver.endpoint,
        STARLOG_TOKEN: receiver.env.STARLOG_TOKEN,
      },
    });
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stdout, 'warn\n');
    await until(
      () => everyone.every((n) => kidOf(n.slice(0, 2)).of(n, 'table').at(-1)?.spec === 'warn'),
      { what: 'every process to apply --replace warn' },
    );
    const afterwards = await Promise.all(everyone.map((n) => kidOf(n.slice(0, 2)).state(n)));
    for (let i = 0; i < everyone.length; i++) {
      assert.equal(afterwards[i]!.changes, before[i]!.changes! + 1, everyone[i]);
      assert.equal(afterwards[i]!.stats!.rejected, 0);
    }
  });

  it('a wrong token is refused (UNAUTHENTICATED) and changes nothing', async () => {
    const before = receiver.stats().rejected.unauthenticated;
    const res = await cli([
      'level',
      'set',
      'trace',
      '--endpoint',
      receiver.endpoint,
      '--token',
      WRONG_TOKEN,
    ]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^starlog level: the primary at .* refused the token/);
    assert.equal(receiver.stats().rejected.unauthenticated, before + 1);
    assert.equal(levels.toString(), 'warn');
  });

  it('when the primary goes away, children keep their last table and end normally', async () => {
    await receiver.close();
    const all = [...kids, late!];
    await until(() => receiver.stats().levels!.watchers === 0, {
      what: 'children to see the primary gone',
    });
    for (const n of [...everyone, 'late']) {
      const kid = n === 'late' ? late! : kidOf(n.slice(0, 2));
      const s = await kid.state(n);
      assert.equal(s.spec, 'warn', n);
    }
    for (const k of all) k.process.send({ cmd: 'finish' });
    const codes = await within(Promise.all(all.map((k) => k.exited)), {
      timeoutMs: 30_000,
      what: 'children to exit by themselves',
    });
    assert.deepEqual(codes, [0, 0, 0, 0, 0]);
    assert.deepEqual(
      kids[0]!.of('c0.g', 'exit').map((m) => m.code),
      [0],
    );
  });
});

describe('a subscribed child whose primary is still up', () => {
  it('ends by itself when its work is done (the subscription keeps nothing alive)', async () => {
    const levels = new LevelTable('info');
    const receiver = await startReceiver({ processor: new Pipeline({ levels }), levels });
    const kid = new Kid('solo', { ...cleanEnv(), ...receiver.env }, true);
    try {
      await until(
        () => kid.of('solo', 'ready').length === 1 && kid.of('solo.g', 'ready').length === 1,
        { what: 'solo ready', timeoutMs: 60_000 },
      );
      assert.equal(receiver.stats().levels!.watchers, 2);
      kid.process.send({ cmd: 'finish' });
      assert.equal(
        await within(kid.exited, { timeoutMs: 30_000, what: 'the child to exit by itself' }),
        0,
      );
      assert.deepEqual(
        kid.of('solo.g', 'exit').map((m) => m.code),
        [0],
      );
      await until(() => receiver.stats().levels!.watchers === 0, { what: 'the watchers to go' });
    } finally {
      kid.process.kill();
      await receiver.close();
    }
  });
});
