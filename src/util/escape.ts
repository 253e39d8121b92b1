/**
 * Log-injection safety for human-readable output.
 *
 * Records may come from untrusted child processes, so text that reaches a terminal must never
 * contain a line break (one record = one line, no forged records) nor a control sequence (ANSI
 * escapes that recolour the terminal, move the cursor, set the window title, …).
 *
 * Escaped code points:
 * - C0 controls U+0000–U+001F: `\n`, `\r`, `\t`, `\b`, `\f`, `\v`, `\0` by name, others as `\xHH`
 *   (ESC → `\x1b`), so `"\x1b[31mred\nFAKE"` prints as the 17 characters `\x1b[31mred\nFAKE`;
 * - DEL U+007F and the C1 controls U+0080–U+009F (`\x9b` is a one-byte CSI on some terminals,
 *   U+0085 is NEL, a line break): `\xHH`;
 * - the Unicode line and paragraph separators U+2028/U+2029 and the bidirectional overrides and
 *   isolates U+202A–U+202E, U+2066–U+2069 (they reorder what the reader sees): `\uHHHH`.
 *
 * Everything else, including backslashes in plain text, is left alone. In quoted mode
 * ({@link quoteString}) `"` and `\` are escaped as well, so the result reads as a JSON string.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_G = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_QUOTED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\]/;
const UNSAFE_QUOTED_G = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\]/g;

const NAMED: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
  '\0': '\\0',
  '"': '\\"',
  '\\': '\\\\',
};

function replaceOne(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Makes `text` safe to print on one terminal line: control characters, ANSI escape sequences,
 * CR/LF, Unicode line separators and bidi overrides become visible escapes (see the module
 * comment). Returns `text` itself when nothing needs escaping (the common case costs one regex
 * test). Never throws.
 */
export function escapeControl(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_G, replaceOne);
}

/**
 * `text` escaped like {@link escapeControl} and additionally with `"` → `\"` and `\` → `\\`,
 * wrapped in double quotes: a JSON-like string literal that is safe on a terminal line.
 */
export function quoteString(text: string): string {
  if (!UNSAFE_QUOTED.test(text)) return `"${text}"`;
  return `"${text.replace(UNSAFE_QUOTED_G, replaceOne)}"`;
}
