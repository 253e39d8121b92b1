/**
 * In-process checks of the drop-in pieces that need no child process: a request task in a real
 * node:http server (route from express, the handler's records in the task), pino's level
 * following starlog's table at run time, `task()` joining an active span's trace, and
 * `starlog tree` naming a task from its exit record alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { getLogger, task } from '../src/index.ts';
import { TreeModel } from '../src/tree/model.ts';
import { renderText } from '../src/tree/render-text.ts';
import { fileLogging } from './support/file-logging.ts';

const logging = fileLogging('http-tasks');
const { records } = logging;

test('express: the task is named by its route; records of the handler belong to it', async () => {
  const { default: express } = await import('express');
  const app = express();
  const log = getLogger('app.users');
  app.get('/users/:id', (req, res) => {
    log.info('looking up %s', req.params.id);
    res.send('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/users/42`)).text(), 'ok');
  server.close();
  const recs = await records();
  const access = recs.find((r) => r.body.startsWith('GET /users/:id 200 '));
  assert.ok(access, `access record in ${recs.map((r) => r.body).join(' | ')}`);
  assert.equal(access.attributes['http.route'], '/users/:id');
  const inside = recs.find((r) => r.body === 'looking up 42');
  assert.equal(inside?.attributes['task.id'], access.attributes['task.id']);
  assert.equal(inside?.traceId, access.traceId);
});

test("the request's own events (body parsing) run in its task", async () => {
  const { createServer } = await import('node:http');
  const log = getLogger('app.body');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () =>
      setImmediate(() => {
        log.info(`got ${body}`);
        res.end('ok');
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await (await fetch(`http://127.0.0.1:${port}/b`, { method: 'POST', body: 'x1' })).text();
  server.close();
  const recs = await records();
  const got = recs.find((r) => r.body === 'got x1');
  const access = recs.find((r) => r.body.startsWith('POST /b 200 '));
  assert.ok(got && access, `both records in ${recs.map((r) => r.body).join(' | ')}`);
  assert.equal(got.attributes['task.id'], access.attributes['task.id']);
});

test("pino's level follows starlog's table when it changes", async () => {
  const { default: pino } = await import('pino');
  const logger = pino({ name: 'billing' }, { write() {} });
  assert.equal(logger.level, 'info');
  const db = logger.child({ module: 'db' });
  await logging.handle().setLevels('billing.db=debug');
  assert.equal(db.level, 'debug', 'the child with a module binding follows its own rule');
  assert.equal(logger.level, 'info');
  await logging.handle().setLevels('billing=warn');
  assert.equal(logger.level, 'warn');
  await logging.handle().setLevels({ spec: 'info', replace: true });
  assert.equal(logger.level, 'info');
  assert.equal(db.level, 'info');
});

test("winston's level follows the most verbose entry of starlog's table; its file transport keeps the app's", async () => {
  const { default: winston } = await import('winston');
  const written: string[] = [];
  const { Writable } = await import('node:stream');
  const sink = new winston.transports.Stream({
    stream: new Writable({
      write: (c, _e, cb) => {
        written.push(String(c));
        cb();
      },
    }),
  });
  const logger = winston.createLogger({
    level: 'warn',
    format: winston.format.combine(
      winston.format.label({ label: 'ledger' }),
      winston.format.json(),
    ),
    transports: [sink],
  });
  // starlog's INFO covers winston's http (INFO2): the least severe winston level the table takes
  assert.equal(logger.level, 'http', 'the table (info) replaces the app level (warn)');
  await logging.handle().setLevels('ledger=debug');
  assert.equal(logger.level, 'debug');
  logger.debug('ledger detail');
  await logging.handle().setLevels({ spec: 'info', replace: true });
  assert.equal(logger.level, 'http');
  logger.debug('not shown');
  const recs = await records();
  assert.ok(recs.some((r) => r.scope === 'ledger' && r.body === 'ledger detail'));
  assert.ok(!recs.some((r) => r.body === 'not shown'));
  assert.equal(written.length, 0, "the app's own transport still writes only warn and above");
});

test('task() inside an active OpenTelemetry span joins its trace', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const span = trace.wrapSpanContext({ traceId, spanId: '00f067aa0ba902b7', traceFlags: 1 });
  const seen = context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
    task('joined', (t) => t.traceId),
  );
  assert.equal(seen, traceId);
  assert.notEqual(
    task('fresh', (t) => t.traceId),
    traceId,
  );
});

test('starlog tree names a task from its exit record alone', () => {
  const model = new TreeModel();
  const proc = model.resource(0, { pid: '7', service: 'svc' } as never);
  model.record(proc, {
    timeMs: 1000,
    severity: 9,
    body: 'GET /orders/:id 200 3.2ms',
    traceId: 'ab'.repeat(16),
    spanId: 'cd'.repeat(8),
    taskId: '1@abababab',
    taskName: 'GET /orders/:id',
    outcome: 'success',
    durationMs: 3.2,
  });
  const text = [...renderText(model.finish(), { color: false } as never)].join('');
  assert.match(text, /✓ GET \/orders\/:id/);
  assert.ok(!text.includes('entry record missing'), text);
});
