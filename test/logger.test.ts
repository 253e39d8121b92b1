import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeverityNumber } from '@opentelemetry/api';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { OpenTelemetryTransportV3 } from '@opentelemetry/winston-transport';
import winston from 'winston';
import { getLogger } from '../src/logger.ts';
import { setActiveLevelTable } from '../src/pipeline/active-levels.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { registerGlobalLoggerProvider } from '../src/setup/register-global.ts';

const memory = new InMemoryLogRecordExporter();
const pipeline = new Pipeline({
  stages: [new SimpleLogRecordProcessor({ exporter: memory })],
  levels: 'debug,quiet=warn',
});
const provider = new LoggerProvider({ processors: [pipeline] });
// a logger created before registration must reach the provider too (the API's proxy)
const early = getLogger('early');
const registered = registerGlobalLoggerProvider(provider);
setActiveLevelTable(pipeline.levels);

function take() {
  const out = memory.getFinishedLogRecords().slice();
  memory.reset();
  return out;
}

test('registers in both global slots', () => {
  assert.deepEqual(registered, { api: true, apiLogs: true });
});

test('severity methods, printf formatting, attributes form, scope name', () => {
  const log = getLogger('app.http');
  early.info('from early');
  log.trace('not enabled at debug');
  log.debug('debug %s=%d', 'x', 42);
  log.info({ path: '/a', status: 200 }, 'handled %s', 'GET');
  log.warn('plain');
  log.error({ code: 'E1' }, 'failed');
  log.fatal('%o', { deep: true });
  const recs = take();
  assert.deepEqual(
    recs.map((r) => [r.instrumentationScope.name, r.severityNumber, r.severityText, r.body]),
    [
      ['early', SeverityNumber.INFO, 'INFO', 'from early'],
      ['app.http', SeverityNumber.DEBUG, 'DEBUG', 'debug x=42'],
      ['app.http', SeverityNumber.INFO, 'INFO', 'handled GET'],
      ['app.http', SeverityNumber.WARN, 'WARN', 'plain'],
      ['app.http', SeverityNumber.ERROR, 'ERROR', 'failed'],
      ['app.http', SeverityNumber.FATAL, 'FATAL', '{ deep: true }'],
    ],
  );
  assert.deepEqual(recs[2]!.attributes, { path: '/a', status: 200 });
  assert.deepEqual(recs[4]!.attributes, { code: 'E1' });
});

test('exception() and an Error first argument carry the exception.* attributes', () => {
  const log = getLogger('app');
  const err = new TypeError('bad thing');
  log.exception(err);
  log.exception(err, 'while charging', { order: 7 });
  log.error(err, 'as first arg %d', 3);
  log.warn(err);
  const recs = take();
  assert.deepEqual(
    recs.map((r) => r.body),
    ['bad thing', 'while charging', 'as first arg 3', 'bad thing'],
  );
  for (const r of recs) {
    assert.equal(r.attributes['exception.type'], 'TypeError');
    assert.equal(r.attributes['exception.message'], 'bad thing');
    assert.match(String(r.attributes['exception.stacktrace']), /TypeError: bad thing\n\s+at /);
  }
  assert.equal(recs[1]!.attributes.order, 7);
  assert.equal(recs[3]!.severityNumber, SeverityNumber.WARN);
});

test('disabled levels build nothing; level changes apply at once', () => {
  const log = getLogger('quiet');
  let built = 0;
  const costly = {
    toString() {
      built++;
      return 'x';
    },
  };
  log.info('%s', costly);
  assert.equal(built, 0);
  assert.equal(log.isEnabled(SeverityNumber.INFO), false);
  assert.equal(take().length, 0);
  pipeline.levels.set('debug');
  log.info('%s', costly);
  assert.equal(built, 1);
  assert.equal(take().length, 1);
  pipeline.levels.set('debug,quiet=warn');
});

test('child loggers add bindings; the call wins', () => {
  const log = getLogger('app').child({ component: 'db', shard: 1 });
  log.info({ shard: 2 }, 'query');
  log.info('plain');
  const recs = take();
  assert.deepEqual(recs[0]!.attributes, { component: 'db', shard: 2 });
  assert.deepEqual(recs[1]!.attributes, { component: 'db', shard: 1 });
});

test('bad input never throws into the caller', () => {
  const log = getLogger('app');
  const hostile = {
    get [Symbol.toStringTag]() {
      throw new Error('nope');
    },
  };
  assert.doesNotThrow(() => log.info('%s %j', hostile, hostile));
  assert.doesNotThrow(() => log.info(undefined as unknown as string));
  assert.doesNotThrow(() => log.info(null as unknown as string, 'x'));
  assert.doesNotThrow(() => log.exception(undefined));
  assert.doesNotThrow(() => log.exception({ weird: true }));
  take();
});

test('winston through @opentelemetry/winston-transport (api-logs slot) reaches the pipeline', async () => {
  const w = winston.createLogger({ level: 'debug', transports: [new OpenTelemetryTransportV3()] });
  w.warn('from winston', { user: 'leo' });
  await new Promise((r) => setImmediate(r));
  const recs = take();
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.body, 'from winston');
  assert.equal(recs[0]!.severityNumber, SeverityNumber.WARN);
  assert.equal(recs[0]!.attributes.user, 'leo');
  await provider.shutdown();
});
