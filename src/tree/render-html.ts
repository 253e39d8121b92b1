/**
 * One self-contained HTML page for task trees: every trace and every task is a
 * `<details>`/`<summary>` element, so each branch folds and unfolds without JavaScript; a few lines
 * of inline script add "expand all"/"collapse all". CSS is inline, and a Content-Security-Policy
 * (`default-src 'none'`) forbids any network access, so the page loads nothing from anywhere.
 * All record text is escaped with {@link escapeHtml}. Branches that lead to a failure start open.
 */
import { escapeHtml } from './escape.ts';
import {
  attributesText,
  firstError,
  foreignProcess,
  formatOffset,
  formatTime,
  type NodeState,
  nodeDuration,
  nodeState,
  nodeTitle,
  outcomeText,
  rootName,
  STATE_LEGEND,
  STATE_MARK,
  severityLabel,
  traceSummary,
  traceTitle,
  visibleChildren,
  visibleRoots,
} from './format.ts';
import type { Rec, TaskNode, Trace, TreeModel } from './model.ts';

export interface HtmlRenderOptions {
  /** only branches that lead to a failure; default false */
  failedOnly?: boolean;
  /** page title, e.g. the input file names; default `starlog tree` */
  title?: string;
  /** show each record's attributes (read with `attributes: true`); default false */
  attrs?: boolean;
}

const CSS = `
:root{--ok:#1a7f37;--fail:#cf222e;--warn:#9a6700;--dim:#6e7781;--line:#d0d7de;--bg:#fff;--fg:#1f2328}
@media (prefers-color-scheme:dark){:root{--ok:#3fb950;--fail:#f85149;--warn:#d29922;--dim:#8b949e;--line:#30363d;--bg:#0d1117;--fg:#e6edf3}}
body{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);color:var(--fg);margin:1em 2em}
h1{font-size:16px;margin:0 0 .3em}header p{color:var(--dim);margin:.2em 0 .8em}
button{font:inherit;margin-right:.5em}
details{margin:0}
details details{margin-left:1.1em;border-left:1px solid var(--line);padding-left:.6em}
summary{cursor:pointer;white-space:pre-wrap;word-break:break-word}
details.trace{margin:.8em 0;border-top:1px solid var(--line);padding-top:.4em}
details.trace>summary{font-weight:bold}
.meta,.t,.dim,.proc-other{color:var(--dim);font-weight:normal}
.mark{display:inline-block;width:1.2em;text-align:center}
.ok>summary .mark{color:var(--ok)}.failed>summary .mark,.error>summary .mark{color:var(--fail)}
.missing>summary .mark,.unknown>summary .mark,.missing>summary .name{color:var(--warn)}
.proc{color:#0969da}.outcome-failed{color:var(--fail);font-weight:bold}
ol.records{list-style:none;margin:.1em 0 .2em 1.1em;padding:0}
ol.records li{white-space:pre-wrap;word-break:break-word}
.sev{display:inline-block;width:5.5ch}
.sev-error .sev,.sev-fatal .sev,.exc{color:var(--fail)}.sev-warn .sev{color:var(--warn)}
.sev-debug .sev,.sev-trace .sev,.sev-unspecified .sev{color:var(--dim)}
details.stack{border:0;margin-left:7ch}details.stack pre{margin:0;color:var(--dim)}
p.hidden{color:var(--dim);margin:.1em 0 .1em 1.1em}
.attrs{color:var(--dim)}.root{font-weight:bold}.first-error{color:var(--fail);font-weight:normal}
dl.legend{display:grid;grid-template-columns:auto 1fr;gap:0 .6em;color:var(--dim);margin:.4em 0}
dl.legend dt{text-align:center}dl.legend dd{margin:0}
input[type=search]{font:inherit;width:28em;margin-right:.5em}
`;

const SCRIPT = `for(const [id,open] of [['expand',true],['collapse',false]])document.getElementById(id).addEventListener('click',()=>{for(const d of document.querySelectorAll('details'))d.open=open});
const q=document.getElementById('search'),n=document.getElementById('matches');q.addEventListener('input',()=>{const w=q.value.trim().toLowerCase();let k=0;for(const t of document.querySelectorAll('details.trace')){const hit=w===''||t.textContent.toLowerCase().includes(w);t.hidden=!hit;if(hit)k++}n.textContent=w===''?'':k+' matching'})`;

function legend(): string {
  let out = '<dl class="legend">';
  for (const state of Object.keys(STATE_MARK) as NodeState[]) {
    out += `<dt class="mark">${STATE_MARK[state]}</dt><dd>${escapeHtml(STATE_LEGEND[state])}</dd>`;
  }
  return `${out}<dt>+0.012s</dt><dd>time since the start of the trace</dd><dt>[proc]</dt><dd>a record of another process than its task’s</dd></dl>`;
}

/** Yields the page in pieces. Call `model.finish()` first. */
export function* renderHtml(model: TreeModel, options: HtmlRenderOptions = {}): Generator<string> {
  const failedOnly = options.failedOnly ?? false;
  const title = escapeHtml(options.title ?? 'starlog tree');
  yield '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n';
  yield `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">\n`;
  yield '<meta name="viewport" content="width=device-width, initial-scale=1">\n';
  yield `<title>${title}</title>\n<style>${CSS}</style>\n</head>\n<body>\n`;
  yield `<header><h1>${title}</h1><p>${failedOnly ? 'only branches that lead to a failure · ' : ''}generated ${escapeHtml(new Date().toISOString())}</p>`;
  yield '<input type="search" id="search" placeholder="search traces (task, body, error, attribute)" aria-label="search traces"><button type="button" id="expand">expand all</button><button type="button" id="collapse">collapse all</button><span id="matches" class="meta"></span>\n';
  yield `${legend()}</header>\n<main>\n`;
  let traces = 0;
  for (const trace of model.sortedTraces()) {
    const roots = visibleRoots(trace, failedOnly);
    if (roots.length === 0) continue;
    traces++;
    // the collapsed row names the request and its first error, not only the trace id
    const root = rootName(trace);
    const error = firstError(model, trace);
    const mark = error !== undefined || trace.leadsToFailure ? STATE_MARK.failed : STATE_MARK.ok;
    let head = `<span class="mark">${mark}</span> `;
    if (root !== undefined) head += `<span class="root">${escapeHtml(root)}</span> `;
    if (error !== undefined) head += `<span class="first-error">— ${escapeHtml(error)}</span> `;
    yield `<details class="trace${error !== undefined ? ' error' : ''}" open data-trace-id="${escapeHtml(trace.id)}"><summary>${head}<span class="meta">· ${escapeHtml(traceTitle(trace))} · ${escapeHtml(traceSummary(trace))}</span></summary>\n`;
    yield* renderBranches(model, trace, roots, failedOnly, options.attrs ?? false);
    yield '</details>\n';
  }
  for (const [proc, records] of model.untasked) {
    traces++;
    const label = model.processes[proc]?.label ?? '?';
    yield `<details class="trace untasked"><summary>no task · ${escapeHtml(label)} <span class="meta">· ${records.length} record${records.length === 1 ? '' : 's'}</span></summary>\n<ol class="records">\n`;
    for (const i of records) {
      const rec = model.store.rec(i);
      yield recordItem(rec, formatTime(rec.time), undefined, options.attrs ?? false);
    }
    yield '</ol>\n</details>\n';
  }
  if (traces === 0) yield '<p class="hidden">no task trees to show</p>\n';
  yield `</main>\n<script>${SCRIPT}</script>\n</body>\n</html>\n`;
}

/** Depth-first with an explicit stack: task paths from untrusted input can be arbitrarily deep. */
function* renderBranches(
  model: TreeModel,
  trace: Trace,
  roots: readonly TaskNode[],
  failedOnly: boolean,
  attrs: boolean,
): Generator<string> {
  const stack: (TaskNode | string)[] = [...roots].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (typeof node === 'string') {
      yield node;
      continue;
    }
    yield openTask(model, node);
    if (node.recordCount > 0) {
      yield '<ol class="records">\n';
      for (const rec of model.recordsOf(node)) {
        yield recordItem(
          rec,
          formatOffset(rec.time, trace.start),
          foreignProcess(model, node, rec),
          attrs,
        );
      }
      yield '</ol>\n';
    }
    const { shown, hidden } = visibleChildren(node, failedOnly);
    stack.push('</details>\n');
    if (hidden > 0) {
      stack.push(
        `<p class="hidden">${hidden} subtask${hidden === 1 ? '' : 's'} without failure hidden</p>\n`,
      );
    }
    for (let i = shown.length - 1; i >= 0; i--) stack.push(shown[i]!);
  }
}

function openTask(model: TreeModel, node: TaskNode): string {
  const state = nodeState(node);
  const open = node.leadsToFailure || node.parent === undefined ? ' open' : '';
  let summary = `<span class="mark">${STATE_MARK[state]}</span> <span class="name">${escapeHtml(nodeTitle(node))}</span>`;
  if (node.proc >= 0) {
    summary += ` <span class="proc">${escapeHtml(model.processes[node.proc]!.label)}</span>`;
  }
  const duration = nodeDuration(node);
  if (duration !== undefined) summary += ` <span class="dur">${escapeHtml(duration)}</span>`;
  const outcome = outcomeText(node);
  if (outcome !== undefined) {
    const cls = outcome === 'FAILED' ? 'outcome-failed' : 'dim';
    summary += ` <span class="${cls}">${escapeHtml(outcome)}</span>`;
  }
  return `<details class="task ${state}"${open} data-task-id="${escapeHtml(node.id)}"><summary>${summary}</summary>\n`;
}

function recordItem(
  rec: Rec,
  when: string,
  otherProcess: string | undefined,
  attrs: boolean,
): string {
  const sev = severityLabel(rec.severity).trim();
  const cls = `sev-${sev === '-' ? 'unspecified' : sev.toLowerCase()}`;
  let li = `<li class="${cls}"><span class="t">${escapeHtml(when)}</span> <span class="sev">${sev}</span> <span class="body">${escapeHtml(rec.body)}</span>`;
  if (rec.exception !== undefined && rec.exception !== '') {
    li += ` <span class="exc">— ${escapeHtml(rec.exception)}</span>`;
  }
  if (otherProcess !== undefined)
    li += ` <span class="proc-other">[${escapeHtml(otherProcess)}]</span>`;
  const attributes = attrs ? attributesText(rec.attributes) : undefined;
  if (attributes !== undefined) li += ` <span class="attrs">${escapeHtml(attributes)}</span>`;
  if (rec.stack !== undefined) {
    const lines = rec.stack.split('\n').map(escapeHtml).join('\n');
    li += `<details class="stack"><summary>stack trace</summary><pre>${lines}</pre></details>`;
  }
  return `${li}</li>\n`;
}
