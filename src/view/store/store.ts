/**
 * The view's record store: an SQLite database through Node's built-in `node:sqlite` (no native
 * addon), with an FTS5 index over bodies and attributes. Writes come in batches (one transaction
 * each); the page's questions are answered by `queries.ts` with SQL (paging and filtering happen
 * here, never in the browser).
 *
 * Tables: `proc` (one row per process), `rec` (one row per log record, attributes as JSON),
 * `fts` (contentless FTS5, rowid = `rec.id`, one column: the body, the exception and the
 * attributes as `key=value` words; `=`, `.` and `_` are token characters, so `order.id=42` is one
 * token; `detail=none`: no positions, the smallest and fastest index; `columnsize=0`: no row of
 * sizes per record (no ranking is asked for), so an evicted record's row is deleted by giving its
 * words again, rebuilt from `rec` — `contentless_delete=1` would need that row per record, a
 * quarter of the indexing time),
 * `trace` (one row per trace, numbered `tid`, which records refer to: ids are random, numbers grow,
 * so the record index on it appends instead of inserting at random places; first/last time,
 * counts, root task, outcome, first error; `failed` is stored and indexed so that failed requests
 * come first cheaply), `trace_proc` (processes a trace crossed).
 *
 * Bounds (live mode): at most `maxBytes` of database pages in use and records no older than
 * `maxAgeMs` (by arrival); the oldest records go first and are counted in {@link StoreStats.evicted}.
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { ViewProcess, ViewRow } from './row.ts';
import { ftsText, REC_ROWS, REC_VALUES, recValues } from './row-values.ts';

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
  /** live view: records the pipeline stage dropped because indexing fell behind */
  dropped?: number;
}

// page_size 16 KiB (before any table exists): fewer B-tree pages to split and fetch per record
// (about 1.1x the indexing rate of 4 KiB, bench/view.ts)
const SCHEMA = `
PRAGMA page_size = 16384;
PRAGMA journal_mode = MEMORY;
PRAGMA locking_mode = EXCLUSIVE;
PRAGMA synchronous = OFF;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -65536;
CREATE TABLE IF NOT EXISTS proc (id INTEGER PRIMARY KEY, pid TEXT, service TEXT, host TEXT,
  records INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0, last REAL);
CREATE TABLE IF NOT EXISTS rec (id INTEGER PRIMARY KEY, arrived REAL, t REAL, sev INTEGER,
  proc INTEGER, logger TEXT, body TEXT, tid INTEGER, span TEXT, task TEXT, tname TEXT,
  outcome TEXT, dur REAL, exc TEXT, stack TEXT, attrs TEXT);
CREATE INDEX IF NOT EXISTS rec_tid ON rec(tid) WHERE tid IS NOT NULL;
CREATE INDEX IF NOT EXISTS rec_status ON rec(t) WHERE logger = 'starlog.status';
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(text, content='', columnsize=0,
  detail=none, tokenize="unicode61 tokenchars '=._'");
CREATE TABLE IF NOT EXISTS trace (tid INTEGER PRIMARY KEY AUTOINCREMENT, trace TEXT NOT NULL UNIQUE,
  first REAL, last REAL, n INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  root TEXT, outcome TEXT, dur REAL, err TEXT, last_id INTEGER,
  failed INTEGER GENERATED ALWAYS AS (outcome = 'failure' OR errors > 0) STORED);
CREATE INDEX IF NOT EXISTS trace_order ON trace(failed DESC, last DESC);
CREATE TABLE IF NOT EXISTS trace_proc (tid INTEGER, proc INTEGER, PRIMARY KEY (tid, proc))
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
  /** the trace's number, once written */
  tid: number;
}

/** Adds a record to its trace's aggregate for the batch. @returns the aggregate */
function aggregate(traces: Map<string, TraceAgg>, trace: string, r: ViewRow, id: number): TraceAgg {
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
      tid: 0,
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
  return a;
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
  /** {@link REC_ROWS} records in one statement */
  private readonly insertRecs: StatementSync;
  /** the parameters of {@link insertRecs}, reused */
  private readonly recArgs: SQLInputValue[] = new Array(REC_ROWS * REC_VALUES).fill(null);
  /** a batch's FTS rows in one statement: their texts as one JSON array */
  private readonly insertFts: StatementSync;
  private readonly insertTrace: StatementSync;
  private readonly upsertTrace: StatementSync;
  private readonly updateTrace: StatementSync;
  /** trace id → tid of recent traces (cleared when it grows past 100,000 or on eviction) */
  private readonly tids = new Map<string, number>();
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
    // fewer, larger FTS segment merges while indexing (about 1.5× the insert rate; queries stay
    // in milliseconds at 1,000,000 records, bench/view.ts)
    this.db.exec(
      "INSERT INTO fts(fts, rank) VALUES ('automerge', 16); INSERT INTO fts(fts, rank) VALUES ('crisismerge', 64);",
    );
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
    // anonymous parameters only: node:sqlite looks up every parameter's name (for `?NNN` a scan
    // of all names, quadratic in a statement of 1,024 parameters)
    const row = `(${new Array(REC_VALUES).fill('?').join(',')})`;
    const values = new Array(REC_ROWS).fill(row);
    this.insertRecs = this.db.prepare(`INSERT INTO rec VALUES ${values.join(',')}`);
    this.insertFts = this.db.prepare(
      'INSERT INTO fts(rowid, text) SELECT ? + key, value FROM json_each(?)',
    );
    this.insertTrace = this.db.prepare(`INSERT OR IGNORE INTO trace (trace, first, last, n, errors,
        root, outcome, dur, err, last_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    // a trace stored before, not known from a recent batch
    this.upsertTrace = this.db.prepare(`INSERT INTO trace (trace, first, last, n, errors, root,
        outcome, dur, err, last_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(trace) DO UPDATE SET first = min(first, excluded.first),
        last = max(last, excluded.last), n = n + excluded.n, errors = errors + excluded.errors,
        root = coalesce(root, excluded.root), outcome = coalesce(excluded.outcome, outcome),
        dur = coalesce(excluded.dur, dur), err = coalesce(err, excluded.err),
        last_id = excluded.last_id
      RETURNING tid`);
    this.updateTrace = this.db.prepare(`UPDATE trace SET first = min(first, ?),
        last = max(last, ?), n = n + ?, errors = errors + ?, root = coalesce(root, ?),
        outcome = coalesce(?, outcome), dur = coalesce(?, dur), err = coalesce(err, ?),
        last_id = ? WHERE tid = ?`);
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
   * Order of the writes (measured, bench/view.ts): the batch is first aggregated per trace and per
   * process in JavaScript; then one statement per trace (an upsert, or an update of a trace known
   * from an earlier batch), the processes, the records (64 per statement), and the FTS5 rows LAST,
   * all in one statement (their texts as one JSON array through `json_each`): FTS5 keeps a
   * transaction's terms in memory and writes them out as a new index segment whenever another
   * statement opens a statement journal (an upsert does), so a new trace written between two FTS
   * rows cut the index into tiny segments, merged again at once (indexing was ~1.45× slower).
   *
   * @returns the id of the last record stored (ids grow by one per record)
   */
  add(rows: readonly ViewRow[], arrived: number = Date.now()): number {
    if (rows.length === 0) return this.nextId - 1;
    const first = this.nextId;
    const traces = new Map<string, TraceAgg>();
    const procs = new Map<number, { n: number; errors: number; last: number }>();
    /** each row's trace aggregate (its `tid` once written) */
    const aggOf: (TraceAgg | undefined)[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      let p = procs.get(r.proc);
      if (p === undefined) {
        p = { n: 0, errors: 0, last: 0 };
        procs.set(r.proc, p);
      }
      p.n++;
      if (r.sev >= 17) p.errors++;
      if (r.t > p.last) p.last = r.t;
      aggOf[i] = r.trace !== undefined ? aggregate(traces, r.trace, r, first + i) : undefined;
    }
    this.db.exec('BEGIN');
    try {
      for (const [trace, a] of traces) {
        a.tid = this.writeTrace(trace, a);
        for (const proc of a.procs) this.insertTraceProc.run(a.tid, proc);
      }
      for (const [key, p] of procs) this.updateProc.run(p.n, p.errors, p.last, key);
      this.writeRecords(rows, aggOf, first, arrived);
      const texts: string[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        texts[i] = ftsText(r.body, r.exc, r.attrs);
      }
      this.insertFts.run(first, JSON.stringify(texts));
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      this.tids.clear();
      throw err;
    }
    this.nextId = first + rows.length;
    this.counters.added += rows.length;
    this.applyBounds(arrived);
    return this.nextId - 1;
  }

  /**
   * Writes the records: {@link REC_ROWS} per statement (one call into SQLite for 64 records
   * instead of 64; measured ~0.5 µs less per record), the rest one by one.
   */
  private writeRecords(
    rows: readonly ViewRow[],
    aggOf: readonly (TraceAgg | undefined)[],
    first: number,
    arrived: number,
  ): void {
    const args = this.recArgs;
    const whole = rows.length - (rows.length % REC_ROWS);
    let i = 0;
    for (; i < whole; i += REC_ROWS) {
      for (let k = 0, j = 0; k < REC_ROWS; k++) {
        j = recValues(rows[i + k]!, first + i + k, arrived, aggOf[i + k]?.tid ?? null, args, j);
      }
      this.insertRecs.run(...args);
    }
    const one: SQLInputValue[] = new Array(REC_VALUES);
    for (; i < rows.length; i++) {
      recValues(rows[i]!, first + i, arrived, aggOf[i]?.tid ?? null, one, 0);
      this.insertRec.run(...one);
    }
  }

  /** Writes a batch's aggregate of one trace. @returns its number (made when the trace is new) */
  private writeTrace(trace: string, a: TraceAgg): number {
    let tid = this.tids.get(trace);
    if (tid !== undefined) {
      this.updateTrace.run(
        a.first,
        a.last,
        a.n,
        a.errors,
        a.root,
        a.outcome,
        a.dur,
        a.err,
        a.lastId,
        tid,
      );
      return tid;
    }
    // most traces are new: a plain insert (about 1.2x the indexing rate of an upsert with
    // RETURNING for all); one already stored (gone from `tids`) takes the upsert
    const v = [trace, a.first, a.last, a.n, a.errors, a.root, a.outcome, a.dur, a.err, a.lastId];
    const made = this.insertTrace.run(...v);
    tid =
      made.changes === 1
        ? Number(made.lastInsertRowid)
        : Number((this.upsertTrace.get(...v) as { tid: number | bigint }).tid);
    if (this.tids.size >= 100_000) this.tids.clear();
    this.tids.set(trace, tid);
    return tid;
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
      // the FTS table keeps no content: its rows are deleted by giving their words again
      const del = this.db.prepare("INSERT INTO fts(fts, rowid, text) VALUES ('delete', ?, ?)");
      const old = this.db.prepare('SELECT id, body, exc, attrs FROM rec WHERE id <= ?');
      for (const r of old.iterate(id) as Iterable<{
        id: number;
        body: string;
        exc: string | null;
        attrs: string | null;
      }>) {
        del.run(r.id, ftsText(r.body, r.exc, r.attrs === null ? null : JSON.parse(r.attrs)));
      }
      const n = this.db.prepare('DELETE FROM rec WHERE id <= ?').run(id).changes;
      this.db.prepare('DELETE FROM trace WHERE last_id <= ?').run(id);
      // tids grow: what is below the oldest trace left is gone (stragglers are never read)
      this.db.prepare('DELETE FROM trace_proc WHERE tid < (SELECT min(tid) FROM trace)').run();
      this.tids.clear();
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
