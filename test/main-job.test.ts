import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The main job as `npm start` runs it (the built package: `npm test` builds it first).
const main = fileURLToPath(new URL('../examples/cluster-http/main.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'starlog-main-job-'));
after(() => rm(dir, { recursive: true, force: true }));

test('the main job runs end to end: status records, summary with 0 dropped, the failed request tree', async () => {
  const file = join(dir, 'cluster-http.jsonl');
  const env: NodeJS.ProcessEnv = { ...process.env, STARLOG_FILE: file, NO_COLOR: '1' };
  for (const k of Object.keys(env))
    if (k.startsWith('STARLOG_') && k !== 'STARLOG_FILE') delete env[k];
  const child = spawn(process.execPath, [main], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out.slice(-2000));
  assert.match(out, /STAT .*requests=\d+ 2xx=\d+ 5xx=\d+/);
  assert.match(out, /load: 3000 requests, \d+ answered 5xx on purpose, 0 errors/);
  assert.match(out, /dropped: 0 \(expected: 0\)/);
  assert.equal((out.match(/pid \d+ \((cluster-http|pricing)\): \d+ records/g) ?? []).length, 4);
  assert.match(out, /✗ GET \/fail\/:id .*FAILED/, 'the request task, named by its fastify route');
  assert.match(out, /ERROR GET \/fail\/:id 500 [\d.]+ms/, 'its access record');
  assert.match(out, /ERROR payment declined for order 13/, "fastify's own pino error line");
  assert.match(out, /✓ quote {2}pricing\[\d+\]/, 'the subtask in the forked pricing process');
  const text = await readFile(file, 'utf8');
  assert.ok(text.includes('payment declined'), 'failing requests reach the file');
});
