/**
 * Plain-text rendering of task trees: one line per task (`├─`/`└─` branches), its records below
 * it with their offset from the trace start and severity. Every piece of record text is escaped
 * with {@link escapeText}, so one record is one line and cannot emit terminal control sequences.
 * Rendering is a generator of lines, so a large forest is written without building one string.
 */
import pc from 'picocolors';
import { escapeText } from './escape.ts';
import {
  foreignProcess,
  formatOffset,
  formatTime,
  nodeDuration,
  nodeState,
  nodeTitle,
  outcomeText,
  STATE_MARK,
  severityLabel,
  traceSummary,
  traceTitle,
  visibleChildren,
  visibleRoots,
} from './format.ts';
import type { Rec, TaskNode, Trace, TreeModel } from './model.ts';

export type Colors = ReturnType<typeof pc.createColors>;

export interface TextRenderOptions {
  /** only branches that lead to a failure; default false */
  failedOnly?: boolean;
  /** colour with ANSI escapes; default false */
  colors?: boolean;
  /** print exception stack traces under error records; default false */
  stack?: boolean;
}

/** Yields the rendering line by line (each ends with `\n`). Call `model.finish()` first. */
export function* renderText(model: TreeModel, options: TextRenderOptions = {}): Generator<string> {
  const c = pc.createColors(options.colors ?? false);
  const failedOnly = options.failedOnly ?? false;
  let first = true;
  for (const trace of model.sortedTraces()) {
    const roots = visibleRoots(trace, failedOnly);
    if (roots.length === 0) continue;
    if (!first) yield '\n';
    first = false;
    yield `${c.bold(traceTitle(trace))} ${c.dim(`· ${traceSummary(trace)}`)}\n`;
    for (let i = 0; i < roots.length; i++) {
      yield* renderNode(model, trace, roots[i]!, '', i === roots.length - 1, c, options);
    }
  }
  if (model.untasked.size > 0) {
    for (const [proc, records] of model.untasked) {
      if (!first) yield '\n';
      first = false;
      const label = model.processes[proc]?.label ?? '?';
      yield `${c.bold(`no task · ${escapeText(label)}`)} ${c.dim(`· ${records.length} record${records.length === 1 ? '' : 's'}`)}\n`;
      for (const rec of records) {
        yield `  ${c.dim(formatTime(rec.time))} ${recordText(rec, c)}\n`;
      }
    }
  }
}

function* renderNode(
  model: TreeModel,
  trace: Trace,
  node: TaskNode,
  prefix: string,
  last: boolean,
  c: Colors,
  options: TextRenderOptions,
): Generator<string> {
  const state = nodeState(node);
  const paint =
    state === 'ok' ? c.green : state === 'failed' || state === 'error' ? c.red : c.yellow;
  const titleColor = state === 'missing' ? c.yellow : c.bold;
  const title = titleColor(escapeText(nodeTitle(node)));
  let line = `${prefix}${c.dim(last ? '└─ ' : '├─ ')}${paint(STATE_MARK[state])} ${title}`;
  if (node.proc >= 0) line += `  ${c.cyan(escapeText(model.processes[node.proc]!.label))}`;
  const duration = nodeDuration(node);
  if (duration !== undefined) line += `  ${duration}`;
  const outcome = outcomeText(node);
  if (outcome !== undefined)
    line += `  ${outcome === 'FAILED' ? c.red(outcome) : c.dim(escapeText(outcome))}`;
  yield `${line}\n`;

  const inner = prefix + (last ? '   ' : c.dim('│  '));
  const { shown, hidden } = visibleChildren(node, options.failedOnly ?? false);
  const hasMore = shown.length > 0 || hidden > 0;
  const recPrefix = inner + (hasMore ? c.dim('│ ') : '  ');
  for (const rec of node.records) {
    let text = `${recPrefix}${c.dim(formatOffset(rec.time, trace.start))} ${recordText(rec, c)}`;
    const other = foreignProcess(model, node, rec);
    if (other !== undefined) text += `  ${c.cyan(`[${escapeText(other)}]`)}`;
    yield `${text}\n`;
    if (options.stack && rec.stack !== undefined) {
      for (const frame of rec.stack.split('\n')) {
        yield `${recPrefix}    ${c.dim(escapeText(frame))}\n`;
      }
    }
  }
  for (let i = 0; i < shown.length; i++) {
    yield* renderNode(
      model,
      trace,
      shown[i]!,
      inner,
      i === shown.length - 1 && hidden === 0,
      c,
      options,
    );
  }
  if (hidden > 0) {
    yield `${inner}${c.dim(`└─ (${hidden} subtask${hidden === 1 ? '' : 's'} without failure hidden)`)}\n`;
  }
}

function recordText(rec: Rec, c: Colors): string {
  const sev = severityLabel(rec.severity);
  const paint =
    rec.severity >= 17 ? c.red : rec.severity >= 13 ? c.yellow : rec.severity >= 9 ? c.blue : c.dim;
  let text = `${paint(sev)} ${escapeText(rec.body)}`;
  if (rec.exception !== undefined && rec.exception !== '') {
    text += ` ${c.red(`— ${escapeText(rec.exception)}`)}`;
  }
  return text;
}
