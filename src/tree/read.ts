/**
 * Streaming reader for OTLP/JSON: every document is one `ExportLogsServiceRequest` in the
 * OTLP/JSON encoding (opentelemetry-proto `opentelemetry/proto/collector/logs/v1/logs_service.proto`,
 * JSON mapping per the OTLP specification "JSON Protobuf Encoding"): lowerCamelCase field names,
 * int64 as decimal strings (numbers accepted too), trace/span ids as hex, enums as integers. This is
 * what starlog's `JsonlFileExporter` and the OpenTelemetry Collector's `file` exporter write (one
 * document per line), and also what a person saves by hand: one document, pretty-printed or not,
 * or a stream of documents one after another (like opentelemetry-proto's `examples/logs.json`).
 *
 * A hot path kept in one file on purpose (a little over 450 lines): `starlog tree` and
 * `starlog view` stream gigabyte files through the line splitter and the per-record conversion
 * below, which share the reader's state.
 *
 * Lines are split on `\n` only (`\r\n` accepted): U+2028/U+2029, which JSON leaves unescaped
 * inside strings, are text, not line breaks (Node's `readline` would split there).
 *
 * Lenient: unknown fields are ignored; a line that is not valid JSON (a torn last line after a crash,
 * a truncated copy) is reported through `onBadLine` and skipped. A line that does not parse alone
 * starts a multi-line document, read up to its closing brace; a later line that is a whole request
 * by itself ends such a torn document early (it is reported), so one torn line costs only itself.
 * Each record is handed over as a compact {@link ParsedRecord} (body truncated).
 */
import { createReadStream } from 'node:fs';
import { parseLevel } from '../severity.ts';
import { truncate } from './escape.ts';

/** The resource attributes the viewer uses to name a process. */
export interface ResourceInfo {
  /** `process.pid` (int or string in the source) */
  pid?: string;
  /** `service.name` */
  service?: string;
  /** `host.name` */
  host?: string;
  /** `service.instance.id` */
  instance?: string;
}

/** One log record reduced to what the tree viewer shows. */
export interface ParsedRecord {
  /** `timeUnixNano`, or `observedTimeUnixNano` when that is 0/absent, in ms since the epoch (0 if neither) */
  timeMs: number;
  /** `severityNumber` 0–24; from `severityText` when the number is absent */
  severity: number;
  /** the body as text, at most `maxBody` characters (+ `…`), not escaped */
  body: string;
  /** lower-case hex, absent when missing, empty or all zero */
  traceId?: string;
  spanId?: string;
  /** attributes `task.id`, `task.name`, `task.outcome`, `task.duration_ms` */
  taskId?: string;
  taskName?: string;
  outcome?: string;
  durationMs?: number;
  /** `exception.type: exception.message`, truncated like the body */
  exception?: string;
  /** `exception.stacktrace`, at most 4000 characters */
  stack?: string;
  /** instrumentation scope name (the logger); only with {@link ReadOptions.attributes} */
  logger?: string;
  /**
   * The record's other attributes (not `task.*`/`exception.*`), scalars as they are, arrays and
   * maps as text; only with {@link ReadOptions.attributes}.
   */
  attributes?: Record<string, string | number | boolean>;
}

/** Receives what the reader finds, in file order. */
export interface RecordSink {
  /** Called once per `resourceLogs` entry; returns a handle passed back with each of its records. */
  resource(fileIndex: number, info: ResourceInfo): number;
  record(resource: number, record: ParsedRecord): void;
}

/** What {@link readOtlpJsonLines} found in one file. */
export interface ReadStats {
  lines: number;
  records: number;
  /** lines skipped: invalid JSON or not an ExportLogsServiceRequest */
  badLines: number;
  bytes: number;
}

export interface ReadOptions {
  /** body/exception text limit in characters; default 200 */
  maxBody?: number;
  /** called for every skipped line (1-based line number) */
  onBadLine?: (line: number, reason: string) => void;
  /** also collect each record's attributes and scope name (`starlog tree --attrs`, `starlog view`) */
  attributes?: boolean;
}

const STACK_LIMIT = 4000;

/**
 * Reads one file of OTLP/JSON (lines, one document, or a stream of documents) and feeds `sink`.
 * Rejects only if the file cannot be opened or read (ENOENT, EACCES, EISDIR); malformed content
 * never throws.
 */
export async function readOtlpJsonLines(
  path: string,
  fileIndex: number,
  sink: RecordSink,
  options: ReadOptions = {},
): Promise<ReadStats> {
  const maxBody = options.maxBody ?? 200;
  const stats: ReadStats = { lines: 0, records: 0, badLines: 0, bytes: 0 };
  const scanner = new DocumentScanner();
  const bad = (line: number, reason: string): void => {
    stats.badLines++;
    options.onBadLine?.(line, reason);
  };
  const take = (parsed: unknown, line: number): boolean => {
    const resourceLogs = (parsed as { resourceLogs?: unknown } | null)?.resourceLogs;
    if (!Array.isArray(resourceLogs)) return false;
    stats.records += readRequest(
      resourceLogs,
      fileIndex,
      sink,
      maxBody,
      options.attributes === true,
    );
    void line;
    return true;
  };
  const onLine = (raw: string): void => {
    stats.lines++;
    stats.bytes += Buffer.byteLength(raw) + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const n = stats.lines;
    if (scanner.started) {
      // a torn document followed by a whole request on its own line: give up the torn one
      const alone = tryParse(line);
      if (alone !== undefined && take(alone, n)) {
        bad(scanner.startLine, 'invalid JSON (an incomplete document, ended by the next request)');
        scanner.reset();
        return;
      }
    } else {
      if (line.trim() === '') return;
      const parsed = tryParse(line);
      if (parsed !== undefined) {
        if (!take(parsed, n)) bad(n, 'not an ExportLogsServiceRequest (no resourceLogs array)');
        return;
      }
    }
    for (const doc of scanner.feed(line, n)) {
      if (doc.junk) {
        bad(doc.line, 'invalid JSON (text outside a document)');
        continue;
      }
      const parsed = tryParse(doc.text);
      if (parsed === undefined) bad(doc.line, 'invalid JSON');
      else if (!take(parsed, doc.line)) {
        bad(doc.line, 'not an ExportLogsServiceRequest (no resourceLogs array)');
      }
    }
  };
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest: string[] = [];
  for await (const chunk of stream as AsyncIterable<string>) {
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', from)) {
      const piece = chunk.slice(from, nl);
      if (rest.length > 0) {
        rest.push(piece);
        onLine(rest.join(''));
        rest = [];
      } else onLine(piece);
      from = nl + 1;
    }
    if (from < chunk.length) rest.push(chunk.slice(from));
  }
  if (rest.length > 0) onLine(rest.join(''));
  if (scanner.started)
    bad(scanner.startLine, 'invalid JSON (an incomplete document at the end of the file)');
  return stats;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Finds whole JSON documents (objects or arrays) in text fed line by line: tracks nesting outside
 * strings and emits a document when it closes. Only used for input that is not one document per
 * line.
 */
class DocumentScanner {
  started = false;
  startLine = 0;
  #parts: string[] = [];
  #depth = 0;
  #inString = false;
  #escape = false;

  reset(): void {
    this.started = false;
    this.#parts = [];
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
  }

  /** Scans one line (without its `\n`); returns the documents it completes and junk found. */
  feed(line: string, lineNo: number): { text: string; line: number; junk?: boolean }[] {
    const out: { text: string; line: number; junk?: boolean }[] = [];
    let segment = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (!this.started) {
        if (c === 0x20 || c === 0x09 || c === 0x0d) continue;
        if (c !== 0x7b && c !== 0x5b) {
          out.push({ text: '', line: lineNo, junk: true });
          return out; // the rest of the line is junk
        }
        this.started = true;
        this.startLine = lineNo;
        this.#depth = 1;
        segment = i;
        continue;
      }
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 0x5c) this.#escape = true;
        else if (c === 0x22) this.#inString = false;
      } else if (c === 0x22) this.#inString = true;
      else if (c === 0x7b || c === 0x5b) this.#depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--this.#depth === 0) {
          this.#parts.push(line.slice(segment, i + 1));
          out.push({ text: this.#parts.join(''), line: this.startLine });
          this.reset();
        }
      }
    }
    if (this.started) this.#parts.push(`${line.slice(segment)}\n`);
    return out;
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null;
}

function readRequest(
  resourceLogs: unknown[],
  fileIndex: number,
  sink: RecordSink,
  maxBody: number,
  withAttributes: boolean,
) {
  let n = 0;
  for (const rl of resourceLogs) {
    if (!isObject(rl)) continue;
    const resource = sink.resource(fileIndex, resourceInfo(rl.resource));
    const scopeLogs = rl.scopeLogs;
    if (!Array.isArray(scopeLogs)) continue;
    for (const sl of scopeLogs) {
      if (!isObject(sl) || !Array.isArray(sl.logRecords)) continue;
      const logger =
        withAttributes && isObject(sl.scope) && typeof sl.scope.name === 'string'
          ? sl.scope.name
          : undefined;
      for (const lr of sl.logRecords) {
        if (!isObject(lr)) continue;
        const rec = parseRecord(lr, maxBody, withAttributes);
        if (logger !== undefined) rec.logger = logger;
        sink.record(resource, rec);
        n++;
      }
    }
  }
  return n;
}

function resourceInfo(resource: unknown): ResourceInfo {
  const info: ResourceInfo = {};
  if (!isObject(resource) || !Array.isArray(resource.attributes)) return info;
  for (const kv of resource.attributes) {
    if (!isObject(kv)) continue;
    switch (kv.key) {
      case 'process.pid':
        info.pid = scalar(kv.value);
        break;
      case 'service.name':
        info.service = scalar(kv.value);
        break;
      case 'host.name':
        info.host = scalar(kv.value);
        break;
      case 'service.instance.id':
        info.instance = scalar(kv.value);
        break;
    }
  }
  return info;
}

function parseRecord(lr: Json, maxBody: number, withAttributes = false): ParsedRecord {
  let timeMs = nanosToMs(lr.timeUnixNano);
  if (timeMs === 0) timeMs = nanosToMs(lr.observedTimeUnixNano);
  let severity = typeof lr.severityNumber === 'number' ? lr.severityNumber : 0;
  if (severity === 0 && typeof lr.severityText === 'string') {
    const level = parseLevel(lr.severityText);
    if (level !== undefined && Number.isFinite(level)) severity = level;
  }
  const rec: ParsedRecord = {
    timeMs,
    severity,
    body: truncate(anyValueToString(lr.body, maxBody), maxBody),
    traceId: hexId(lr.traceId, 32),
    spanId: hexId(lr.spanId, 16),
  };
  let excType: string | undefined;
  let excMessage: string | undefined;
  if (Array.isArray(lr.attributes)) {
    for (const kv of lr.attributes) {
      if (!isObject(kv) || typeof kv.key !== 'string') continue;
      switch (kv.key) {
        case 'task.id':
          rec.taskId = scalar(kv.value);
          break;
        case 'task.name':
          rec.taskName = scalar(kv.value);
          break;
        case 'task.outcome':
          rec.outcome = scalar(kv.value);
          break;
        case 'task.duration_ms': {
          const d = Number(scalar(kv.value));
          if (Number.isFinite(d)) rec.durationMs = d;
          break;
        }
        case 'exception.type':
          excType = scalar(kv.value);
          break;
        case 'exception.message':
          excMessage = scalar(kv.value);
          break;
        case 'exception.stacktrace': {
          const s = scalar(kv.value);
          if (s !== undefined) rec.stack = truncate(s, STACK_LIMIT);
          break;
        }
        default:
          if (withAttributes) {
            const v = attributeValue(kv.value);
            if (v !== undefined) {
              rec.attributes ??= {};
              rec.attributes[kv.key] = v;
            }
          }
      }
    }
  }
  if (excType !== undefined || excMessage !== undefined) {
    const text = [excType, excMessage].filter((x) => x !== undefined && x !== '').join(': ');
    rec.exception = truncate(text, maxBody);
  }
  if (rec.taskName !== undefined) rec.taskName = truncate(rec.taskName, maxBody);
  return rec;
}

/** An attribute's AnyValue: string, number, boolean as they are; others as text (1000 chars). */
function attributeValue(v: unknown): string | number | boolean | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  const s = anyValueToString(v, 1000);
  return s === '' ? undefined : truncate(s, 1000);
}

/** int64 nanoseconds (decimal string or number) → ms; 0 when absent or invalid. */
function nanosToMs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v / 1e6 : 0;
  if (typeof v !== 'string' || v === '') return 0;
  // ms = first digits, keeps sub-ms precision without BigInt
  const n = Number(v);
  return Number.isFinite(n) ? n / 1e6 : 0;
}

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Trace/span id: hex per OTLP/JSON; base64 (written by some older encoders) is converted.
 * Empty, wrong length or all-zero ids (invalid per W3C Trace Context) are absent.
 */
function hexId(v: unknown, hexLength: number): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  let hex: string | undefined;
  if (v.length === hexLength && HEX.test(v)) hex = v.toLowerCase();
  else if (v.length === Math.ceil(hexLength / 2 / 3) * 4) {
    const bytes = Buffer.from(v, 'base64');
    if (bytes.length === hexLength / 2) hex = bytes.toString('hex');
  }
  if (hex === undefined || /^0+$/.test(hex)) return undefined;
  return hex;
}

/** A scalar AnyValue as a string (arrays/maps rendered compactly); undefined when absent. */
function scalar(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return String(v.boolValue);
  const s = anyValueToString(v, 1000);
  return s === '' ? undefined : s;
}

/**
 * Renders an OTLP/JSON AnyValue as text, stopping once `budget` characters are exceeded (the
 * caller truncates): strings as is, arrays as `[a, b]`, kvlists as `{k: v}`, bytes as
 * `<N bytes>`, an absent body as ''.
 */
export function anyValueToString(v: unknown, budget: number): string {
  if (!isObject(v)) return '';
  if (typeof v.stringValue === 'string') return v.stringValue;
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return String(v.boolValue);
  if (typeof v.bytesValue === 'string') {
    return `<${Math.floor((v.bytesValue.replace(/=+$/, '').length * 3) / 4)} bytes>`;
  }
  const quote = (x: unknown) => {
    if (isObject(x) && typeof x.stringValue === 'string') return JSON.stringify(x.stringValue);
    return anyValueToString(x, budget);
  };
  if (isObject(v.arrayValue)) {
    const values = Array.isArray(v.arrayValue.values) ? v.arrayValue.values : [];
    let out = '[';
    for (let i = 0; i < values.length && out.length <= budget; i++) {
      out += (i ? ', ' : '') + quote(values[i]);
    }
    return `${out}]`;
  }
  if (isObject(v.kvlistValue)) {
    const values = Array.isArray(v.kvlistValue.values) ? v.kvlistValue.values : [];
    let out = '{';
    for (let i = 0; i < values.length && out.length <= budget; i++) {
      const kv = values[i];
      if (!isObject(kv)) continue;
      out += `${i ? ', ' : ''}${String(kv.key)}: ${quote(kv.value)}`;
    }
    return `${out}}`;
  }
  return '';
}
