/**
 * starlog's own problems are visible: a primary prints its warnings and errors on stderr,
 * rate-limited, unless the application installed a diag logger; the default status template
 * shows `{DROPPED}` once anything was dropped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/diag-primary.ts', import.meta.url));
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-diag-'));
  writeFileSync(join(dir, 'not-a-dir'), 'x');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('STARLOG_') && !k.startsWith('OTEL_') && k !== 'NODE_TEST_CONTEXT')
      clean[k] = v;
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [FIXTURE],
      {
        cwd: dir,
        env: { ...clean, NO_COLOR: '1', BAD_PATH: join(dir, 'not-a-dir', 'x.jsonl'), ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
    ),
  );
}

test('a file that cannot be opened: stderr says so, rate-limited; the status record shows the drops', async () => {
  const r = await run({});
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= 1, 'something on stderr');
  assert.ok(lines.length <= 6, `rate-limited: ${lines.length} lines\n${r.stderr}`);
  assert.match(lines[0]!, /^.*starlog.*cannot open .*x\.jsonl.*ENOTDIR/);
  assert.match(r.stdout, /^dropped 100$/m);
  assert.match(r.stdout, /STAT .*; 10\d dropped/, 'the last status record shows {DROPPED}');
});

test('the application installed its own diag logger: nothing on stderr, its logger gets the messages', async () => {
  const r = await run({ APP_DIAG: '1' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /app-diag: .*cannot open/);
});
