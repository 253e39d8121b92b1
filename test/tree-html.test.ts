import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { FIXTURES, starlog } from './support/tree-cli.ts';

const hostA = join(FIXTURES, 'host-a.jsonl');
const hostB = join(FIXTURES, 'host-b.jsonl');
const CHROMIUM = '/usr/bin/chromium';

interface Element {
  tag: string;
  attrs: string;
  children: Element[];
  /** index of the first child tag (to check that <summary> comes first) */
  firstChildTag?: string;
}

/**
 * A minimal structural parse of the generated page: nesting of details/summary/ol/li/p/span/pre,
 * failing on any unbalanced tag. Enough to check the page shape without an HTML library.
 */
function parse(html: string): Element {
  const root: Element = { tag: '#root', attrs: '', children: [] };
  const stack = [root];
  const voids = new Set(['meta', '!doctype', 'input']);
  for (const m of html.matchAll(/<(\/?)([a-z!][a-z0-9]*)([^>]*)>/gi)) {
    const [, close, name, attrs] = m;
    const tag = name!.toLowerCase();
    if (voids.has(tag)) continue;
    const top = stack[stack.length - 1]!;
    if (close) {
      assert.equal(top.tag, tag, `unbalanced </${tag}> inside <${top.tag}>`);
      stack.pop();
    } else {
      const el: Element = { tag, attrs: attrs!, children: [] };
      top.firstChildTag ??= tag;
      top.children.push(el);
      stack.push(el);
    }
  }
  assert.equal(stack.length, 1, `unclosed <${stack[stack.length - 1]!.tag}>`);
  return root;
}

function all(el: Element, pred: (e: Element) => boolean, out: Element[] = []): Element[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) all(c, pred, out);
  return out;
}

describe('starlog tree --html', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'starlog-tree-html-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('one self-contained page: every trace and task is a foldable <details>, nothing external', async () => {
    const out = join(dir, 'tree.html');
    const r = await starlog(['tree', '--html', out, hostA, hostB]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'HTML goes to the file, not stdout');
    const html = await readFile(out, 'utf8');
    assert.match(html, /^<!doctype html>/);
    const doc = parse(html);
    const details = all(doc, (e) => e.tag === 'details' && !/class="stack"/.test(e.attrs));
    const tasks = details.filter((e) => /class="task /.test(e.attrs));
    const traces = details.filter((e) => /class="trace/.test(e.attrs));
    // 4 + 2 + 3 tasks from task.id paths, one span node, one trace-level node
    assert.equal(tasks.length, 11);
    assert.equal(traces.length, 3);
    for (const d of all(doc, (e) => e.tag === 'details')) {
      assert.equal(d.firstChildTag, 'summary', `<details${d.attrs}> must start with <summary>`);
    }
    // nesting follows the task paths: charge card inside handle order inside trace 5b8e…
    const trace1 = traces.find((t) => t.attrs.includes('5b8efff798038103d269b633813fc60c'))!;
    const root = trace1.children.find((c) => c.attrs.includes('data-task-id="1@5b8eff"'))!;
    assert.ok(root, 'root task is a direct child of its trace');
    const childIds = root.children
      .filter((c) => c.tag === 'details')
      .map((c) => /data-task-id="([^"]+)"/.exec(c.attrs)?.[1]);
    assert.deepEqual(childIds, ['1@5b8eff/1', '1@5b8eff/3', '1@5b8eff/2']);
    // failure paths start open, successful subtasks folded
    assert.match(html, /<details class="task failed" open data-task-id="1@5b8eff\/2">/);
    assert.match(html, /<details class="task ok" data-task-id="1@5b8eff\/1">/);
    // nothing external: no URLs, no linked resources; a CSP forbids network access
    assert.doesNotMatch(html, /https?:\/\//);
    assert.doesNotMatch(html, /\s(src|href)=|url\(|@import/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none';/);
    assert.equal(html.match(/<script>/g)?.length, 1);
    assert.match(html, /<span class="exc">— PaymentError: card declined<\/span>/);
    assert.match(
      html,
      /<details class="stack"><summary>stack trace<\/summary><pre>PaymentError: card declined\n {4}at charge/,
    );
  });

  test('record text is HTML-escaped and control characters made visible', async () => {
    const out = join(dir, 'ansi.html');
    const r = await starlog(['tree', '--html', out, join(FIXTURES, 'ansi.jsonl')]);
    assert.equal(r.code, 0, r.stderr);
    const html = await readFile(out, 'utf8');
    parse(html);
    assert.doesNotMatch(html, /[\x00-\x09\x0b-\x1f\x7f\u202e]/);
    assert.equal(html.match(/<script/g)?.length, 1, 'only the page’s own script');
    assert.match(
      html,
      /\\x1b\[31mred\\x1b\[0m line1\\nline2\\r\\u202eevil &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;q&quot;/,
    );
    assert.match(html, /<span class="name">evil \\x1b\]0;pwned\\x07task<\/span>/);
  });

  test('--failed in HTML hides successful branches with a count', async () => {
    const out = join(dir, 'failed.html');
    const r = await starlog(['tree', '--failed', '--html', out, hostA, hostB]);
    assert.equal(r.code, 0, r.stderr);
    const html = await readFile(out, 'utf8');
    parse(html);
    assert.match(html, /<p class="hidden">2 subtasks without failure hidden<\/p>/);
    assert.doesNotMatch(html, /load customer|nightly report/);
  });

  test('an unwritable --html path is an error', async () => {
    const r = await starlog(['tree', '--html', join(dir, 'no/such/dir/x.html'), hostA]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot write .*x\.html: ENOENT/);
  });

  test('renders in headless Chromium', async (t) => {
    if (!existsSync(CHROMIUM)) {
      const notice = `chromium not installed: ${CHROMIUM} missing, HTML not rendered (apt-get install chromium to run this test)`;
      process.stderr.write(`# NOTICE ${notice}\n`);
      t.skip(notice);
      return;
    }
    const out = join(dir, 'render.html');
    const r = await starlog(['tree', '--html', out, hostA, hostB]);
    assert.equal(r.code, 0, r.stderr);
    const png = join(dir, 'render.png');
    const profile = join(dir, 'chromium-profile');
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      `--screenshot=${png}`,
      '--window-size=1200,900',
      pathToFileURL(out).href,
    ];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(CHROMIUM, args, { stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, 'chromium exit code');
    const s = await stat(png);
    assert.ok(s.size > 1000, `screenshot too small: ${s.size} bytes`);
    const header = (await readFile(png)).subarray(0, 8);
    assert.deepEqual([...header], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});
