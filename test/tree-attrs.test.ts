// `starlog tree --attrs` (text and HTML), and the HTML page's collapsed rows (root task, first
// error), search box and legend of every mark. Real CLI on the two-host fixtures.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { STATE_LEGEND, STATE_MARK } from '../src/tree/format.ts';
import { FIXTURES, starlog } from './support/tree-cli.ts';

const files = [join(FIXTURES, 'host-a.jsonl'), join(FIXTURES, 'host-b.jsonl')];
const dir = await mkdtemp(join(tmpdir(), 'starlog-tree-attrs-'));
after(() => rm(dir, { recursive: true, force: true }));

test('--attrs prints each record’s attributes under it (text)', async () => {
  const plain = await starlog(['tree', ...files]);
  assert.doesNotMatch(plain.stdout, /order\.id=42/);
  const r = await starlog(['tree', '--attrs', ...files]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const entry = lines.findIndex((l) => /INFO {2}handle order$/.test(l));
  assert.ok(entry >= 0, r.stdout);
  assert.match(lines[entry + 1]!, /^\s*│?\s+order\.id=42$/);
  assert.doesNotMatch(r.stdout, /task\.id=/, 'task.* attributes are shown as the tree already');
});

test('HTML: collapsed rows name the root task and first error; search box; legend; --attrs', async () => {
  const out = join(dir, 'tree.html');
  const r = await starlog(['tree', '--attrs', '--html', out, ...files]);
  assert.equal(r.code, 0, r.stderr);
  const html = await readFile(out, 'utf8');
  const summary =
    /<details class="trace[^"]*" open data-trace-id="5b8efff798038103d269b633813fc60c"><summary>(.*?)<\/summary>/.exec(
      html,
    );
  assert.ok(summary, 'the trace row');
  assert.match(summary[1]!, /<span class="root">handle order<\/span>/);
  assert.match(summary[1]!, /<span class="first-error">— PaymentError: card declined<\/span>/);
  assert.match(html, /<input type="search" id="search"/);
  for (const state of Object.keys(STATE_MARK) as (keyof typeof STATE_MARK)[]) {
    assert.ok(
      html.includes(`<dt class="mark">${STATE_MARK[state]}</dt><dd>`),
      `legend has ${STATE_MARK[state]}`,
    );
    assert.ok(STATE_LEGEND[state].length > 10);
  }
  assert.match(
    html,
    /<dt class="mark">!<\/dt><dd>the task ended without failing but logged an ERROR/,
  );
  assert.match(html, /<span class="attrs">order\.id=42<\/span>/);
});

test('starlog tree --help explains every mark', async () => {
  const r = await starlog(['tree', '--help']);
  for (const state of Object.keys(STATE_MARK) as (keyof typeof STATE_MARK)[]) {
    assert.ok(r.stdout.includes(`  ${STATE_MARK[state]}  ${STATE_LEGEND[state]}`), state);
  }
});
