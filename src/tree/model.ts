/**
 * Builds task trees from log records. A task is one span (trace id + span id) whose records carry
 * the attribute `task.id`, a path: the root's id, then `/n` per level (the parent of `X/1/2` is
 * `X/1`). The tree is built from these paths; records without `task.id` fall back to their span
 * (joined to the task that has the same span id, else shown as a span of their own), then to their
 * trace. A task whose own records are missing (rotated file, lost process) becomes a placeholder so
 * that its descendants are never dropped.
 *
 * Memory: per record one {@link Rec} (time, severity, process, body of at most `maxBody`
 * characters, exception text for errors); task and process strings are shared.
 */
import type { ParsedRecord, RecordSink, ResourceInfo } from './read.ts';

/** One record as kept for display. */
export class Rec {
  /** ms since epoch */
  readonly time: number;
  /** severity number 0–24 */
  readonly severity: number;
  /** index into {@link TreeModel.processes} */
  readonly proc: number;
  /** body text (raw, truncated; escape before printing) */
  readonly body: string;
  /** `type: message` of an exception, if any */
  readonly exception: string | undefined;
  readonly stack: string | undefined;

  constructor(r: ParsedRecord, proc: number) {
    this.time = r.timeMs;
    this.severity = r.severity;
    this.proc = proc;
    this.body = r.body;
    this.exception = r.exception;
    this.stack = r.stack;
  }
}

/** A process (one distinct resource per input file). */
export interface ProcessEntry {
  info: ResourceInfo;
  fileIndex: number;
  /** short display label, e.g. `orders[123]` */
  label: string;
}

/** `task`: from `task.id`; `span`: records with a span id but no task; `trace`: trace id only. */
export type NodeKind = 'task' | 'span' | 'trace';

export class TaskNode {
  readonly kind: NodeKind;
  /** `task.id`, the span id, or '' for trace-level records */
  readonly id: string;
  /** `task.name`; undefined for placeholders (no record named the task) */
  name: string | undefined;
  spanId: string | undefined;
  parent: TaskNode | undefined;
  readonly children: TaskNode[] = [];
  readonly records: Rec[] = [];
  /** process of the record that named the task, else of its first record; -1 if none */
  proc = -1;
  outcome: string | undefined;
  durationMs: number | undefined;
  /** earliest record time in this subtree (ms) */
  start = Number.POSITIVE_INFINITY;
  /** latest record time of the node's own records (ms) */
  end = Number.NEGATIVE_INFINITY;
  /** highest severity number among own records */
  worst = 0;
  /** set by {@link TreeModel.finish}: this node or a descendant failed */
  leadsToFailure = false;

  constructor(kind: NodeKind, id: string) {
    this.kind = kind;
    this.id = id;
  }

  /** The task failed itself: outcome `failure` or an ERROR/FATAL (≥ 17) record. */
  get failedHere(): boolean {
    return this.outcome === 'failure' || this.worst >= 17;
  }

  /** No record of this task was found, only records of its descendants. */
  get isPlaceholder(): boolean {
    return this.kind === 'task' && this.records.length === 0;
  }

  add(rec: Rec): void {
    this.records.push(rec);
    if (rec.time < this.start) this.start = rec.time;
    if (rec.time > this.end) this.end = rec.time;
    if (rec.severity > this.worst) this.worst = rec.severity;
    if (this.proc === -1) this.proc = rec.proc;
  }
}

export class Trace {
  /** lower-case hex; '' for records that have a `task.id` but no trace id */
  readonly id: string;
  readonly tasks = new Map<string, TaskNode>();
  readonly roots: TaskNode[] = [];
  /** span id → task with that span id (from records carrying both) */
  readonly spanToTask = new Map<string, TaskNode>();
  /** records with a span id but no task id, until {@link TreeModel.finish} places them */
  readonly pendingSpans = new Map<string, Rec[]>();
  traceLevel: TaskNode | undefined;
  start = Number.POSITIVE_INFINITY;
  readonly procs = new Set<number>();
  records = 0;

  constructor(id: string) {
    this.id = id;
  }

  get leadsToFailure(): boolean {
    return this.roots.some((r) => r.leadsToFailure);
  }
}

export interface TreeModelOptions {
  /** keep only traces whose id starts with this (lower-case hex) */
  tracePrefix?: string;
  /** keep records outside any trace/task (per process); otherwise only count them. Default false */
  keepUntasked?: boolean;
}

/** The forest of all traces read so far; a {@link RecordSink} for the reader. */
export class TreeModel implements RecordSink {
  readonly processes: ProcessEntry[] = [];
  readonly traces = new Map<string, Trace>();
  /** per process index: records without trace id and task id (only with `keepUntasked`) */
  readonly untasked = new Map<number, Rec[]>();
  untaskedCount = 0;
  /** records skipped by `tracePrefix` */
  filteredOut = 0;
  private readonly processKeys = new Map<string, number>();
  private readonly strings = new Map<string, string>();
  private readonly options: TreeModelOptions;
  private finished = false;

  constructor(options: TreeModelOptions = {}) {
    this.options = options;
  }

  resource(fileIndex: number, info: ResourceInfo): number {
    const key = `${fileIndex}\u0000${info.pid}\u0000${info.service}\u0000${info.host}\u0000${info.instance}`;
    let index = this.processKeys.get(key);
    if (index === undefined) {
      index = this.processes.length;
      this.processes.push({ info, fileIndex, label: '' });
      this.processKeys.set(key, index);
    }
    return index;
  }

  record(proc: number, r: ParsedRecord): void {
    const prefix = this.options.tracePrefix;
    if (prefix !== undefined && !(r.traceId ?? '').startsWith(prefix)) {
      this.filteredOut++;
      return;
    }
    if (r.traceId === undefined && r.taskId === undefined) {
      this.untaskedCount++;
      if (this.options.keepUntasked) {
        const list = this.untasked.get(proc);
        if (list) list.push(new Rec(r, proc));
        else this.untasked.set(proc, [new Rec(r, proc)]);
      }
      return;
    }
    const traceId = r.traceId ?? '';
    let trace = this.traces.get(traceId);
    if (!trace) {
      trace = new Trace(traceId);
      this.traces.set(traceId, trace);
    }
    const rec = new Rec(r, proc);
    trace.records++;
    trace.procs.add(proc);
    if (rec.time > 0 && rec.time < trace.start) trace.start = rec.time;
    if (r.taskId !== undefined) {
      const node = this.task(trace, r.taskId);
      node.add(rec);
      if (r.taskName !== undefined && node.name === undefined) {
        node.name = this.intern(r.taskName);
        node.proc = proc;
      }
      if (r.outcome !== undefined) node.outcome = this.intern(r.outcome);
      if (r.durationMs !== undefined) node.durationMs = r.durationMs;
      if (r.spanId !== undefined && node.spanId === undefined) {
        node.spanId = this.intern(r.spanId);
        if (!trace.spanToTask.has(node.spanId)) trace.spanToTask.set(node.spanId, node);
      }
    } else if (r.spanId !== undefined) {
      const node = trace.spanToTask.get(r.spanId);
      if (node) node.add(rec);
      else {
        const list = trace.pendingSpans.get(r.spanId);
        if (list) list.push(rec);
        else trace.pendingSpans.set(this.intern(r.spanId), [rec]);
      }
    } else {
      if (!trace.traceLevel) {
        trace.traceLevel = new TaskNode('trace', '');
        trace.roots.push(trace.traceLevel);
      }
      trace.traceLevel.add(rec);
    }
  }

  /**
   * The node for a task id, creating it and placeholder ancestors as needed (iterative: a
   * malicious id with a million `/` must not overflow the stack).
   */
  private task(trace: Trace, taskId: string): TaskNode {
    const found = trace.tasks.get(taskId);
    if (found) return found;
    const id = this.intern(taskId);
    const node = new TaskNode('task', id);
    trace.tasks.set(id, node);
    let child = node;
    for (;;) {
      const slash = child.id.lastIndexOf('/');
      if (slash <= 0) {
        trace.roots.push(child);
        break;
      }
      const parentId = child.id.slice(0, slash);
      const existing = trace.tasks.get(parentId);
      const parent = existing ?? new TaskNode('task', this.intern(parentId));
      child.parent = parent;
      parent.children.push(child);
      if (existing) break;
      trace.tasks.set(parent.id, parent);
      child = parent;
    }
    return node;
  }

  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < 1_000_000) this.strings.set(s, s);
    return s;
  }

  /**
   * Places pending span records, sorts children and records by time, computes subtree start times,
   * failure paths and process labels. Idempotent.
   */
  finish(): this {
    if (this.finished) return this;
    this.finished = true;
    this.labelProcesses();
    for (const trace of this.traces.values()) {
      for (const [spanId, recs] of trace.pendingSpans) {
        let node = trace.spanToTask.get(spanId);
        if (!node) {
          node = new TaskNode('span', spanId);
          node.spanId = spanId;
          trace.roots.push(node);
        }
        for (const rec of recs) node.add(rec);
      }
      trace.pendingSpans.clear();
      for (const root of trace.roots) finishNode(root);
      trace.roots.sort(byStart);
    }
    for (const list of this.untasked.values()) sortRecords(list);
    return this;
  }

  /** Traces in order of their first record. */
  sortedTraces(): Trace[] {
    return [...this.traces.values()].sort((a, b) => a.start - b.start || cmp(a.id, b.id));
  }

  private labelProcesses(): void {
    const files = new Set(this.processes.map((p) => p.fileIndex));
    for (const p of this.processes) {
      const { pid, service, host, instance } = p.info;
      let who = pid ?? instance ?? '?';
      if (host !== undefined) who += `@${host}`;
      else if (files.size > 1) who += `@file${p.fileIndex + 1}`;
      p.label = service !== undefined ? `${service}[${who}]` : `pid ${who}`;
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byStart(a: TaskNode, b: TaskNode): number {
  return a.start - b.start || cmp(a.id, b.id);
}

function sortRecords(records: Rec[]): void {
  for (let i = 1; i < records.length; i++) {
    if (records[i]!.time < records[i - 1]!.time) {
      records.sort((a, b) => a.time - b.time); // stable
      return;
    }
  }
}

/** Post-order without recursion (task paths can be deep). */
function finishNode(root: TaskNode): void {
  const stack: [TaskNode, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (i < node.children.length) {
      top[1]++;
      stack.push([node.children[i]!, 0]);
      continue;
    }
    stack.pop();
    sortRecords(node.records);
    node.children.sort(byStart);
    let failure = node.failedHere;
    for (const child of node.children) {
      if (child.start < node.start) node.start = child.start;
      if (child.leadsToFailure) failure = true;
    }
    node.leadsToFailure = failure;
  }
}
