import { TreeModel } from '/work/wt/tree/src/tree/model.ts';
import { readOtlpJsonLines } from '/work/wt/tree/src/tree/read.ts';

const file = process.argv[2]!;
const m = new TreeModel();
const s = await readOtlpJsonLines(file, 0, m, { maxBody: Number(process.argv[3] ?? 200) });
m.finish();
globalThis.gc!();
const mu = process.memoryUsage();
console.log(
  s.records,
  'records',
  (mu.heapUsed / 1e6).toFixed(0),
  'MB heapUsed',
  (mu.rss / 1e6).toFixed(0),
  'MB rss',
  (mu.heapUsed / s.records).toFixed(0),
  'B/record',
  'maxRSS',
  (process.resourceUsage().maxRSS / 1024).toFixed(0),
);
const v8 = await import('node:v8');
for (const sp of v8.getHeapSpaceStatistics())
  console.log(sp.space_name, (sp.space_used_size / 1e6).toFixed(1));
