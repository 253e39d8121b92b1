// Tasks with a registered @opentelemetry/sdk-trace TracerProvider: every task is a real span.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, logs, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { importTask, task, to } from '../src/tasks/scope.ts';
import { setupRecording } from './support/task-recording.ts';

// A user-registered context manager is kept (ensureContextManager only probes it).
const userManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(userManager);
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({
  spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
});
assert.ok(trace.setGlobalTracerProvider(tracerProvider));
const { rows, exporter } = setupRecording();
const log = logs.getLogger('app');

function take(): { spans: ReadableSpan[]; rows: ReturnType<typeof rows> } {
  const out = { spans: spans.getFinishedSpans(), rows: rows() };
  spans.reset();
  exporter.reset();
  return out;
}

test('each task is a real span: name, attributes, parent, task.id; records carry its ids', async () => {
  let rootSpanId = '';
  await task('handle order', { user: 'leo' }, async (job) => {
    rootSpanId = job.spanId;
    assert.equal(trace.getSpan(context.active())!.isRecording(), true);
    log.emit({ body: 'in root' });
    await to('charge card', { amount: 42 }, async (sub) => {
      await sleep(1);
      log.emit({ body: 'in sub' });
      sub.bind({ card: 'visa' });
    });
  });
  const { spans: ss, rows: rs } = take();
  assert.equal(ss.length, 2);
  const [sub, root] = ss as [ReadableSpan, ReadableSpan];
  assert.equal(root.name, 'handle order');
  assert.equal(sub.name, 'charge card');
  assert.equal(root.spanContext().spanId, rootSpanId);
  assert.equal(root.parentSpanContext, undefined);
  assert.equal(sub.parentSpanContext!.spanId, root.spanContext().spanId);
  assert.equal(sub.spanContext().traceId, root.spanContext().traceId);
  assert.equal(root.attributes.user, 'leo');
  assert.deepEqual(sub.attributes, {
    amount: 42,
    'task.id': `${root.attributes['task.id']}/1`,
    card: 'visa',
  });
  assert.equal(root.status.code, SpanStatusCode.UNSET);
  const inRoot = rs.find((r) => r.body === 'in root')!;
  const inSub = rs.find((r) => r.body === 'in sub')!;
  assert.equal(inRoot.spanId, root.spanContext().spanId);
  assert.equal(inSub.spanId, sub.spanContext().spanId);
  assert.equal(inSub.traceId, root.spanContext().traceId);
  assert.equal(inSub.attributes.user, 'leo');
  assert.equal(inSub.attributes['task.id'], sub.attributes['task.id']);
  // Enter/exit records carry the span ids too.
  for (const r of rs.filter((x) => x.scope === 'starlog.task')) {
    assert.equal(r.spanId, r.body === 'handle order' ? rootSpanId : sub.spanContext().spanId);
  }
});

test('a failing task ends its span with status ERROR and the exception', () => {
  assert.throws(() =>
    task('doomed', () => {
      throw new Error('nope');
    }),
  );
  const { spans: ss, rows: rs } = take();
  assert.equal(ss.length, 1);
  const s = ss[0]!;
  assert.equal(s.status.code, SpanStatusCode.ERROR);
  assert.equal(s.status.message, 'nope');
  assert.equal(s.ended, true);
  const ev = s.events.find((e) => e.name === 'exception')!;
  assert.equal(ev.attributes!['exception.message'], 'nope');
  assert.equal(rs.at(-1)!.body, 'FAILED doomed');
  assert.equal(rs.at(-1)!.spanId, s.spanContext().spanId);
});

test('task() inside a task is a new root span; a user span inside a task parents the subtask', () => {
  const tracer = trace.getTracer('user');
  task('outer', (outer) => {
    task('fresh', (fresh) => {
      assert.notEqual(fresh.traceId, outer.traceId);
    });
    tracer.startActiveSpan('user span', (us) => {
      to('under user span', (t) => {
        assert.equal(t.traceId, outer.traceId);
        assert.equal(t.id, `${outer.id}/1`);
        log.emit({ body: 'deep' });
      });
      log.emit({ body: 'in user span' });
      us.end();
    });
  });
  const { spans: ss, rows: rs } = take();
  const byName = new Map(ss.map((s) => [s.name, s]));
  assert.equal(byName.get('fresh')!.parentSpanContext, undefined);
  assert.equal(
    byName.get('under user span')!.parentSpanContext!.spanId,
    byName.get('user span')!.spanContext().spanId,
  );
  // A record in a user span inside a task: the user span's ids, the task's attributes.
  const r = rs.find((x) => x.body === 'in user span')!;
  assert.equal(r.spanId, byName.get('user span')!.spanContext().spanId);
  assert.equal(r.attributes['task.id'], byName.get('outer')!.attributes['task.id']);
});

test('importTask(): the span is a child of the remote task span', () => {
  let fid = '';
  task('origin', (t) => {
    fid = t.foreignId();
  });
  importTask(fid, 'continued', () => {});
  const { spans: ss } = take();
  const origin = ss.find((s) => s.name === 'origin')!;
  const cont = ss.find((s) => s.name === 'continued')!;
  assert.equal(cont.spanContext().traceId, origin.spanContext().traceId);
  assert.equal(cont.parentSpanContext!.spanId, origin.spanContext().spanId);
  assert.equal(cont.parentSpanContext!.isRemote, true);
  assert.equal(cont.attributes['task.id'], `${origin.attributes['task.id']}/1`);
});

test('the user context manager stays registered', () => {
  // setGlobalContextManager returns false when one is already registered: ours is still there.
  assert.equal(context.setGlobalContextManager(new AsyncLocalStorageContextManager()), false);
  const key = Symbol('k');
  const ctx = context.active().setValue(key, 1);
  assert.equal(
    userManager.with(ctx, () => context.active().getValue(key)),
    1,
  );
});
