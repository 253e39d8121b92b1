/**
 * The search language of `starlog view`, compiled to SQL over the store's `rec` table (alias `r`)
 * and its FTS5 index `fts`. Terms are separated by spaces and all must hold:
 *
 * - `key=value`, `key!=value`: an attribute equals (is not) the value (as text); `task.name`,
 *   `logger`, `body` work too
 * - `key>N`, `key>=N`, `key<N`, `key<=N`: a numeric attribute compared with N
 * - `trace:abc123`: the trace id starts with this hex prefix; a bare hex word of 8+ characters
 *   that is not found as text is not special: use `trace:` to be sure
 * - anything else: free text, each word matched as a word prefix in bodies and exception messages
 *   (FTS5; the words of `"two words"` must all occur)
 *
 * Filters from the page (severity, process, logger, time range) are ANDed.
 *
 * @module
 */

/** Filters the page sends along with a query. */
export interface SearchFilters {
  /** free text and `key=value` terms (see the module doc) */
  q?: string;
  /** minimum severity number */
  sev?: number;
  /** process key */
  proc?: number;
  /** instrumentation scope name (exact) */
  logger?: string;
  /** time range, ms since the epoch (inclusive) */
  from?: number;
  to?: number;
}

/** A compiled query: FTS5 MATCH expression (if any) and SQL conditions with their parameters. */
export interface CompiledSearch {
  match: string | undefined;
  where: string[];
  params: (string | number)[];
  /** the ORDER BY term for record ids */
  orderId: string;
}

const COMPARE = /^([A-Za-z_][\w.\-/]*)(!=|>=|<=|=|>|<)(.*)$/;
const COLUMN: Readonly<Record<string, string>> = {
  'task.name': 'r.tname',
  'task.id': 'r.task',
  'task.outcome': 'r.outcome',
  logger: 'r.logger',
  body: 'r.body',
};

/** Quotes a string as an FTS5 string (a phrase of its tokens). */
function ftsString(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * FTS5 query for `key=value`: the token `key=<first word of value>` and the value's other words
 * (the index keeps no positions, so the exact value is checked in SQL). `value` '' gives the
 * prefix query `"key="*` (any value).
 */
function attrTokens(key: string, value: string): string {
  if (value === '') return `${ftsString(`${key}=`)}*`;
  const words = value.split(/[^\p{L}\p{N}=._]+/u);
  const parts = [ftsString(`${key}=${words[0] ?? ''}`)];
  for (const w of words.slice(1)) if (w !== '') parts.push(ftsString(w));
  return parts.join(' AND ');
}

/** Splits on spaces, keeping `"quoted phrases"` (and `key="quoted value"`) together. */
export function tokenize(q: string): string[] {
  const out: string[] = [];
  const re = /(?:[^\s"]+="[^"]*"?)|"[^"]*"?|[^\s]+/g;
  for (const m of q.matchAll(re)) out.push(m[0]);
  return out;
}

function unquote(s: string): string {
  return s.startsWith('"') ? s.replace(/^"|"$/g, '') : s;
}

/** Compiles the query and filters. Never throws: an unusable term becomes free text. */
export function compileSearch(f: SearchFilters): CompiledSearch {
  const match: string[] = [];
  const where: string[] = [];
  const params: (string | number)[] = [];
  let byTrace = false;
  for (const term of tokenize(f.q ?? '')) {
    const trace = /^trace:([0-9a-fA-F]{1,32})$/.exec(term);
    if (trace) {
      const prefix = trace[1]!.toLowerCase();
      where.push('r.tid IN (SELECT tid FROM trace WHERE trace >= ? AND trace < ?)');
      byTrace = true;
      params.push(prefix, `${prefix}~`);
      continue;
    }
    const m = COMPARE.exec(term);
    if (m && m[3] !== '') {
      const key = m[1]!;
      const op = m[2]!;
      const value = unquote(m[3]!);
      const column = COLUMN[key];
      const expr = column ?? `json_extract(r.attrs, ?)`;
      const keyParams = column === undefined ? [`$."${key.replace(/"/g, '')}"`] : [];
      if (op === '=' || op === '!=') {
        where.push(`CAST(${expr} AS TEXT) ${op === '=' ? 'IS' : 'IS NOT'} ?`);
        params.push(...keyParams, value);
        // the index narrows equality to records with a `key=value…` token (checked exactly above)
        if (op === '=' && column === undefined) match.push(attrTokens(key, value));
      } else {
        const n = Number(value);
        if (!Number.isFinite(n)) {
          match.push(ftsString(term));
          continue;
        }
        where.push(`CAST(${expr} AS REAL) ${op} ?`);
        params.push(...keyParams, n);
        if (column === undefined) match.push(attrTokens(key, ''));
      }
      continue;
    }
    // words (of a "phrase" too) as prefixes: the index keeps no positions (detail=none)
    for (const word of unquote(term).split(/[^\p{L}\p{N}=._]+/u)) {
      if (word !== '') match.push(`${ftsString(word)}*`);
    }
  }
  if (f.sev !== undefined && Number.isFinite(f.sev) && f.sev > 0) {
    where.push('r.sev >= ?');
    params.push(f.sev);
  }
  if (f.proc !== undefined && Number.isFinite(f.proc)) {
    where.push('r.proc = ?');
    params.push(f.proc);
  }
  if (f.logger) {
    where.push('r.logger = ?');
    params.push(f.logger);
  }
  if (f.from !== undefined && Number.isFinite(f.from)) {
    where.push('r.t >= ?');
    params.push(f.from);
  }
  if (f.to !== undefined && Number.isFinite(f.to)) {
    where.push('r.t <= ?');
    params.push(f.to);
  }
  return {
    match: match.length > 0 ? match.join(' AND ') : undefined,
    where,
    params,
    // with a trace prefix the trace index finds the records; ordering by `+r.id` (not an index
    // term) keeps the planner from scanning every record in id order instead
    orderId: byTrace ? '+r.id' : 'r.id',
  };
}
