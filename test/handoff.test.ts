/**
 * Hand-off files at exit (issue 11 item 1, `protocol/handoff.ts`): a child that exits at once
 * writes what it holds into the primary's hand-off directory; the primary ingests each file once,
 * in order, and deletes it. Every role: worker thread, cluster worker, `--import starlog/register`,
 * `starlog run`; a primary that is gone (the next one picks the files up); bad files; a refused
 * directory (gRPC instead).
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { writeHandoffSync } from '../src/multiprocess/child/handoff-writer.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { encodeLogsRequest } from '../src/otlp/logs-encoder.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { captureDiag } from './support/diag.ts';
import { cleanEnv, runProcess } from './support/process.ts';
import { quietRunArgs } from './support/starlog-run.ts';
import { until } from './support/wait.ts';

const NODE = process.execPath;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));

function collecting(): LogRecordProcessor & { bodies: string[] } {
  return {
    bodies: [],
    onEmit(record) {
      this.bodies.push(String(record.body));
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-handoff-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const handoffFiles = (d: string) => readdirSync(d).filter((n) => n.includes('handoff-'));

describe('hand-off files: every role of a short-lived child', () => {
  for (const [mode, sent, files] of [
    ['threads', 40, 2],
    ['cluster', 40, 2],
    ['in-flight', 40, 1],
  ] as const) {
    test(`${mode}: ${sent} records delivered once, in order per sender, through ${files} hand-off file(s)`, async () => {
      const processor = collecting();
      const receiver = await startReceiver({ processor });
      try {
        const r = await runProcess(NODE, [fixture('handoff-roles.ts'), mode], {
          env: { ...cleanEnv(), ...receiver.env, N: '20' },
          timeoutMs: 60_000,
        });
        assert.equal(r.code, 0, r.stderr);
        await until(() => processor.bodies.length >= sent, {
          what: `${sent} records at the receiver (have ${processor.bodies.length})`,
        });
        const s = receiver.stats();
        assert.equal(processor.bodies.length, sent, 'each record once');
        assert.equal(new Set(processor.bodies).size, sent, 'no record twice');
        assert.equal(s.dropped.total, 0);
        assert.equal(s.handoff?.files, files);
        assert.equal(s.handoff?.invalid, 0);
        // in order per sender: bodies of one sender keep their index order
        const bySender = new Map<string, number[]>();
        for (const b of processor.bodies) {
          const m = /^(.*) record (\d+)$/.exec(b);
          assert.ok(m, b);
          bySender.set(m[1] as string, [...(bySender.get(m[1] as string) ?? []), Number(m[2])]);
        }
        for (const [who, idx] of bySender)
          assert.deepEqual(
            idx,
            [...idx].sort((a, b) => a - b),
            `order of ${who}`,
          );
        // a file is deleted after its records were ingested
        await until(() => handoffFiles(s.handoff?.dir as string).length === 0, {
          what: `the primary to delete the ingested files (${handoffFiles(s.handoff?.dir as string)})`,
        });
      } finally {
        await receiver.close();
      }
    });
  }

  test('a child that dropped records (queue full) and exits: delivered + the drops in the primary = sent', async () => {
    const processor = collecting();
    const receiver = await startReceiver({ processor });
    try {
      const r = await runProcess(NODE, [fixture('handoff-roles.ts'), 'drops'], {
        env: { ...cleanEnv(), ...receiver.env, N: '500' },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      await until(() => processor.bodies.length + receiver.stats().dropped.total >= 500, {
        what: '500 records delivered or counted as dropped by the primary',
      });
      const s = receiver.stats();
      assert.ok(s.dropped.queueFull > 0, 'some records were dropped');
      assert.equal(processor.bodies.length + s.dropped.total, 500);
    } finally {
      await receiver.close();
    }
  });

  test('--import starlog/register: an application without set-up code, process.exit() at once', async () => {
    const processor = collecting();
    const receiver = await startReceiver({ processor });
    try {
      const r = await runProcess(NODE, ['--import', REGISTER, fixture('run-otel-child.ts')], {
        cwd: dir,
        env: { ...cleanEnv(), ...receiver.env, N: '20', END: 'exit' },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      await until(() => processor.bodies.length >= 20, { what: '20 records at the receiver' });
      assert.equal(processor.bodies.length, 20);
      assert.equal(receiver.stats().handoff?.files, 1);
    } finally {
      await receiver.close();
    }
  });

  test('starlog run -- a child that exits at once: its records reach the file through .starlog/', async () => {
    const cwd = mkdtempSync(join(dir, 'run-'));
    const logFile = join(cwd, 'out.jsonl');
    const r = await runProcess(
      NODE,
      quietRunArgs(logFile, [], [NODE, fixture('short-lived-child.ts')]),
      { cwd, env: cleanEnv({ N: '20' }), timeoutMs: 60_000, group: true },
    );
    assert.equal(r.code, 0, r.stderr);
    const bodies = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('short-lived'))
      .flatMap((l) => l.match(/short-lived \d+ of 20/g) ?? []);
    assert.equal(bodies.length, 20, r.stderr);
    assert.deepEqual(handoffFiles(join(cwd, '.starlog')), [], 'no hand-off file left');
  });
});

describe('hand-off files: the primary', () => {
  test('a primary that is gone: the next primary on the same directory ingests what was left', async () => {
    const handoffDir = mkdtempSync(join(dir, 'gone-'));
    const first = collecting();
    const a = await startReceiver({ processor: first, handoffDir });
    const env = a.env;
    await a.close();
    const r = await runProcess(NODE, [fixture('short-lived-child.ts')], {
      env: { ...cleanEnv(), ...env, N: '20' },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(handoffFiles(handoffDir).length, 1, 'the child left its file');
    const next = collecting();
    const b = await startReceiver({ processor: next, handoffDir });
    try {
      assert.equal(next.bodies.length, 20, 'ingested at start');
      assert.equal(b.stats().handoff?.files, 1);
      assert.deepEqual(handoffFiles(handoffDir), []);
    } finally {
      await b.close();
    }
  });

  test('a file leaves the directory only after its records were ingested (who sees it gone sees them)', async () => {
    // exit-paths' receiver.settled() and a child's offloaded files count as delivered once the
    // file is gone: a file deleted before its records were ingested (round 19) let a test look
    // in between and find 2,952 of 5,000 records missing
    const handoffDir = mkdtempSync(join(dir, 'order-'));
    const resource = resourceFromAttributes({ 'service.name': 'order' });
    const request = encodeLogsRequest(
      ['a', 'b', 'c'].map(
        (body) => new PlainLogRecord({ resource, instrumentationScope: { name: 't' }, body }),
      ),
    );
    assert.ok(writeHandoffSync(handoffDir, [request]).ok, 'file written');
    const seen: [string, number][] = [];
    const processor: LogRecordProcessor = {
      onEmit(record) {
        seen.push([String(record.body), handoffFiles(handoffDir).length]);
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    // the intake scans once before startReceiver() resolves
    const receiver = await startReceiver({ processor, handoffDir });
    try {
      assert.deepEqual(
        seen,
        [
          ['a', 1],
          ['b', 1],
          ['c', 1],
        ],
        'records ingested after their file was gone (or not at all)',
      );
      assert.deepEqual(handoffFiles(handoffDir), [], 'the file was not deleted');
    } finally {
      await receiver.close();
    }
  });

  test('a file addressed to another live primary is left to it; one addressed to a dead primary is taken', async () => {
    const handoffDir = mkdtempSync(join(dir, 'to-'));
    // an empty request: a valid ExportLogsServiceRequest without records
    const live = writeHandoffSync(handoffDir, [new Uint8Array(0)], process.ppid);
    const dead = writeHandoffSync(handoffDir, [new Uint8Array(0)], 4_194_999); // above pid_max
    const own = writeHandoffSync(handoffDir, [new Uint8Array(0)], process.pid);
    assert.ok(live.ok && dead.ok && own.ok, 'files written');
    const receiver = await startReceiver({ processor: collecting(), handoffDir });
    try {
      assert.equal(receiver.stats().handoff?.files, 2, 'the dead primary’s file and its own');
      assert.deepEqual(handoffFiles(handoffDir), [basename(live.path)], 'left to the live one');
    } finally {
      await receiver.close();
    }
  });

  test('bad files are refused with a message, counted and deleted', async () => {
    const handoffDir = mkdtempSync(join(dir, 'bad-'));
    const name = (i: number) => join(handoffDir, `handoff-1-0-${i}-0000000${i}.otlp`);
    writeFileSync(name(1), 'not a hand-off file', { mode: 0o600 });
    writeFileSync(
      name(2),
      Buffer.concat([Buffer.from('starlog-handoff-1\n'), Buffer.from([0, 0, 0, 0, 9, 1, 2])]),
      { mode: 0o600 },
    );
    writeFileSync(name(3), 'x', { mode: 0o644 });
    chmodSync(name(3), 0o666); // writable by others
    mkdirSync(name(4)); // not a file
    const diag = captureDiag();
    const processor = collecting();
    const receiver = await startReceiver({ processor, handoffDir });
    try {
      const s = receiver.stats();
      assert.equal(s.handoff?.invalid, 4);
      assert.equal(s.handoff?.files, 0);
      assert.equal(processor.bodies.length, 0);
      assert.deepEqual(handoffFiles(handoffDir), []);
      const text = diag.messages.join('\n');
      assert.match(text, /wrong magic/);
      assert.match(text, /truncated request/);
      assert.match(text, /writable by group or others/);
      assert.match(text, /not a file/);
    } finally {
      diag.restore();
      await receiver.close();
    }
  });

  test('a hand-off directory the child refuses (a symbolic link): the records go over gRPC', async () => {
    const processor = collecting();
    const receiver = await startReceiver({ processor });
    const link = join(dir, 'link');
    symlinkSync(receiver.stats().handoff?.dir as string, link);
    try {
      const r = await runProcess(NODE, [fixture('short-lived-child.ts')], {
        env: { ...cleanEnv(), ...receiver.env, STARLOG_HANDOFF_DIR: link, N: '20' },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      await until(() => processor.bodies.length >= 20, { what: '20 records over gRPC' });
      assert.equal(receiver.stats().handoff?.files, 0);
    } finally {
      rmSync(link, { force: true });
      await receiver.close();
    }
  });
});
