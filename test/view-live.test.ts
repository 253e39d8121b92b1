// `starlog view` live, in real Chromium: a primary with 2 children under load; a failing request
// in the failed list within 2 s of its ERROR; search by attribute; its tree across processes; a
// level change made on the page reaches a child; a hostile body is text; no token, no page.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launch } from './support/browser.ts';
import { until, within } from './support/wait.ts';

const skip = chromiumMissing();
const fixture = fileURLToPath(new URL('./fixtures/view-primary.ts', import.meta.url));
let dir = '';
let browser: Browser | undefined;
let page: Page;
let url = '';
let primary: ReturnType<typeof spawn> | undefined;
const lines: string[] = [];
const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

function nextLine(re: RegExp, what: string, ms = 30_000): Promise<RegExpMatchArray> {
  for (const l of lines) {
    const m = re.exec(l);
    if (m) {
      lines.splice(lines.indexOf(l), 1);
      return Promise.resolve(m);
    }
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not printed within ${ms} ms`)), ms);
    waiters.push({
      re,
      resolve: (m) => {
        clearTimeout(timer);
        resolve(m);
      },
    });
  });
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'starlog-view-live-'));
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('STARLOG_') || k.startsWith('OTEL_')) delete env[k];
  primary = spawn(process.execPath, [fixture, dir], {
    cwd: dir,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  createInterface({ input: primary.stdout! }).on('line', (l) => {
    const i = waiters.findIndex((w) => w.re.test(l));
    if (i >= 0)
      waiters
        .splice(i, 1)[0]!
        .resolve(waiters[i]?.re.exec(l) ?? (l.match(/.*/) as RegExpMatchArray));
    else lines.push(l);
  });
  url = (await nextLine(/^URL (\S+)/, 'the view URL'))[0].slice(4);
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  await page.goto(url);
  await page.waitForSelector('#processes, #requests');
});

after(async () => {
  await browser?.close();
  if (primary && primary.exitCode === null) {
    primary.stdin!.write('stop\n');
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        primary!.kill('SIGKILL');
        resolve();
      }, 10_000);
      primary!.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('three processes show, with records', { skip }, async () => {
  const rows = page.locator('section:has(h2:text("Processes")) tbody tr');
  await until(async () => (await rows.count()) >= 3, {
    what: '3 processes with records in the processes table',
    timeoutMs: 15_000,
    intervalMs: 100,
  });
});

test('a failing request is in the failed list within 2 s of its ERROR', { skip }, async () => {
  primary!.stdin!.write('fail\n');
  const failedAt = Number((await nextLine(/^FAILED (\d+)/, 'the failing request'))[1]);
  const row = page.locator('#requests tr.failed', { hasText: 'GET /fail/777' });
  await row
    .first()
    .waitFor({ timeout: Math.max(1, failedAt + 2000 - Date.now()) })
    .catch(() => {
      throw new Error('GET /fail/777 did not appear in the failed list within 2 s of its ERROR');
    });
  assert.match((await row.first().locator('td.err').textContent()) ?? '', /payment declined/);
});

test('search by attribute finds it, and its tree unfolds across processes', { skip }, async () => {
  await page.fill('#q', 'order.id=X-777');
  await page.click('#search');
  const result = page.locator('#results tr', { hasText: 'GET /fail/777' });
  await result.first().waitFor({ timeout: 10_000 });
  await result.first().click();
  await page.locator('#tree .task-row', { hasText: 'charge card' }).waitFor({ timeout: 10_000 });
  const procs = new Set(await page.locator('#tree .row .proc').allTextContents());
  procs.delete('');
  assert.ok(procs.size >= 2, `the tree shows records of 2 processes, got ${[...procs].join(', ')}`);
  // fold and unfold the root task
  const root = page.locator('#tree .task-row', { hasText: 'GET /fail/777' }).first();
  await root.click();
  assert.equal(
    await page.locator('#tree .task-row', { hasText: 'charge card' }).isVisible(),
    false,
  );
  await root.click();
  assert.equal(await page.locator('#tree .task-row', { hasText: 'charge card' }).isVisible(), true);
  // attributes on demand
  await page.locator('#tree .rec .row', { hasText: 'card declined by acme' }).click();
  await page.locator('#tree .details', { hasText: 'payment.provider' }).waitFor({ timeout: 5000 });
});

test('a level change made on the page makes a child emit DEBUG', { skip }, async () => {
  assert.match((await page.locator('#level-current').textContent()) ?? '', /info/);
  await page.fill('#level-spec', 'app.child=loud');
  await page.click('#level-set');
  await page
    .locator('#level-msg.error', { hasText: "unknown level 'loud'" })
    .waitFor({ timeout: 10_000 });
  await page.fill('#level-spec', 'app.child=debug');
  await page.click('#level-set');
  await page.locator('#level-msg', { hasText: 'set: ' }).waitFor({ timeout: 10_000 });
  assert.match((await page.locator('#level-current').textContent()) ?? '', /app\.child=debug/);
  await page.fill('#q', 'debug tick');
  await until(
    async () => {
      await page.click('#search');
      await page.waitForTimeout(200);
      return (await page.locator('#results tr', { hasText: 'debug tick' }).count()) > 0;
    },
    { what: 'a DEBUG record of a child in the search results', timeoutMs: 10_000 },
  );
});

test('a hostile body is shown as text', { skip }, async () => {
  await page.fill('#q', 'not bold');
  await page.click('#search');
  const cell = page.locator('#results td.body', { hasText: '<script>' });
  await cell.first().waitFor({ timeout: 10_000 });
  assert.equal(
    await cell.first().textContent(),
    '<script>window.__pwned=1</script><b>not bold</b>',
  );
  assert.equal(await page.locator('#results b, #results script, #results img').count(), 0);
  await cell.first().click();
  await page.locator('#tree .row .body', { hasText: '<script>' }).first().click();
  await page.locator('#tree .details', { hasText: 'onerror' }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#tree img').count(), 0);
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
    undefined,
  );
});

test('a wrong or missing token gets nothing', { skip }, async () => {
  const base = url.replace(/\/\?token=.*/, '');
  const fresh = await browser!.newContext();
  const p = await fresh.newPage();
  for (const [path, status] of [
    ['/', 401],
    ['/api/traces', 401],
    ['/assets/page.js', 401],
    ['/?token=0000', 403],
    [`/?token=${'0'.repeat(64)}`, 403],
  ] as const) {
    const res = await p.goto(`${base}${path}`, { timeout: 15_000 });
    assert.equal(res?.status(), status, `${path} answers ${status}`);
    assert.doesNotMatch(await res!.text(), /starlog view<\/title>|GET \/|resourceLogs|\[/);
  }
  await fresh.close();
  // other Host headers are refused even with the token (DNS rebinding)
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const u = new URL(url);
    get(
      { host: '127.0.0.1', port: u.port, path: `/${u.search}`, headers: { host: 'evil.example' } },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    ).on('error', reject);
  });
  assert.equal(status, 403);
  // the page carries a strict CSP
  const page2 = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  assert.match(page2.headers.get('content-security-policy') ?? '', /script-src 'self'/);
});

test('starlog view (no files) prints the URL of the running primary’s view', { skip }, async () => {
  const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const child = spawn(process.execPath, [cli, 'view'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  const code = await within(new Promise((resolve) => child.once('exit', resolve)), {
    what: 'starlog view to exit',
    timeoutMs: 30_000,
  });
  assert.equal(code, 0, out);
  assert.ok(out.includes(url), out);
});
