import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, runProcess } from './support/process.ts';

// examples/express-winston as a user runs it (the built package: `npm test` builds it first)
const main = fileURLToPath(new URL('../examples/express-winston/main.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'starlog-express-winston-'));
after(() => rm(dir, { recursive: true, force: true }));

test('express + winston: a task per request named by route, winston records in it', async () => {
  const file = join(dir, 'express-winston.jsonl');
  const r = await runProcess(process.execPath, [main], {
    cwd: dir,
    env: cleanEnv({ STARLOG_FILE: file, NO_COLOR: '1' }),
    timeoutMs: 60_000,
  });
  const out = r.stdout + r.stderr;
  const code = r.code;
  assert.equal(code, 0, out.slice(-2000));
  assert.match(out, /INFO .*GET \/users\/:id 200 [\d.]+ms/, 'access record on the console');
  assert.match(out, /✗ GET \/users\/:id .*FAILED/, 'the failed request in the tree');
  assert.match(out, /ERROR user store unavailable/, "winston's error in the failed request's tree");
  assert.ok(!out.includes('"label":"users"'), "winston's own Console output is not duplicated");
  const text = await readFile(file, 'utf8');
  assert.ok(text.includes('"http.route"'), 'http.route from express');
});
