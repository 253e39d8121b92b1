/**
 * Builds task trees from log records. A task is one span (trace id + span id) whose records carry
 * the attribute `task.id`, a path: the root's id, then `/n` per level (the parent of `X/1/2` is
 * `X/1`). The tree is built from these paths; records without `task.id` fall back to their span
 * (joined to the task that has the same span id, else shown as a span of their own), then to their
 * trace. A task whose own records are missing (rotated file, lost process) becomes a placeholder so
 * that its descendants are never dropped.
 *
 * Memory: records are kept column-wise in a {@link RecordStore} (25 bytes per record plus the body
 * string of at most `maxBody` characters; an entry record's body shares the task name), one
 * {@link TaskNode} per task, one {@link Trace} per trace. Nothing else of the input is retained.
 */
import type { ParsedRecord, RecordSink, ResourceInfo } from './read.ts';

/** One record as handed to the renderers (a transient view of the {@link RecordStore}). */
export interface Rec {
  /** ms since epoch; 0 when the record had no time */
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
  /** the record's other attributes, when read with them (`starlog tree --attrs`) */
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Column-wise record storage: time (Float64), severity (Uint8), process (Uint32), next record of
 * the same task (Int32, -1 = none), body (string). Exceptions (rare) live in a side map.
 */
export class RecordStore {
  size = 0;
  time = new Float64Array(1024);
  severity = new Uint8Array(1024);
  proc = new Uint32Array(1024);
  next = new Int32Array(1024);
  readonly body: string[] = [];
  readonly exceptions = new Map<number, { exception?: string; stack?: string }>();
  /** attributes by record, only for records read with attributes (`--attrs`) */
  readonly attributes = new Map<number, Readonly<Record<string, string | number | boolean>>>();

  add(r: ParsedRecord, proc: number, body: string): number {
    const i = this.size++;
    if (i === this.time.length) this.grow();
    this.time[i] = r.timeMs;
    this.severity[i] = r.severity;
    this.proc[i] = proc;
    this.next[i] = -1;
    this.body.push(body);
    if (r.exception !== undefined || r.stack !== undefined) {
      this.exceptions.set(i, { exception: r.exception, stack: r.stack });
    }
    if (r.attributes !== undefined) this.attributes.set(i, r.attributes);
    return i;
  }

  rec(i: number): Rec {
    const e = this.exceptions.get(i);
    return {
      time: this.time[i]!,
      severity: this.severity[i]!,
      proc: this.proc[i]!,
      body: this.body[i]!,
      exception: e?.exception,
      stack: e?.stack,
      attributes: this.attributes.get(i),
    };
  }

  private grow(): void {
    const n = this.time.length * 2;
    const grow = <T extends Float64Array | Uint8Array | Uint32Array | Int32Array>(a: T, b: T) => {
      b.set(a);
      return b;
    };
    this.time = grow(this.time, new Float64Array(n));
    this.severity = grow(this.severity, new Uint8Array(n));
    this.proc = grow(this.proc, new Uint32Array(n));
    this.next = grow(this.next, new Int32Array(n));
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
  name: string | undefined = undefined;
  spanId: string | undefined = undefined;
  parent: TaskNode | undefined = undefined;
  children: TaskNode[] | undefined = undefined;
  /** first/last own record (index into the {@link RecordStore}, -1 = none); time order after finish */
  head = -1;
  tail = -1;
  recordCount = 0;
  /** process of the record that named the task, else of its first record; -1 if none */
  proc = -1;
  outcome: string | undefined = undefined;
  durationMs: number | undefined = undefined;
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
    return this.kind === 'task' && this.recordCount === 0;
  }

  addChild(child: TaskNode): void {
    child.parent = this;
    if (this.children === undefined) this.children = [child];
    else this.children.push(child);
  }
}

const NO_CHILDREN: readonly TaskNode[] = Object.freeze([]);

/** The children of a node (an empty array when it has none). */
export function childrenOf(node: TaskNode): readonly TaskNode[] {
  return node.children ?? NO_CHILDREN;
}

export class Trace {
  /** lower-case hex; '' for records that have a `task.id` but no trace id */
  readonly id: string;
  readonly tasks = new Map<string, TaskNode>();
  readonly roots: TaskNode[] = [];
  /** records with a span id but no task id, until {@link TreeModel.finish} places them */
  pendingSpans: Map<string, number[]> | undefined = undefined;
  traceLevel: TaskNode | undefined = undefined;
  start = Number.POSITIVE_INFINITY;
  /** process indexes seen in this trace */
  readonly procs: number[] = [];
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
  readonly store = new RecordStore();
  /** per process index: records (store indexes) without trace id and task id (with `keepUntasked`) */
  readonly untasked = new Map<number, number[]>();
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
        const i = this.store.add(r, proc, r.body);
        const list = this.untasked.get(proc);
        if (list) list.push(i);
        else this.untasked.set(proc, [i]);
      }
      return;
    }
    const traceId = r.traceId ?? '';
    let trace = this.traces.get(traceId);
    if (!trace) {
      trace = new Trace(traceId);
      this.traces.set(traceId, trace);
    }
    // the entry record's body is the task name: share the interned string
    const body =
      r.taskName !== undefined && r.body === r.taskName ? this.intern(r.taskName) : r.body;
    const i = this.store.add(r, proc, body);
    trace.records++;
    if (!trace.procs.includes(proc)) trace.procs.push(proc);
    if (r.timeMs > 0 && r.timeMs < trace.start) trace.start = r.timeMs;
    if (r.taskId !== undefined) {
      const node = this.task(trace, r.taskId);
      this.link(node, i);
      if (r.taskName !== undefined && node.name === undefined) {
        node.name = this.intern(r.taskName);
        node.proc = proc;
      }
      if (r.outcome !== undefined) node.outcome = this.intern(r.outcome);
      if (r.durationMs !== undefined) node.durationMs = r.durationMs;
      if (r.spanId !== undefined && node.spanId === undefined) node.spanId = r.spanId;
    } else if (r.spanId !== undefined) {
      // placed in finish(), when every task's span id is known
      trace.pendingSpans ??= new Map();
      const list = trace.pendingSpans.get(r.spanId);
      if (list) list.push(i);
      else trace.pendingSpans.set(r.spanId, [i]);
    } else {
      if (!trace.traceLevel) {
        trace.traceLevel = new TaskNode('trace', '');
        trace.roots.push(trace.traceLevel);
      }
      this.link(trace.traceLevel, i);
    }
  }

  /** Appends record `i` to the node's list and updates its times/severity. */
  private link(node: TaskNode, i: number): void {
    const s = this.store;
    if (node.tail === -1) node.head = i;
    else s.next[node.tail] = i;
    node.tail = i;
    node.recordCount++;
    const time = s.time[i]!;
    if (time < node.start) node.start = time;
    if (time > node.end) node.end = time;
    if (s.severity[i]! > node.worst) node.worst = s.severity[i]!;
    if (node.proc === -1) node.proc = s.proc[i]!;
  }

  /**
   * The node for a task id, creating it and placeholder ancestors as needed (iterative: a
   * malicious id with a million `/` must not overflow the stack).
   */
  private task(trace: Trace, taskId: string): TaskNode {
    const found = trace.tasks.get(taskId);
    if (found) return found;
    const node = new TaskNode('task', taskId);
    trace.tasks.set(taskId, node);
    let child = node;
    for (;;) {
      const slash = child.id.lastIndexOf('/');
      if (slash <= 0) {
        trace.roots.push(child);
        break;
      }
      const parentId = child.id.slice(0, slash);
      const existing = trace.tasks.get(parentId);
      const parent = existing ?? new TaskNode('task', parentId);
      parent.addChild(child);
      if (existing) break;
      trace.tasks.set(parentId, parent);
      child = parent;
    }
    return node;
  }

  /** Shares repeated strings (task names, outcomes); bounded to 10 000 distinct ones. */
  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < 10_000) this.strings.set(s, s);
    return s;
  }

  /** The node's own records in order (time order after {@link finish}). */
  *recordsOf(node: TaskNode): Generator<Rec> {
    for (let i = node.head; i !== -1; i = this.store.next[i]!) yield this.store.rec(i);
  }

  /**
   * Places span records, sorts children and records by time, computes subtree start times,
   * failure paths and process labels. Idempotent.
   */
  finish(): this {
    if (this.finished) return this;
    this.finished = true;
    this.labelProcesses();
    for (const trace of this.traces.values()) {
      if (trace.pendingSpans !== undefined) {
        const bySpan = new Map<string, TaskNode>();
        for (const t of trace.tasks.values()) {
          if (t.spanId !== undefined && !bySpan.has(t.spanId)) bySpan.set(t.spanId, t);
        }
        for (const [spanId, list] of trace.pendingSpans) {
          let node = bySpan.get(spanId);
          if (!node) {
            node = new TaskNode('span', spanId);
            node.spanId = spanId;
            trace.roots.push(node);
          }
          for (const i of list) this.link(node, i);
        }
        trace.pendingSpans = undefined;
      }
      for (const root of trace.roots) this.finishTree(root);
      trace.roots.sort(byStart);
    }
    const time = this.store.time;
    for (const list of this.untasked.values()) list.sort((a, b) => time[a]! - time[b]! || a - b);
    return this;
  }

  /** Post-order without recursion (task paths can be deep). */
  private finishTree(root: TaskNode): void {
    const stack: [TaskNode, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, i] = top;
      const children = childrenOf(node);
      if (i < children.length) {
        top[1]++;
        stack.push([children[i]!, 0]);
        continue;
      }
      stack.pop();
      this.sortRecords(node);
      node.children?.sort(byStart);
      let failure = node.failedHere;
      for (const child of children) {
        if (child.start < node.start) node.start = child.start;
        if (child.leadsToFailure) failure = true;
      }
      node.leadsToFailure = failure;
    }
  }

  /** Sorts a task's record list by time (stable), relinking only when it is out of order. */
  private sortRecords(node: TaskNode): void {
    const { next, time } = this.store;
    let sorted = true;
    for (let i = node.head; i !== -1 && next[i] !== -1; i = next[i]!) {
      if (time[next[i]!]! < time[i]!) {
        sorted = false;
        break;
      }
    }
    if (sorted) return;
    const list: number[] = [];
    for (let i = node.head; i !== -1; i = next[i]!) list.push(i);
    list.sort((a, b) => time[a]! - time[b]! || a - b);
    for (let k = 0; k < list.length; k++) next[list[k]!] = list[k + 1] ?? -1;
    node.head = list[0]!;
    node.tail = list[list.length - 1]!;
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
