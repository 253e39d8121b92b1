/**
 * Generators of AnyValues of every type for the OTLP encoder, decoder and JSON-lines tests:
 * strings (empty, long, non-ASCII, lone surrogates, NUL), numbers (varint boundaries, ±2^63,
 * -0, NaN, infinities), booleans, null/undefined, bytes, arrays and maps, nested.
 */
export const STRINGS = [
  '',
  'a',
  'handled request 42',
  'x'.repeat(127),
  'y'.repeat(128),
  'z'.repeat(20_000),
  'é',
  'Grüße, 世界',
  '🙂 emoji',
  '\u2028\u2029',
  '\ud800 lone high',
  'lone low \udc00',
  'ü'.repeat(100),
  '世'.repeat(50),
  '\0nul',
];
export const NUMBERS = [
  0,
  -0,
  1,
  -1,
  127,
  128,
  16383,
  16384,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  2 ** 62,
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  1.5,
  -1.5,
  0.1,
  1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
];

export function anyValue(r: () => number, depth: number): unknown {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0:
      return pick(STRINGS);
    case 1:
      return pick(NUMBERS);
    case 2:
      return r() < 0.5;
    case 3:
      return pick([null, undefined]);
    case 4:
      return r() < 0.5 ? new Uint8Array([0, 1, 255, 128]) : Buffer.alloc(Math.floor(r() * 300), 7);
    case 5:
      return r() < 0.3 ? new Uint8Array(0) : pick(STRINGS);
    case 6:
      return Array.from({ length: Math.floor(r() * 5) }, () => anyValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) o[pick(STRINGS).slice(0, 12) + i] = anyValue(r, depth + 1);
      return o;
    }
  }
}
