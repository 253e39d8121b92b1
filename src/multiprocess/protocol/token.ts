import { randomBytes, timingSafeEqual } from 'node:crypto';
import { TOKEN_METADATA_KEY } from '../../semconv.ts';

/** The gRPC metadata key that carries the receiver token (lower case, as gRPC metadata keys are). */
export { TOKEN_METADATA_KEY };

/**
 * Makes a fresh random token: `bytes` random bytes from `crypto.randomBytes`, as lower-case hex.
 *
 * @param bytes - number of random bytes, at least 16 (128 bits); default 16
 * @throws TypeError when `bytes` is not an integer >= 16
 */
export function generateToken(bytes = 16): string {
  if (!Number.isInteger(bytes) || bytes < 16) {
    throw new TypeError(
      `starlog: token bytes must be an integer >= 16 (128 bits); got ${JSON.stringify(bytes)}`,
    );
  }
  return randomBytes(bytes).toString('hex');
}

/**
 * Checks a token given by a client against the expected one in constant time
 * (`crypto.timingSafeEqual` on equal-length buffers; a length mismatch is compared against the
 * expected token itself, so the time does not depend on where the strings differ).
 *
 * @param expected - the expected token as UTF-8 bytes
 * @param presented - what the client sent (`undefined` when it sent nothing)
 * @returns true when both are equal; never throws
 */
export function tokenMatches(expected: Buffer, presented: string | Buffer | undefined): boolean {
  if (presented === undefined) return false;
  const given = typeof presented === 'string' ? Buffer.from(presented, 'utf8') : presented;
  if (given.length !== expected.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(given, expected);
}
