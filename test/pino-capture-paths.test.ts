/**
 * The three ways a pino record reaches starlog (src/instrumentations/pino.ts, pino-fast.ts), in
 * process with a real pino and the real pipeline writing its JSON-lines file:
 * - a destination that still gets the line: the record from pino's metadata (fast path) when
 *   the line would parse back to the same values, else from the parsed line (JSON path);
 * - a stdout destination (dropped under starlog): captured before pino formats the line.
 * Each must give the record the JSON path gives: scope, severity, body, attributes, task.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { task } from '../src/index.ts';
import { fileLogging } from './support/file-logging.ts';

const { records } = fileLogging('pino-paths');

test('fast path, JSON path and capture before formatting give the same records', async () => {
  const { default: pino } = await import('pino');
  const kept: string[] = [];
  const keep = { write: (s: string) => kept.push(s) };
  // looks like stdout to the capture (fd 1): its lines are not written while starlog is set up
  const stdoutLike = { fd: 1, write: (s: string) => kept.push(`stdout:${s}`) };
  const fast = pino({ name: 'paths.fast' }, keep);
  const serialized = pino({ name: 'paths.json', serializers: { a: (v: number) => v * 10 } }, keep);
  const dropped = pino({ name: 'paths.stdout' }, stdoutLike);

  const values = { a: 1, b: 'x "quoted"', c: true, n: Number.POSITIVE_INFINITY, u: undefined };
  fast.info(values, 'fast %s', 'one');
  serialized.warn(values, 'json');
  dropped.info(values, 'stdout');
  fast.child({ module: 'db', reqId: 7 }).error({ rows: 3 }, 'child');
  dropped.info({ err: new Error('boom') }, 'with error');
  task('paths task', () => {
    dropped.info({ k: 'v' }, 'in task');
  });

  const recs = (await records()).filter((r) => r.scope.startsWith('paths'));
  const by = (body: string) => {
    const r = recs.find((x) => x.body === body);
    assert.ok(r, `a record with body ${JSON.stringify(body)} in ${JSON.stringify(recs)}`);
    return r;
  };
  const same = { a: 1, b: 'x "quoted"', c: true };
  assert.deepEqual(by('fast one').attributes, same);
  assert.equal(by('fast one').scope, 'paths.fast');
  assert.equal(by('fast one').severityText, 'info');
  assert.deepEqual(by('json').attributes, { ...same, a: 10 }, 'the serializer applied');
  assert.equal(by('json').severityText, 'warn');
  assert.deepEqual(by('stdout').attributes, same);
  assert.equal(by('child').scope, 'paths.fast.db');
  assert.deepEqual(by('child').attributes, { reqId: 7, rows: 3 });
  assert.equal(by('child').severityText, 'error');
  const withError = by('with error').attributes;
  assert.equal(withError['exception.type'], 'Error');
  assert.equal(withError['exception.message'], 'boom');
  const inTask = by('in task');
  assert.equal(inTask.attributes.k, 'v');
  assert.match(String(inTask.attributes['task.id']), /^\d+@[0-9a-f]{8}$/);
  assert.match(inTask.traceId, /^[0-9a-f]{32}$/);
  // the kept destination got its lines, the stdout-like one none
  assert.equal(kept.filter((s) => s.startsWith('stdout:')).length, 0, kept.join(''));
  assert.equal(kept.length, 3, kept.join(''));
});
