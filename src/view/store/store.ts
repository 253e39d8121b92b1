/**
 * The view's record store: an SQLite database through Node's built-in `node:sqlite` (no native
 * addon), with an FTS5 index over bodies and attributes. Writes come in batches (one transaction
 * each); the page's questions are answered by `queries.ts` with SQL (paging and filtering happen
 * here, never in the browser).
 *
 * Tables: `proc` (one row per process), `rec` (one row per log record, attributes as JSON),
 * `fts` (contentless FTS5, rowid = `rec.id`, columns `body` and `attrs` as `key=value` text;
 * `=`, `.` and `_` are token characters, so `order.id=42` is one token),
 * `trace` (one row per trace: first/last time, counts, root task, outcome, first error; `failed`
 * is stored and indexed so that failed requests come first cheaply), `trace_proc` (processes a
 * trace crossed).
 *
 * Bounds (live mode): at most `maxBytes` of database pages in use and records no older than
 * `maxAgeMs` (by arrival); the oldest records go first and are counted in {@link StoreStats.evicted}.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { ViewProcess, ViewRow } from './row.ts';

/** Options of {@link ViewStore}. */
export interface ViewStoreOptions {
  /** database file; default `':memory:'` */
  path?: string;
  /** upper bound of the pages in use, bytes; default unbounded. Checked after each batch. */
  maxBytes?: number;
  /** records older than this (by arrival) are removed, ms; default unbounded */
  maxAgeMs?: number;
}

/** Counters of a {@link ViewStore}. */
export interface StoreStats {
  /** records stored since the start (including evicted ones) */
  added: number;
  /** records removed by the bounds (oldest first) */
  evicted: number;
  /** records currently stored */
  records: number;
  /** bytes of database pages in use */
  bytes: number;
}

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
PRAGMA temp_store = MEMORY;
CREATE TABLE IF NOT EXISTS proc (id INTEGER PRIMARY KEY, pid TEXT, service TEXT, host TEXT,
  records INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0, last REAL);
CREATE TABLE IF NOT EXISTS rec (id INTEGER PRIMARY KEY, arrived REAL, t REAL, sev INTEGER,
  proc INTEGER, logger TEXT, body TEXT, trace TEXT, span TEXT, task TEXT, tname TEXT,
  outcome TEXT, dur REAL, exc TEXT, stack TEXT, attrs TEXT);
CREATE INDEX IF NOT EXISTS rec_trace ON rec(trace) WHERE trace IS NOT NULL;
CREATE INDEX IF NOT EXISTS rec_status ON rec(t) WHERE logger = 'starlog.status';
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, attrs, content='', contentless_delete=1,
  detail=column, tokenize="unicode61 tokenchars '=._'");
CREATE TABLE IF NOT EXISTS trace (trace TEXT PRIMARY KEY, first REAL, last REAL, n INTEGER,
  errors INTEGER, root TEXT, outcome TEXT, dur REAL, err TEXT, last_id INTEGER,
  failed INTEGER GENERATED ALWAYS AS (outcome = 'failure' OR errors > 0) STORED) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trace_order ON trace(failed DESC, last DESC);
CREATE TABLE IF NOT EXISTS trace_proc (trace TEXT, proc INTEGER, PRIMARY KEY (trace, proc))
  WITHOUT ROWID;
`;

interface TraceAgg {
  first: number;
  last: number;
  n: number;
  errors: number;
  root: string | null;
  outcome: string | null;
  dur: number | null;
  err: string | null;
  lastId: number;
  procs: Set<number>;
}

/** Text of the FTS `attrs` column: `key=value` pairs separated by spaces. */
function attrsText(attrs: ViewRow['attrs'], row: ViewRow): string {
  let s = row.tname !== undefined ? `task.name=${row.tname}` : '';
  if (attrs !== undefined) for (const k in attrs) s += ` ${k}=${attrs[k]}`;
  return s;
}

/**
 * An SQLite-backed store of log records for `starlog view`. Not thread-safe: one owner thread
 * writes; other connections (same file) may read.
 */
export class ViewStore {
  readonly db: DatabaseSync;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly insertRec: StatementSync;
  private readonly insertFts: StatementSync;
  private readonly upsertTrace: StatementSync;
  private readonly insertTraceProc: StatementSync;
  private readonly updateProc: StatementSync;
  private readonly upsertProc: StatementSync;
  private nextId = 1;
  private counters = { added: 0, evicted: 0 };
  private readonly pageSize: number;

  /** @throws Error when the database cannot be opened or created */
  constructor(options: ViewStoreOptions = {}) {
    this.db = new DatabaseSync(options.path ?? ':memory:');
    this.db.exec(SCHEMA);
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.maxAgeMs = options.maxAgeMs ?? Number.POSITIVE_INFINITY;
    this.pageSize = Number(
      (this.db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size,
    );
    const max = this.db.prepare('SELECT max(id) AS m FROM rec').get() as { m: number | null };
    this.nextId = (max.m ?? 0) + 1;
    this.insertRec = this.db.prepare(
      'INSERT INTO rec VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertFts = this.db.prepare('INSERT INTO fts(rowid, body, attrs) VALUES (?, ?, ?)');
    this.upsertTrace = this.db.prepare(`INSERT INTO trace
      (trace, first, last, n, errors, root, outcome, dur, err, last_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(trace) DO UPDATE SET first = min(first, excluded.first),
        last = max(last, excluded.last), n = n + excluded.n, errors = errors + excluded.errors,
        root = coalesce(root, excluded.root), outcome = coalesce(excluded.outcome, outcome),
        dur = coalesce(excluded.dur, dur), err = coalesce(err, excluded.err),
        last_id = excluded.last_id`);
    this.insertTraceProc = this.db.prepare('INSERT OR IGNORE INTO trace_proc VALUES (?, ?)');
    this.upsertProc = this.db.prepare(`INSERT INTO proc (id, pid, service, host) VALUES (?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, service = excluded.service,
        host = excluded.host`);
    this.updateProc = this.db.prepare(
      'UPDATE proc SET records = records + ?, errors = errors + ?, last = max(coalesce(last, 0), ?) WHERE id = ?',
    );
  }

  /** Announces (or renames) a process; records refer to it by `key`. */
  addProcess(p: ViewProcess): void {
    this.upsertProc.run(p.key, p.pid ?? null, p.service ?? null, p.host ?? null);
  }

  /**
   * Stores a batch of records in one transaction, then applies the bounds.
   *
   * @returns the id of the last record stored (ids grow by one per record)
   */
  add(rows: readonly ViewRow[], arrived: number = Date.now()): number {
    if (rows.length === 0) return this.nextId - 1;
    const traces = new Map<string, TraceAgg>();
    const procs = new Map<number, { n: number; errors: number; last: number }>();
    this.db.exec('BEGIN');
    try {
      for (const r of rows) {
        const id = this.nextId++;
        const attrs = r.attrs !== undefined ? JSON.stringify(r.attrs) : null;
        this.insertRec.run(
          id,
          arrived,
          r.t,
          r.sev,
          r.proc,
          r.logger ?? null,
          r.body,
          r.trace ?? null,
          r.span ?? null,
          r.task ?? null,
          r.tname ?? null,
          r.outcome ?? null,
          r.dur ?? null,
          r.exc ?? null,
          r.stack ?? null,
          attrs,
        );
        this.insertFts.run(
          id,
          r.exc !== undefined ? `${r.body} ${r.exc}` : r.body,
          attrsText(r.attrs, r),
        );
        let p = procs.get(r.proc);
        if (p === undefined) {
          p = { n: 0, errors: 0, last: 0 };
          procs.set(r.proc, p);
        }
        p.n++;
        if (r.sev >= 17) p.errors++;
        if (r.t > p.last) p.last = r.t;
        if (r.trace !== undefined) this.aggregate(traces, r, id);
      }
      for (const [trace, a] of traces) {
        this.upsertTrace.run(
          trace,
          a.first,
          a.last,
          a.n,
          a.errors,
          a.root,
          a.outcome,
          a.dur,
          a.err,
          a.lastId,
        );
        for (const proc of a.procs) this.insertTraceProc.run(trace, proc);
      }
      for (const [key, p] of procs) this.updateProc.run(p.n, p.errors, p.last, key);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    this.counters.added += rows.length;
    this.applyBounds(arrived);
    return this.nextId - 1;
  }

  private aggregate(traces: Map<string, TraceAgg>, r: ViewRow, id: number): void {
    const trace = r.trace!;
    let a = traces.get(trace);
    if (a === undefined) {
      a = {
        first: r.t,
        last: r.t,
        n: 0,
        errors: 0,
        root: null,
        outcome: null,
        dur: null,
        err: null,
        lastId: id,
        procs: new Set(),
      };
      traces.set(trace, a);
    }
    a.n++;
    a.lastId = id;
    if (r.t < a.first) a.first = r.t;
    if (r.t > a.last) a.last = r.t;
    a.procs.add(r.proc);
    if (r.sev >= 17) {
      a.errors++;
      a.err ??= r.exc ?? r.body;
    }
    // the root task: its id is a path of one element
    if (r.task !== undefined && r.task.indexOf('/') < 0) {
      if (r.tname !== undefined) a.root ??= r.tname;
      if (r.outcome !== undefined) {
        a.outcome = r.outcome;
        if (r.dur !== undefined) a.dur = r.dur;
      }
    }
  }

  /** Removes the oldest records while the store is over its bounds. */
  private applyBounds(now: number): void {
    if (this.maxAgeMs !== Number.POSITIVE_INFINITY) {
      const row = this.db
        .prepare('SELECT max(id) AS id FROM rec WHERE arrived < ?')
        .get(now - this.maxAgeMs) as { id: number | null };
      if (row.id !== null) this.evictThrough(row.id);
    }
    if (this.maxBytes === Number.POSITIVE_INFINITY) return;
    for (let round = 0; round < 8 && this.bytesInUse() > this.maxBytes; round++) {
      const r = this.db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM rec').get() as {
        lo: number | null;
        hi: number | null;
      };
      if (r.lo === null || r.hi === null) return;
      // a quarter of what is stored, at least one record
      this.evictThrough(r.lo + Math.max(0, Math.floor((r.hi - r.lo) / 4)));
    }
  }

  /** Removes records with id ≤ `id` and the traces that have no records left. */
  private evictThrough(id: number): void {
    this.db.exec('BEGIN');
    try {
      const n = this.db.prepare('DELETE FROM rec WHERE id <= ?').run(id).changes;
      this.db.prepare('DELETE FROM fts WHERE rowid <= ?').run(id);
      this.db.prepare('DELETE FROM trace WHERE last_id <= ?').run(id);
      this.db.prepare('DELETE FROM trace_proc WHERE trace NOT IN (SELECT trace FROM trace)').run();
      this.db.exec('COMMIT');
      this.counters.evicted += Number(n);
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Bytes of database pages in use (pages minus free pages). */
  bytesInUse(): number {
    const pages = this.db.prepare('PRAGMA page_count').get() as { page_count: number };
    const free = this.db.prepare('PRAGMA freelist_count').get() as { freelist_count: number };
    return (Number(pages.page_count) - Number(free.freelist_count)) * this.pageSize;
  }

  /** Counters and sizes. */
  stats(): StoreStats {
    return {
      ...this.counters,
      records: this.counters.added - this.counters.evicted,
      bytes: this.bytesInUse(),
    };
  }

  /** Closes the database. */
  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
