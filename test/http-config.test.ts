/**
 * `httpTasks` and `instrumentations` as keys of the configuration file: read by a primary
 * started with `--import starlog/register`, and passed by `starlog run`'s primary to its child
 * (STARLOG_HTTP_TASKS / STARLOG_INSTRUMENTATIONS). The app is the drop-in HTTP fixture (a
 * node:http server with pino, no starlog code).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, runProcess } from './support/process.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));
const APP = fileURLToPath(new URL('./fixtures/drop-in/http-app.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starlog-http-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Scope and body of every record in a JSON-lines file. */
function records(file: string): { scope: string; body: string }[] {
  const out: { scope: string; body: string }[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of JSON.parse(line).resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const r of sl.logRecords)
          out.push({ scope: sl.scope?.name ?? '', body: String(r.body?.stringValue) });
  }
  return out;
}

function config(name: string, text: string): { file: string; logFile: string } {
  const logFile = join(dir, `${name}.jsonl`);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `${text}\nexporters: { file: { path: ${logFile} }, console: false }\n`);
  return { file, logFile };
}

test('starlog/register (a primary): httpTasks.entryRecord and instrumentations: false from the file', async () => {
  const c = config('register', 'httpTasks: { entryRecord: true }\ninstrumentations: false');
  const r = await runProcess(process.execPath, ['--import', REGISTER, APP], {
    cwd: dir,
    env: cleanEnv({ STARLOG_CONFIG: c.file }),
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const recs = records(c.logFile);
  const summary = recs.map((x) => `${x.scope}: ${x.body}`).join(' | ');
  assert.ok(
    recs.some((x) => x.scope === 'starlog.http' && x.body.startsWith('GET /orders/7 200')),
    `access record in ${summary}`,
  );
  assert.ok(
    recs.some((x) => x.scope === 'starlog.task' && x.body === 'GET /orders/7'),
    `entry record (entryRecord: true) in ${summary}`,
  );
  assert.ok(!recs.some((x) => x.body === 'handling'), `pino not captured: ${summary}`);
  assert.match(r.stdout, /"msg":"handling"/, 'pino writes its own stdout when it is not captured');
});

test('starlog run --config: the file reaches the child (httpTasks: false, pino captured)', async () => {
  const c = config('run', 'httpTasks: false\ninstrumentations: { winston: false }');
  const r = await runProcess(
    process.execPath,
    [
      MAIN,
      'run',
      '--config',
      c.file,
      '--status-interval',
      '1h',
      '--register',
      '--',
      process.execPath,
      APP,
    ],
    { cwd: dir, env: cleanEnv(), timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const recs = records(c.logFile);
  const summary = recs.map((x) => `${x.scope}: ${x.body}`).join(' | ');
  assert.ok(!recs.some((x) => x.scope === 'starlog.http'), `no access records: ${summary}`);
  assert.equal(recs.filter((x) => x.body === 'handling').length, 4, `pino captured: ${summary}`);
});
