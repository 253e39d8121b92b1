/**
 * bunyan captured into starlog with no change to the application, through bunyan's public
 * stream API: every logger that adds a stream while starlog is set up also gets a `raw` stream
 * that emits each record object as an OpenTelemetry log record, in the caller's Context (child
 * loggers share their parent's streams). The mapping is pino's (`json-record.ts`): bunyan and
 * pino share level numbers and field names; `time` is a Date here.
 *
 * - **Scope**: `name` (bunyan requires one), then `.module` for a `module` field of a child.
 * - **Level**: the raw stream's level is starlog's for the logger's name when the logger is
 *   created (later table changes apply to loggers created afterwards); other streams keep theirs.
 * - **Original output**: a `process.stdout`/`process.stderr` stream (bunyan's default) is
 *   replaced by the capture while starlog is set up (no line twice), unless `keepOutput`.
 */
import { diag } from '@opentelemetry/api';
import { fromJsonRecord } from './json-record.ts';
import { type CaptureContext, emitJsonFields } from './scope-loggers.ts';

const PATCHED = Symbol.for('starlog.bunyan.patched');
const CAPTURING = Symbol('starlog.bunyan.capturing');

interface BunyanStream {
  type?: string;
  stream?: unknown;
  level?: unknown;
  [key: string]: unknown;
}

interface BunyanLogger {
  fields?: { name?: unknown };
  addStream(s: BunyanStream, defaultLevel?: unknown): void;
  [CAPTURING]?: boolean;
}

/** bunyan level number for a starlog minimum severity (100: off). */
function bunyanLevelOf(minSeverity: number): number {
  if (minSeverity <= 4) return 10;
  if (minSeverity <= 8) return 20;
  if (minSeverity <= 12) return 30;
  if (minSeverity <= 16) return 40;
  if (minSeverity <= 20) return 50;
  if (minSeverity <= 24) return 60;
  return 100;
}

function plain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  try {
    return JSON.parse(JSON.stringify(value));
  } catch {
    return String(value);
  }
}

/** Patches one loaded copy of bunyan (its `module.exports`, the Logger constructor). */
export function instrumentBunyan(bunyan: unknown, ctx: CaptureContext): void {
  const Logger = bunyan as { prototype?: BunyanLogger & { [PATCHED]?: boolean } };
  const proto = Logger?.prototype;
  if (
    typeof bunyan !== 'function' ||
    proto === undefined ||
    typeof proto.addStream !== 'function'
  ) {
    diag.warn('starlog: unknown bunyan shape; its records are not captured');
    return;
  }
  if (proto[PATCHED] === true) return;
  proto[PATCHED] = true;
  const addStream = proto.addStream;

  const capture = {
    write(rec: Record<string, unknown>): boolean {
      if (ctx.levels() === undefined) return true;
      try {
        const o: Record<string, unknown> = {};
        for (const key in rec) o[key] = key === 'time' ? rec.time : plain(rec[key]);
        if (rec.time instanceof Date) o.time = rec.time.getTime();
        const fields = fromJsonRecord(o, 'bunyan');
        if (fields === undefined) return true;
        emitJsonFields(fields);
      } catch (err) {
        diag.error('starlog: capturing a bunyan record failed', err);
      }
      return true;
    },
  };

  proto.addStream = function (this: BunyanLogger, s: BunyanStream, defaultLevel?: unknown): void {
    const table = ctx.levels();
    if (table === undefined) {
      addStream.call(this, s, defaultLevel);
      return;
    }
    const level = bunyanLevelOf(table.minSeverity(String(this.fields?.name ?? 'bunyan')));
    const stdio = s?.stream === process.stdout || s?.stream === process.stderr;
    if (stdio && !ctx.keepOutput && (s.type === undefined || s.type === 'stream')) {
      if (this[CAPTURING] === true) return;
      this[CAPTURING] = true;
      addStream.call(this, { type: 'raw', stream: capture, level }, defaultLevel);
      return;
    }
    addStream.call(this, s, defaultLevel);
    if (this[CAPTURING] !== true) {
      this[CAPTURING] = true;
      addStream.call(this, { type: 'raw', stream: capture, level }, defaultLevel);
    }
  };
}
