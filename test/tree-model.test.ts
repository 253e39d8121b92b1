import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { escapeHtml, escapeText, truncate } from '../src/tree/escape.ts';
import { TreeModel } from '../src/tree/model.ts';
import { readOtlpJsonLines } from '../src/tree/read.ts';
import { renderText } from '../src/tree/render-text.ts';

const rec = (over: Record<string, unknown>) => ({
  timeUnixNano: '1700000000000000000',
  severityNumber: 9,
  body: { stringValue: 'x' },
  ...over,
});
const attr = (key: string, stringValue: string) => ({ key, value: { stringValue } });
const line = (records: unknown[], pid: unknown = { intValue: '7' }) =>
  JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'process.pid', value: pid }] },
        scopeLogs: [{ logRecords: records }],
      },
    ],
  });

async function load(lines: string[], options = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'starlog-tree-model-'));
  try {
    const file = join(dir, 'in.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    const model = new TreeModel(options);
    const bad: string[] = [];
    const stats = await readOtlpJsonLines(file, 0, model, {
      onBadLine: (n, why) => bad.push(`${n}:${why}`),
    });
    return { model: model.finish(), stats, bad };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('numbers for int64, base64 ids, all-zero ids, severityText only', async () => {
  const traceB64 = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64');
  const { model, stats } = await load(
    [
      line(
        [
          rec({
            timeUnixNano: 1700000000001000000,
            traceId: traceB64,
            spanId: 'eee19b7ec3c1b174',
            attributes: [attr('task.id', 'r'), attr('task.name', 'root')],
          }),
          rec({
            traceId: '00000000000000000000000000000000',
            severityNumber: undefined,
            severityText: 'warn',
          }),
          rec({
            timeUnixNano: '0',
            observedTimeUnixNano: '1700000000005000000',
            traceId: '5B8EFFF798038103D269B633813FC60C',
            attributes: [attr('task.id', 'r/1')],
          }),
        ],
        { intValue: 7 },
      ),
    ],
    { keepUntasked: true },
  );
  assert.equal(stats.records, 3);
  const trace = model.traces.get('5b8efff798038103d269b633813fc60c');
  assert.ok(trace, 'base64 and upper-case hex ids map to the same trace');
  const root = trace.tasks.get('r')!;
  assert.equal(root.name, 'root');
  assert.equal([...model.recordsOf(root)][0]!.time, 1700000000001);
  assert.equal(trace.tasks.get('r/1')!.parent, root);
  assert.equal(
    [...model.recordsOf(trace.tasks.get('r/1')!)][0]!.time,
    1700000000005,
    'observed time when time is 0',
  );
  const untasked = model.untasked.get(0)!;
  assert.equal(untasked.length, 1, 'all-zero trace id counts as absent');
  assert.equal(model.store.rec(untasked[0]!).severity, 13);
  assert.equal(model.processes[0]!.label, 'pid 7');
});

test('records of a span seen before its task joins it; deep orphan chains; no recursion limit', async () => {
  const t = 'ab'.repeat(16);
  const deep = Array.from({ length: 3000 }, (_, i) => `${i + 1}`).join('/');
  const { model } = await load([
    line([
      rec({
        timeUnixNano: '1699999999000000000',
        traceId: t,
        spanId: '1'.repeat(16),
        body: { stringValue: 'early' },
      }),
    ]),
    line([
      rec({
        traceId: t,
        spanId: '1'.repeat(16),
        attributes: [attr('task.id', 'R'), attr('task.name', 'n')],
      }),
    ]),
    line([
      rec({ traceId: t, attributes: [attr('task.id', `R/${deep}`), attr('task.name', 'deep')] }),
    ]),
  ]);
  const trace = model.traces.get(t)!;
  assert.deepEqual(
    trace.roots.map((r) => r.id),
    ['R'],
  );
  assert.deepEqual(
    [...model.recordsOf(trace.tasks.get('R')!)].map((r) => r.body),
    ['early', 'x'],
  );
  assert.equal(trace.tasks.size, 3001);
  assert.ok(trace.tasks.get('R')!.leadsToFailure === false);
  const text = [...renderText(model)].join('');
  assert.match(text, /✓|·/);
  assert.match(text, /◌ \(missing task R\/1\/2: no records of its own\)/);
});

test('bad lines are reported with their line number', async () => {
  // a torn line is given up when a whole request follows on its own line
  const { bad, stats } = await load(['{"resourceLogs":[]}', '{torn', '{"resourceLogs":[]}', '42']);
  assert.deepEqual(
    bad.map((b) => b.split(':')[0]),
    ['2', '4'],
  );
  assert.equal(stats.badLines, 2);
});

test('escaping and truncation', () => {
  assert.equal(
    escapeText('a\x1b[2Jb\u0007\u009b\u2028\u202e'),
    'a\\x1b[2Jb\\x07\\x9b\\u2028\\u202e',
  );
  assert.equal(escapeHtml('<a href="x">&\n'), '&lt;a href=&quot;x&quot;&gt;&amp;\\n');
  assert.equal(truncate('abcdef', 3), 'abc…');
  assert.equal(truncate('ab😀cd', 3), 'ab…', 'never splits a surrogate pair');
  assert.equal(truncate('abc', 3), 'abc');
});
