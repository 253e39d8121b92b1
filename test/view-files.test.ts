// `starlog view FILE...` through the real CLI, in real Chromium: records from two hosts' files,
// failed requests first with root task and first error, search, the tree with a readable stack;
// the store's bounds; and the screenshot docs/view.png from the main job's data (README).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ViewQueries } from '../src/view/store/queries.ts';
import type { ViewRow } from '../src/view/store/row.ts';
import { ViewStore } from '../src/view/store/store.ts';
import { chromiumMissing, launch } from './support/browser.ts';

const skip = chromiumMissing();
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const fixtures = (name: string) =>
  fileURLToPath(new URL(`./fixtures/tree/${name}`, import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Starts `starlog view FILES` and returns the printed URL. */
async function startView(files: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'view', ...files], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`starlog view printed no URL within 30 s: ${err}`)),
      30_000,
    );
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})/.exec(l);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`starlog view exited with ${code}: ${err}`)));
  });
}

test('starlog view FILES: failed first, search, tree with a readable stack', { skip }, async () => {
  const url = await startView([fixtures('host-a.jsonl'), fixtures('host-b.jsonl')]);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    const first = page.locator('#requests tr').first();
    await first.waitFor({ timeout: 10_000 });
    assert.match((await first.getAttribute('class')) ?? '', /failed/);
    const handle = page.locator('#requests tr', { hasText: 'handle order' });
    assert.match(
      (await handle.locator('td.err').textContent()) ?? '',
      /PaymentError: card declined/,
    );
    assert.match((await handle.textContent()) ?? '', /audit\[201\]/);
    await page.fill('#q', 'order.id=42');
    await page.click('#search');
    await page.locator('#results tr', { hasText: 'handle order' }).first().click();
    await page.locator('#tree .task-row', { hasText: 'charge card' }).waitFor({ timeout: 5000 });
    await page.locator('#tree .row', { hasText: 'FAILED charge card' }).first().click();
    const stack = page.locator('#tree pre.stack').first();
    await stack.waitFor({ timeout: 5000 });
    assert.ok(
      ((await stack.textContent()) ?? '').split('\n').length > 1,
      'the stack keeps its lines',
    );
    assert.match((await page.locator('#level-current').textContent()) ?? '', /not available/);
  } finally {
    await browser.close();
  }
});

test('the store stays within its byte bound, oldest out, counted', () => {
  const store = new ViewStore({ maxBytes: 2_000_000 });
  store.addProcess({ key: 1, pid: '1', service: 's' });
  const body = 'x'.repeat(200);
  for (let b = 0; b < 40; b++) {
    const rows: ViewRow[] = [];
    for (let i = 0; i < 1000; i++) {
      const n = b * 1000 + i;
      rows.push({
        t: n,
        sev: 9,
        proc: 1,
        body: `${body} ${n}`,
        trace: n.toString(16).padStart(32, '0'),
        attrs: { n },
      });
    }
    store.add(rows);
  }
  const s = store.stats();
  assert.ok(s.bytes <= 2_000_000 * 1.1, `bytes in use ${s.bytes}`);
  assert.ok(s.evicted > 0 && s.records + s.evicted === 40_000);
  const q = new ViewQueries(store.db);
  assert.equal(q.search({ q: 'n=39999' })[0]?.body, `${body} 39999`);
  assert.equal(q.search({ q: 'n=0' }).length, 0, 'the oldest record is gone');
  assert.equal(q.traceCounts().traces, s.records);
  store.close();
});

test('screenshot of the view of the main job’s data (docs/view.png)', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'starlog-view-shot-'));
  dirs.push(dir);
  const file = join(dir, 'cluster-http.jsonl');
  const env: NodeJS.ProcessEnv = { ...process.env, STARLOG_FILE: file, NO_COLOR: '1' };
  for (const k of Object.keys(env))
    if (k.startsWith('STARLOG_') && k !== 'STARLOG_FILE') delete env[k];
  const main = fileURLToPath(new URL('../examples/cluster-http/main.ts', import.meta.url));
  const job = spawn(process.execPath, [main], { cwd: dir, env, stdio: 'ignore' });
  const code = await new Promise((resolve) => job.once('exit', resolve));
  assert.equal(code, 0, 'the main job ran');
  const url = await startView([file]);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    await page.locator('#requests tr.failed').first().click();
    await page.locator('#tree .task-row').first().waitFor({ timeout: 10_000 });
    await page.locator('#tree .row', { hasText: 'FAILED' }).first().click();
    await page.locator('#chart canvas').waitFor({ timeout: 10_000 });
    const out = fileURLToPath(new URL('../docs/view.png', import.meta.url));
    await page.screenshot({ path: out, fullPage: true });
    assert.ok((await stat(out)).size > 10_000);
  } finally {
    await browser.close();
  }
});
