/**
 * `setLevels()` / `getLevels()` (issue 11 item 9) and the control clients are exported from the
 * package entry as the README documents, and work against a real receiver.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import * as starlog from '../src/index.ts';

test('setLevels and getLevels from the package entry change and read a primary table', async () => {
  assert.equal(typeof starlog.setLevels, 'function');
  assert.equal(typeof starlog.getLevels, 'function');
  assert.equal(typeof starlog.requestReload, 'function');
  assert.equal(typeof starlog.requestFileReopen, 'function');
  const levels = new starlog.LevelTable('info');
  const receiver = await starlog.startReceiver({
    processor: new SimpleLogRecordProcessor({
      exporter: {
        export: (_r, cb) => cb({ code: 0 }),
        forceFlush: async () => {},
        shutdown: async () => {},
      },
    }),
    levels,
  });
  try {
    const where = { endpoint: receiver.endpoint, token: receiver.env.STARLOG_TOKEN as string };
    assert.equal((await starlog.getLevels(where)).spec, 'info');
    const after = await starlog.setLevels({ ...where, spec: 'app.db=debug' });
    assert.equal(after.spec, 'info,app.db=debug');
    assert.equal(levels.toString(), 'info,app.db=debug');
    await assert.rejects(
      starlog.setLevels({ ...where, spec: 'app.db=loud' }),
      starlog.LevelControlError,
    );
  } finally {
    await receiver.close();
  }
});
