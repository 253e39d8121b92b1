/**
 * One trace as a foldable task tree across processes. A task is the records with the same
 * `task.id` (a path: the parent of `a/1/2` is `a/1`); its entry and exit records are shown as one
 * row (name, duration, outcome), its other records and subtasks below it. Records outside any task
 * hang at the top. Clicking a record shows its attributes and stack trace.
 */
import type { Rec } from './api.ts';
import { clear, clock, duration, h, severityName } from './dom.ts';

interface TaskNode {
  id: string;
  entry?: Rec;
  exit?: Rec;
  items: (Rec | TaskNode)[];
  first: number;
}

function isTask(x: Rec | TaskNode): x is TaskNode {
  return 'items' in x;
}

function parentPath(id: string): string | undefined {
  const i = id.lastIndexOf('/');
  return i < 0 ? undefined : id.slice(0, i);
}

/** Builds the task nodes; returns the top-level items in time order. */
export function buildTree(records: Rec[]): (Rec | TaskNode)[] {
  const tasks = new Map<string, TaskNode>();
  const top: (Rec | TaskNode)[] = [];
  const node = (id: string, t: number): TaskNode => {
    let n = tasks.get(id);
    if (n === undefined) {
      n = { id, items: [], first: t };
      tasks.set(id, n);
      const parent = parentPath(id);
      if (parent === undefined) top.push(n);
      else node(parent, t).items.push(n);
    }
    if (t < n.first) n.first = t;
    return n;
  };
  for (const r of records) {
    if (r.task === null) {
      top.push(r);
      continue;
    }
    const n = node(r.task, r.t);
    if (r.outcome !== null && n.exit === undefined) n.exit = r;
    else if (r.tname !== null && n.entry === undefined && r.body === r.tname) n.entry = r;
    else n.items.push(r);
  }
  const time = (x: Rec | TaskNode) => (isTask(x) ? x.first : x.t);
  const sort = (items: (Rec | TaskNode)[]) => {
    items.sort((a, b) => time(a) - time(b));
    for (const x of items) if (isTask(x)) sort(x.items);
  };
  sort(top);
  return top;
}

function details(r: Rec): HTMLElement {
  const box = h('div', { class: 'details' });
  let attrs: Record<string, unknown> = {};
  try {
    attrs = r.attrs ? (JSON.parse(r.attrs) as Record<string, unknown>) : {};
  } catch {
    attrs = { attributes: r.attrs };
  }
  const fixed: [string, unknown][] = [
    ['logger', r.logger],
    ['trace.id', r.trace],
    ['span.id', r.span],
    ['task.id', r.task],
    ['task.name', r.tname],
    ['task.outcome', r.outcome],
    ['task.duration_ms', r.dur],
    ['exception', r.exc],
  ];
  const table = h('table', { class: 'attrs' });
  for (const [k, v] of [...fixed, ...Object.entries(attrs)]) {
    if (v === null || v === undefined) continue;
    table.appendChild(h('tr', {}, h('th', { text: k }), h('td', { text: String(v) })));
  }
  box.appendChild(table);
  if (r.stack) box.appendChild(h('pre', { class: 'stack', text: r.stack }));
  return box;
}

/** Renders the tree into `root`. `label` names a process by key. */
export function renderTree(root: HTMLElement, records: Rec[], label: (proc: number) => string) {
  clear(root);
  if (records.length === 0) {
    root.appendChild(h('p', { class: 'muted', text: 'no records for this trace' }));
    return;
  }
  const t0 = Math.min(...records.map((r) => r.t));
  const offset = (t: number) => `+${duration(t - t0) || '0 ms'}`;
  const recordRow = (r: Rec) => {
    const sev = severityName(r.sev);
    const wrap = h('div', { class: 'rec' });
    const row = h(
      'div',
      { class: 'row', title: clock(r.t) },
      h('span', { class: 'fold', text: ' ' }),
      h('span', { class: 'off', text: offset(r.t) }),
      h('span', { class: `sev sev-${sev}`, text: sev }),
      h('span', { class: 'proc', text: label(r.proc) }),
      h('span', {
        class: 'body',
        text: r.exc && !r.body.includes(r.exc) ? `${r.body} — ${r.exc}` : r.body,
      }),
    );
    let open: HTMLElement | undefined;
    row.addEventListener('click', () => {
      if (open) {
        open.remove();
        open = undefined;
      } else {
        open = details(r);
        wrap.appendChild(open);
      }
    });
    wrap.appendChild(row);
    return wrap;
  };
  const taskRow = (n: TaskNode): HTMLElement => {
    const first = n.entry ?? n.exit;
    const name = n.entry?.tname ?? n.exit?.tname ?? `(task ${n.id}: records missing)`;
    const outcome = n.exit?.outcome ?? (n.exit ? '' : 'running or lost');
    const mark = outcome === 'success' ? '✓' : outcome === 'failure' ? '✗' : '…';
    const el = h('div', { class: 'node task', 'data-task': n.id });
    const fold = h('span', { class: 'fold', text: '▾' });
    const row = h(
      'div',
      { class: 'row task-row' },
      fold,
      h('span', { class: 'off', text: offset(first?.t ?? n.first) }),
      h('span', { class: `sev ${outcome}`, text: mark }),
      h('span', { class: 'proc', text: first ? label(first.proc) : '' }),
      h('span', { class: 'body' }, h('b', { text: name })),
      h('span', { class: 'dur', text: duration(n.exit?.dur) }),
      h('span', { class: outcome, text: outcome }),
    );
    const children = h('div', { class: 'children' });
    // a failed exit (exception, stack) also gets a row of its own, in time order
    const items = n.exit && (n.exit.exc || n.exit.stack) ? [...n.items, n.exit] : n.items;
    items.sort((a, b) => (isTask(a) ? a.first : a.t) - (isTask(b) ? b.first : b.t));
    for (const x of items) children.appendChild(isTask(x) ? taskRow(x) : recordRow(x));
    row.addEventListener('click', () => {
      el.classList.toggle('folded');
      fold.textContent = el.classList.contains('folded') ? '▸' : '▾';
    });
    el.append(row, children);
    return el;
  };
  for (const x of buildTree(records)) root.appendChild(isTask(x) ? taskRow(x) : recordRow(x));
}
