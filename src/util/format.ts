/**
 * printf-style formatting for the logger facade: the output of Node's `util.format` for
 * `%s %d %i %f %j %o %O %%` with the common argument types, without its general machinery.
 * Anything else (a first argument that is not a string, `%c`, objects for `%s`/`%d`/`%i`/`%f`,
 * bigints, symbols, extra arguments that are not strings) is handed to `util.format` itself, so
 * the result is always what `util.format` gives (see `test/format.test.ts`).
 *
 * @module
 */
import { inspect, format as utilFormat } from 'node:util';

const FALLBACK = Symbol('fallback');

function num(n: number): string {
  return Object.is(n, -0) ? '-0' : `${n}`;
}

/** One argument for a specifier, or FALLBACK when util.format should decide. */
function one(code: number, arg: unknown): string | typeof FALLBACK {
  const t = typeof arg;
  switch (code) {
    case 115: // %s
      if (t === 'string') return arg as string;
      if (t === 'number') return num(arg as number);
      if (t === 'boolean' || arg === undefined || arg === null) return String(arg);
      return FALLBACK;
    case 100: // %d
      if (t === 'number') return num(arg as number);
      if (t === 'string') return num(Number(arg));
      if (t === 'boolean' || arg === undefined || arg === null) return num(Number(arg));
      return FALLBACK;
    case 105: // %i
      // biome-ignore lint/correctness/useParseIntRadix: as util.format, '0x10' gives 16 (no radix)
      if (t === 'number' || t === 'string') return num(Number.parseInt(arg as string));
      return FALLBACK;
    case 102: // %f
      if (t === 'number' || t === 'string') return num(Number.parseFloat(arg as string));
      return FALLBACK;
    case 106: // %j
      try {
        return `${JSON.stringify(arg)}`;
      } catch {
        return FALLBACK;
      }
    case 111: // %o
      return inspect(arg, { showHidden: true, showProxy: true, depth: 4 });
    case 79: // %O
      return inspect(arg);
    default:
      return FALLBACK;
  }
}

/**
 * Formats like `util.format(...args)` (Node's printf-style rules: a specifier without an
 * argument stays as it is, extra arguments are appended with a space, `%%` is `%`).
 * Never throws where `util.format` does not.
 */
export function format(...args: unknown[]): string {
  const first = args[0];
  if (typeof first !== 'string') return utilFormat(...args);
  if (args.length === 1) {
    // util.format collapses '%%' even without arguments
    return first.includes('%%') ? utilFormat(first) : first;
  }
  let out = '';
  let last = 0;
  let a = 1;
  const n = first.length;
  for (let i = 0; i < n - 1; i++) {
    if (first.charCodeAt(i) !== 37) continue;
    const code = first.charCodeAt(i + 1);
    if (code === 37) {
      out += first.slice(last, i + 1);
      last = i + 2;
      i++;
      continue;
    }
    if (a >= args.length) {
      if (code === 99) return utilFormat(...args); // %c
      continue;
    }
    const s = one(code, args[a]);
    if (s === FALLBACK) {
      // unknown letters stay as they are in util.format too, but let it decide
      return utilFormat(...args);
    }
    out += first.slice(last, i) + s;
    last = i + 2;
    a++;
    i++;
  }
  out += first.slice(last);
  for (; a < args.length; a++) {
    const extra = args[a];
    if (typeof extra !== 'string') return utilFormat(...args);
    out += ` ${extra}`;
  }
  return out;
}
