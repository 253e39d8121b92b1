import { resolve } from 'node:path';
import { diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { encodeLogsRequestLine, releaseLine } from '../otlp/json-line-writer.ts';
import { LineFile, type LineFileStats } from './line-file.ts';

/** Options of {@link JsonlFileExporter}. */
export interface JsonlFileExporterOptions {
  /**
   * File to append to; relative paths resolve against the working directory at construction.
   * Missing directories are created. Default: `./logs/starlog.jsonl`.
   */
  path?: string;
  /**
   * Rotate when the active file reaches this many bytes (a line is never split: the file is
   * rotated after the write that reaches the size). The active file is renamed `<path>.1`, the
   * previous `<path>.1` becomes `<path>.2`, and so on. Default: no rotation (a plain append
   * stream). Positive integer.
   */
  maxSize?: number;
  /**
   * With `maxSize`: how many rotated files (`<path>.1` … `<path>.<maxFiles>`) are kept besides
   * the active file; older ones are overwritten. Default: 5. Positive integer; requires `maxSize`.
   */
  maxFiles?: number;
  /**
   * Permission bits of a file this exporter creates (before the umask; an existing file keeps
   * its mode). Default `0o640`: owner read/write, group read, nobody else (logs may hold what the
   * application logged; the receiver token file is `0o600`).
   */
  mode?: number;
  /**
   * A signal on which the file is reopened (e.g. `'SIGUSR2'` in a logrotate `postrotate`).
   * Default: none (Node keeps SIGUSR1 for the inspector, tools such as nodemon use SIGUSR2). The
   * file is reopened by itself anyway when its path no longer names the open file (checked at
   * most once a second), and on `starlog file reopen`.
   */
  reopenSignal?: NodeJS.Signals;
}

/** Counters of a {@link JsonlFileExporter}; all counts are records unless named otherwise. */
export interface JsonlFileExporterStats {
  /** Records whose line was written to the file (the write completed). */
  exported: number;
  /** Records of exports that returned FAILED (the sum of `failedBy`). */
  failed: number;
  /** Records not written, by reason: disk full, file could not be (re)opened, other write error, after shutdown. */
  failedBy: LineFileStats['dropped'];
  /** Times the file was reopened (moved away or removed by logrotate, `reopen()`). */
  reopens: number;
  /** Records left out of a line because encoding them threw (their batch still succeeded). */
  dropped: number;
  /** Bytes (UTF-8) of completed writes. */
  bytes: number;
  /** The error of the last failed write, while writing fails. */
  error?: Error;
}

const DEFAULT_PATH = './logs/starlog.jsonl';
const DEFAULT_MAX_FILES = 5;

function checkPositiveInt(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(
      `JsonlFileExporter: option ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/** Default permission bits of the JSON-lines file. */
export const DEFAULT_FILE_MODE = 0o640;

/**
 * An sdk-logs `LogRecordExporter` that appends OTLP/JSON lines to a file: every `export()` call
 * writes ONE line holding an `ExportLogsServiceRequest`
 * (`{"resourceLogs":[{"resource":…,"scopeLogs":[{"scope":…,"logRecords":[…]}]}]}`), the format
 * of the OpenTelemetry Collector's `file` exporter (see `json-encoder.ts` for the exact
 * encoding), so `starlog tree`, `jq` and the Collector's `otlpjsonfile` receiver read both.
 *
 * - Opens the file for appending (never truncates; created with `mode`, default 0640); creates
 *   missing directories.
 * - Writes synchronously (`fs.writeSync`, as pino's default destination): `export()` calls back
 *   before it returns, so nothing is ever in flight and {@link exportSync} at process exit writes
 *   exactly what is left. A line is written whole or not at all (see `LineFile`).
 * - Faults never throw: records that cannot be written (disk full, unwritable or removed
 *   directory, write error) fail their export (`FAILED`) and are counted by reason in
 *   `stats().failedBy`; the next export tries again, so writing resumes by itself. The problem is
 *   reported through `diag.error` when it starts and `diag.info` when it ends.
 * - Reopens the file when its path no longer names the open file (logrotate moved it, `rm`),
 *   checked at most once a second, on {@link reopen}, and on `reopenSignal` if given.
 * - With `maxSize`: rotates by renaming (`<path>` → `<path>.1` → `<path>.2` …, `maxFiles` kept).
 * - `shutdown()` fsyncs and closes the file (idempotent); `export()` afterwards returns FAILED.
 */
export class JsonlFileExporter implements LogRecordExporter {
  /** Absolute path of the active file. */
  readonly path: string;
  private readonly _file: LineFile;
  private _isShutdown = false;
  private _encodeDropped = 0;
  private _failWarned = false;
  private readonly _reopenSignal: NodeJS.Signals | undefined;
  private readonly _onSignal = (): void => {
    this.reopen();
  };

  /** @throws TypeError when `maxSize` or `maxFiles` is not a positive integer, or `maxFiles` is given without `maxSize`, or `mode` is not an integer 0–0o777 */
  constructor(options: JsonlFileExporterOptions = {}) {
    const maxSize = checkPositiveInt('maxSize', options.maxSize);
    const maxFiles = checkPositiveInt('maxFiles', options.maxFiles);
    if (maxFiles !== undefined && maxSize === undefined) {
      throw new TypeError(
        `JsonlFileExporter: option maxFiles (${maxFiles}) needs maxSize: files rotate by size`,
      );
    }
    if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
      throw new TypeError(
        `JsonlFileExporter: option path must be a non-empty string, got ${String(options.path)}`,
      );
    }
    const mode = options.mode ?? DEFAULT_FILE_MODE;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new TypeError(
        `JsonlFileExporter: option mode must be an integer from 0 to 0o777, got ${String(options.mode)}`,
      );
    }
    this.path = resolve(options.path ?? DEFAULT_PATH);
    this._file = new LineFile({
      path: this.path,
      mode,
      maxSize,
      maxFiles: maxFiles ?? DEFAULT_MAX_FILES,
      checkIntervalMs: 1000,
      onProblem: (message, error) => {
        if (error === undefined) diag.info(`JsonlFileExporter: ${message}`);
        else diag.error(`JsonlFileExporter: ${message}`, error);
      },
    });
    this._reopenSignal = options.reopenSignal;
    if (this._reopenSignal !== undefined) process.on(this._reopenSignal, this._onSignal);
  }

  /**
   * Appends one line for `records` and calls `resultCallback` before returning: SUCCESS when the
   * line was written whole, FAILED (with the error) when it was not (counted in
   * `stats().failedBy`) or after shutdown. Records whose encoding throws are dropped (counted in
   * `stats().dropped`, `diag.warn`) without failing the batch. Never throws.
   */
  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    const failed = this._write(records);
    resultCallback(
      failed === undefined
        ? { code: ExportResultCode.SUCCESS }
        : { code: ExportResultCode.FAILED, error: failed },
    );
  }

  /**
   * Writes `records` now (for process exit). Returns how many records were written and how many
   * failed (counted in `stats()` as `export()` does). Never throws.
   */
  exportSync(records: ReadableLogRecord[]): { exported: number; failed: number } {
    const before = this._file.stats().records;
    const failed = this._write(records);
    const exported = this._file.stats().records - before;
    return { exported, failed: failed === undefined ? 0 : records.length - exported };
  }

  /** Returns the error when the line was not written, else undefined. */
  private _write(records: ReadableLogRecord[]): Error | undefined {
    if (records.length === 0) return undefined;
    if (this._isShutdown) {
      this._file.write(Buffer.alloc(0), records.length);
      if (!this._failWarned) {
        this._failWarned = true;
        diag.warn('JsonlFileExporter: export after shutdown, records dropped');
      }
      return new Error('JsonlFileExporter: export after shutdown');
    }
    let line: Buffer;
    let encoded: number;
    try {
      // the line's bytes, '\n' included, in the writer's scratch buffer (no copy): written
      // synchronously below, then given back
      const enc = encodeLogsRequestLine(records, true);
      if (enc.dropped > 0) {
        this._encodeDropped += enc.dropped;
        diag.warn(
          `JsonlFileExporter: dropped ${enc.dropped} record(s) that could not be encoded`,
          enc.firstError,
        );
      }
      if (enc.encoded === 0) {
        releaseLine(enc.line);
        return undefined;
      }
      line = enc.line;
      encoded = enc.encoded;
    } catch (err) {
      // not expected: encodeLogsRequestLine catches per record
      this._encodeDropped += records.length;
      return err as Error;
    }
    try {
      if (this._file.write(line, encoded)) return undefined;
    } finally {
      releaseLine(line);
    }
    return this._file.lastError ?? new Error(`JsonlFileExporter: cannot write ${this.path}`);
  }

  /**
   * Closes the file and opens its path again (creating it): after logrotate moved it away.
   * Returns whether the file is open afterwards. Never throws.
   */
  reopen(): boolean {
    return this._file.reopen();
  }

  /** Resolves at once: every line is written before `export()` returns. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** fsyncs and closes the file. Idempotent; later exports return FAILED. Never rejects. */
  shutdown(): Promise<void> {
    if (!this._isShutdown) {
      this._isShutdown = true;
      if (this._reopenSignal !== undefined) process.off(this._reopenSignal, this._onSignal);
      this._file.close();
    }
    return Promise.resolve();
  }

  /** Counters since construction. */
  stats(): JsonlFileExporterStats {
    const f = this._file.stats();
    const failed = Object.values(f.dropped).reduce((a, b) => a + b, 0);
    const s: JsonlFileExporterStats = {
      exported: f.records,
      failed,
      failedBy: f.dropped,
      reopens: f.reopens,
      dropped: this._encodeDropped,
      bytes: f.bytes,
    };
    const error = this._file.lastError;
    if (error !== undefined) s.error = error;
    return s;
  }
}
