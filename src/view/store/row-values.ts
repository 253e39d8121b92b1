/**
 * What the view's store writes for one record: its values in the columns of `rec` (for the
 * multi-row INSERT) and the text of its FTS5 row.
 *
 * @module
 */
import type { SQLInputValue } from 'node:sqlite';
import type { ViewRow } from './row.ts';

/** Records per multi-row INSERT statement. */
export const REC_ROWS = 64;
/** Values per record: the columns of `rec`. */
export const REC_VALUES = 16;

/**
 * Writes a record's values (the columns of `rec`, in order) into `out` from `j`.
 * @returns the next index
 */
export function recValues(
  r: ViewRow,
  id: number,
  arrived: number,
  tid: number | null,
  out: SQLInputValue[],
  j: number,
): number {
  out[j++] = id;
  out[j++] = arrived;
  out[j++] = r.t;
  out[j++] = r.sev;
  out[j++] = r.proc;
  out[j++] = r.logger ?? null;
  out[j++] = r.body;
  out[j++] = tid;
  out[j++] = r.span ?? null;
  out[j++] = r.task ?? null;
  out[j++] = r.tname ?? null;
  out[j++] = r.outcome ?? null;
  out[j++] = r.dur ?? null;
  out[j++] = r.exc ?? null;
  out[j++] = r.stack ?? null;
  out[j++] = r.attrs !== undefined ? JSON.stringify(r.attrs) : null;
  return j;
}

/**
 * Text of the FTS column: body, exception, then `key=value` per attribute. The same words for a
 * record as added and as read back from `rec` (attributes through JSON: a value JSON drops is
 * left out, one it writes as `null` is `null` here too), as the FTS5 'delete' command needs.
 */
export function ftsText(
  body: string,
  exc: string | null | undefined,
  attrs: Readonly<Record<string, unknown>> | null | undefined,
): string {
  let s = exc !== undefined && exc !== null ? `${body} ${exc}` : body;
  if (attrs !== undefined && attrs !== null) {
    for (const k in attrs) {
      const v = attrs[k];
      if (typeof v === 'string') s += ` ${k}=${v}`;
      else if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      else if (typeof v === 'number' && !Number.isFinite(v)) s += ` ${k}=null`;
      else s += ` ${k}=${v}`;
    }
  }
  return s;
}
