/**
 * The live view's pipeline stage: a `LogRecordProcessor` in the primary that turns each record
 * into a {@link ViewRow} and hands batches to the view's worker thread (which indexes them and
 * serves the page), so that SQLite never runs on the primary's event loop.
 *
 * Hot path (`onEmit`): one small object per record, pushed to the current batch; a batch leaves
 * when it holds 2,000 records or 50 ms after its first record. When the worker falls behind
 * (more than `maxPendingBatches` batches, default 10, not yet acknowledged: at most 20,000
 * records waiting, which keeps the view's lag short), new records are dropped and
 * counted in {@link ViewStage.dropped} instead of queueing without bound. Never throws.
 *
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ViewAttributeValue, ViewRow } from './store/row.ts';

/** Messages from the stage to the worker. */
export type ToWorker =
  | { type: 'rows'; rows: ViewRow[]; dropped: number }
  | { type: 'proc'; key: number; pid?: string; service?: string; host?: string }
  | { type: 'levels'; endpoint: string; token: string }
  | { type: 'close' };

const BATCH = 2000;
const BATCH_DELAY_MS = 50;
const MAX_BODY = 4000;
const MAX_STACK = 8000;

type Resource = ReadableLogRecord['resource'];

function text(v: unknown, max: number): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v === undefined || v === null) s = '';
  else if (typeof v === 'object') {
    try {
      s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    } catch {
      s = String(v);
    }
  } else s = String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A record's fields as a {@link ViewRow}. */
export function rowFromRecord(r: ReadableLogRecord, proc: number): ViewRow {
  const hr = r.hrTime;
  const row: ViewRow = {
    t: hr[0] * 1000 + hr[1] / 1e6,
    sev: r.severityNumber ?? 0,
    proc,
    logger: r.instrumentationScope.name,
    body: text(r.body, MAX_BODY),
  };
  const sc = r.spanContext;
  if (sc !== undefined && sc.traceId !== '00000000000000000000000000000000') {
    row.trace = sc.traceId;
    row.span = sc.spanId;
  }
  const a = r.attributes;
  let attrs: Record<string, ViewAttributeValue> | undefined;
  let excType: unknown;
  let excMessage: unknown;
  for (const k in a) {
    const v = a[k];
    switch (k) {
      case 'task.id':
        row.task = String(v);
        break;
      case 'task.name':
        row.tname = String(v);
        break;
      case 'task.outcome':
        row.outcome = String(v);
        break;
      case 'task.duration_ms':
        row.dur = Number(v);
        break;
      case 'exception.type':
        excType = v;
        break;
      case 'exception.message':
        excMessage = v;
        break;
      case 'exception.stacktrace':
        row.stack = text(v, MAX_STACK);
        break;
      default:
        if (v === undefined || v === null) break;
        attrs ??= {};
        attrs[k] =
          typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
            ? v
            : text(v, 1000);
    }
  }
  if (excType !== undefined || excMessage !== undefined) {
    row.exc = [excType, excMessage].filter((x) => x !== undefined && x !== '').join(': ');
  }
  if (attrs !== undefined) row.attrs = attrs;
  return row;
}

/** The stage; see the module documentation. */
export class ViewStage implements LogRecordProcessor {
  /** records dropped because the worker fell behind or was gone */
  dropped = 0;
  private batch: ViewRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending = 0;
  private readonly procs = new WeakMap<Resource, number>();
  private nextProc = 1;
  private closed = false;
  private readonly worker: Worker;
  private readonly maxPendingBatches: number;

  constructor(worker: Worker, maxPendingBatches = 10) {
    this.worker = worker;
    this.maxPendingBatches = maxPendingBatches;
    worker.on('message', (m: { type?: string }) => {
      if (m?.type === 'ack') this.pending--;
    });
  }

  onEmit(record: ReadableLogRecord): void {
    if (this.closed) return;
    try {
      if (this.pending >= this.maxPendingBatches) {
        this.dropped++;
        return;
      }
      this.batch.push(rowFromRecord(record, this.procKey(record.resource)));
      if (this.batch.length >= BATCH) this.flush();
      else if (this.timer === undefined) {
        this.timer = setTimeout(() => this.flush(), BATCH_DELAY_MS);
        this.timer.unref();
      }
    } catch (err) {
      this.dropped++;
      diag.error('starlog view: could not take a record', err);
    }
  }

  private procKey(resource: Resource): number {
    let key = this.procs.get(resource);
    if (key !== undefined) return key;
    key = this.nextProc++;
    this.procs.set(resource, key);
    const a = resource.attributes;
    const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
    this.post({
      type: 'proc',
      key,
      pid: str(a['process.pid']),
      service: str(a['service.name']),
      host: str(a['host.name']),
    });
    return key;
  }

  /** Sends the current batch to the worker now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch.length === 0) return;
    const rows = this.batch;
    this.batch = [];
    this.pending++;
    if (!this.post({ type: 'rows', rows, dropped: this.dropped })) {
      this.pending--;
      this.dropped += rows.length;
    }
  }

  private post(m: ToWorker): boolean {
    try {
      this.worker.postMessage(m);
      return true;
    } catch (err) {
      diag.error('starlog view: the view worker is gone', err);
      return false;
    }
  }

  async forceFlush(): Promise<void> {
    this.flush();
  }

  async shutdown(): Promise<void> {
    this.flush();
    this.closed = true;
  }
}
