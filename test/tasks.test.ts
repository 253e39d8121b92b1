// Tasks without a TracerProvider: synthetic span contexts. A real sdk-logs LoggerProvider (with
// TaskAttributesProcessor) and an in-memory exporter are registered globally for this process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  context,
  type DiagLogger,
  DiagLogLevel,
  diag,
  isSpanContextValid,
  logs,
  ROOT_CONTEXT,
  SeverityNumber,
  trace,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { hasWorkingContextManager } from '../src/tasks/context-manager.ts';
import { parseForeignId, parseTraceParent } from '../src/tasks/ids.ts';
import { currentTask, importTask, task, to } from '../src/tasks/scope.ts';
import { Task } from '../src/tasks/task.ts';
import { TaskAttributesProcessor } from '../src/tasks/task-attributes-processor.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { type Row, setupRecording } from './support/task-recording.ts';

// Must run before anything registers a context manager: tasks register one lazily.
const managerBefore = hasWorkingContextManager();
const { rows, exporter, processor } = setupRecording();
const log = logs.getLogger('app');
const info = (body: string, attributes?: Record<string, string | number>) =>
  log.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body, attributes });

const warnings: string[] = [];
const diagLogger: DiagLogger = {
  error: (m) => warnings.push(`error ${m}`),
  warn: (m) => warnings.push(`warn ${m}`),
  info: () => {},
  debug: () => {},
  verbose: () => {},
};
diag.setLogger(diagLogger, DiagLogLevel.WARN);

function take(): Row[] {
  const out = rows();
  exporter.reset();
  return out;
}

test('the first task registers an AsyncLocalStorage context manager when none is set', () => {
  assert.equal(managerBefore, false);
  task('first', () => {});
  assert.equal(hasWorkingContextManager(), true);
  take();
});

test('nesting: records, ids, trace, attribute inheritance, success message, return value', async () => {
  const result = await task('handle order', { user: 'leo', shop: 'a' }, async (job) => {
    assert.ok(job instanceof Task);
    assert.equal(currentTask(), job);
    info('into task');
    const inner = await to('charge card', { amount: 42, shop: 'b' }, async (sub) => {
      await sleep(1);
      assert.equal(currentTask(), sub);
      info('charging');
      sub.success('charged');
      return 'receipt';
    });
    assert.equal(inner, 'receipt');
    assert.equal(currentTask(), job);
    return 7;
  });
  assert.equal(result, 7);
  assert.equal(currentTask(), undefined);

  const rs = take();
  assert.deepEqual(
    rs.map((r) => [r.severity, r.body]),
    [
      ['INFO', 'handle order'],
      ['INFO', 'into task'],
      ['INFO', 'charge card'],
      ['INFO', 'charging'],
      ['INFO', 'charged'],
      ['INFO', 'handle order'],
    ],
  );
  const [enter, into, subEnter, charging, subExit, exit] = rs as [Row, Row, Row, Row, Row, Row];
  // One trace, two spans.
  assert.ok(enter.traceId && /^[0-9a-f]{32}$/.test(enter.traceId));
  for (const r of rs) assert.equal(r.traceId, enter.traceId);
  assert.ok(enter.spanId && /^[0-9a-f]{16}$/.test(enter.spanId));
  assert.notEqual(subEnter.spanId, enter.spanId);
  assert.deepEqual([into.spanId, exit.spanId], [enter.spanId, enter.spanId]);
  assert.deepEqual([charging.spanId, subExit.spanId], [subEnter.spanId, subEnter.spanId]);
  // Ids: a path.
  const rootId = enter.attributes['task.id'] as string;
  assert.match(rootId, /^\d+@[0-9a-f]{8}$/);
  assert.equal(rootId.split('@')[1], enter.traceId.slice(0, 8));
  assert.equal(subEnter.attributes['task.id'], `${rootId}/1`);
  // Attributes: inherited, inner wins; task.id on every record; task.name on task records only.
  assert.deepEqual(into.attributes, { user: 'leo', shop: 'a', 'task.id': rootId });
  assert.deepEqual(charging.attributes, {
    user: 'leo',
    shop: 'b',
    amount: 42,
    'task.id': `${rootId}/1`,
  });
  assert.deepEqual(enter.attributes, {
    user: 'leo',
    shop: 'a',
    'task.name': 'handle order',
    'task.id': rootId,
  });
  assert.equal(subExit.attributes['task.name'], 'charge card');
  assert.equal(subExit.attributes['task.outcome'], 'success');
  assert.equal(typeof subExit.attributes['task.duration_ms'], 'number');
  assert.ok((subExit.attributes['task.duration_ms'] as number) >= 0.5);
  assert.ok(
    (exit.attributes['task.duration_ms'] as number) >=
      (subExit.attributes['task.duration_ms'] as number),
  );
  assert.equal(exit.attributes['task.outcome'], 'success');
  assert.equal(enter.scope, 'starlog.task');
  assert.equal(into.scope, 'app');
});

test('records outside any task carry no task', () => {
  info('outside');
  const [r] = take();
  assert.equal(r!.traceId, undefined);
  assert.deepEqual(r!.attributes, {});
});

test('sync function: returns its value, exit record before task() returns', () => {
  const v = task('sync', (t) => {
    info('inside');
    return { id: t.id };
  });
  const rs = take();
  assert.equal(rs.length, 3);
  assert.equal(v.id, rs[0]!.attributes['task.id']);
  assert.equal(rs[2]!.attributes['task.outcome'], 'success');
});

test('async function: the very same promise is returned; exit record precedes the awaiter', async () => {
  let inner!: Promise<number>;
  const p = task('async', () => {
    inner = (async () => {
      await sleep(1);
      return 5;
    })();
    return inner;
  });
  assert.equal(p, inner);
  assert.equal(await p, 5);
  assert.equal(take().at(-1)!.attributes['task.outcome'], 'success');
});

test('sync throw: FAILED record with exception attributes, rethrown, outcome failure', () => {
  const err = new RangeError('card declined');
  assert.throws(
    () =>
      task('pay', { order: 9 }, () => {
        to('charge', () => {
          throw err;
        });
      }),
    (e) => e === err,
  );
  const rs = take();
  assert.deepEqual(
    rs.map((r) => [r.severity, r.body]),
    [
      ['INFO', 'pay'],
      ['INFO', 'charge'],
      ['ERROR', 'FAILED charge'],
      ['ERROR', 'FAILED pay'],
    ],
  );
  const failed = rs[2]!;
  assert.equal(failed.attributes['exception.type'], 'RangeError');
  assert.equal(failed.attributes['exception.message'], 'card declined');
  assert.match(failed.attributes['exception.stacktrace'] as string, /RangeError: card declined/);
  assert.equal(failed.attributes['task.outcome'], 'failure');
  assert.equal(failed.attributes['task.name'], 'charge');
  assert.equal(failed.attributes.order, 9);
  assert.equal(typeof failed.attributes['task.duration_ms'], 'number');
});

test('async rejection: FAILED record, the promise rejects with the same error', async () => {
  await assert.rejects(
    task('async fail', async () => {
      await sleep(1);
      throw new TypeError('boom');
    }),
    /boom/,
  );
  const rs = take();
  assert.equal(rs.length, 2);
  assert.equal(rs[1]!.body, 'FAILED async fail');
  assert.equal(rs[1]!.severity, 'ERROR');
  assert.equal(rs[1]!.attributes['exception.type'], 'TypeError');
});

test('non-Error throw values are described', () => {
  assert.throws(() =>
    task('odd', () => {
      throw 'plain string';
    }),
  );
  const r = take()[1]!;
  assert.equal(r.attributes['exception.type'], 'string');
  assert.equal(r.attributes['exception.message'], 'plain string');
  assert.equal(r.attributes['exception.stacktrace'], undefined);
});

test('bind() adds attributes to the rest of the task, its running subtasks and exit record', async () => {
  await task('t', { a: 1 }, async (t) => {
    info('before');
    await to('sub', async () => {
      info('sub before');
      t.bind({ b: 2, skip: undefined });
      info('sub after');
    });
    info('after');
    assert.deepEqual(t.attributes, { a: 1, b: 2 });
  });
  const rs = take();
  const byBody = (b: string) => rs.find((r) => r.body === b)!;
  assert.equal(byBody('before').attributes.b, undefined);
  assert.equal(byBody('sub before').attributes.b, undefined);
  assert.equal(byBody('sub after').attributes.b, 2);
  assert.equal(byBody('after').attributes.b, 2);
  assert.equal(rs.at(-1)!.attributes.b, 2);
  assert.equal(Object.hasOwn(rs.at(-1)!.attributes, 'skip'), false);
});

test("a record's own attribute wins over the task's", () => {
  task('own', { user: 'task' }, () => info('x', { user: 'record' }));
  assert.equal(take()[1]!.attributes.user, 'record');
});

test('to() without an active task starts a top-level task; task() inside a task starts a new trace', () => {
  let outerTrace = '';
  to('lonely', (t) => {
    assert.equal(t.parent, undefined);
    assert.match(t.id, /^\d+@[0-9a-f]{8}$/);
    outerTrace = t.traceId;
    task('fresh', { x: 1 }, (inner) => {
      assert.notEqual(inner.traceId, outerTrace);
      assert.equal(inner.parent, undefined);
      assert.match(inner.id, /^\d+@[0-9a-f]{8}$/);
      assert.equal(currentTask(), inner);
    });
    assert.equal(currentTask(), t);
  });
  take();
});

test('subtask ids count per parent', () => {
  task('p', (p) => {
    to('a', (a) => {
      assert.equal(a.id, `${p.id}/1`);
      to('a1', (a1) => assert.equal(a1.id, `${p.id}/1/1`));
      to('a2', (a2) => assert.equal(a2.id, `${p.id}/1/2`));
    });
    to('b', (b) => assert.equal(b.id, `${p.id}/2`));
  });
  take();
});

test('task.wrap runs the function in a subtask on every call, keeping this and arguments', async () => {
  const seen: string[] = [];
  const obj = {
    k: 3,
    add: task.wrap('add', { op: 'add' }, function (this: { k: number }, x: number) {
      seen.push(currentTask()!.id);
      return this.k + x;
    }),
  };
  const fetchLike = task.wrap('fetch', async (n: number) => {
    await sleep(1);
    return n * 2;
  });
  await task('root', async (root) => {
    assert.equal(obj.add(1), 4);
    assert.equal(obj.add(2), 5);
    assert.equal(await fetchLike(4), 8);
    assert.deepEqual(seen, [`${root.id}/1`, `${root.id}/2`]);
  });
  const rs = take();
  assert.equal(rs.filter((r) => r.body === 'add').length, 4);
  assert.equal(rs.find((r) => r.body === 'add')!.attributes.op, 'add');
});

test('argument checking: a missing function is a TypeError', () => {
  // biome-ignore lint/suspicious/noExplicitAny: deliberate misuse
  assert.throws(() => (task as any)('x', { a: 1 }), TypeError);
  // biome-ignore lint/suspicious/noExplicitAny: deliberate misuse
  assert.throws(() => (to as any)('x'), TypeError);
  assert.equal(take().length, 0);
});

test('trace.getSpanContext(context.active()) is the task span; the span context is valid', () => {
  task('span', (t) => {
    const sc = trace.getSpanContext(context.active())!;
    assert.ok(isSpanContextValid(sc));
    assert.deepEqual([sc.traceId, sc.spanId], [t.traceId, t.spanId]);
    assert.equal(sc.traceFlags, 1);
    assert.equal(trace.getSpan(context.active())!.isRecording(), false);
  });
  take();
});

test('500 concurrent tasks with random awaits, timers and combinators never leak', async () => {
  const N = 500;
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pause = () => {
    const r = rnd();
    if (r < 0.25) return sleep(Math.floor(r * 8));
    if (r < 0.5) return new Promise<void>((res) => setImmediate(res));
    if (r < 0.75) return new Promise<void>((res) => process.nextTick(res));
    return Promise.resolve();
  };
  const one = (i: number) =>
    task(`job ${i}`, { job: i }, async (t) => {
      await pause();
      info('a', { i });
      await Promise.all([
        pause().then(() => info('b', { i })),
        to(`sub ${i}`, { sub: i }, async () => {
          await pause();
          info('c', { i });
          await new Promise<void>((res) =>
            setTimeout(
              () => {
                info('d', { i });
                res();
              },
              Math.floor(rnd() * 5),
            ),
          );
        }),
      ]);
      await Promise.race([pause(), pause()]);
      assert.equal(currentTask(), t);
      info('e', { i });
    });
  await Promise.all(Array.from({ length: N }, (_, i) => one(i)));
  const rs = take();
  assert.equal(rs.length, N * 9);
  const roots = new Map<number, Row>();
  for (const r of rs)
    if (r.body === `job ${r.attributes.job}` && !r.attributes['task.outcome']) {
      roots.set(r.attributes.job as number, r);
    }
  assert.equal(roots.size, N);
  const traces = new Set([...roots.values()].map((r) => r.traceId));
  assert.equal(traces.size, N);
  for (const r of rs) {
    const i = (r.attributes.i ?? r.attributes.job) as number;
    assert.equal(r.attributes.job, i, `record ${String(r.body)} of job ${i}`);
    const root = roots.get(i)!;
    assert.equal(r.traceId, root.traceId);
    const inSub = r.body === 'c' || r.body === 'd' || r.attributes['task.name'] === `sub ${i}`;
    if (inSub) {
      assert.equal(r.attributes.sub, i);
      assert.equal(r.attributes['task.id'], `${root.attributes['task.id']}/1`);
      assert.notEqual(r.spanId, root.spanId);
    } else {
      assert.equal(r.attributes.sub, undefined);
      assert.equal(r.attributes['task.id'], root.attributes['task.id']);
      assert.equal(r.spanId, root.spanId);
    }
  }
  assert.equal(processor.errors, 0);
});

test('foreignId(): a traceparent naming the task span plus a new slot path', () => {
  task('origin', (t) => {
    const a = t.foreignId();
    const b = t.foreignId();
    assert.match(a, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01#\d+@[0-9a-f]{8}\/1$/);
    assert.ok(b.endsWith(`#${t.id}/2`));
    const parsed = parseForeignId(a);
    assert.ok(typeof parsed !== 'string');
    assert.deepEqual(parsed, {
      traceId: t.traceId,
      spanId: t.spanId,
      traceFlags: 1,
      path: `${t.id}/1`,
    });
    to('next', (n) => assert.equal(n.id, `${t.id}/3`));
  });
  take();
});

test('importTask() continues the slot: same trace, parent span, path, no inherited attributes', () => {
  let id = '';
  let origin!: Task;
  task('origin', { secret: 1 }, (t) => {
    origin = t;
    id = t.foreignId();
  });
  take();
  const r = importTask(id, 'remote part', { side: 'b' }, (t) => {
    assert.equal(t.traceId, origin.traceId);
    assert.notEqual(t.spanId, origin.spanId);
    assert.equal(t.id, `${origin.id}/1`);
    assert.deepEqual(t.attributes, { side: 'b' });
    to('deeper', (d) => assert.equal(d.id, `${origin.id}/1/1`));
    return 'ok';
  });
  assert.equal(r, 'ok');
  const rs = take();
  assert.equal(rs[0]!.body, 'remote part');
  assert.equal(rs[0]!.traceId, origin.traceId);
  assert.equal(rs[0]!.attributes['task.id'], `${origin.id}/1`);
});

test('importTask() accepts a bare W3C traceparent', () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  importTask(tp, 'from elsewhere', (t) => {
    assert.equal(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(t.id, '00f067aa@4bf92f35');
  });
  take();
  assert.deepEqual(warnings, []);
});

test('bad foreign ids: diag warning and a fresh tree, never a throw', () => {
  const bad: unknown[] = [
    '',
    'garbage',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7', // no flags
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // zero trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero span id
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01#', // empty path
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01#1@deadbeef/1', // other trace
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01#1@4bf92f35/0', // bad segment
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', // 00 with extra field
    `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01#1@4bf92f35${'/1'.repeat(600)}`,
    undefined,
    42,
  ];
  for (const id of bad) {
    warnings.length = 0;
    const v = importTask(id as string, 'imported', (t) => {
      assert.notEqual(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.match(t.id, /^\d+@[0-9a-f]{8}$/);
      return 1;
    });
    assert.equal(v, 1);
    assert.equal(warnings.length, 1, `one warning for ${String(id)}`);
    assert.match(warnings[0]!, /^warn starlog: importTask\('imported'\): bad foreign id/);
  }
  warnings.length = 0;
  take();
});

test('parseTraceParent follows W3C versioning', () => {
  const base = '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.deepEqual(parseTraceParent(`00-${base}`), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: 1,
  });
  assert.ok(parseTraceParent(`01-${base}-future`));
  assert.equal(parseTraceParent(`01-${base}future`), undefined);
  assert.equal(parseTraceParent(`00-${base}-x`), undefined);
});

test('TaskAttributesProcessor leaves records of another trace and records without span alone', () => {
  task('here', { mine: 1 }, (t) => {
    // A record emitted with an explicit context of another trace (like an ingested record).
    const other = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    });
    log.emit({ body: 'other', context: other });
    // A record starlog makes itself, without span context, handed over inside the task.
    const plain = new PlainLogRecord({
      resource: resourceFromAttributes({}),
      instrumentationScope: { name: 'plain' },
      body: 'plain',
    });
    processor.onEmit(plain, context.active());
    assert.deepEqual(plain.attributes, {});
    assert.equal(plain.spanContext, undefined);
    // The same record with the task's span context is enriched.
    plain.spanContext = t.spanContext;
    processor.onEmit(plain, context.active());
    assert.deepEqual(plain.attributes, { mine: 1, 'task.id': t.id });
    // Without a context argument nothing is looked up.
    const bare = new PlainLogRecord({
      resource: resourceFromAttributes({}),
      instrumentationScope: { name: 'plain' },
      spanContext: t.spanContext,
    });
    processor.onEmit(bare);
    assert.deepEqual(bare.attributes, {});
  });
  const other = take().find((r) => r.body === 'other')!;
  assert.equal(other.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.deepEqual(other.attributes, {});
  assert.equal(processor.enabled(), false);
});

test('task attributes respect the SDK attribute limits exactly like setAttribute', () => {
  const limited = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    logRecordLimits: { attributeCountLimit: 4, attributeValueLengthLimit: 5 },
    processors: [
      new TaskAttributesProcessor(),
      new SimpleLogRecordProcessor({ exporter: limited }),
    ],
  });
  const attributes = { a: 'abcdefgh', b: 1, c: true, d: 'xy', e: [1, 2] };
  task('limits', attributes, () =>
    provider.getLogger('lim').emit({ body: 'r', attributes: { r: 1 } }),
  );
  // The same record with every attribute set through the SDK's own setAttribute.
  const reference = new InMemoryLogRecordExporter();
  const refProvider = new LoggerProvider({
    logRecordLimits: { attributeCountLimit: 4, attributeValueLengthLimit: 5 },
    processors: [new SimpleLogRecordProcessor({ exporter: reference })],
  });
  refProvider
    .getLogger('lim')
    .emit({ body: 'r', attributes: { r: 1, ...attributes, 'task.id': 'whatever' } });
  const [got] = limited.getFinishedLogRecords();
  const [want] = reference.getFinishedLogRecords();
  assert.deepEqual(got!.attributes, { r: 1, a: 'abcde', b: 1, c: true });
  assert.deepEqual(got!.attributes, want!.attributes);
  assert.equal(got!.droppedAttributesCount, 3);
  assert.equal(got!.droppedAttributesCount, want!.droppedAttributesCount);
  take();
});

test('winston through @opentelemetry/winston-transport carries the task', async () => {
  const winston = (await import('winston')).default;
  const { OpenTelemetryTransportV3 } = await import('@opentelemetry/winston-transport');
  const logger = winston.createLogger({ transports: [new OpenTelemetryTransportV3()] });
  await task('with winston', { via: 'winston' }, async (t) => {
    await sleep(1);
    logger.info('from winston', { extra: 1 });
    await sleep(5);
    const r = take().find((x) => x.body === 'from winston');
    assert.ok(r, 'winston record exported');
    assert.equal(r.traceId, t.traceId);
    assert.equal(r.spanId, t.spanId);
    assert.equal(r.attributes.via, 'winston');
    assert.equal(r.attributes['task.id'], t.id);
    assert.equal(r.attributes.extra, 1);
  });
  take();
});
