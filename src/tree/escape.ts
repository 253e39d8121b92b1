/**
 * Escaping for text that comes from log records (bodies, attribute values, names). Records may come
 * from untrusted child processes: one record must stay one line and must not be able to move the
 * cursor, recolour the terminal or reorder text.
 */

// C0 controls, DEL, C1 controls, line/paragraph separators, bidi marks/embeddings/overrides/
// isolates, and lone surrogates (a high one without a low one after it, a low one without a high
// one before it).
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Makes a string safe to print on a terminal as part of one line: control characters (C0, DEL,
 * C1, so also ESC of ANSI sequences and NUL), U+2028/U+2029, Unicode bidi controls and lone
 * surrogates become visible escapes (`\n`, `\x1b`, `\u202e`, `\ud800`). Printable text,
 * including non-ASCII, is kept.
 */
export function escapeText(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, escapeChar) : s;
}

const HTML: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** {@link escapeText} then HTML-escapes `& < > " '`: safe in element content and quoted attributes. */
export function escapeHtml(s: string): string {
  return escapeText(s).replace(/[&<>"']/g, (c) => HTML[c]!);
}

/**
 * Cuts a string to at most `max` UTF-16 code units plus `…` (never in the middle of a surrogate
 * pair). The result is a fresh flat string that does not keep the (possibly huge) original alive:
 * V8 would otherwise keep a substring as a slice of its parent.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max;
  const last = s.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return Buffer.from(`${s.slice(0, cut)}…`, 'utf8').toString('utf8');
}
