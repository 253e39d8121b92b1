import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, SeverityNumber } from '@opentelemetry/api';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordProcessor,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { SeverityFilterProcessor } from '../src/pipeline/severity-filter.ts';

function setup(minSeverity: string | number, dropUnspecified?: boolean) {
  const all = new InMemoryLogRecordExporter();
  const errors = new InMemoryLogRecordExporter();
  const filter = new SeverityFilterProcessor(new SimpleLogRecordProcessor({ exporter: errors }), {
    minimumSeverity: minSeverity,
    dropUnspecified,
  });
  const provider = new LoggerProvider({
    processors: [new SimpleLogRecordProcessor({ exporter: all }), filter],
  });
  return { all, errors, filter, provider, logger: provider.getLogger('t') };
}

function bodies(exporter: InMemoryLogRecordExporter): unknown[] {
  return exporter.getFinishedLogRecords().map((r) => r.body);
}

describe('SeverityFilterProcessor', () => {
  it('everything to one processor, only errors and above to the other', async () => {
    const { all, errors, provider, logger } = setup('error');
    logger.emit({ body: 'debug', severityNumber: SeverityNumber.DEBUG });
    logger.emit({ body: 'warn4', severityNumber: SeverityNumber.WARN4 });
    logger.emit({ body: 'error', severityNumber: SeverityNumber.ERROR });
    logger.emit({ body: 'fatal', severityNumber: SeverityNumber.FATAL });
    logger.emit({ body: 'unspecified' });
    await provider.forceFlush();
    assert.deepEqual(bodies(all), ['debug', 'warn4', 'error', 'fatal', 'unspecified']);
    assert.deepEqual(bodies(errors), ['error', 'fatal', 'unspecified']);
    await provider.shutdown();
  });

  it('accepts numbers and names in any case; dropUnspecified drops records without severity', async () => {
    const { errors, provider, logger, filter } = setup('WARN', true);
    assert.equal(filter.minimumSeverity, SeverityNumber.WARN);
    logger.emit({ body: 'info', severityNumber: SeverityNumber.INFO });
    logger.emit({ body: 'warn', severityNumber: SeverityNumber.WARN });
    logger.emit({ body: 'unspecified' });
    await provider.forceFlush();
    assert.deepEqual(bodies(errors), ['warn']);
    assert.equal(new SeverityFilterProcessor(filter, { minimumSeverity: 18 }).minimumSeverity, 18);
    assert.equal(
      new SeverityFilterProcessor(filter, { minimumSeverity: '18' }).minimumSeverity,
      18,
    );
    await provider.shutdown();
  });

  it("'off' forwards nothing and enabled() answers for the minimum", async () => {
    const { errors, provider, logger, filter } = setup('off');
    logger.emit({ body: 'fatal', severityNumber: SeverityNumber.FATAL });
    logger.emit({ body: 'unspecified' });
    await provider.forceFlush();
    assert.deepEqual(bodies(errors), []);
    const opts = { context: context.active(), instrumentationScope: { name: 't' } };
    assert.equal(filter.enabled({ ...opts, severityNumber: SeverityNumber.FATAL }), false);
    const info = new SeverityFilterProcessor(filter, { minimumSeverity: 'info' });
    assert.equal(info.enabled({ ...opts, severityNumber: SeverityNumber.DEBUG }), false);
    // above the minimum it asks the next processor ('off' says no)
    assert.equal(info.enabled({ ...opts, severityNumber: SeverityNumber.ERROR }), false);
    // the deprecated name still works (a diag warning says to use minimumSeverity)
    const plain = new SeverityFilterProcessor(new SimpleLogRecordProcessor({ exporter: errors }), {
      minSeverity: 'info',
    });
    assert.equal(plain.minimumSeverity, SeverityNumber.INFO);
    assert.equal(plain.enabled({ ...opts, severityNumber: SeverityNumber.ERROR }), true);
    assert.equal(plain.enabled(opts), true);
    await provider.shutdown();
  });

  it('throws a clear error on an unknown level', () => {
    const next = new SimpleLogRecordProcessor({ exporter: new InMemoryLogRecordExporter() });
    assert.throws(
      () => new SeverityFilterProcessor(next, { minimumSeverity: 'loud' }),
      /unknown minimumSeverity "loud"/,
    );
    assert.throws(
      () => new SeverityFilterProcessor(next, { minimumSeverity: 25 }),
      /unknown minimumSeverity 25/,
    );
  });

  it('a throwing next processor never breaks emit', async () => {
    const throwing: LogRecordProcessor = {
      onEmit() {
        throw new Error('boom');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const filter = new SeverityFilterProcessor(throwing, { minSeverity: 'trace' });
    const provider = new LoggerProvider({ processors: [filter] });
    provider.getLogger('x').emit({ body: 'x', severityNumber: SeverityNumber.ERROR });
    await provider.shutdown();
  });
});
