import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';

/** Counters of a {@link ConsoleWriter}. */
export interface ConsoleWriterStats {
  /** Bytes handed to the terminal or pipe. */
  writtenBytes: number;
  /** Bytes waiting because the reader is not reading (a gauge). */
  bufferedBytes: number;
  /** Records dropped because the buffer was full (or the exit budget ran out). */
  droppedRecords: number;
  /** Bytes of those records. */
  droppedBytes: number;
  /**
   * Of `droppedRecords`, those dropped after `write()` had accepted them into the buffer (writing
   * broke, or the exit budget ran out); the others were refused by `write()` returning false.
   */
  droppedQueuedRecords: number;
  /** How the output is written: `nonblocking` (own non-blocking descriptor), `sync` (a regular file), `stream` (fallback). */
  mode: 'nonblocking' | 'sync' | 'stream';
}

/** Options of {@link ConsoleWriter}. */
export interface ConsoleWriterOptions {
  /** File descriptor to write to. Default 1 (stdout). */
  fd?: number;
  /** Most bytes held while the reader does not read; then whole writes are dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Fallback stream for outputs that cannot be reopened non-blocking (sockets, other systems). Default `process.stdout`. */
  stream?: NodeJS.WritableStream & { writableLength?: number };
}

const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 200;

/**
 * Writes text to the terminal or pipe behind a file descriptor without ever blocking the event
 * loop (Node writes to TTYs and, on Linux, pipes synchronously: a terminal that stops reading —
 * Ctrl-S, a stalled SSH session, a paused pager — would stop the whole primary, its receiver
 * included).
 *
 * On Linux a TTY or pipe is opened again through `/proc/self/fd/N` with `O_NONBLOCK` on the new
 * open file description only (the shared one, used by the application and the parent shell, is
 * left alone). A write that does not fit waits in a buffer of at most `maxBufferedBytes`, retried
 * on a timer; a write that does not fit in the buffer is dropped whole (no torn line) and
 * counted. A regular file is written synchronously (it never stalls). Anything else (a socket,
 * another OS) goes through `stream` as before, dropping whole writes while the stream holds more
 * than `maxBufferedBytes`.
 */
export class ConsoleWriter {
  private readonly _max: number;
  private readonly _stream: NodeJS.WritableStream & { writableLength?: number };
  private _fd = -1;
  private _ownFd = false;
  private readonly _mode: ConsoleWriterStats['mode'];
  private readonly _queue: { buf: Buffer; records: number }[] = [];
  private _queued = 0;
  private _timer: NodeJS.Timeout | undefined;
  private _delay = RETRY_MIN_MS;
  private _idle: (() => void)[] = [];
  private readonly _stats = {
    writtenBytes: 0,
    droppedRecords: 0,
    droppedBytes: 0,
    droppedQueuedRecords: 0,
  };
  /** The first error other than "would block", if writing broke. */
  error: Error | undefined;

  constructor(options: ConsoleWriterOptions = {}) {
    const fd = options.fd ?? 1;
    this._max = options.maxBufferedBytes ?? 1024 * 1024;
    this._stream = options.stream ?? process.stdout;
    let mode: ConsoleWriterStats['mode'] = 'stream';
    try {
      const st = fstatSync(fd);
      if (st.isFile()) {
        this._fd = fd;
        mode = 'sync';
      } else if (process.platform === 'linux' && (st.isFIFO() || st.isCharacterDevice())) {
        this._fd = openSync(
          `/proc/self/fd/${fd}`,
          constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY,
        );
        this._ownFd = true;
        mode = 'nonblocking';
      }
    } catch {
      this._fd = -1;
    }
    this._mode = this._fd < 0 ? 'stream' : mode;
  }

  /**
   * Writes `text` (whole lines holding `records` records), or queues it. Returns false when it was
   * dropped (the buffer is full, or writing broke); never throws, never blocks.
   */
  write(text: string, records: number): boolean {
    const buf = Buffer.from(text, 'utf8');
    if (this._mode === 'stream') {
      if ((this._stream.writableLength ?? 0) + buf.length > this._max)
        return this._drop(buf, records);
      try {
        this._stream.write(buf);
        this._stats.writtenBytes += buf.length;
        return true;
      } catch (err) {
        this.error ??= err as Error;
        return this._drop(buf, records);
      }
    }
    if (this.error !== undefined) return this._drop(buf, records);
    if (this._queued === 0) {
      const n = this._writeSome(buf);
      if (n === buf.length) return true;
      if (n < 0) return this._drop(buf, records);
      this._enqueue(buf.subarray(n), records);
      return true;
    }
    if (this._queued + buf.length > this._max) return this._drop(buf, records);
    this._enqueue(buf, records);
    return true;
  }

  private _drop(buf: Buffer, records: number): false {
    this._stats.droppedRecords += records;
    this._stats.droppedBytes += buf.length;
    return false;
  }

  /** Bytes written (0 when it would block), or -1 on an error. */
  private _writeSome(buf: Buffer): number {
    let done = 0;
    try {
      while (done < buf.length) {
        const n = writeSync(this._fd, buf, done, buf.length - done);
        if (n <= 0) break;
        done += n;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.error ??= err as Error;
        this._stats.writtenBytes += done;
        return done > 0 ? done : -1;
      }
    }
    this._stats.writtenBytes += done;
    return done;
  }

  private _enqueue(buf: Buffer, records: number): void {
    this._queue.push({ buf, records });
    this._queued += buf.length;
    this._schedule();
  }

  private _schedule(): void {
    if (this._timer !== undefined) return;
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._drain();
    }, this._delay);
    this._timer.unref();
  }

  /** Writes as much of the queue as the reader takes; true when it is empty. */
  private _drain(): boolean {
    while (this._queue.length > 0) {
      const head = this._queue[0] as { buf: Buffer; records: number };
      const n = this._writeSome(head.buf);
      if (n < 0) {
        this._dropQueue();
        break;
      }
      this._queued -= n;
      if (n < head.buf.length) {
        head.buf = head.buf.subarray(n);
        this._delay = Math.min(RETRY_MAX_MS, this._delay * 2);
        this._schedule();
        return false;
      }
      this._queue.shift();
    }
    this._delay = RETRY_MIN_MS;
    const idle = this._idle;
    this._idle = [];
    for (const w of idle) w();
    return true;
  }

  /** Resolves when the buffer is empty (at once when it is). Never rejects. */
  idle(): Promise<void> {
    if (this._queued === 0) return Promise.resolve();
    return new Promise((resolve) => this._idle.push(resolve));
  }

  /**
   * Writes what is buffered, blocking at most `timeoutMs` (for process exit); what is left then
   * is dropped (bytes counted). Never throws.
   */
  flushSync(timeoutMs: number): void {
    if (this._queued === 0 || this._mode === 'stream') return;
    const deadline = Date.now() + timeoutMs;
    const cell = new Int32Array(new SharedArrayBuffer(4));
    while (!this._drain()) {
      if (this.error !== undefined || Date.now() >= deadline) break;
      Atomics.wait(cell, 0, 0, 5);
    }
    this._dropQueue();
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
  }

  private _dropQueue(): void {
    for (const q of this._queue) {
      this._stats.droppedRecords += q.records;
      this._stats.droppedQueuedRecords += q.records;
      this._stats.droppedBytes += q.buf.length;
    }
    this._queue.length = 0;
    this._queued = 0;
  }

  /**
   * Writes `text` now, after what is buffered, blocking at most `timeoutMs` (process exit).
   * Returns false when it was dropped (counted). Never throws.
   */
  writeSync(text: string, records: number, timeoutMs: number): boolean {
    if (this._mode === 'stream') return this.write(text, records);
    const buf = Buffer.from(text, 'utf8');
    this._queue.push({ buf, records });
    this._queued += buf.length;
    const before = this._stats.droppedRecords;
    this.flushSync(timeoutMs);
    if (this._stats.droppedRecords === before) return true;
    // ours was the last in the queue: the caller counts it
    this._stats.droppedQueuedRecords -= records;
    return false;
  }

  /** Counters (a copy). */
  stats(): ConsoleWriterStats {
    return { ...this._stats, bufferedBytes: this._queued, mode: this._mode };
  }

  /** Stops the retry timer and closes the own descriptor (buffered bytes are dropped). */
  close(): void {
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
    if (this._ownFd && this._fd >= 0) {
      try {
        closeSync(this._fd);
      } catch {
        // already gone
      }
    }
    this._fd = -1;
    for (const w of this._idle) w();
    this._idle = [];
  }
}
