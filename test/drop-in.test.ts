/**
 * Drop-in capture end to end: real pino, winston and node:http apps that contain no starlog
 * code, run as children of `starlog run --register` (ESM and CommonJS); the records are read
 * back from the primary's JSON-lines file, the children's stdout from the run's own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, runProcess } from './support/process.ts';
import { quietRunArgs } from './support/starlog-run.ts';

const fixture = (name: string) =>
  fileURLToPath(new URL(`./fixtures/drop-in/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starlog-drop-in-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Rec {
  scope: string;
  body: unknown;
  severityNumber: number;
  traceId: string;
  attributes: Record<string, unknown>;
}

function attrs(list: { key: string; value: Record<string, unknown> }[] = []) {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list) {
    const v = Object.values(value)[0];
    out[key] = 'intValue' in value ? Number(v) : v;
  }
  return out;
}

function readRecords(file: string): Rec[] {
  const out: Rec[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of JSON.parse(line).resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const r of sl.logRecords)
          out.push({
            scope: sl.scope?.name ?? '',
            body: r.body?.stringValue,
            severityNumber: r.severityNumber ?? 0,
            traceId: r.traceId ?? '',
            attributes: attrs(r.attributes),
          });
  }
  return out;
}

/** `starlog run --register` (plus `flags`) of `node <file>`; resolves when it ends (≤ 60 s). */
async function run(
  file: string,
  flags: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string; records: Rec[] }> {
  const logFile = join(dir, `run-${++n}.jsonl`);
  const args = quietRunArgs(logFile, ['--register', ...flags], [process.execPath, file]);
  const r = await runProcess(process.execPath, args, {
    cwd: dir,
    env: cleanEnv(),
    timeoutMs: 60_000,
  });
  return { ...r, records: readRecords(logFile) };
}

for (const file of ['pino-app.mjs', 'pino-app.cjs']) {
  test(`pino (${file}): scope = logger name, starlog's levels, no duplicate stdout`, async () => {
    const r = await run(fixture(file), ['--level', 'debug,shop.db=warn']);
    assert.equal(r.code, 0, r.stderr);
    const mine = r.records.filter((x) => x.scope.startsWith('shop'));
    const seen = mine.map((x) => `${x.scope} ${x.severityNumber} ${x.body}`).sort();
    assert.deepEqual(seen, ['shop 17 it failed', 'shop 5 debug 1', 'shop.db 13 db warn shown']);
    assert.equal(mine.find((x) => x.scope === 'shop.db')!.attributes.rows, 3);
    const failed = mine.find((x) => x.body === 'it failed')!;
    assert.equal(failed.attributes['exception.type'], 'Error');
    assert.equal(failed.attributes['exception.message'], 'kaput');
    assert.ok(!r.stdout.includes('"msg"'), `pino's own stdout is not written: ${r.stdout}`);
  });
}

for (const file of ['winston-app.mjs', 'winston-app.cjs']) {
  test(`winston (${file}): scope = label, level table applies, Console not duplicated`, async () => {
    const r = await run(fixture(file), ['--level', 'info']);
    assert.equal(r.code, 0, r.stderr);
    const seen = r.records
      .filter((x) => x.scope === 'billing')
      .map((x) => `${x.severityNumber} ${x.body}`);
    assert.deepEqual(
      seen,
      ['9 w info', '13 w warn'],
      `DEBUG is below the table; stderr: ${r.stderr}`,
    );
    const info = r.records.find((x) => x.body === 'w info')!;
    assert.equal(info.attributes.amount, 42);
    assert.ok(!r.stdout.includes('w info'), `winston's Console is silenced: ${r.stdout}`);
  });
}

test('bunyan (CommonJS): scope = name(.module), severities, stdout replaced', async () => {
  const r = await run(fixture('bunyan-app.cjs'), ['--level', 'info']);
  assert.equal(r.code, 0, r.stderr);
  const seen = r.records
    .filter((x) => x.scope.startsWith('ledger'))
    .map((x) => `${x.scope} ${x.severityNumber} ${x.body}`)
    .sort();
  assert.deepEqual(seen, ['ledger 17 b error', 'ledger.sql 9 b info'], 'DEBUG is below the table');
  const error = r.records.find((x) => x.body === 'b error')!;
  assert.equal(error.attributes['exception.message'], 'bad');
  assert.ok(!r.stdout.includes('"msg"'), `bunyan's stdout stream is replaced: ${r.stdout}`);
});

test('a task per HTTP request: access records, traceparent in and out, 5xx and aborted fail', async () => {
  const r = await run(fixture('http-app.mjs'));
  assert.equal(r.code, 0, r.stderr);
  const access = r.records.filter((x) => x.scope === 'starlog.http');
  const find = (prefix: string) => {
    const rec = access.find((x) => String(x.body).startsWith(prefix));
    assert.ok(rec, `access record '${prefix}…' in ${access.map((x) => x.body).join(' | ')}`);
    return rec;
  };
  const outer = find('GET /orders/7 200 ');
  assert.match(String(outer.body), /^GET \/orders\/7 200 \d+\.\dms$/);
  assert.equal(outer.severityNumber, 9);
  assert.equal(outer.traceId, '0af7651916cd43dd8448eb211c80319c', 'incoming traceparent continued');
  assert.equal(outer.attributes['http.request.method'], 'GET');
  assert.equal(outer.attributes['url.path'], '/orders/7');
  assert.equal(outer.attributes['http.response.status_code'], 200);
  assert.equal(outer.attributes['task.outcome'], 'success');
  const inner = find('GET /inner 200 ');
  assert.equal(inner.traceId, outer.traceId, 'fetch() from inside the task carried traceparent');
  assert.ok(
    String(inner.attributes['task.id']).startsWith(`${outer.attributes['task.id']}/`),
    'the inner request is a subtask of the outer one',
  );
  const failed = find('GET /fail 500 ');
  assert.equal(failed.severityNumber, 17);
  assert.equal(failed.attributes['task.outcome'], 'failure');
  const aborted = find('GET /slow aborted ');
  assert.equal(aborted.severityNumber, 17);
  assert.equal(aborted.attributes['task.outcome'], 'failure');
  // pino records inside a request belong to its task; no entry records
  const handling = r.records.filter((x) => x.body === 'handling');
  assert.equal(handling.length, 4);
  for (const h of handling) {
    const own = access.find((a) => a.attributes['task.id'] === h.attributes['task.id']);
    assert.ok(own, `pino record of ${h.attributes.path} carries its request's task.id`);
    assert.equal(own.traceId, h.traceId);
  }
  assert.equal(r.records.filter((x) => x.scope === 'starlog.task').length, 0, 'no entry records');
});

test('--capture-output reads pino and bunyan JSON lines', async () => {
  const lines = [
    { level: 50, time: 1700000000000, pid: 1, hostname: 'h', name: 'svc', msg: 'bad', k: 1 },
    { v: 0, level: 40, time: '2024-01-01T00:00:00.000Z', name: 'b', msg: 'careful', pid: 1 },
  ];
  const code = lines.map((l) => `console.log(${JSON.stringify(JSON.stringify(l))});`).join('');
  const logFile = join(dir, 'capture.jsonl');
  const r = await runProcess(
    process.execPath,
    quietRunArgs(logFile, ['--capture-output'], [process.execPath, '-e', code]),
    { cwd: dir, env: cleanEnv(), timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const recs = readRecords(logFile);
  const bad = recs.find((x) => x.body === 'bad');
  assert.ok(bad, 'the pino line became a record with its msg as body');
  assert.equal(bad.scope, 'svc');
  assert.equal(bad.severityNumber, 17);
  assert.equal(bad.attributes.k, 1);
  const careful = recs.find((x) => x.body === 'careful');
  assert.equal(careful?.severityNumber, 13);
  assert.equal(careful?.scope, 'b');
});
