/**
 * The process clock of src/util/clock.ts: microsecond resolution, never backwards, and the time of
 * records captured from pino/bunyan/winston in the call that wrote them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capturedTime, monotonicHrTime } from '../src/util/clock.ts';

const nanosOf = (t: readonly [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

test('monotonicHrTime: never backwards, finer than a millisecond, close to Date.now()', () => {
  let previous = nanosOf(monotonicHrTime());
  let subMillisecond = false;
  for (let i = 0; i < 100_000; i++) {
    const now = nanosOf(monotonicHrTime());
    assert.ok(now >= previous, `call ${i} went backwards: ${now} < ${previous}`);
    if (now % 1_000_000n !== 0n) subMillisecond = true;
    previous = now;
  }
  assert.ok(subMillisecond, 'every timestamp was a whole millisecond');
  const drift = Number(nanosOf(monotonicHrTime()) / 1_000_000n) - Date.now();
  assert.ok(Math.abs(drift) < 1000, `the clock is ${drift} ms away from Date.now()`);
});

test('capturedTime: a logger time of now becomes the fine clock; another time is kept', () => {
  const fine = capturedTime(Date.now());
  assert.ok(Array.isArray(fine), 'a record written now gets an HrTime');
  const before = nanosOf(monotonicHrTime());
  const next = capturedTime(undefined);
  assert.ok(Array.isArray(next) && nanosOf(next) >= before, 'in order with starlog’s own records');
  assert.equal(
    capturedTime(1_700_000_000_000),
    1_700_000_000_000,
    'an old time is kept as written',
  );
});
