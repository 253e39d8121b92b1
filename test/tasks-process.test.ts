// Tasks across processes: foreignId()/importTask() through a real child, TRACEPARENT/TRACESTATE
// through starlog's fork() and spawn() and through node:cluster, bad carriers, the process task.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { logs } from '@opentelemetry/api';
import { fork, setChildEnvironment, spawn } from '../src/multiprocess/fork.ts';
import { continueTaskFromEnv, forgetProcessTask, taskEnv } from '../src/tasks/propagation.ts';
import { currentTask, task, to } from '../src/tasks/scope.ts';
import type { Task } from '../src/tasks/task.ts';
import { type Row, setupRecording } from './support/task-recording.ts';
import { within } from './support/wait.ts';

const CHILD = fileURLToPath(new URL('./fixtures/tasks-child.ts', import.meta.url));
const CLUSTER = fileURLToPath(new URL('./fixtures/tasks-cluster.ts', import.meta.url));
const run = promisify(execFile);

interface ChildResult {
  pid: number;
  rows: Row[];
  processTask?: { id: string; traceId: string; spanId: string };
  warnings: string[];
  env: Record<string, string | undefined>;
}

// The test runner may itself run inside a trace: children must only see what we give them.
delete process.env.TRACEPARENT;
delete process.env.TRACESTATE;
const { rows, exporter } = setupRecording();

function parseResult(stdout: string): ChildResult {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line in ${JSON.stringify(stdout)}`);
  return JSON.parse(line.slice(7)) as ChildResult;
}

async function collect(child: ReturnType<typeof spawn>): Promise<ChildResult> {
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const [code] = await within(once(child, 'exit'), {
    what: `the child to exit; stderr=${err}`,
    timeoutMs: 30_000,
  });
  assert.equal(code, 0, err);
  return parseResult(out);
}

function body(rs: Row[], b: string): Row {
  const r = rs.find((x) => x.body === b);
  assert.ok(r, `no record ${b}`);
  return r;
}

/** Checks a child that continued `parent`'s slot `slot` from its environment. */
function checkEnvChild(result: ChildResult, parent: Task, slot: number): void {
  assert.deepEqual(result.warnings, []);
  assert.equal(result.env.TRACEPARENT, `00-${parent.traceId}-${parent.spanId}-01`);
  assert.equal(result.env.TRACESTATE, `starlog=${parent.id}/${slot}`);
  assert.deepEqual(result.processTask, {
    id: `${parent.id}/${slot}`,
    traceId: parent.traceId,
    spanId: parent.spanId,
  });
  // A record outside any task hangs under the parent's task slot.
  const outside = body(result.rows, 'child outside');
  assert.equal(outside.traceId, parent.traceId);
  assert.equal(outside.spanId, parent.spanId);
  assert.equal(outside.attributes['task.id'], `${parent.id}/${slot}`);
  // to() outside any task is a subtask of the process task.
  const sub = body(result.rows, 'child sub record');
  assert.equal(sub.traceId, parent.traceId);
  assert.notEqual(sub.spanId, parent.spanId);
  assert.equal(sub.attributes['task.id'], `${parent.id}/${slot}/1`);
  // task() still starts a fresh tree.
  const fresh = body(result.rows, 'fresh');
  assert.notEqual(fresh.traceId, parent.traceId);
}

test('foreignId()/importTask() through a real child process', async () => {
  let parent!: Task;
  const fid = task('parent', { p: 1 }, (t) => {
    parent = t;
    return t.foreignId();
  });
  const { stdout } = await run(process.execPath, [CHILD, 'import', fid]);
  const result = parseResult(stdout);
  assert.notEqual(result.pid, process.pid);
  assert.deepEqual(result.warnings, []);
  const enter = body(result.rows, 'child work');
  assert.equal(enter.traceId, parent.traceId);
  assert.notEqual(enter.spanId, parent.spanId);
  assert.equal(enter.attributes['task.id'], `${parent.id}/1`);
  assert.equal(enter.attributes.side, 'child');
  assert.equal(enter.attributes.p, undefined);
  const rec = body(result.rows, 'child record');
  assert.equal(rec.spanId, enter.spanId);
  assert.equal(rec.attributes['task.id'], `${parent.id}/1`);
  const sub = body(result.rows, 'child sub record');
  assert.equal(sub.traceId, parent.traceId);
  assert.equal(sub.attributes['task.id'], `${parent.id}/1/1`);
  assert.equal(sub.attributes.side, 'child');
  exporter.reset();
});

test('fork() passes the active task as TRACEPARENT/TRACESTATE and the child environment', async () => {
  setChildEnvironment({ STARLOG_TEST_VAR: 'from-primary' });
  try {
    let parent!: Task;
    const result = await task('forking', async (t) => {
      parent = t;
      const child = fork(CHILD, ['env'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const [message] = (await once(child, 'message')) as [ChildResult];
      await once(child, 'exit');
      return message;
    });
    checkEnvChild(result, parent, 1);
    assert.equal(result.env.STARLOG_TEST_VAR, 'from-primary');
  } finally {
    setChildEnvironment(undefined);
  }
  exporter.reset();
});

test('spawn() inside a task passes it; outside a task passes nothing', async () => {
  let parent!: Task;
  const inside = await task('spawning', async (t) => {
    parent = t;
    t.foreignId(); // takes slot 1: the child gets slot 2
    return collect(spawn(process.execPath, [CHILD, 'env'], { stdio: 'pipe' }));
  });
  checkEnvChild(inside, parent, 2);

  const outside = await collect(spawn(process.execPath, [CHILD, 'env']));
  assert.equal(outside.env.TRACEPARENT, undefined);
  assert.equal(outside.processTask, undefined);
  assert.equal(body(outside.rows, 'child outside').traceId, undefined);
  assert.match(body(outside.rows, 'child sub record').attributes['task.id'] as string, /^\d+@/);
  exporter.reset();
});

test('node:cluster: cluster.fork(taskEnv()) continues the task in the worker', async () => {
  const { stdout } = await run(process.execPath, [CLUSTER, 'env']);
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))!;
  const primary = JSON.parse(line.slice(7)) as {
    id: string;
    traceId: string;
    spanId: string;
    worker: ChildResult;
  };
  const parent = { id: primary.id, traceId: primary.traceId, spanId: primary.spanId } as Task;
  checkEnvChild(primary.worker, parent, 1);
});

test('a bad TRACEPARENT: the child says so through diag and starts fresh trees', async () => {
  const result = await collect(
    spawn(process.execPath, [CHILD, 'env'], {
      env: { ...process.env, TRACEPARENT: 'not-a-traceparent', TRACESTATE: 'starlog=1@x' },
    }),
  );
  assert.equal(result.processTask, undefined);
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0]!, /malformed TRACEPARENT/);
  assert.equal(body(result.rows, 'child outside').traceId, undefined);
});

test('a foreign TRACEPARENT (no starlog tracestate entry) is continued with a derived root id', async () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const result = await collect(
    spawn(process.execPath, [CHILD, 'env'], {
      env: { ...process.env, TRACEPARENT: tp, TRACESTATE: 'congo=t61rcWkgMzE' },
    }),
  );
  assert.deepEqual(result.warnings, []);
  assert.equal(result.processTask!.id, '00f067aa@4bf92f35');
  assert.equal(body(result.rows, 'child outside').traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(body(result.rows, 'child sub record').attributes['task.id'], '00f067aa@4bf92f35/1');
});

test('the process task in this process: currentTask, to(), taskEnv() and record stamping', () => {
  const t = continueTaskFromEnv(
    {
      TRACEPARENT: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      TRACESTATE: 'starlog=7@4bf92f35/3,congo=t61rcWkgMzE',
    },
    'me',
  )!;
  try {
    assert.equal(t.id, '7@4bf92f35/3');
    assert.equal(currentTask(), t);
    t.bind({ worker: 2 });
    logs.getLogger('app').emit({ body: 'outside' });
    to('sub', (s) => {
      assert.equal(s.id, '7@4bf92f35/3/1');
      assert.equal(s.parent, t);
      assert.equal(s.attributes.worker, 2);
      const env = taskEnv({ KEEP: 'x' });
      assert.equal(env.KEEP, 'x');
      assert.equal(env.TRACEPARENT, `00-${s.traceId}-${s.spanId}-01`);
      assert.equal(env.TRACESTATE, 'starlog=7@4bf92f35/3/1/1');
    });
    const env = taskEnv({});
    assert.equal(env.TRACESTATE, 'starlog=7@4bf92f35/3/2,congo=t61rcWkgMzE');
    const outside = rows().find((r) => r.body === 'outside')!;
    assert.equal(outside.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(outside.spanId, '00f067aa0ba902b7');
    assert.deepEqual(outside.attributes, { worker: 2, 'task.id': '7@4bf92f35/3' });
  } finally {
    forgetProcessTask();
  }
  assert.equal(currentTask(), undefined);
  assert.equal(continueTaskFromEnv({}), undefined);
  // taskEnv() without a task leaves the environment as it is.
  assert.deepEqual(taskEnv({ TRACEPARENT: 'kept' }), { TRACEPARENT: 'kept' });
  exporter.reset();
});

test('a task path too long for tracestate (256 chars) is left out of TRACESTATE', () => {
  task('deep', (root) => {
    let t: Task = root;
    const dive = (n: number): void => {
      if (n === 0) {
        const env = taskEnv({});
        assert.equal(env.TRACESTATE, undefined);
        assert.equal(env.TRACEPARENT, `00-${t.traceId}-${t.spanId}-01`);
        return;
      }
      to('level', (s) => {
        t = s;
        dive(n - 1);
      });
    };
    dive(130);
  });
  exporter.reset();
});
