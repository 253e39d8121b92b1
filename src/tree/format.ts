/** Display helpers shared by the text and HTML renderers (all return unescaped text). */
import { severityName } from '../severity.ts';
import { childrenOf, type Rec, type TaskNode, type Trace, type TreeModel } from './model.ts';

/** `0.42ms`, `12.3ms`, `1.23s`, `2m03s`, `1h02m` */
export function formatElapsed(ms: number): string {
  if (ms < 0 || !Number.isFinite(ms)) return '?';
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(1)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Offset of a record from the start of its trace: `+1.234s`; `+?` when the record has no time. */
export function formatOffset(time: number, start: number): string {
  if (time <= 0 || !Number.isFinite(start)) return '+?';
  return `+${((time - start) / 1000).toFixed(3)}s`;
}

/** ISO 8601 UTC with ms, or `?` for a missing time. */
export function formatTime(time: number): string {
  return time > 0 && Number.isFinite(time) ? new Date(time).toISOString() : '?';
}

/** Severity range name padded to 5 (`INFO `), `-    ` when unspecified. */
export function severityLabel(severity: number): string {
  const name = severityName(severity);
  return (name === 'UNSPECIFIED' ? '-' : name).padEnd(5);
}

/** `'ok' | 'failed' | 'error' | 'unknown' | 'missing'`: the state a task line shows. */
export type NodeState = 'ok' | 'failed' | 'error' | 'unknown' | 'missing';

export function nodeState(node: TaskNode): NodeState {
  if (node.outcome === 'failure') return 'failed';
  if (node.worst >= 17) return 'error';
  if (node.outcome === 'success') return 'ok';
  if (node.kind !== 'task' || node.name === undefined) return 'missing';
  return 'unknown';
}

export const STATE_MARK: Readonly<Record<NodeState, string>> = {
  ok: '✓',
  failed: '✗',
  error: '!',
  unknown: '·',
  missing: '◌',
};

/** What each mark means (the HTML legend, `starlog tree --help`, the README). */
export const STATE_LEGEND: Readonly<Record<NodeState, string>> = {
  ok: 'the task succeeded',
  failed: 'the task failed (its exit record says failure)',
  error: 'the task ended without failing but logged an ERROR or FATAL record',
  unknown: 'no exit record: still running, or its process ended first',
  missing:
    'placeholder: the task’s own records are missing (rotated file, lost process) or records without a task',
};

/** Attributes as one line: `key=value key=value` (values as text, unescaped). */
export function attributesText(
  attributes: Readonly<Record<string, string | number | boolean>> | undefined,
): string | undefined {
  if (attributes === undefined) return undefined;
  const parts: string[] = [];
  for (const k in attributes) {
    const v = attributes[k];
    parts.push(`${k}=${typeof v === 'string' && /[\s"]/.test(v) ? JSON.stringify(v) : String(v)}`);
  }
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The name of a trace's first root task, if it has one. */
export function rootName(trace: Trace): string | undefined {
  for (const r of trace.roots) if (r.kind === 'task' && r.name !== undefined) return r.name;
  return undefined;
}

/** The first ERROR/FATAL record of a trace (by time): its exception, else its body. */
export function firstError(model: TreeModel, trace: Trace): string | undefined {
  let best: Rec | undefined;
  for (const node of trace.tasks.values()) {
    if (node.worst < 17) continue;
    for (const rec of model.recordsOf(node)) {
      if (rec.severity >= 17 && (best === undefined || rec.time < best.time)) best = rec;
    }
  }
  if (best === undefined) return undefined;
  return best.exception !== undefined && best.exception !== '' ? best.exception : best.body;
}

/** The task's title: its name, or a description of the placeholder. */
export function nodeTitle(node: TaskNode): string {
  if (node.kind === 'trace') return '(records with a trace id but no task or span)';
  if (node.kind === 'span') return `(span ${node.id}: records without task.id)`;
  if (node.name !== undefined) return node.name;
  if (node.recordCount === 0) return `(missing task ${node.id}: no records of its own)`;
  return `(task ${node.id}: entry record missing)`;
}

/** Duration text: `task.duration_ms` if recorded, else `≥` the span of its own records. */
export function nodeDuration(node: TaskNode): string | undefined {
  if (node.durationMs !== undefined) return formatElapsed(node.durationMs);
  if (node.recordCount > 1 && node.end > 0) {
    return `≥${formatElapsed(node.end - node.start)}`;
  }
  return undefined;
}

export function outcomeText(node: TaskNode): string | undefined {
  if (node.outcome === 'failure') return 'FAILED';
  if (node.outcome !== undefined && node.outcome !== 'success') return node.outcome;
  if (node.kind === 'task' && node.name !== undefined && node.outcome === undefined) {
    return '(no exit record)';
  }
  return undefined;
}

/** Children to show and how many are hidden (`failedOnly`: only those leading to a failure). */
export function visibleChildren(
  node: TaskNode,
  failedOnly: boolean,
): { shown: readonly TaskNode[]; hidden: number } {
  const children = childrenOf(node);
  if (!failedOnly) return { shown: children, hidden: 0 };
  const shown = children.filter((c) => c.leadsToFailure);
  return { shown, hidden: children.length - shown.length };
}

export function visibleRoots(trace: Trace, failedOnly: boolean): TaskNode[] {
  return failedOnly ? trace.roots.filter((r) => r.leadsToFailure) : trace.roots;
}

export interface TraceCounts {
  tasks: number;
  failed: number;
  processes: number;
  records: number;
}

export function traceCounts(trace: Trace): TraceCounts {
  let failed = 0;
  for (const t of trace.tasks.values()) if (t.failedHere) failed++;
  return { tasks: trace.tasks.size, failed, processes: trace.procs.length, records: trace.records };
}

export function traceSummary(trace: Trace): string {
  const c = traceCounts(trace);
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  return [
    formatTime(trace.start),
    `${plural(c.tasks, 'task')}${c.failed ? `, ${c.failed} failed` : ''}`,
    plural(c.processes, 'process', 'processes'),
    plural(c.records, 'record'),
  ].join(' · ');
}

export function traceTitle(trace: Trace): string {
  return trace.id === '' ? 'records with task.id but no trace id' : `trace ${trace.id}`;
}

/** Process label of a record when it differs from the task's process, else undefined. */
export function foreignProcess(model: TreeModel, node: TaskNode, rec: Rec): string | undefined {
  return rec.proc !== node.proc ? model.processes[rec.proc]?.label : undefined;
}
