/** The status chart: one line per severity and per custom counter, over time (uPlot). */
import uPlot from 'uplot';
import type { StatusData } from './api.ts';
import { clear, h } from './dom.ts';

const COLORS: Record<string, string> = {
  TRACE: '#9aa0a6',
  DEBUG: '#7f8c8d',
  INFO: '#2f6fdb',
  WARN: '#d39e00',
  ERROR: '#d93025',
  FATAL: '#7b1fa2',
  UNSPECIFIED: '#bbb',
};
const EXTRA = ['#1a7f37', '#e8710a', '#12b5cb', '#a142f4', '#795548', '#c2185b'];

let plot: uPlot | undefined;
let names = '';

/** Draws or updates the chart inside `root`. */
export function renderChart(root: HTMLElement, data: StatusData): void {
  const key = data.series.map((s) => s.name).join(',');
  const aligned = [data.times, ...data.series.map((s) => s.values)] as uPlot.AlignedData;
  if (plot !== undefined && key === names) {
    plot.setData(aligned);
    return;
  }
  plot?.destroy();
  clear(root);
  names = key;
  if (data.times.length === 0) {
    root.appendChild(h('p', { class: 'muted', text: 'no records yet' }));
    plot = undefined;
    return;
  }
  let extra = 0;
  plot = new uPlot(
    {
      width: Math.max(300, root.clientWidth - 10),
      height: 220,
      title:
        data.source === 'status'
          ? 'status records: records per severity and counters, per interval'
          : 'records per severity (no status records in this data)',
      series: [
        {},
        ...data.series.map((s) => ({
          label: s.name,
          stroke: COLORS[s.name] ?? EXTRA[extra++ % EXTRA.length],
          width: 1.5,
        })),
      ],
      axes: [{}, { size: 60 }],
    },
    aligned,
    root,
  );
}
