/**
 * The primary's side of hand-off files (format and rules: `protocol/handoff.ts`): finds the
 * files children left at exit in the hand-off directory, ingests each request like an `Export`
 * call (`LogsService.ingest`: decode, de-duplicate by batch id, processor, drop reports) and
 * deletes the file.
 *
 * @module
 */
import {
  closeSync,
  constants,
  type FSWatcher,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  watch,
} from 'node:fs';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { diag } from '@opentelemetry/api';
import { pidAlive } from '../control/primary-record.ts';
import {
  HANDOFF_NAME,
  HANDOFF_OPEN_NOFOLLOW,
  handoffDirProblem,
  statProblem,
  unframeHandoff,
} from '../protocol/handoff.ts';

/**
 * How long a scan works through files before it lets the event loop turn, ms (a backlog of files
 * left while no primary ran must not hold the primary's event loop for long).
 */
const SCAN_SLICE_MS = 20;

/** A hand-off file claimed by a primary (`.<name>.<pid>.claimed`). */
const CLAIMED_NAME = /^\.(handoff-[^/]+\.otlp)\.(\d+)\.claimed$/;

/** Counters of the hand-off intake (`ReceiverStats.handoff`). */
export interface HandoffStats {
  /** the directory watched */
  dir: string;
  /** hand-off files ingested (and deleted) */
  files: number;
  /** requests ingested from them (each an `ExportLogsServiceRequest`) */
  requests: number;
  /**
   * files or requests refused (not a regular file of this user, too large, wrong format, a
   * request that does not decode): deleted, reported through `diag`; their records are lost and
   * cannot be counted (the bytes do not say how many there were)
   */
  invalid: number;
}

/** Options of {@link HandoffIntake}. */
export interface HandoffIntakeOptions {
  /** the hand-off directory (checked: see `handoffDirProblem`) */
  dir: string;
  /** ingests one request; returns the refusal, or `null` when accepted */
  ingest: (request: Buffer) => { details: string } | null;
  /** largest file read, bytes; a larger one is refused and deleted */
  maxFileBytes: number;
  /** the period of the rescan that backs up the directory watch, ms */
  scanIntervalMs: number;
}

/**
 * Picks up hand-off files: once at {@link HandoffIntake.start} (files left while no primary ran
 * are delivered by the next one), on every change the directory watch reports, every
 * `scanIntervalMs`, and at {@link HandoffIntake.close}. Files are taken oldest first (by the time
 * in their name) and claimed by a rename before reading, so two primaries sharing a directory
 * never ingest one file twice; a file claimed by a primary that died before deleting it is taken
 * again (its records may then arrive twice). Never throws; problems go to `diag`.
 */
export class HandoffIntake {
  readonly stats: HandoffStats;
  private readonly options: HandoffIntakeOptions;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(options: HandoffIntakeOptions) {
    this.options = options;
    this.stats = { dir: options.dir, files: 0, requests: 0, invalid: 0 };
  }

  /**
   * Checks the directory, starts the watch and the periodic scan, and scans once.
   * @returns false when the directory is refused (reported through `diag`; nothing is watched)
   */
  async start(): Promise<boolean> {
    const problem = handoffDirProblem(this.options.dir);
    if (problem !== undefined) {
      diag.error(
        `starlog receiver: hand-off directory ${this.options.dir} refused: ${problem}; children deliver at exit over gRPC only`,
      );
      this.closed = true;
      return false;
    }
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, (_event, name) => {
        if (name === null || HANDOFF_NAME.test(String(name))) void this.scan();
      });
      this.watcher.on('error', (err) => diag.warn('starlog receiver: hand-off watch failed', err));
    } catch (err) {
      diag.warn(`starlog receiver: cannot watch ${this.options.dir}; scanning periodically`, err);
    }
    this.timer = setInterval(() => void this.scan(), this.options.scanIntervalMs);
    this.timer.unref();
    await this.scan();
    return true;
  }

  /** Ingests every hand-off file present now (waits for a scan under way, then scans again). */
  scan(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.scanOnce();
        } while (this.again);
      } catch (err) {
        diag.warn('starlog receiver: hand-off scan failed', err);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** A last scan, then stops watching. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.scan();
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.timer);
  }

  /**
   * Lists the directory and takes its files. The file-system calls are synchronous: a few system
   * calls per file of up to thousands of records, cheaper than the thread pool's round trips; the
   * event loop turns every `SCAN_SLICE_MS` of a long backlog.
   */
  private async scanOnce(): Promise<void> {
    if (this.closed) return;
    const dir = this.options.dir;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      diag.warn(`starlog receiver: cannot read the hand-off directory ${dir}`, err);
      return;
    }
    const files: { path: string; name: string; m: RegExpExecArray }[] = [];
    for (const entry of names) {
      // a file claimed by a primary that died before it was done: taken again (at least once)
      const orphan = CLAIMED_NAME.exec(entry);
      const name = orphan === null ? entry : (orphan[1] as string);
      if (orphan !== null && (Number(orphan[2]) === process.pid || pidAlive(Number(orphan[2]))))
        continue;
      const m = HANDOFF_NAME.exec(name);
      if (m === null) continue;
      // addressed to another primary that is alive (two primaries in one directory): its own
      const to = m[4] === undefined ? process.pid : Number(m[4]);
      if (to !== process.pid && orphan === null && pidAlive(to)) continue;
      files.push({ path: join(dir, entry), name, m });
    }
    files.sort((a, b) => Number(a.m[3]) - Number(b.m[3]) || (a.name < b.name ? -1 : 1));
    let slice = Date.now();
    for (const { path, name } of files) {
      if (this.closed) return;
      this.take(path, name);
      // the destinations' queues write what this file brought (from microtasks) before the next
      // file is decoded: records do not pile up, nor live long enough to cost the GC
      await null;
      if (Date.now() - slice >= SCAN_SLICE_MS) {
        await turn();
        slice = Date.now();
      }
    }
  }

  /** Claims, reads, ingests and deletes one file. */
  private take(path: string, name: string): void {
    const claimed = join(this.options.dir, `.${name}.${process.pid}.claimed`);
    try {
      renameSync(path, claimed); // the entry itself moves, never a link's target
    } catch {
      return; // taken by another primary, or gone
    }
    let bytes: Buffer | undefined;
    let fd: number | undefined;
    try {
      fd = openSync(claimed, constants.O_RDONLY | HANDOFF_OPEN_NOFOLLOW);
      const st = fstatSync(fd);
      const problem = statProblem(st, 'file');
      if (problem !== undefined) throw new Error(problem);
      if (st.size > this.options.maxFileBytes) {
        throw new Error(`${st.size} bytes exceed the limit of ${this.options.maxFileBytes}`);
      }
      bytes = readFileSync(fd);
    } catch (err) {
      this.refuse(name, (err as Error).message);
    } finally {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // gone either way
        }
      }
    }
    // ingested before the file goes: whoever sees it gone from the directory (a child counting
    // its offloaded files as exported, a test) sees its records ingested (a primary that dies in
    // between leaves a claimed file, taken again: at least once)
    if (bytes !== undefined) this.ingestFile(name, bytes);
    removeClaimed(claimed);
  }

  /** Ingests each request of a file's content (see `unframeHandoff`). */
  private ingestFile(name: string, bytes: Buffer): void {
    let requests: Buffer[];
    try {
      requests = unframeHandoff(bytes);
    } catch (err) {
      this.refuse(name, (err as Error).message);
      return;
    }
    this.stats.files++;
    for (const request of requests) {
      const refused = this.options.ingest(request);
      if (refused === null) this.stats.requests++;
      else this.refuse(name, refused.details);
    }
  }

  private refuse(name: string, why: string): void {
    this.stats.invalid++;
    diag.error(
      `starlog receiver: hand-off file ${name} in ${this.options.dir} refused (its records are lost, uncounted): ${why}`,
    );
  }
}

/**
 * Deletes a claimed file; a directory planted under a hand-off name goes too, recursively (links
 * are removed, not followed). Never throws: a failure goes to `diag`.
 */
function removeClaimed(claimed: string): void {
  try {
    unlinkSync(claimed);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') {
      diag.warn(`starlog receiver: could not remove the hand-off file ${claimed}`, err);
      return;
    }
  }
  try {
    rmSync(claimed, { force: true, recursive: true });
  } catch (err) {
    diag.warn(`starlog receiver: could not remove the hand-off file ${claimed}`, err);
  }
}
