import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { createStream } from 'rotating-file-stream';
import { encodeLogsRequestLine } from '../otlp/json-line-writer.ts';
import { PendingWrites } from './pending-writes.ts';

/** Options of {@link JsonlFileExporter}. */
export interface JsonlFileExporterOptions {
  /**
   * File to append to; relative paths resolve against the working directory at construction.
   * Missing directories are created. Default: `./logs/starlog.jsonl`.
   */
  path?: string;
  /**
   * Rotate when the active file reaches this many bytes (a line is never split: the file is
   * rotated after the write that reaches the size). Enables rotation through
   * `rotating-file-stream` in its classical mode: the active file is renamed `<path>.1`, the
   * previous `<path>.1` becomes `<path>.2`, and so on. Default: no rotation (a plain append
   * stream). Positive integer.
   */
  maxSize?: number;
  /**
   * With `maxSize`: how many rotated files (`<path>.1` … `<path>.<maxFiles>`) are kept besides
   * the active file; older ones are overwritten. Default: 5. Positive integer; requires `maxSize`.
   */
  maxFiles?: number;
}

/** Counters of a {@link JsonlFileExporter}; all counts are records unless named otherwise. */
export interface JsonlFileExporterStats {
  /** Records whose line was written to the file (the write completed). */
  exported: number;
  /** Records of exports that returned FAILED (write error, stream broken, after shutdown). */
  failed: number;
  /** Records left out of a line because encoding them threw (their batch still succeeded). */
  dropped: number;
  /** Bytes (UTF-8) of completed writes. */
  bytes: number;
  /** The stream error that broke the exporter, if any. */
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

/**
 * An sdk-logs `LogRecordExporter` that appends OTLP/JSON lines to a file: every `export()` call
 * writes ONE line holding an `ExportLogsServiceRequest`
 * (`{"resourceLogs":[{"resource":…,"scopeLogs":[{"scope":…,"logRecords":[…]}]}]}`), the format
 * of the OpenTelemetry Collector's `file` exporter (see `otlp-json.ts` for the exact encoding),
 * so `starlog tree`, `jq` and the Collector's `otlpjsonfile` receiver read both.
 *
 * - Opens the file for appending (never truncates); creates missing directories.
 * - Writes go through a Node.js stream (`fs.createWriteStream`, or `rotating-file-stream` with
 *   `maxSize`), one `write` per export: the event loop is never blocked.
 * - The result callback is called when the stream's write callback fires, i.e. once the line has
 *   been handed to the operating system (`write(2)` completed, no fsync). A slow disk therefore
 *   slows the calling processor down (backpressure) instead of growing memory without bound.
 * - A write error (path is a directory, permission denied, disk full, …) never throws and never
 *   crashes the process (the stream's `error` event is handled): it is reported once through
 *   `diag.error`, that export and every later one return `ExportResultCode.FAILED`.
 * - `forceFlush()` resolves when every line written so far has been handed to the OS;
 *   `shutdown()` flushes, fsyncs and closes the file (idempotent). `export()` after `shutdown()`
 *   returns FAILED.
 */
export class JsonlFileExporter implements LogRecordExporter {
  /** Absolute path of the active file. */
  readonly path: string;
  private readonly _stream: Writable;
  private _error: Error | undefined;
  private _isShutdown = false;
  private _shutdownPromise: Promise<void> | undefined;
  private readonly _writes = new PendingWrites();
  private _exported = 0;
  private _failed = 0;
  private _dropped = 0;
  private _bytes = 0;
  private _failWarned = false;

  /** @throws TypeError when `maxSize` or `maxFiles` is not a positive integer, or `maxFiles` is given without `maxSize` */
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
    this.path = resolve(options.path ?? DEFAULT_PATH);
    try {
      mkdirSync(dirname(this.path), { recursive: true });
    } catch (err) {
      // the stream's open fails with a precise error too; report that one
      diag.debug(`JsonlFileExporter: cannot create directory of ${this.path}`, err);
    }
    if (maxSize === undefined) {
      this._stream = createWriteStream(this.path, { flags: 'a', flush: true });
    } else {
      this._stream = createStream(this.path, {
        size: `${maxSize}B`,
        rotate: maxFiles ?? DEFAULT_MAX_FILES,
      });
      this._stream.on('warning', (err: Error) =>
        diag.warn(`JsonlFileExporter: rotation warning for ${this.path}`, err),
      );
    }
    this._stream.on('error', (err: Error) => this._onError(err));
  }

  private _onError(err: Error): void {
    if (this._error !== undefined) return;
    this._error = err;
    diag.error(`JsonlFileExporter: cannot write ${this.path}; further exports fail`, err);
  }

  /**
   * Appends one line for `records`. Calls `resultCallback` once: SUCCESS after the write
   * completed, FAILED (with the error) when the exporter is shut down or broken or the write
   * fails. Records whose encoding throws are dropped (counted, `diag.warn`) without failing the
   * batch. Never throws.
   */
  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    if (this._isShutdown) {
      this._fail(
        records.length,
        new Error('JsonlFileExporter: export after shutdown'),
        resultCallback,
      );
      return;
    }
    if (this._error !== undefined) {
      this._fail(records.length, this._error, resultCallback);
      return;
    }
    if (records.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    let line: Buffer;
    let encoded: number;
    try {
      const enc = encodeLogsRequestLine(records); // the line's bytes, '\n' included
      if (enc.dropped > 0) {
        this._dropped += enc.dropped;
        diag.warn(
          `JsonlFileExporter: dropped ${enc.dropped} record(s) that could not be encoded`,
          enc.firstError,
        );
      }
      if (enc.encoded === 0) {
        resultCallback({ code: ExportResultCode.SUCCESS });
        return;
      }
      line = enc.line;
      encoded = enc.encoded;
    } catch (err) {
      // not expected: encodeLogsRequestLine catches per record
      this._fail(records.length, err as Error, resultCallback);
      return;
    }
    this._writes.begin();
    try {
      this._stream.write(line, (err) => {
        if (err) {
          this._onError(err);
          this._failed += encoded;
          resultCallback({ code: ExportResultCode.FAILED, error: err });
        } else {
          this._exported += encoded;
          this._bytes += line.length;
          resultCallback({ code: ExportResultCode.SUCCESS });
        }
        this._writes.settle();
      });
    } catch (err) {
      // write() throws only on invalid arguments or a stream in a state we never create
      this._writes.settle();
      this._fail(encoded, err as Error, resultCallback);
    }
  }

  private _fail(n: number, error: Error, cb: (result: ExportResult) => void): void {
    this._failed += n;
    if (!this._failWarned && this._isShutdown) {
      this._failWarned = true;
      diag.warn('JsonlFileExporter: export after shutdown, records dropped');
    }
    cb({ code: ExportResultCode.FAILED, error });
  }

  /** Resolves once every line written so far has been handed to the OS (or failed). Never rejects. */
  forceFlush(): Promise<void> {
    return this._writes.idle();
  }

  /**
   * Flushes, then closes the file (fsync before close for the plain stream). Idempotent; later
   * exports return FAILED. Never rejects: close errors go to `diag.error`.
   */
  shutdown(): Promise<void> {
    this._shutdownPromise ??= this._shutdown();
    return this._shutdownPromise;
  }

  private async _shutdown(): Promise<void> {
    this._isShutdown = true;
    await this.forceFlush();
    const stream = this._stream;
    if (stream.destroyed) return;
    stream.end();
    try {
      await finished(stream);
    } catch (err) {
      this._onError(err as Error);
    }
  }

  /** Counters since construction. */
  stats(): JsonlFileExporterStats {
    const s: JsonlFileExporterStats = {
      exported: this._exported,
      failed: this._failed,
      dropped: this._dropped,
      bytes: this._bytes,
    };
    if (this._error !== undefined) s.error = this._error;
    return s;
  }
}
