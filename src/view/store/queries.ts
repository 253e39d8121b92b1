/**
 * The questions the `starlog view` page asks, answered with SQL over a {@link ViewStore}'s
 * database (paging, filtering and search in SQL; at most `limit` rows leave the store).
 *
 * @module
 */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { STATUS_LOGGER } from './row.ts';
import { compileSearch, type SearchFilters } from './search.ts';

/** A record as the page gets it. */
export interface RecordOut {
  id: number;
  t: number;
  sev: number;
  proc: number;
  logger: string | null;
  body: string;
  trace: string | null;
  span: string | null;
  task: string | null;
  tname: string | null;
  outcome: string | null;
  dur: number | null;
  exc: string | null;
  stack: string | null;
  /** attributes as JSON text (the page parses it on demand) */
  attrs: string | null;
}

/** A process row. */
export interface ProcessOut {
  id: number;
  pid: string | null;
  service: string | null;
  host: string | null;
  records: number;
  errors: number;
  /** dropped records the process reported (status gauge `DROPPED`/`CHILD-DROPPED`, latest) */
  drops: number;
  /** time of its newest record, ms */
  last: number | null;
}

/** A trace row (a request, when its root is a task). */
export interface TraceOut {
  trace: string;
  first: number;
  last: number;
  n: number;
  errors: number;
  /** the root task's name */
  root: string | null;
  outcome: string | null;
  /** the root task's duration, else last − first, ms */
  dur: number;
  /** the first ERROR/FATAL record's exception or body */
  err: string | null;
  failed: number;
  /** process keys the trace crossed */
  procs: number[];
}

/** The status chart: times (s) and one series per severity / custom counter. */
export interface StatusOut {
  /** `derived` when no status records exist and counts come from the records themselves */
  source: 'status' | 'derived';
  times: number[];
  series: { name: string; values: number[] }[];
}

const REC_COLUMNS =
  'r.id, r.t, r.sev, r.proc, r.logger, r.body, tr.trace, r.span, r.task, r.tname, r.outcome, r.dur, r.exc, r.stack, r.attrs';
/** records with their trace id (records refer to traces by number) */
const REC_FROM = 'rec r LEFT JOIN trace tr ON tr.tid = r.tid';

function clampLimit(limit: number | undefined, max: number, dflt: number): number {
  if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return dflt;
  return Math.min(Math.floor(limit), max);
}

/** The page's questions over one database. */
export class ViewQueries {
  private readonly db: DatabaseSync;
  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** The processes, by key. */
  processes(): ProcessOut[] {
    const rows = this.db
      .prepare('SELECT id, pid, service, host, records, errors, last FROM proc ORDER BY id')
      .all() as unknown as Omit<ProcessOut, 'drops'>[];
    const drops = new Map<number, number>();
    const status = this.db
      .prepare(
        `SELECT proc, attrs FROM rec r WHERE logger = '${STATUS_LOGGER}' AND id IN
          (SELECT max(id) FROM rec WHERE logger = '${STATUS_LOGGER}' GROUP BY proc)`,
      )
      .all() as { proc: number; attrs: string | null }[];
    for (const s of status) {
      const a = s.attrs ? (JSON.parse(s.attrs) as Record<string, unknown>) : {};
      const n =
        Number(a['status.gauge.DROPPED'] ?? 0) + Number(a['status.gauge.CHILD-DROPPED'] ?? 0);
      drops.set(s.proc, Number.isFinite(n) ? n : 0);
    }
    return rows.map((r) => ({ ...r, drops: drops.get(r.id) ?? 0 }));
  }

  /**
   * Traces, failed first (then newest first). With a query or filters: only traces that have a
   * matching record.
   */
  traces(o: SearchFilters & { offset?: number; limit?: number } = {}): TraceOut[] {
    const limit = clampLimit(o.limit, 500, 50);
    const offset = Math.max(0, Math.floor(o.offset ?? 0)) || 0;
    let where = '';
    const params: SQLInputValue[] = [];
    if (o.q || o.sev || o.proc !== undefined || o.logger || o.from || o.to) {
      const ids = this.search({ ...o, limit: 1000 });
      const traces = [...new Set(ids.map((r) => r.trace).filter((t): t is string => t !== null))];
      if (traces.length === 0) return [];
      where = `WHERE trace IN (${traces.map(() => '?').join(',')})`;
      params.push(...traces);
    }
    const rows = this.db
      .prepare(
        `SELECT t.*, (SELECT group_concat(proc) FROM trace_proc p WHERE p.tid = t.tid) AS procs
         FROM trace t ${where} ORDER BY failed DESC, last DESC LIMIT ? OFFSET ?`,
      )
      .all(...params, limit, offset) as unknown as (Omit<TraceOut, 'procs'> & {
      procs: string | null;
      last_id: number;
    })[];
    return rows.map((r) => ({
      trace: r.trace,
      first: r.first,
      last: r.last,
      n: r.n,
      errors: r.errors,
      root: r.root,
      outcome: r.outcome,
      dur: r.dur ?? r.last - r.first,
      err: r.err,
      failed: r.failed,
      procs: r.procs ? r.procs.split(',').map(Number) : [],
    }));
  }

  /** Counts of traces: all and failed. */
  traceCounts(): { traces: number; failed: number } {
    const r = this.db
      .prepare('SELECT count(*) AS traces, coalesce(sum(failed), 0) AS failed FROM trace')
      .get() as { traces: number; failed: number };
    return { traces: Number(r.traces), failed: Number(r.failed) };
  }

  /**
   * Records matching a query and filters, newest first; `before` (a record id) pages backwards.
   * A query FTS5 cannot parse matches nothing (no exception).
   */
  search(o: SearchFilters & { before?: number; limit?: number } = {}): RecordOut[] {
    const limit = clampLimit(o.limit, 1000, 100);
    const c = compileSearch(o);
    const where = [...c.where];
    const params: SQLInputValue[] = [...c.params];
    if (o.before !== undefined && Number.isFinite(o.before)) {
      where.push('r.id < ?');
      params.push(o.before);
    }
    const cond = where.length > 0 ? where.join(' AND ') : '1';
    try {
      if (c.match !== undefined) {
        return this.db
          .prepare(
            `SELECT ${REC_COLUMNS} FROM fts JOIN rec r ON r.id = fts.rowid LEFT JOIN trace tr ON tr.tid = r.tid
             WHERE fts MATCH ? AND ${cond} ORDER BY fts.rowid DESC LIMIT ?`,
          )
          .all(c.match, ...params, limit) as unknown as RecordOut[];
      }
      return this.db
        .prepare(
          `SELECT ${REC_COLUMNS} FROM ${REC_FROM} WHERE ${cond} ORDER BY ${c.orderId} DESC LIMIT ?`,
        )
        .all(...params, limit) as unknown as RecordOut[];
    } catch {
      return [];
    }
  }

  /** Records with id > `after`, oldest first, with the same filters as {@link search}. */
  tail(o: SearchFilters & { after?: number; limit?: number } = {}): RecordOut[] {
    const limit = clampLimit(o.limit, 2000, 500);
    const c = compileSearch(o);
    const after = Number.isFinite(o.after) ? (o.after as number) : 0;
    const where = ['r.id > ?', ...c.where];
    const params: SQLInputValue[] = [after, ...c.params];
    try {
      if (c.match !== undefined) {
        return this.db
          .prepare(
            `SELECT ${REC_COLUMNS} FROM fts JOIN rec r ON r.id = fts.rowid LEFT JOIN trace tr ON tr.tid = r.tid
             WHERE fts MATCH ? AND ${where.join(' AND ')} ORDER BY fts.rowid LIMIT ?`,
          )
          .all(c.match, ...params, limit) as unknown as RecordOut[];
      }
      return this.db
        .prepare(
          `SELECT ${REC_COLUMNS} FROM ${REC_FROM} WHERE ${where.join(' AND ')} ORDER BY ${c.orderId} LIMIT ?`,
        )
        .all(...params, limit) as unknown as RecordOut[];
    } catch {
      return [];
    }
  }

  /** The newest record id (0 when empty). */
  lastId(): number {
    const r = this.db.prepare('SELECT max(id) AS id FROM rec').get() as { id: number | null };
    return r.id ?? 0;
  }

  /** Every record of one trace, by time (at most `limit`, default 20,000). */
  trace(traceId: string, limit = 20_000): RecordOut[] {
    return this.db
      .prepare(
        `SELECT ${REC_COLUMNS} FROM ${REC_FROM}
         WHERE r.tid = (SELECT tid FROM trace WHERE trace = ?) ORDER BY r.t, r.id LIMIT ?`,
      )
      .all(traceId.toLowerCase(), limit) as unknown as RecordOut[];
  }

  /**
   * Status over time: from status records (severity counts `status.INFO`…, custom counters
   * `status.count.*`), summed over processes per second; when there are none, record counts per
   * severity per time bucket (about 120 buckets).
   */
  status(o: { from?: number; to?: number } = {}): StatusOut {
    const from = o.from ?? 0;
    const to = o.to ?? Number.MAX_SAFE_INTEGER;
    const rows = this.db
      .prepare(
        `SELECT t, attrs FROM rec WHERE logger = '${STATUS_LOGGER}' AND t >= ? AND t <= ?
         ORDER BY t DESC LIMIT 5000`,
      )
      .all(from, to) as { t: number; attrs: string | null }[];
    if (rows.length > 0) return statusSeries(rows.reverse());
    return this.derivedStatus(from, to);
  }

  private derivedStatus(from: number, to: number): StatusOut {
    const range = this.db
      .prepare('SELECT min(t) AS lo, max(t) AS hi FROM rec WHERE t > 0 AND t >= ? AND t <= ?')
      .get(from, to) as { lo: number | null; hi: number | null };
    if (range.lo === null || range.hi === null) return { source: 'derived', times: [], series: [] };
    const bucket = Math.max(1000, Math.ceil((range.hi - range.lo) / 120 / 1000) * 1000);
    const rows = this.db
      .prepare(
        `SELECT CAST(t / ? AS INTEGER) AS b, (sev + 3) / 4 AS s, count(*) AS n FROM rec
         WHERE t > 0 AND t >= ? AND t <= ? GROUP BY b, s ORDER BY b`,
      )
      .all(bucket, from, to) as { b: number; s: number; n: number }[];
    const names = ['UNSPECIFIED', 'TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
    const times: number[] = [];
    const index = new Map<number, number>();
    const values = new Map<string, number[]>();
    for (const r of rows) {
      let i = index.get(r.b);
      if (i === undefined) {
        i = times.length;
        index.set(r.b, i);
        times.push((r.b * bucket) / 1000);
        for (const v of values.values()) v.push(0);
      }
      const name = names[r.s] ?? 'UNSPECIFIED';
      let v = values.get(name);
      if (v === undefined) {
        v = new Array(times.length).fill(0);
        values.set(name, v);
      }
      v[i]! += Number(r.n);
    }
    return {
      source: 'derived',
      times,
      series: [...values].map(([name, v]) => ({ name, values: v })),
    };
  }
}

const SEVERITY_SERIES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

function statusSeries(rows: { t: number; attrs: string | null }[]): StatusOut {
  const times: number[] = [];
  const index = new Map<number, number>();
  const values = new Map<string, number[]>();
  const add = (name: string, i: number, n: number) => {
    let v = values.get(name);
    if (v === undefined) {
      v = new Array(times.length).fill(0);
      values.set(name, v);
    }
    v[i]! += n;
  };
  for (const r of rows) {
    const sec = Math.round(r.t / 1000);
    let i = index.get(sec);
    if (i === undefined) {
      i = times.length;
      index.set(sec, i);
      times.push(sec);
      for (const v of values.values()) v.push(0);
    }
    const a = r.attrs ? (JSON.parse(r.attrs) as Record<string, unknown>) : {};
    for (const name of SEVERITY_SERIES) {
      const n = Number(a[`status.${name}`]);
      if (Number.isFinite(n)) add(name, i, n);
    }
    for (const k in a) {
      if (!k.startsWith('status.count.')) continue;
      const n = Number(a[k]);
      if (Number.isFinite(n)) add(k.slice('status.'.length), i, n);
    }
  }
  return { source: 'status', times, series: [...values].map(([name, v]) => ({ name, values: v })) };
}
