/**
 * The `starlog view` page: status chart, processes, requests (failed first), search, one trace as
 * a task tree, the live tail, the level table. Everything it shows is asked from the server's
 * JSON API; data is put in with textContent only.
 */
import {
  get,
  type LevelState,
  type Proc,
  post,
  type Rec,
  type StatusData,
  type Summary,
  type TraceRow,
} from './api.ts';
import { renderChart } from './chart.ts';
import { append, clear, clock, duration, h, severityName } from './dom.ts';
import { renderTree } from './tree.ts';

const procs = new Map<number, Proc>();
const label = (key: number) => {
  const p = procs.get(key);
  return p ? `${p.service ?? '?'}[${p.pid ?? '?'}]` : `#${key}`;
};

// ---- layout
const summary = h('span', { id: 'summary' });
const chart = h('div', { id: 'chart' });
const procTable = h('tbody');
const requestTable = h('tbody', { id: 'requests' });
const resultTable = h('tbody', { id: 'results' });
const treeBox = h('div', { id: 'tree', class: 'tree' });
const treeTitle = h('span', {
  id: 'trace-title',
  class: 'muted',
  text: 'click a request or a result',
});
const tailList = h('tbody', { id: 'tail' });
const tailButton = h('button', { id: 'tail-toggle', type: 'button', text: 'Pause' });
const levelSpec = h('code', { id: 'level-current', text: '…' });
const levelInput = h('input', {
  id: 'level-spec',
  placeholder: 'e.g. debug or app.db=debug',
  size: 30,
});
const levelReplace = h('input', { id: 'level-replace', type: 'checkbox' });
const levelMsg = h('span', { id: 'level-msg' });
const q = h('input', {
  id: 'q',
  type: 'search',
  placeholder: 'user=leo  http.response.status_code>=500  free text  trace:4bf9',
});
const sev = h(
  'select',
  { id: 'sev' },
  h('option', { value: '', text: 'any severity' }),
  ...[5, 9, 13, 17, 21].map((n) => h('option', { value: String(n), text: `${severityName(n)}+` })),
);
const procSelect = h('select', { id: 'proc' }, h('option', { value: '', text: 'any process' }));
const logger = h('input', { id: 'logger', placeholder: 'logger', size: 12 });
const from = h('input', { id: 'from', type: 'datetime-local', step: '1', title: 'from' });
const to = h('input', { id: 'to', type: 'datetime-local', step: '1', title: 'to' });

function headRow(...names: string[]) {
  return h('thead', {}, h('tr', {}, ...names.map((n) => h('th', { text: n }))));
}

function section(title: string, cls: string, ...children: (Node | string)[]) {
  return h('section', { class: cls }, h('h2', { text: title }), ...children);
}

const levelSection = section(
  'Levels',
  '',
  h('p', {}, 'current: ', levelSpec),
  h(
    'form',
    { id: 'level-form' },
    levelInput,
    h('label', {}, levelReplace, ' replace the whole table'),
    h('button', { type: 'submit', id: 'level-set', text: 'Set' }),
  ),
  levelMsg,
);

const app = document.getElementById('app')!;
append(
  app,
  h('header', {}, h('h1', { text: 'starlog view' }), summary),
  h(
    'main',
    {},
    section('Status', 'wide', chart),
    section(
      'Processes',
      '',
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          {},
          headRow('process', 'pid', 'service', 'host', 'records', 'errors', 'drops', 'last seen'),
          procTable,
        ),
      ),
    ),
    levelSection,
    section(
      'Requests (failed first)',
      'wide',
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          {},
          headRow(
            '',
            'root task',
            'duration',
            'outcome',
            'first error',
            'processes',
            'records',
            'last',
            'trace',
          ),
          requestTable,
        ),
      ),
    ),
    section(
      'Search',
      'wide',
      h(
        'form',
        { id: 'search-form' },
        q,
        sev,
        procSelect,
        logger,
        from,
        to,
        h('button', { type: 'submit', id: 'search', text: 'Search' }),
      ),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          {},
          headRow('time', 'severity', 'process', 'logger', 'body', 'trace'),
          resultTable,
        ),
      ),
    ),
    section('Trace', 'wide', h('p', {}, treeTitle), treeBox),
    section(
      'Tail',
      'wide',
      h('p', {}, tailButton, ' new records with the search filters'),
      h('div', { class: 'scroll' }, h('table', {}, tailList)),
    ),
  ),
);

// ---- state
let info: Summary | undefined;
const filters = () => ({
  q: q.value.trim(),
  sev: sev.value,
  proc: procSelect.value,
  logger: logger.value.trim(),
  from: from.value ? new Date(from.value).getTime() : '',
  to: to.value ? new Date(to.value).getTime() : '',
});
let searching = false;

// ---- renderers
function renderProcesses(list: Proc[]) {
  clear(procTable);
  for (const p of list) {
    procs.set(p.id, p);
    procTable.appendChild(
      h(
        'tr',
        {},
        h('td', { text: label(p.id) }),
        h('td', { class: 'num', text: p.pid ?? '' }),
        h('td', { text: p.service ?? '' }),
        h('td', { text: p.host ?? '' }),
        h('td', { class: 'num', text: String(p.records) }),
        h('td', { class: 'num', text: String(p.errors) }),
        h('td', { class: 'num', text: String(p.drops) }),
        h('td', { text: clock(p.last ?? 0) }),
      ),
    );
    if (!procSelect.querySelector(`option[value="${p.id}"]`)) {
      procSelect.appendChild(h('option', { value: String(p.id), text: label(p.id) }));
    }
  }
}

function renderRequests(rows: TraceRow[]) {
  clear(requestTable);
  for (const t of rows) {
    const outcome = t.outcome ?? (t.failed ? 'error' : '');
    requestTable.appendChild(
      h(
        'tr',
        {
          class: `clickable ${t.failed ? 'failed' : ''}`,
          'data-trace': t.trace,
          onclick: () => openTrace(t.trace),
        },
        h('td', { class: t.failed ? 'failure' : 'success', text: t.failed ? '✗' : '✓' }),
        h('td', { class: 'root', text: t.root ?? '(no task)' }),
        h('td', { class: 'num', text: duration(t.dur) }),
        h('td', { class: 'outcome', text: outcome }),
        h('td', { class: 'err', text: t.err ?? '' }),
        h('td', { text: t.procs.map(label).join(', ') }),
        h('td', { class: 'num', text: String(t.n) }),
        h('td', { text: clock(t.last) }),
        h('td', { class: 'muted', text: t.trace.slice(0, 8) }),
      ),
    );
  }
  if (rows.length === 0)
    requestTable.appendChild(
      h('tr', {}, h('td', { colspan: 9, class: 'muted', text: 'no traces' })),
    );
}

function recordRow(r: Rec) {
  const s = severityName(r.sev);
  return h(
    'tr',
    { class: r.trace ? 'clickable' : '', onclick: r.trace ? () => openTrace(r.trace!) : undefined },
    h('td', { text: clock(r.t) }),
    h('td', { class: `sev-${s}`, text: s }),
    h('td', { text: label(r.proc) }),
    h('td', { text: r.logger ?? '' }),
    h('td', {
      class: 'body',
      text: r.exc && !r.body.includes(r.exc) ? `${r.body} — ${r.exc}` : r.body,
    }),
    h('td', { class: 'muted', text: r.trace ? r.trace.slice(0, 8) : '' }),
  );
}

async function openTrace(id: string) {
  treeTitle.textContent = `trace ${id}`;
  treeTitle.className = '';
  const records = await get<Rec[]>('/api/trace', { id });
  renderTree(treeBox, records, label);
  treeBox.scrollIntoView({ block: 'nearest' });
}

async function search() {
  searching = true;
  const f = filters();
  const [results, traces] = await Promise.all([
    get<Rec[]>('/api/search', { ...f, limit: 200 }),
    get<TraceRow[]>('/api/traces', { ...f, limit: 100 }),
  ]);
  clear(resultTable);
  for (const r of results) resultTable.appendChild(recordRow(r));
  if (results.length === 0)
    resultTable.appendChild(
      h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'nothing found' })),
    );
  renderRequests(traces);
}

// ---- tail
let tailAfter = -1;
let paused = false;
tailButton.addEventListener('click', () => {
  paused = !paused;
  tailButton.textContent = paused ? 'Resume' : 'Pause';
});
async function tail() {
  if (paused) return;
  if (tailAfter < 0) tailAfter = Math.max(0, (info?.lastId ?? 0) - 50);
  const rows = await get<Rec[]>('/api/tail', { ...filters(), after: tailAfter, limit: 500 });
  for (const r of rows) {
    tailAfter = Math.max(tailAfter, r.id);
    tailList.appendChild(recordRow(r));
  }
  while (tailList.childElementCount > 500) tailList.firstElementChild?.remove();
}

// ---- levels
async function refreshLevels() {
  if (!info?.levels) {
    levelSpec.textContent = 'not available (view of files)';
    levelInput.disabled = true;
    return;
  }
  const state = await get<LevelState>('/api/levels');
  levelSpec.textContent = state.spec;
}
document.getElementById('level-form')!.addEventListener('submit', async (e) => {
  e.preventDefault();
  levelMsg.className = '';
  levelMsg.textContent = 'setting…';
  try {
    const state = await post<LevelState>('/api/levels', {
      spec: levelInput.value,
      replace: levelReplace.checked,
    });
    levelSpec.textContent = state.spec;
    levelMsg.textContent = `set: ${state.spec}`;
  } catch (err) {
    levelMsg.className = 'error';
    levelMsg.textContent = (err as Error).message;
  }
});

document.getElementById('search-form')!.addEventListener('submit', (e) => {
  e.preventDefault();
  search().catch(showError);
});

function showError(err: unknown) {
  summary.textContent = `error: ${(err as Error).message}`;
}

// ---- refresh loop
async function refresh() {
  info = await get<Summary>('/api/summary');
  const s = info.store;
  summary.textContent = `${info.mode === 'live' ? 'live' : info.title} · ${s.records} records · ${s.evicted} evicted${s.dropped ? ` · ${s.dropped} not indexed (view behind)` : ''} · ${info.failed} of ${info.traces} traces failed · ${(s.bytes / 1048576).toFixed(1)} MB`;
  const [status, list] = await Promise.all([
    get<StatusData>('/api/status'),
    get<Proc[]>('/api/processes'),
  ]);
  renderProcesses(list);
  renderChart(chart, status);
  if (!searching) renderRequests(await get<TraceRow[]>('/api/traces', { limit: 100 }));
}

async function loop() {
  try {
    await refresh();
    await tail();
  } catch (err) {
    showError(err);
  }
  setTimeout(loop, info?.mode === 'live' ? 1000 : 5000);
}
q.addEventListener('input', () => {
  if (q.value === '') searching = false;
});
await refresh().catch(showError);
await refreshLevels().catch((err: unknown) => {
  levelSpec.textContent = (err as Error).message;
});
void loop();
