/**
 * The JSON-lines file under faults: a full disk (a real tmpfs; skipped with a notice where this
 * process may not mount one), a removed directory, an unopenable path, logrotate's
 * move-and-create (with and without a signal, and through `starlog file reopen`), `rm`, and
 * copytruncate. Every record must be in a file or counted by reason, no torn line may be left,
 * and writing must resume by itself.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { JsonlFileExporter } from '../src/exporters/jsonl-file.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const PRIMARY = fileURLToPath(new URL('./fixtures/config-primary.ts', import.meta.url));

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-file-faults-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const resource = resourceFromAttributes({ 'service.name': 'faults' });
let seq = 0;
function records(n: number, pad = 0): ReadableLogRecord[] {
  return Array.from({ length: n }, () => {
    const r = new PlainLogRecord({
      resource,
      instrumentationScope: { name: 'test' },
      hrTime: [1795000000, 0],
      severityNumber: SeverityNumber.INFO,
      body: `${seq++} ${'x'.repeat(pad)}`,
    });
    return r as unknown as ReadableLogRecord;
  });
}

function exportNow(e: JsonlFileExporter, recs: ReadableLogRecord[]): ExportResult {
  let result: ExportResult | undefined;
  e.export(recs, (r) => {
    result = r;
  });
  assert.ok(result, 'export() called back before returning');
  return result;
}

/** Bodies of every record in `files`; asserts each line is a whole JSON document. */
function bodiesIn(...files: string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), `${f} ends in a torn line`);
    assert.ok(!text.includes('\0'), `${f} has NUL bytes (written at a stale offset)`);
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const doc = JSON.parse(line); // throws on a torn line
      for (const rl of doc.resourceLogs)
        for (const sl of rl.scopeLogs)
          for (const r of sl.logRecords) out.push(String(r.body.stringValue).split(' ')[0]!);
    }
  }
  return out;
}

function assertExact(e: JsonlFileExporter, sent: number, inFiles: string[]): void {
  const s = e.stats();
  assert.equal(new Set(inFiles).size, inFiles.length, 'no record written twice');
  assert.equal(s.exported, inFiles.length, 'stats().exported equals the records in the files');
  assert.equal(
    s.exported + s.failed,
    sent,
    `sent = written + counted (${JSON.stringify(s.failedBy)})`,
  );
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('JSON-lines file under faults', () => {
  test('disk full on a 1 MiB tmpfs, then space freed: every record written or counted, no torn line, writing resumes', async (t) => {
    const mnt = mkdtempSync(join(dir, 'tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      t.skip(
        `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); disk-full case not run`,
      );
      process.stderr.write('NOTICE file-faults: tmpfs not mountable, disk-full test skipped\n');
      return;
    }
    try {
      const filler = join(mnt, 'filler');
      writeFileSync(filler, Buffer.alloc(600 * 1024));
      const path = join(mnt, 'logs', 'app.jsonl');
      const e = new JsonlFileExporter({ path });
      let sent = 0;
      let failures = 0;
      // ~4 KiB lines: the disk fills part-way through a line
      for (let i = 0; i < 200; i++) {
        const batch = records(3, 1300);
        sent += batch.length;
        if (exportNow(e, batch).code === ExportResultCode.FAILED) failures++;
      }
      assert.ok(failures > 0, 'the disk filled up');
      assert.ok(e.stats().failedBy.noSpace > 0, 'counted as disk full');
      rmSync(filler);
      let after = 0;
      for (let i = 0; i < 20; i++) {
        const batch = records(3, 1300);
        sent += batch.length;
        if (exportNow(e, batch).code === ExportResultCode.SUCCESS) after++;
      }
      assert.equal(after, 20, 'writing resumed by itself once space came back');
      assertExact(e, sent, bodiesIn(path));
      await e.shutdown();
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });

  test('the directory is removed, then the path cannot be created, then it can', async () => {
    const base = mkdtempSync(join(dir, 'gone-'));
    const path = join(base, 'logs', 'app.jsonl');
    const e = new JsonlFileExporter({ path });
    let sent = 0;
    const send = (n: number) => {
      const b = records(n);
      sent += n;
      return exportNow(e, b).code;
    };
    assert.equal(send(10), ExportResultCode.SUCCESS);
    const before = bodiesIn(path);
    rmSync(join(base, 'logs'), { recursive: true });
    assert.equal(
      send(10),
      ExportResultCode.SUCCESS,
      'reopened at once: the directory is created again',
    );
    const afterRemove = bodiesIn(path);
    assert.equal(afterRemove.length, 10, 'the records after the removal are in the new file');
    // now make the path impossible: `logs` is a regular file
    rmSync(join(base, 'logs'), { recursive: true });
    writeFileSync(join(base, 'logs'), 'not a directory');
    assert.equal(send(5), ExportResultCode.FAILED);
    await until('the open failure counted', () => e.stats().failedBy.openFailed >= 5);
    rmSync(join(base, 'logs'));
    // retried at most once a second: keep sending until it works again
    await until('writing resumed', () => send(1) === ExportResultCode.SUCCESS);
    const s = e.stats();
    assert.equal(s.exported + s.failed, sent);
    assert.equal(s.exported, before.length + afterRemove.length + bodiesIn(path).length);
    await e.shutdown();
  });

  test('rm of the live file: the next records go to a new file at once, none to the deleted one', async () => {
    const path = join(mkdtempSync(join(dir, 'rm-')), 'app.jsonl');
    const e = new JsonlFileExporter({ path });
    exportNow(e, records(100));
    const first = bodiesIn(path);
    rmSync(path);
    for (let i = 0; i < 10; i++) exportNow(e, records(100));
    const second = bodiesIn(path);
    assert.equal(second.length, 1000, 'all 1,000 records after the rm are in the new file');
    assertExact(e, 1100, [...first, ...second]);
    await e.shutdown();
  });

  test('logrotate move-and-create without a signal: reopened within about a second, nothing lost', async () => {
    const path = join(mkdtempSync(join(dir, 'move-')), 'app.jsonl');
    const e = new JsonlFileExporter({ path });
    let sent = 0;
    exportNow(e, records(10));
    sent += 10;
    renameSync(path, `${path}.1`);
    writeFileSync(path, '', { mode: 0o640 }); // logrotate's `create`
    await until('the new file got records', () => {
      exportNow(e, records(10));
      sent += 10;
      return statSync(path).size > 0;
    });
    assertExact(e, sent, bodiesIn(`${path}.1`, path));
    assert.ok(e.stats().reopens >= 1);
    await e.shutdown();
  });

  test('logrotate move-and-create with reopenSignal: the next record goes to the new file', async () => {
    const path = join(mkdtempSync(join(dir, 'signal-')), 'app.jsonl');
    const e = new JsonlFileExporter({ path, reopenSignal: 'SIGWINCH' });
    exportNow(e, records(10));
    renameSync(path, `${path}.1`);
    process.kill(process.pid, 'SIGWINCH');
    await until('the signal reopened the file', () => e.stats().reopens === 1);
    exportNow(e, records(10));
    assert.equal(bodiesIn(path).length, 10);
    assertExact(e, 20, bodiesIn(`${path}.1`, path));
    await e.shutdown();
  });

  test('copytruncate: writing continues at the new end (no NUL gap), every record in a file', async () => {
    const path = join(mkdtempSync(join(dir, 'copy-')), 'app.jsonl');
    const e = new JsonlFileExporter({ path });
    for (let i = 0; i < 10; i++) exportNow(e, records(10));
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    for (let i = 0; i < 10; i++) exportNow(e, records(10));
    assertExact(e, 200, bodiesIn(`${path}.1`, path));
    await e.shutdown();
  });

  test('the file is created with mode 0640 by default, and with the mode option', async () => {
    const base = mkdtempSync(join(dir, 'mode-'));
    const old = process.umask(0o022);
    try {
      const a = new JsonlFileExporter({ path: join(base, 'a.jsonl') });
      const b = new JsonlFileExporter({ path: join(base, 'b.jsonl'), mode: 0o600 });
      assert.equal(statSync(join(base, 'a.jsonl')).mode & 0o777, 0o640);
      assert.equal(statSync(join(base, 'b.jsonl')).mode & 0o777, 0o600);
      await a.shutdown();
      await b.shutdown();
    } finally {
      process.umask(old);
    }
  });
});

describe('starlog file reopen', () => {
  test('a running primary reopens its file when asked over the control channel', async () => {
    const cwd = mkdtempSync(join(dir, 'cli-'));
    writeFileSync(
      join(cwd, 'starlog.config.yaml'),
      'status:\n  enabled: false\nexporters:\n  file:\n    path: out.jsonl\n  console:\n    enabled: false\n',
    );
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('STARLOG_') && !k.startsWith('OTEL_') && k !== 'NODE_TEST_CONTEXT')
        env[k] = v;
    const p = spawn(process.execPath, [PRIMARY], { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
    assert.match(String((await lines.next()).value), /^ready/);
    const file = join(cwd, 'out.jsonl');
    renameSync(file, `${file}.1`);
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [MAIN, 'file', 'reopen'], { cwd, env }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^reopened .*out\.jsonl\n$/);
    assert.ok(existsSync(file), 'the primary created the file again');
    p.stdin!.end('stop\n');
    const [code] = await once(p, 'exit');
    assert.equal(code, 0);
    mkdirSync(join(cwd, 'unused'), { recursive: true });
  });
});
