import type { AnyValue } from '@opentelemetry/api';

const utf8Length: (text: string) => number = Buffer.byteLength;
const MAX_BODY_DEPTH = 8;

/**
 * Body size counted for a log record, in bytes: a string body counts its UTF-8 length. Other
 * bodies are estimated without serializing: strings (also map keys) count their UTF-8 length,
 * numbers 8, booleans 1, byte arrays their length, arrays and maps the sum of their contents;
 * levels nested deeper than 8 count 0. For a map of strings this is close to its JSON length
 * minus the quotes, colons, commas and braces.
 */
export function estimateBodyBytes(body: AnyValue, depth = 0): number {
  switch (typeof body) {
    case 'string':
      return utf8Length(body);
    case 'number':
      return 8;
    case 'boolean':
      return 1;
    case 'object': {
      if (body === null || depth >= MAX_BODY_DEPTH) return 0;
      if (body instanceof Uint8Array) return body.byteLength;
      let bytes = 0;
      if (Array.isArray(body)) {
        for (let i = 0; i < body.length; i++) bytes += estimateBodyBytes(body[i], depth + 1);
        return bytes;
      }
      const map = body as Record<string, AnyValue>;
      for (const key in map) {
        if (!Object.hasOwn(map, key)) continue;
        bytes += utf8Length(key) + estimateBodyBytes(map[key], depth + 1);
      }
      return bytes;
    }
    default:
      return 0;
  }
}
