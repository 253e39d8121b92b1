/**
 * `starlog run --capture-output`: each line a child writes to stdout or stderr becomes a log
 * record (stdout → INFO, stderr → WARN) with a resource describing the child process, so that a
 * program that knows nothing of OpenTelemetry is counted in status records and written to the log
 * file.
 */
import { basename } from 'node:path';
import { diag, SeverityNumber } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { parseJsonLogLine } from '../../instrumentations/json-record.ts';
import { CAPTURE_SCOPE_NAME, CAPTURE_SPLIT_ATTRIBUTE, ROLE_ATTRIBUTE } from '../../semconv.ts';
import { PlainLogRecord } from '../../util/plain-log-record.ts';

/** Instrumentation scope name of captured lines (a logger name for the level table, too). */
export { CAPTURE_SCOPE_NAME };

/** The one scope object every captured record carries (exporters group by identity). */
export const CAPTURE_SCOPE: InstrumentationScope = Object.freeze({ name: CAPTURE_SCOPE_NAME });

/** Default {@link OutputCaptureOptions.maxLineBytes}: 64 KiB. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/**
 * Attribute set on the pieces of a line longer than `maxLineBytes` (each piece is its own record).
 */
export const SPLIT_ATTRIBUTE = CAPTURE_SPLIT_ATTRIBUTE;

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines (separated by `\n`; a `\r` before it is dropped too). A line
 * longer than `maxLineBytes` is cut into pieces of at most that many bytes, at a UTF-8 character
 * boundary; the pieces are passed with `split = true`. Empty lines are skipped. Bytes that are not
 * valid UTF-8 become U+FFFD. `end()` passes the last line when it has no newline.
 */
export class LineSplitter {
  private readonly onLine: (line: string, split: boolean) => void;
  private readonly maxLineBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The pending bytes continue a line already cut (its next piece is `split` too). */
  private continued = false;

  /** @throws RangeError when `maxLineBytes` is not an integer >= 4 */
  constructor(
    onLine: (line: string, split: boolean) => void,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  ) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 4) {
      throw new RangeError(
        `LineSplitter: maxLineBytes must be an integer >= 4, got ${JSON.stringify(maxLineBytes)}`,
      );
    }
    this.onLine = onLine;
    this.maxLineBytes = maxLineBytes;
  }

  /** Feeds bytes; calls `onLine` for every complete line (and every piece of an over-long one). */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      this.append(chunk.subarray(start, nl));
      this.emitPending(true);
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
  }

  /** Passes what is left (a last line without newline). */
  end(): void {
    if (this.pendingBytes > 0) this.emitPending(true);
    this.continued = false;
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    while (this.pendingBytes > this.maxLineBytes) this.cut();
  }

  /** Passes the first `maxLineBytes` bytes (less, to end at a character boundary) as a piece. */
  private cut(): void {
    const all = this.take();
    let end = this.maxLineBytes;
    // back off over UTF-8 continuation bytes (10xxxxxx) so the piece ends between characters
    let back = 0;
    while (back < 3 && (all[end]! & 0xc0) === 0x80) {
      end--;
      back++;
    }
    if ((all[end]! & 0xc0) === 0x80) end = this.maxLineBytes; // not UTF-8: cut anywhere
    this.deliver(all.subarray(0, end), true);
    this.continued = true;
    const rest = all.subarray(end);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
  }

  private emitPending(endOfLine: boolean): void {
    const bytes = this.take();
    let end = bytes.length;
    if (endOfLine && end > 0 && bytes[end - 1] === CR) end--;
    if (end > 0) this.deliver(bytes.subarray(0, end), this.continued);
    this.continued = false;
  }

  private take(): Buffer {
    const bytes =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return bytes;
  }

  private deliver(bytes: Buffer, split: boolean): void {
    try {
      this.onLine(bytes.toString('utf8'), split);
    } catch (err) {
      diag.error('starlog run: a captured line could not be handled', err);
    }
  }
}

/** What {@link childResource} describes. */
export interface ChildProcessInfo {
  pid: number | undefined;
  command: string;
  args: readonly string[];
  /** `service.name`; default {@link defaultServiceName}. */
  serviceName?: string;
  /** The pid of `starlog run` (resource `process.parent_pid`). */
  parentPid?: number;
}

/**
 * The `service.name` for a command: its base name (`/usr/bin/python3` → `python3`); for Node.js
 * (`node app.js`) the script's base name without extension, as starlog names a Node process.
 */
export function defaultServiceName(command: string, args: readonly string[]): string {
  const name = basename(command);
  if (/^node(js)?(\.exe)?$/i.test(name)) {
    const script = args.find((a) => !a.startsWith('-'));
    if (script !== undefined) return basename(script).replace(/\.(c|m)?(j|t)s$/, '') || name;
  }
  return name;
}

/**
 * The resource of captured records: OpenTelemetry process semantic conventions (`process.pid`,
 * `process.parent_pid`, `process.command`, `process.command_args`, `process.executable.name`),
 * `service.name` and `starlog.role: 'child'`. No `telemetry.sdk.*`: the child may have none.
 */
export function childResource(info: ChildProcessInfo): Resource {
  const attributes: Record<string, string | number | string[]> = {
    'service.name': info.serviceName ?? defaultServiceName(info.command, info.args),
    'process.command': info.command,
    'process.command_args': [info.command, ...info.args],
    'process.executable.name': basename(info.command),
    [ROLE_ATTRIBUTE]: 'child',
  };
  if (info.pid !== undefined) attributes['process.pid'] = info.pid;
  if (info.parentPid !== undefined) attributes['process.parent_pid'] = info.parentPid;
  return resourceFromAttributes(attributes);
}

/** Options of {@link OutputCapture}. */
export interface OutputCaptureOptions {
  /** Where the records go, e.g. the primary's `handle.pipeline`. */
  processor: LogRecordProcessor;
  /** The child's resource ({@link childResource}). */
  resource: Resource;
  /** Longest record body in bytes (UTF-8); longer lines are split. Default 65,536 (64 KiB). */
  maxLineBytes?: number;
}

/** Counters of an {@link OutputCapture}. */
export interface OutputCaptureStats {
  /** Records made from stdout lines. */
  stdout: number;
  /** Records made from stderr lines. */
  stderr: number;
  /** Records that are a piece of a line longer than `maxLineBytes`. */
  split: number;
}

/**
 * Turns a child's output into log records: a pino or bunyan JSON line (an object with a numeric
 * `level` and a `time` or `msg`) keeps its severity, time, `msg` as body, `name`(`.module`) as
 * scope and its other fields as attributes (see `instrumentations/json-record.ts`); other
 * stdout lines → INFO, stderr lines → WARN; body = the
 * line without its line end (nothing escaped: exporters escape on output); attribute
 * `log.iostream` (`stdout`|`stderr`, OpenTelemetry semantic conventions); scope
 * `starlog.capture`; the child's resource. Records are handed to `processor.onEmit`; a failing
 * processor is reported through `diag`, never thrown.
 */
export class OutputCapture {
  private readonly processor: LogRecordProcessor;
  private readonly resource: Resource;
  private readonly counts: OutputCaptureStats = { stdout: 0, stderr: 0, split: 0 };
  /** Line splitter of the child's stdout. */
  readonly stdout: LineSplitter;
  /** Line splitter of the child's stderr. */
  readonly stderr: LineSplitter;

  /** @throws RangeError for a `maxLineBytes` below 4 */
  constructor(options: OutputCaptureOptions) {
    this.processor = options.processor;
    this.resource = options.resource;
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.stdout = new LineSplitter((line, split) => this.emit('stdout', line, split), max);
    this.stderr = new LineSplitter((line, split) => this.emit('stderr', line, split), max);
  }

  /** Passes the last, unterminated lines of both streams. */
  end(): void {
    this.stdout.end();
    this.stderr.end();
  }

  stats(): OutputCaptureStats {
    return { ...this.counts };
  }

  private readonly scopes = new Map<string, InstrumentationScope>();

  /** One scope object per logger name of captured JSON lines (exporters group by identity). */
  private scope(name: string): InstrumentationScope {
    let s = this.scopes.get(name);
    if (s === undefined) {
      if (this.scopes.size >= 1000) this.scopes.clear();
      s = Object.freeze({ name });
      this.scopes.set(name, s);
    }
    return s;
  }

  private emit(stream: 'stdout' | 'stderr', line: string, split: boolean): void {
    const err = stream === 'stderr';
    const attributes: Record<string, string | boolean> = { 'log.iostream': stream };
    if (split) {
      attributes[SPLIT_ATTRIBUTE] = true;
      this.counts.split++;
    }
    this.counts[stream]++;
    // a pino or bunyan JSON line keeps its level, time, message, logger name and fields
    const json = split ? undefined : parseJsonLogLine(line);
    const record = json
      ? new PlainLogRecord({
          resource: this.resource,
          instrumentationScope: this.scope(json.scope),
          severityNumber: json.severityNumber,
          severityText: json.severityText,
          body: json.body,
          attributes: { ...json.attributes, 'log.iostream': stream },
          hrTime:
            json.timestamp === undefined
              ? undefined
              : [Math.floor(json.timestamp / 1000), (json.timestamp % 1000) * 1e6],
        })
      : new PlainLogRecord({
          resource: this.resource,
          instrumentationScope: CAPTURE_SCOPE,
          severityNumber: err ? SeverityNumber.WARN : SeverityNumber.INFO,
          severityText: err ? 'WARN' : 'INFO',
          body: line,
          attributes,
        });
    try {
      this.processor.onEmit(record);
    } catch (e) {
      diag.error('starlog run: the pipeline rejected a captured line', e);
    }
  }
}
