import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, starlog } from './support/tree-cli.ts';

const hostA = join(FIXTURES, 'host-a.jsonl');
const hostB = join(FIXTURES, 'host-b.jsonl');

/** Every record body in the fixture files, counted independently of the viewer. */
async function fixtureRecords(files: string[]) {
  const withTrace: string[] = [];
  const without: string[] = [];
  for (const file of files) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line === '') continue;
      for (const rl of JSON.parse(line).resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const r of sl.logRecords) {
            const hasTask = (r.attributes ?? []).some((a: { key: string }) => a.key === 'task.id');
            (r.traceId || hasTask ? withTrace : without).push(r.body.stringValue);
          }
        }
      }
    }
  }
  return { withTrace, without };
}

/** Lines that show a record: offset, severity, body. */
const recordLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => /[+][0-9?.]+s (TRACE|DEBUG|INFO |WARN |ERROR|FATAL|- {4}) /.test(l));

const lineIndex = (lines: string[], re: RegExp) => {
  const i = lines.findIndex((l) => re.test(l));
  assert.ok(i >= 0, `no line matches ${re}`);
  return i;
};

describe('starlog tree (text)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'starlog-tree-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('two hosts in the Collector format: one tree per trace, interleaved processes, nothing dropped', async () => {
    const r = await starlog(['tree', hostA, hostB]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    // trace order by first record; the three traces of the fixtures
    const t1 = lineIndex(
      lines,
      /^trace 5b8efff798038103d269b633813fc60c · .*4 tasks, 2 failed · 3 processes/,
    );
    const t2 = lineIndex(lines, /^trace 0af7651916cd43dd8448eb211c80319c /);
    const t3 = lineIndex(lines, /^trace 4bf92f3577b34da6a3ce929d0e0e4736 /);
    assert.ok(t1 < t2 && t2 < t3);
    // root task, then its children ordered by start time across processes and hosts
    const root = lineIndex(
      lines,
      /^└─ ✗ handle order {2}orders\[101@host-a\] {2}10\.1ms {2}FAILED$/,
    );
    const load = lineIndex(lines, /^ {3}├─ ✓ load customer {2}orders\[101@host-a\] {2}3\.00ms$/);
    const audit = lineIndex(lines, /^ {3}├─ ✓ write audit {2}audit\[201@host-b\] {2}4\.00ms$/);
    const charge = lineIndex(
      lines,
      /^ {3}└─ ✗ charge card {2}orders\[102@host-a\] {2}4\.20ms {2}FAILED$/,
    );
    assert.ok(t1 < root && root < load && load < audit && audit < charge && charge < t2);
    // a record without task.id joins the task with the same span id
    const retry = lineIndex(lines, /│ \+0\.009s INFO {2}retry budget exhausted$/);
    assert.ok(root < retry && retry < load);
    assert.match(r.stdout, /ERROR FAILED charge card — PaymentError: card declined/);
    assert.match(r.stdout, /WARN {2}gateway slow: 2 retries/);
    // every record with a trace or task shows up exactly once
    const { withTrace, without } = await fixtureRecords([hostA, hostB]);
    assert.equal(recordLines(r.stdout).length, withTrace.length);
    assert.equal(without.length, 1);
    assert.match(r.stderr, /1 record outside any task not shown \(use --all\)/);
    assert.doesNotMatch(r.stdout, /listening on :8080/);
    assert.doesNotMatch(r.stdout, /\x1b/, 'no colours when NO_COLOR is set');
  });

  test('--all shows records outside any task per process', async () => {
    const r = await starlog(['tree', '--all', hostA, hostB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^no task · orders\[101@host-a\] · 1 record$/m);
    assert.match(r.stdout, /^ {2}2023-11-14T22:13:20\.032Z INFO {2}listening on :8080$/m);
    assert.doesNotMatch(r.stderr, /outside any task/);
  });

  test('--failed keeps only branches that lead to a failure, with their ancestors', async () => {
    const r = await starlog(['tree', '--failed', hostA, hostB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /└─ ✗ handle order/);
    assert.match(r.stdout, /├─ ✗ charge card/);
    assert.match(r.stdout, /^ {3}└─ \(2 subtasks without failure hidden\)$/m);
    assert.doesNotMatch(r.stdout, /load customer|write audit|nightly report|render/);
    // the orphan branch fails: its placeholders stay as ancestors, the clean span/trace nodes go
    assert.match(r.stdout, /◌ \(missing task 9@4bf92f\/2: no records of its own\)/);
    assert.match(r.stdout, /✗ resize image/);
    assert.doesNotMatch(r.stdout, /span without task|trace-level record/);
    assert.match(r.stderr, /1 trace without failure hidden \(--failed\)/);
  });

  test('--trace selects one trace by id or prefix; an unknown id is an error', async () => {
    const full = await starlog([
      'tree',
      '--trace',
      '0AF7651916CD43DD8448EB211C80319C',
      hostA,
      hostB,
    ]);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stdout, /^trace 0af7651916cd43dd8448eb211c80319c /);
    assert.equal(full.stdout.match(/^trace /gm)?.length, 1);
    assert.match(
      full.stdout,
      /└─ ✓ nightly report[^\n]*\n(.*\n){2} {3}└─ ✓ render {2}orders\[101@host-a\] {2}9\.00ms/,
    );
    const prefix = await starlog(['tree', '--trace', '4bf9', hostA, hostB]);
    assert.equal(prefix.code, 0);
    assert.match(prefix.stdout, /^trace 4bf92f3577b34da6a3ce929d0e0e4736 /);
    assert.doesNotMatch(prefix.stdout, /handle order|nightly/);
    const none = await starlog(['tree', '--trace', 'ffff', hostA]);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /no trace id starts with ffff/);
    const bad = await starlog(['tree', '--trace', 'xyz', hostA]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--trace must be a hex trace id/);
  });

  test('orphans: missing parents become placeholders, span and trace records get their own node', async () => {
    const r = await starlog(['tree', '--trace', '4bf92f', hostB]);
    assert.equal(r.code, 0, r.stderr);
    const expected = [
      'trace 4bf92f3577b34da6a3ce929d0e0e4736 · 2023-11-14T22:13:20.040Z · 3 tasks, 1 failed · 1 process · 5 records',
      '├─ ◌ (missing task 9@4bf92f: no records of its own)',
      '│  └─ ◌ (missing task 9@4bf92f/2: no records of its own)',
      '│     └─ ✗ resize image  audit[201@host-b]  1.50ms  FAILED',
      '│          +0.000s INFO  resize image',
      '│          +0.001s ERROR FAILED resize image — RangeError: bad size',
      '│          +0.002s INFO  exit',
      '├─ ◌ (span cccccccccccccccc: records without task.id)  audit[201@host-b]',
      '│    +0.002s WARN  span without task',
      '└─ ◌ (records with a trace id but no task or span)  audit[201@host-b]',
      '     +0.003s INFO  trace-level record',
      '',
    ];
    assert.equal(r.stdout, expected.join('\n'));
  });

  test('a torn last line is reported with file:line and skipped; the rest is shown', async () => {
    const torn = join(FIXTURES, 'torn.jsonl');
    const r = await starlog(['tree', torn]);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /torn\.jsonl:2: skipped: invalid JSON/);
    assert.equal(r.stderr.match(/skipped/g)?.length, 1);
    assert.match(
      r.stdout,
      /◌ \(missing task 1@5b8eff: no records of its own\)\n {3}└─ ✓ write audit/,
    );
    assert.equal(recordLines(r.stdout).length, 3);
  });

  test('lines that are JSON but not OTLP, and blank lines, are reported or ignored', async () => {
    const file = join(dir, 'mixed.jsonl');
    const good = (await readFile(hostB, 'utf8')).split('\n')[0];
    await writeFile(file, `{"hello":1}\n\n${good}\r\nnull\n[1,2]\n`);
    const r = await starlog(['tree', file]);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /mixed\.jsonl:1: skipped: not an ExportLogsServiceRequest/);
    assert.match(r.stderr, /mixed\.jsonl:4: skipped/);
    assert.match(r.stderr, /mixed\.jsonl:5: skipped/);
    assert.match(r.stdout, /write audit/);
  });

  test('an empty file gives no output and a notice; a missing file is an error', async () => {
    const empty = await starlog(['tree', join(FIXTURES, 'empty.jsonl')]);
    assert.equal(empty.code, 0);
    assert.equal(empty.stdout, '');
    assert.match(empty.stderr, /no log records found/);
    const missing = await starlog(['tree', hostA, join(dir, 'nope.jsonl')]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /cannot read .*nope\.jsonl: ENOENT/);
    const noArgs = await starlog(['tree']);
    assert.notEqual(noArgs.code, 0);
    assert.match(noArgs.stderr, /missing required argument/);
  });

  test('control characters and ANSI in bodies and names are escaped: one record, one line', async () => {
    const ansi = join(FIXTURES, 'ansi.jsonl');
    for (const args of [
      ['tree', ansi],
      ['tree', '--color', ansi],
    ]) {
      const r = await starlog(args);
      assert.equal(r.code, 0, r.stderr);
      // no escape sequence from the input survives (our own colour codes are all ESC [ ... m)
      const foreign = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
      assert.doesNotMatch(foreign, /[\x00-\x09\x0b-\x1f\x7f\u202e]/);
      assert.match(foreign, /✗ evil \\x1b\]0;pwned\\x07task/);
      assert.match(
        foreign,
        /ERROR \\x1b\[31mred\\x1b\[0m line1\\nline2\\r\\u202eevil <script>alert\(1\)<\/script> & "q"$/m,
      );
      assert.equal(recordLines(foreign).length, 3);
    }
    const colored = await starlog(['tree', '--color', ansi]);
    assert.match(colored.stdout, /\x1b\[31m✗/, '--color colours the failure mark');
    const forced = await starlog(['tree', ansi], { NO_COLOR: undefined, FORCE_COLOR: '1' });
    assert.match(forced.stdout, /\x1b\[/);
  });

  test('--stack prints the exception stack under the error record', async () => {
    const r = await starlog(['tree', '--stack', '--trace', '5b8e', hostA]);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /ERROR FAILED charge card — PaymentError: card declined\n.* {4}PaymentError: card declined\n.* {4} {4}at charge \(\/app\/pay\.js:10:5\)/,
    );
  });

  test('--max-body truncates long bodies', async () => {
    const r = await starlog(['tree', '--max-body', '6', '--trace', '5b8e', hostA]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /WARN {2}gatewa…$/m);
    const bad = await starlog(['tree', '--max-body', '0', hostA]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /positive integer/);
  });
});
