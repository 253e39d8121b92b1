/** The facade's printf formatter gives exactly what `util.format` gives. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { format as utilFormat } from 'node:util';
import { format } from '../src/util/format.ts';

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;

const ARGS: unknown[] = [
  'str',
  '',
  'ü 世 🙂',
  '42',
  '-0',
  '1.5e3',
  ' 7 ',
  'abc',
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53,
  1e21,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  null,
  undefined,
  { a: 1, b: [1, 2] },
  [1, 'x'],
  circular,
  new Error('boom'),
  new Date(0),
  5n,
  Symbol('s'),
  () => 1,
  new Map([[1, 2]]),
  Object.create(null),
  { toString: () => 'custom' },
  Buffer.from('hi'),
];
const FORMATS = [
  'plain',
  '%s',
  '%d',
  '%i',
  '%f',
  '%j',
  '%o',
  '%O',
  '%%',
  '%c',
  '%x',
  '100%',
  '%',
  'handled request %d',
  '%s=%s',
  'a %s b %d c %i d %f e %j f %o g %O h %% i',
  '%%s %s %%%s',
  '%s%s%s',
  'trailing %',
  'ü %s 世',
];

/** The result or the error's message (util.format throws for %d of a null-prototype object). */
function outcome(f: (...a: unknown[]) => string, args: unknown[]): string {
  try {
    return f(...args);
  } catch (err) {
    return `threw ${(err as Error).message}`;
  }
}

describe('format (the facade printf)', () => {
  test('same output as util.format for every specifier and argument type', () => {
    let n = 0;
    for (const f of FORMATS) {
      assert.equal(format(f), utilFormat(f), JSON.stringify(f));
      for (const a of ARGS) {
        assert.equal(
          outcome(format, [f, a]),
          outcome(utilFormat, [f, a]),
          `${JSON.stringify(f)} with ${String(typeof a)}`,
        );
        n++;
        for (const b of ARGS.slice(0, 22)) {
          assert.equal(
            outcome(format, [f, a, b]),
            outcome(utilFormat, [f, a, b]),
            `${JSON.stringify(f)} with 2 args`,
          );
          assert.equal(
            outcome(format, [f, b, a, 'extra']),
            outcome(utilFormat, [f, b, a, 'extra']),
          );
          n += 2;
        }
      }
    }
    for (const a of ARGS) assert.equal(format(a, 'x'), utilFormat(a, 'x'));
    assert.ok(n > 10_000);
  });
});
