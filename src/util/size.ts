/**
 * Sizes in starlog configuration: a number of bytes, or a string with a unit: `B`; decimal
 * `kB`/`KB`, `MB`, `GB` (powers of 1000); binary `KiB`, `MiB`, `GiB` (powers of 1024), as in
 * IEC 80000-13. Units are case-insensitive apart from the `i`; fractions are allowed
 * (`'1.5GiB'`); the result is rounded down to whole bytes.
 */
export type Size = number | string;

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*$/;

/**
 * Parses a {@link Size} into bytes.
 * @returns a positive safe integer number of bytes, or `undefined` when `value` is not a size
 *   (wrong type, unknown unit, zero, negative, fractional byte count, beyond 2^53)
 */
export function parseSize(value: unknown): number | undefined {
  let bytes: number | undefined;
  if (typeof value === 'number') {
    bytes = value;
  } else if (typeof value === 'string') {
    const m = PATTERN.exec(value);
    if (m) {
      const unit = m[2] === undefined ? 1 : UNIT_BYTES[m[2].toLowerCase()];
      if (unit !== undefined) bytes = Math.floor(Number(m[1]) * unit);
    }
  }
  if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes <= 0) return undefined;
  return bytes;
}
