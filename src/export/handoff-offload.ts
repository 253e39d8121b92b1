/**
 * Offloading batches through hand-off files (`protocol/handoff.ts`) instead of the synchronous
 * exporter's worker thread: a child on the primary's machine that logs without yielding writes
 * each sealed batch synchronously into the primary's hand-off directory (one `writev`, no thread,
 * no HTTP/2), and the primary ingests it like an `Export` call. Used by `OtlpShippingProcessor`.
 *
 * @module
 */
import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { diag } from '@opentelemetry/api';
import { writeHandoffSync } from '../multiprocess/child/handoff-writer.ts';
import type { HandoffRequest } from '../multiprocess/protocol/handoff.ts';

/** A batch written as a hand-off file and not yet ingested. */
interface HandedOff {
  /** the file's name in the directory */
  name: string;
  path: string;
  /** its name once claimed by the primary it is addressed to, if addressed */
  claimedPath: string | undefined;
  /** after this time (ms since the epoch) an unclaimed file is taken back and the batch retried */
  deadline: number;
  done: (ok: boolean) => void;
}

/** How often the files are looked for while the event loop runs, ms. */
const POLL_MS = 2;
/**
 * How long `awaitOldest` sleeps between looks at most, ms: it starts at `POLL_MS` and doubles up
 * to this. A child waits when the primary is behind, so the primary still has the child's other
 * files (about 3 × 4,096 records, tens of ms of work) when the oldest is done: looking later costs
 * it nothing, and every look wakes a process on a machine whose cores are all busy.
 */
const MAX_WAIT_POLL_MS = 8;
/** How long a file claimed by a primary may stay before it is counted delivered anyway, ms. */
const CLAIMED_GRACE_MS = 5000;

/**
 * The hand-off files of one processor that the primary has not ingested yet. A batch counts as
 * delivered (`done(true)`) once its file is gone from the directory, neither under its name nor
 * claimed (`.<name>.<pid>.claimed`): the primary has ingested and deleted it. A file nobody
 * claimed by its deadline is taken back (deleted here; the batch is retried the usual way,
 * `done(false)`); the unlink and the primary's claiming rename exclude each other, so a batch is
 * never both taken back and ingested. A file claimed but still there `CLAIMED_GRACE_MS` after the
 * deadline (its primary died while ingesting it) counts as delivered: the next primary takes it.
 * Never throws.
 */
export class HandoffOffloads {
  private readonly _dir: string;
  private readonly _to: number | undefined;
  private readonly _list: HandedOff[] = [];
  private _timer: NodeJS.Timeout | undefined;
  private readonly _sleep = new Int32Array(new SharedArrayBuffer(4));
  /** files written */
  written = 0;

  /**
   * @param dir - the primary's hand-off directory (`STARLOG_HANDOFF_DIR`)
   * @param to - the primary's pid (`STARLOG_PRIMARY_PID`): the files are addressed to it, so that
   *   another live primary in the same directory does not take them (if it dies, any takes them)
   */
  constructor(dir: string, to?: number) {
    this._dir = dir;
    this._to = to;
  }

  /** Files written and not yet ingested. */
  get size(): number {
    return this._list.length;
  }

  /**
   * Writes `request` (one encoded `ExportLogsServiceRequest`, or its parts; without a deadline: a file may be
   * ingested later than any deadline) as a hand-off file. Returns false when it could not be
   * written (reported through `diag`; nothing is left behind and `done` is not called).
   */
  post(request: HandoffRequest, timeoutMs: number, done: (ok: boolean) => void): boolean {
    const written = writeHandoffSync(this._dir, [request], this._to);
    if (!written.ok) {
      diag.warn(`starlog: offloading a batch through a hand-off file failed: ${written.reason}`);
      return false;
    }
    this.written++;
    const name = basename(written.path);
    this._list.push({
      name,
      path: written.path,
      claimedPath:
        this._to === undefined ? undefined : join(this._dir, `.${name}.${this._to}.claimed`),
      deadline: Date.now() + timeoutMs,
      done,
    });
    this._timer ??= this._schedule();
    return true;
  }

  /** Completes the batches whose files are gone (see the class comment). */
  read(): void {
    const list = this._list;
    if (list.length === 0) return;
    let names: string[];
    try {
      names = readdirSync(this._dir);
    } catch (err) {
      diag.warn(`starlog: cannot read the hand-off directory ${this._dir}`, err);
      names = [];
    }
    const present = new Set(names);
    const now = Date.now();
    for (let i = 0; i < list.length; ) {
      const h = list[i] as HandedOff;
      const unclaimed = present.has(h.name);
      const claimed = !unclaimed && names.some((n) => n.startsWith(`.${h.name}.`));
      if (!unclaimed && !claimed) {
        list.splice(i, 1);
        h.done(true);
        continue;
      }
      if (unclaimed && now >= h.deadline && this._takeBack(h)) {
        list.splice(i, 1);
        h.done(false);
        continue;
      }
      if (claimed && now > h.deadline + CLAIMED_GRACE_MS) {
        list.splice(i, 1);
        h.done(true);
        continue;
      }
      i++;
    }
  }

  /**
   * Blocks the calling thread until the oldest file is ingested or `maxMs` passed (looking after
   * `POLL_MS`, then at doubling intervals up to `MAX_WAIT_POLL_MS`). Returns whether fewer files
   * are outstanding than before. While the oldest file is still there, unclaimed or claimed by
   * its primary, and before its deadline, a look is one `access` (or two) instead of listing the
   * directory.
   */
  awaitOldest(maxMs: number): boolean {
    const before = this._list.length;
    const until = Date.now() + maxMs;
    let poll = POLL_MS;
    this.read();
    while (this._list.length >= before && before > 0 && Date.now() < until) {
      Atomics.wait(this._sleep, 0, 0, Math.max(1, Math.min(poll, until - Date.now())));
      poll = Math.min(poll * 2, MAX_WAIT_POLL_MS);
      if (this._oldestWaiting()) continue;
      this.read();
    }
    return this._list.length < before;
  }

  /** Whether the oldest file is surely not done yet (see `awaitOldest`); false when unsure. */
  private _oldestWaiting(): boolean {
    const h = this._list[0];
    if (h === undefined || Date.now() >= h.deadline) return false;
    if (existsSync(h.path)) return true;
    return h.claimedPath !== undefined && existsSync(h.claimedPath);
  }

  /**
   * Stops looking, and takes back the files nobody claimed yet (called once the processor's
   * shutdown flush is over, so the files still here are of batches it gave up on and counted in
   * `exportFailed`: taken back, they are not delivered later either; a claimed one is being
   * ingested and stays).
   */
  close(): void {
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
    for (const h of this._list.splice(0)) this._takeBack(h);
  }

  private readonly _poll = (): void => {
    this._timer = undefined;
    this.read();
    if (this._list.length > 0) this._timer = this._schedule();
  };

  /**
   * Unref'd: outstanding files do not keep the process alive (a hung primary would hold it until
   * the deadline); a flush or shutdown that waits for them keeps it alive with its own timer, and
   * at exit the exit hooks hand the batches in flight over again (the primary drops a batch it
   * already ingested).
   */
  private _schedule(): NodeJS.Timeout {
    const timer = setTimeout(this._poll, POLL_MS);
    timer.unref();
    return timer;
  }

  /** Deletes an unclaimed file; false when a primary claimed it first. */
  private _takeBack(h: HandedOff): boolean {
    try {
      unlinkSync(h.path);
      return true;
    } catch {
      return false;
    }
  }
}
