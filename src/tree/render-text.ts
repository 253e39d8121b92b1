/**
 * Plain-text rendering of task trees: one line per task (`├─`/`└─` branches), its records below
 * it with their offset from the trace start and severity. Every piece of record text is escaped
 * with {@link escapeText}, so one record is one line and cannot emit terminal control sequences.
 * Rendering is a generator of lines, so a large forest is written without building one string.
 */
import pc from 'picocolors';
import { escapeText } from './escape.ts';
import {
  attributesText,
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
  /** print each record's attributes under it (read with `attributes: true`); default false */
  attrs?: boolean;
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
    yield* renderBranches(model, trace, roots, c, options);
  }
  if (model.untasked.size > 0) {
    for (const [proc, records] of model.untasked) {
      if (!first) yield '\n';
      first = false;
      const label = model.processes[proc]?.label ?? '?';
      yield `${c.bold(`no task · ${escapeText(label)}`)} ${c.dim(`· ${records.length} record${records.length === 1 ? '' : 's'}`)}\n`;
      for (const i of records) {
        const rec = model.store.rec(i);
        yield `  ${c.dim(formatTime(rec.time))} ${recordText(rec, c)}\n`;
        const attrs = options.attrs ? attributesText(rec.attributes) : undefined;
        if (attrs !== undefined) yield `      ${c.dim(escapeText(attrs))}\n`;
      }
    }
  }
}

type Item = { node: TaskNode; prefix: string; last: boolean } | string;

/** Depth-first with an explicit stack: task paths from untrusted input can be arbitrarily deep. */
function* renderBranches(
  model: TreeModel,
  trace: Trace,
  roots: readonly TaskNode[],
  c: Colors,
  options: TextRenderOptions,
): Generator<string> {
  const stack: Item[] = [];
  for (let i = roots.length - 1; i >= 0; i--) {
    stack.push({ node: roots[i]!, prefix: '', last: i === roots.length - 1 });
  }
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      yield item;
      continue;
    }
    const { node, prefix, last } = item;
    yield nodeLine(model, node, prefix, last, c);
    const inner = prefix + (last ? '   ' : c.dim('│  '));
    const { shown, hidden } = visibleChildren(node, options.failedOnly ?? false);
    const recPrefix = inner + (shown.length > 0 || hidden > 0 ? c.dim('│ ') : '  ');
    for (const rec of model.recordsOf(node)) {
      let text = `${recPrefix}${c.dim(formatOffset(rec.time, trace.start))} ${recordText(rec, c)}`;
      const other = foreignProcess(model, node, rec);
      if (other !== undefined) text += `  ${c.cyan(`[${escapeText(other)}]`)}`;
      yield `${text}\n`;
      const attrs = options.attrs ? attributesText(rec.attributes) : undefined;
      if (attrs !== undefined) yield `${recPrefix}    ${c.dim(escapeText(attrs))}\n`;
      if (options.stack && rec.stack !== undefined) {
        for (const frame of rec.stack.split('\n')) {
          yield `${recPrefix}    ${c.dim(escapeText(frame))}\n`;
        }
      }
    }
    if (hidden > 0) {
      const what = `(${hidden} subtask${hidden === 1 ? '' : 's'} without failure hidden)`;
      stack.push(`${inner}${c.dim(`└─ ${what}`)}\n`);
    }
    for (let i = shown.length - 1; i >= 0; i--) {
      stack.push({ node: shown[i]!, prefix: inner, last: i === shown.length - 1 && hidden === 0 });
    }
  }
}

function nodeLine(
  model: TreeModel,
  node: TaskNode,
  prefix: string,
  last: boolean,
  c: Colors,
): string {
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
  if (outcome !== undefined) {
    line += `  ${outcome === 'FAILED' ? c.red(outcome) : c.dim(escapeText(outcome))}`;
  }
  return `${line}\n`;
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
