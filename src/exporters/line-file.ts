import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** Why a line could not be written (the key of {@link LineFileStats.dropped}). */
export type LineDropReason = 'noSpace' | 'openFailed' | 'writeFailed' | 'afterClose';

/** Counters of a {@link LineFile}. */
export interface LineFileStats {
  /** Records in lines written whole. */
  records: number;
  /** Bytes of the lines written whole. */
  bytes: number;
  /** Records not written, by reason: disk full (ENOSPC/EDQUOT), the file could not be (re)opened, another write error, written after `close()`. */
  dropped: Record<LineDropReason, number>;
  /** Times the file was reopened (it was moved away or removed, or `reopen()` was called). */
  reopens: number;
  /** Size rotations done. */
  rotations: number;
}

/** Options of {@link LineFile}. */
export interface LineFileOptions {
  /** Absolute path. */
  path: string;
  /** Mode of a file this creates (before the umask). */
  mode: number;
  /** Rotate when the file reaches this many bytes (after the line that reaches it). */
  maxSize?: number;
  /** With `maxSize`: rotated files kept (`<path>.1` … `<path>.<maxFiles>`). */
  maxFiles: number;
  /** How often, at most, the path is compared with the open file, ms. */
  checkIntervalMs: number;
  /** Called when writing starts failing, changes reason, or works again (for rate-limited reporting). */
  onProblem?: (message: string, error?: unknown) => void;
}

const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

/**
 * An append-only file of lines written synchronously (`fs.writeSync`, as pino's default
 * destination does), so that nothing is ever in flight: at process exit the caller knows exactly
 * which lines are in the file.
 *
 * Faults, each handled without throwing:
 * - a line is written whole or not at all: after a short write (disk full mid-line) the file is
 *   truncated back to where the line started;
 * - disk full, or any write error: the line is counted in `dropped` by reason; the next line tries
 *   again, so writing resumes by itself when space comes back;
 * - the open file was removed (`rm`, its directory removed): seen after every write (`fstat`
 *   link count 0), then the file is reopened (directories created again) and the line written
 *   again there, so no record goes to a file nobody can read;
 * - the path names another file (logrotate moved it away and created a new one): checked at most
 *   once per `checkIntervalMs`, then the file is reopened; lines written meanwhile are in the
 *   moved file;
 * - an open that fails is retried at the next check; lines meanwhile are dropped (`openFailed`);
 * - copytruncate: `O_APPEND` writes continue at the new end.
 *
 * One writer per file: the truncation after a short write assumes nobody else appends.
 */
export class LineFile {
  readonly path: string;
  private readonly _opts: LineFileOptions;
  private _fd = -1;
  private _ino = -1;
  private _dev = -1;
  private _size = 0;
  private _lastCheck = 0;
  private _closed = false;
  private _problem: string | undefined;
  private readonly _stats: LineFileStats = {
    records: 0,
    bytes: 0,
    dropped: { noSpace: 0, openFailed: 0, writeFailed: 0, afterClose: 0 },
    reopens: 0,
    rotations: 0,
  };
  /** The last error that failed a line, if the last line failed. */
  lastError: Error | undefined;

  constructor(options: LineFileOptions) {
    this._opts = options;
    this.path = options.path;
    this._open(Date.now());
  }

  private _open(now: number): boolean {
    this._lastCheck = now;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
    } catch {
      // the open below reports the precise error
    }
    try {
      const fd = openSync(this.path, APPEND, this._opts.mode);
      const st = fstatSync(fd);
      if (!st.isFile()) {
        closeSync(fd);
        const err = new Error(`${this.path} is not a regular file`) as NodeJS.ErrnoException;
        err.code = st.isDirectory() ? 'EISDIR' : 'EINVAL';
        throw err;
      }
      this._fd = fd;
      this._ino = st.ino;
      this._dev = st.dev;
      this._size = st.size;
      return true;
    } catch (err) {
      this._fd = -1;
      this.lastError = err as Error;
      this._report('openFailed', `cannot open ${this.path}`, err);
      return false;
    }
  }

  private _closeFd(): void {
    if (this._fd < 0) return;
    try {
      closeSync(this._fd);
    } catch {
      // nothing to do: the descriptor is gone either way
    }
    this._fd = -1;
  }

  /** Reopens when the path names another file than the open one (or none); at most once per interval. */
  private _check(now: number): void {
    if (now - this._lastCheck < this._opts.checkIntervalMs) return;
    this._lastCheck = now;
    if (this._fd < 0) {
      if (this._open(now)) this._stats.reopens++;
      return;
    }
    let moved = false;
    try {
      const st = statSync(this.path);
      moved = st.ino !== this._ino || st.dev !== this._dev;
    } catch {
      moved = true;
    }
    if (moved) this.reopen();
  }

  /** Closes the open file and opens the path again (creating it). Returns whether it is open. */
  reopen(): boolean {
    if (this._closed) return false;
    this._closeFd();
    const ok = this._open(Date.now());
    if (ok) this._stats.reopens++;
    return ok;
  }

  private _report(reason: LineDropReason | 'ok', message: string, error?: unknown): void {
    if (this._problem === reason) return;
    const was = this._problem;
    this._problem = reason === 'ok' ? undefined : reason;
    if (reason === 'ok') {
      if (was !== undefined) this._opts.onProblem?.(`writing ${this.path} again`);
      return;
    }
    this._opts.onProblem?.(`${message}; lines are dropped and counted until it works again`, error);
  }

  /**
   * Appends `data` (one or more whole lines holding `records` records). Returns true when written
   * whole; false when dropped (the records counted under a reason). Never throws.
   */
  write(data: Buffer, records: number, now = Date.now()): boolean {
    if (this._closed) {
      this._stats.dropped.afterClose += records;
      return false;
    }
    this._check(now);
    if (this._fd < 0) {
      this._stats.dropped.openFailed += records;
      return false;
    }
    let done = 0;
    try {
      while (done < data.length) done += writeSync(this._fd, data, done, data.length - done);
    } catch (err) {
      this.lastError = err as Error;
      if (done > 0) this._untear(done);
      const code = (err as NodeJS.ErrnoException).code;
      const reason: LineDropReason =
        code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' ? 'noSpace' : 'writeFailed';
      this._stats.dropped[reason] += records;
      this._report(
        reason,
        reason === 'noSpace' ? `no space left for ${this.path}` : `cannot write ${this.path}`,
        err,
      );
      return false;
    }
    if (this._unlinked()) {
      // removed (rm, or its directory) before or during the write: the line went nowhere anyone
      // can read; write it again to the file the path names now
      if (!this.reopen()) {
        this._stats.dropped.openFailed += records;
        return false;
      }
      return this.write(data, records, now);
    }
    this.lastError = undefined;
    this._stats.records += records;
    this._stats.bytes += data.length;
    this._size += data.length;
    this._report('ok', '');
    if (this._opts.maxSize !== undefined && this._size >= this._opts.maxSize) this._rotate();
    return true;
  }

  /** Whether the open file has no name any more (`rm`, its directory removed). */
  private _unlinked(): boolean {
    try {
      return fstatSync(this._fd).nlink === 0;
    } catch {
      return false;
    }
  }

  /** Cuts a partly written line off the end of the file (we are the only writer). */
  private _untear(written: number): void {
    try {
      const size = fstatSync(this._fd).size;
      ftruncateSync(this._fd, Math.max(0, size - written));
    } catch (err) {
      this._opts.onProblem?.(`could not remove a partly written line from ${this.path}`, err);
    }
  }

  private _rotate(): void {
    this._closeFd();
    const keep = this._opts.maxFiles;
    try {
      for (let i = keep - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      renameSync(this.path, `${this.path}.1`);
      this._stats.rotations++;
    } catch (err) {
      this._opts.onProblem?.(`could not rotate ${this.path}`, err);
    }
    this._open(Date.now());
  }

  /** The size of the open file as this writer knows it, bytes. */
  get size(): number {
    return this._size;
  }

  /** Counters (a copy). */
  stats(): LineFileStats {
    return { ...this._stats, dropped: { ...this._stats.dropped } };
  }

  /** fsyncs and closes; later writes are dropped (`afterClose`). Idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    if (this._fd >= 0) {
      try {
        fsyncSync(this._fd);
      } catch {
        // a file system without fsync (or a full one): close anyway
      }
    }
    this._closeFd();
  }
}
