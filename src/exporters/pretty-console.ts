import type { Writable } from 'node:stream';
import { diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import pc from 'picocolors';
import { STATUS_SCOPE_NAME } from '../processors/status/status-processor.ts';
import { severityBucket } from '../severity.ts';
import { escapeControl } from '../util/escape.ts';
import { ConsoleWriter, type ConsoleWriterStats } from './console-writer.ts';
import { PendingWrites } from './pending-writes.ts';
import { type Painter, renderAttributes, renderBody, renderValue } from './pretty-values.ts';

export { renderBody, renderValue };

/** The placeholders a {@link PrettyConsoleExporterOptions.template} may use. */
export const TEMPLATE_FIELDS = [
  'time',
  'level',
  'pid',
  'service',
  'scope',
  'body',
  'attributes',
  'trace_id',
  'span_id',
] as const;
type Field = (typeof TEMPLATE_FIELDS)[number];

/** Options of {@link PrettyConsoleExporter}. */
export interface PrettyConsoleExporterOptions {
  /**
   * Line layout with `{time}` (ISO 8601 UTC, ms), `{level}` (severity range name padded to 5,
   * `STAT` for status records), `{pid}` (resource `process.pid`), `{service}` (resource
   * `service.name`), `{scope}` (instrumentation scope name), `{body}`, `{attributes}`
   * (`{k=v k2=v2}`, empty when there are none), `{trace_id}`, `{span_id}` (hex, empty without a
   * span context). Other text is copied as is. Missing values render as the empty string.
   * Default: `{time} {level} [pid {pid} {scope}] {body}  {attributes}`, with the brackets and
   * double space left out when their content is empty.
   * @throws TypeError from the constructor on an unknown placeholder
   */
  template?: string;
  /**
   * Colour the level (and dim time, process and attribute keys) with ANSI escapes.
   * Default: {@link detectColors} of the stream: on for a TTY unless `NO_COLOR` is set to a
   * non-empty value; `FORCE_COLOR` overrides both (`0`/`false` off, anything else on).
   */
  colors?: boolean;
  /**
   * Where lines go. Default: standard output through a {@link ConsoleWriter} that never blocks
   * the event loop (a terminal or pipe that stops reading gets up to `maxBufferedBytes` buffered,
   * then whole batches are dropped and counted). A given stream is written with `stream.write`.
   * Not ended by `shutdown()`.
   */
  stream?: Writable;
  /** With the default output: bytes buffered while the terminal or pipe does not read. Default 1 MiB. */
  maxBufferedBytes?: number;
}

/**
 * Whether output to `stream` should be coloured by default, following https://no-color.org and
 * the `FORCE_COLOR` convention of Node.js: `FORCE_COLOR` set → on unless it is `0` or `false`;
 * else `NO_COLOR` set and non-empty → off; else on when `stream.isTTY` and `TERM` is not `dumb`.
 */
export function detectColors(
  stream: Writable | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return (stream as { isTTY?: boolean } | undefined)?.isTTY === true;
}

const LEVEL_LABELS = ['-    ', 'TRACE', 'DEBUG', 'INFO ', 'WARN ', 'ERROR', 'FATAL'];
const STATUS_LABEL = 'STAT ';

interface Palette {
  levels: Painter[];
  status: Painter;
  dim: Painter;
  key: Painter;
}

function palette(enabled: boolean): Palette {
  const c = pc.createColors(enabled);
  return {
    levels: [
      c.dim,
      c.gray,
      c.blue,
      c.green,
      c.yellow,
      c.red,
      (s: string) => c.bold(c.red(s)),
    ] as Painter[],
    status: c.cyan as Painter,
    dim: c.dim as Painter,
    key: c.dim as Painter,
  };
}

/** `YYYY-MM-DDTHH:MM:SS.` of the last second formatted (records of a batch share seconds). */
let lastSecond = Number.NaN;
let lastSecondPrefix = '';

function isoTime(r: ReadableLogRecord): string {
  const t = r.hrTime;
  const ms = t[0] * 1000 + Math.floor(t[1] / 1e6);
  if (!Number.isFinite(ms)) return '-';
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const d = new Date(second * 1000);
    if (Number.isNaN(d.getTime())) return '-';
    const iso = d.toISOString(); // 2026-11-21T10:00:00.000Z (or ±YYYYYY-… outside 0000–9999)
    lastSecondPrefix = iso.slice(0, -4);
    lastSecond = second;
  }
  return `${lastSecondPrefix}${String(ms - second * 1000 + 1000).slice(1)}Z`;
}

interface ResourceInfo {
  pid: string;
  service: string;
}

function resourceInfo(resource: Resource, cache: WeakMap<object, ResourceInfo>): ResourceInfo {
  let info = cache.get(resource);
  if (info !== undefined) return info;
  const attrs = resource.attributes ?? {};
  const pid = attrs['process.pid'];
  const service = attrs['service.name'];
  info = {
    pid: pid === undefined || pid === null ? '' : escapeControl(String(pid)),
    service: service === undefined || service === null ? '' : escapeControl(String(service)),
  };
  if (!resource.asyncAttributesPending) cache.set(resource, info);
  return info;
}

type Part = Field | { readonly text: string };

function compileTemplate(template: string): Part[] {
  const parts: Part[] = [];
  const re = /\{([a-z_]+)\}/g;
  let last = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    const name = m[1]!;
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(name)) {
      throw new TypeError(
        `PrettyConsoleExporter: option template has unknown placeholder {${name}} (known: ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')})`,
      );
    }
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    parts.push(name as Field);
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

/**
 * An sdk-logs `LogRecordExporter` that prints one human-readable line per record, e.g.
 * `2026-11-21T10:00:00.123Z INFO  [pid 1234 app.http] handled GET /  {status=200 task.name="handle order"}`.
 *
 * - Safe with untrusted records: control characters, ANSI escape sequences, CR/LF, Unicode line
 *   separators and bidi overrides in bodies, attribute keys and values, scope and resource values
 *   are escaped (`\n`, `\x1b`, …, see `escape.ts`), so one record is always one line and cannot
 *   recolour the terminal.
 * - Non-string bodies and attribute values are rendered compactly and JSON-like
 *   (`{"a":1,"b":[true,"x"]}`, bytes as `<3 bytes 010203>`); never throws.
 * - Status records (scope `starlog.status`) show `STAT` as their level and, in the default layout,
 *   only their body (the rendered template); with a template, `{attributes}` shows their counters
 *   without the `starlog.count.` prefix.
 * - One `stream.write` per export batch; the result callback is called from the write callback
 *   (SUCCESS, or FAILED with the error). Stream `error` events are handled (reported once via
 *   `diag.error`, never crash the process). `shutdown()` waits for pending writes and does not
 *   end the stream; `export()` after it returns FAILED.
 */
export class PrettyConsoleExporter implements LogRecordExporter {
  private readonly _stream: Writable;
  private readonly _writer: ConsoleWriter | undefined;
  private readonly _colors: boolean;
  private readonly _p: Palette;
  private readonly _parts: Part[] | undefined;
  private readonly _resources = new WeakMap<object, ResourceInfo>();
  private readonly _onError: (err: Error) => void;
  private _error: Error | undefined;
  private _isShutdown = false;
  private readonly _writes = new PendingWrites();

  /** @throws TypeError on an unknown template placeholder or a `stream` that is not writable */
  constructor(options: PrettyConsoleExporterOptions = {}) {
    const stream = options.stream ?? process.stdout;
    if (typeof (stream as Partial<Writable>)?.write !== 'function') {
      throw new TypeError(`PrettyConsoleExporter: option stream must be a Writable`);
    }
    this._stream = stream;
    if (options.stream === undefined) {
      this._writer = new ConsoleWriter({ fd: 1, maxBufferedBytes: options.maxBufferedBytes });
    }
    this._colors = options.colors ?? detectColors(stream);
    this._p = palette(this._colors);
    this._parts = options.template === undefined ? undefined : compileTemplate(options.template);
    this._onError = (err: Error) => {
      if (this._error === undefined) {
        diag.error('PrettyConsoleExporter: output stream failed; further exports fail', err);
      }
      this._error = err;
    };
    stream.on('error', this._onError);
  }

  /** Whether this exporter colours its output. */
  get colors(): boolean {
    return this._colors;
  }

  /** The line for one record, without the newline. Never throws. */
  format(r: ReadableLogRecord): string {
    try {
      return this._parts === undefined ? this._formatDefault(r) : this._formatTemplate(r);
    } catch (err) {
      diag.warn('PrettyConsoleExporter: cannot format a record', err);
      return `${isoTimeSafe(r)} ${LEVEL_LABELS[0]} [unformattable record]`;
    }
  }

  private _level(r: ReadableLogRecord, isStatus: boolean): string {
    if (isStatus) return this._p.status(STATUS_LABEL);
    const bucket = severityBucket(r.severityNumber);
    if (bucket === 0 && typeof r.severityText === 'string' && r.severityText !== '') {
      return this._p.levels[0]!(escapeControl(r.severityText.padEnd(5)));
    }
    return this._p.levels[bucket]!(LEVEL_LABELS[bucket]!);
  }

  private _formatDefault(r: ReadableLogRecord): string {
    const p = this._p;
    const scopeName = r.instrumentationScope?.name ?? '';
    const isStatus = scopeName === STATUS_SCOPE_NAME;
    const info = resourceInfo(r.resource, this._resources);
    let line = `${p.dim(isoTime(r))} ${this._level(r, isStatus)}`;
    let where = info.pid === '' ? '' : `pid ${info.pid}`;
    if (scopeName !== '') where += (where === '' ? '' : ' ') + escapeControl(scopeName);
    if (where !== '') line += ` ${p.dim(`[${where}]`)}`;
    const body = renderBody(r.body);
    if (body !== '') line += ` ${body}`;
    // a status record's body already is its summary; its attributes (every counter) stay in the file
    const attrs = r.attributes && !isStatus ? renderAttributes(r.attributes, false, p.key) : '';
    if (attrs !== '') line += `  ${attrs}`;
    return line;
  }

  private _formatTemplate(r: ReadableLogRecord): string {
    const p = this._p;
    const scopeName = r.instrumentationScope?.name ?? '';
    const isStatus = scopeName === STATUS_SCOPE_NAME;
    let line = '';
    for (const part of this._parts!) {
      if (typeof part !== 'string') {
        line += part.text;
        continue;
      }
      switch (part) {
        case 'time':
          line += p.dim(isoTime(r));
          break;
        case 'level':
          line += this._level(r, isStatus);
          break;
        case 'pid':
          line += resourceInfo(r.resource, this._resources).pid;
          break;
        case 'service':
          line += resourceInfo(r.resource, this._resources).service;
          break;
        case 'scope':
          line += escapeControl(scopeName);
          break;
        case 'body':
          line += renderBody(r.body);
          break;
        case 'attributes':
          line += r.attributes ? renderAttributes(r.attributes, isStatus, p.key) : '';
          break;
        case 'trace_id':
          line += r.spanContext ? escapeControl(String(r.spanContext.traceId)) : '';
          break;
        case 'span_id':
          line += r.spanContext ? escapeControl(String(r.spanContext.spanId)) : '';
          break;
      }
    }
    return line;
  }

  /**
   * Writes the lines of `records` with one `stream.write`. Calls `resultCallback` once from the
   * write callback; FAILED after shutdown or a stream error. Never throws.
   */
  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    if (this._isShutdown) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: new Error('PrettyConsoleExporter: export after shutdown'),
      });
      return;
    }
    if (this._error !== undefined) {
      resultCallback({ code: ExportResultCode.FAILED, error: this._error });
      return;
    }
    if (records.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    let text = '';
    for (let i = 0; i < records.length; i++) text += `${this.format(records[i]!)}\n`;
    if (this._writer !== undefined) {
      if (this._writer.write(text, records.length)) {
        resultCallback({ code: ExportResultCode.SUCCESS });
      } else {
        resultCallback({
          code: ExportResultCode.FAILED,
          error:
            this._writer.error ??
            new Error('PrettyConsoleExporter: the terminal is not reading; lines dropped'),
        });
      }
      return;
    }
    this._writes.begin();
    try {
      this._stream.write(text, (err) => {
        if (err) {
          this._onError(err);
          resultCallback({ code: ExportResultCode.FAILED, error: err });
        } else resultCallback({ code: ExportResultCode.SUCCESS });
        this._writes.settle();
      });
    } catch (err) {
      this._writes.settle();
      this._onError(err as Error);
      resultCallback({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  /**
   * Writes the lines of `records` now, blocking at most `timeoutMs` when the terminal does not
   * read (for process exit; what is buffered goes first). Never throws.
   */
  exportSync(
    records: ReadableLogRecord[],
    timeoutMs: number,
  ): { exported: number; failed: number } {
    if (records.length === 0) return { exported: 0, failed: 0 };
    let text = '';
    for (let i = 0; i < records.length; i++) text += `${this.format(records[i]!)}\n`;
    try {
      const ok =
        this._writer !== undefined
          ? this._writer.writeSync(text, records.length, timeoutMs)
          : this._stream.write(text) || true;
      return ok ? { exported: records.length, failed: 0 } : { exported: 0, failed: records.length };
    } catch {
      return { exported: 0, failed: records.length };
    }
  }

  /** Writes what the default output holds, blocking at most `timeoutMs` (process exit). */
  flushSync(timeoutMs: number): void {
    this._writer?.flushSync(timeoutMs);
  }

  /** The default output's counters (bytes buffered and dropped), when it is used. */
  writerStats(): ConsoleWriterStats | undefined {
    return this._writer?.stats();
  }

  /**
   * Resolves once every write so far has called back and, with the default output, once its
   * buffer is empty (at most 2 s while the terminal does not read). Never rejects.
   */
  async forceFlush(): Promise<void> {
    await this._writes.idle();
    if (this._writer === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this._writer.idle(),
      new Promise<void>((r) => {
        timer = setTimeout(r, 2000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Waits for pending writes and detaches from the stream (which stays open). Idempotent. */
  async shutdown(): Promise<void> {
    if (this._isShutdown) return;
    this._isShutdown = true;
    await this.forceFlush();
    this._writer?.close();
    this._stream.off('error', this._onError);
  }
}

function isoTimeSafe(r: ReadableLogRecord): string {
  try {
    return isoTime(r);
  } catch {
    return '-';
  }
}
