/**
 * A planted `.starlog` (issue 11 item 8): in a shared working directory, a `.starlog` symlink, a
 * `.starlog` directory or a temporary record name that another user created must never receive
 * the token; the primary refuses with a message and writes nothing. The `nobody` cases need root
 * and skip with a notice otherwise.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  primaryRecordPath,
  writePrimaryRecord,
} from '../src/multiprocess/control/primary-record.ts';

const NOBODY = 65534;
const record = { endpoint: 'unix:///tmp/x.sock', token: 'cd'.repeat(16) };
const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starlog-planted-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a planted .starlog is refused and receives no token', () => {
  test('.starlog is a symbolic link to another directory', async () => {
    const cwd = mkdtempSync(join(dir, 'link-'));
    const victim = mkdtempSync(join(dir, 'victim-'));
    const mode = statSync(victim).mode & 0o777;
    symlinkSync(victim, join(cwd, '.starlog'));
    await assert.rejects(
      writePrimaryRecord(record, cwd),
      /refusing .*\.starlog: it is a symbolic link; .*not written/,
    );
    assert.deepEqual(readdirSync(victim), [], 'nothing written into the link target');
    assert.equal(statSync(victim).mode & 0o777, mode, 'the target was not chmodded');
  });

  test('.starlog is a regular file', async () => {
    const cwd = mkdtempSync(join(dir, 'file-'));
    writeFileSync(join(cwd, '.starlog'), 'x');
    await assert.rejects(writePrimaryRecord(record, cwd), /it is not a directory/);
  });

  test('a planted temporary record name (a symlink) is replaced, its target untouched', async () => {
    const cwd = mkdtempSync(join(dir, 'tmp-'));
    mkdirSync(join(cwd, '.starlog'), { mode: 0o700 });
    const target = join(dir, `target-${process.pid}`);
    writeFileSync(target, 'keep me');
    symlinkSync(target, `${primaryRecordPath(cwd)}.${process.pid}.tmp`);
    await writePrimaryRecord(record, cwd);
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
    assert.equal(statSync(primaryRecordPath(cwd)).mode & 0o777, 0o600);
  });

  test('our own directory: created 0700, record 0600', async () => {
    const cwd = mkdtempSync(join(dir, 'ok-'));
    await writePrimaryRecord(record, cwd);
    assert.equal(statSync(join(cwd, '.starlog')).mode & 0o777, 0o700);
    assert.equal(statSync(primaryRecordPath(cwd)).mode & 0o777, 0o600);
  });

  test('.starlog belongs to another user (nobody), also as root', async (t) => {
    if (!isRoot) {
      t.skip('needs root to create a directory owned by nobody');
      process.stderr.write('NOTICE primary-record-security: not root, the nobody case skipped\n');
      return;
    }
    const cwd = mkdtempSync(join(dir, 'nobody-'));
    mkdirSync(join(cwd, '.starlog'), { mode: 0o777 });
    chownSync(join(cwd, '.starlog'), NOBODY, NOBODY);
    chmodSync(join(cwd, '.starlog'), 0o777);
    await assert.rejects(
      writePrimaryRecord(record, cwd),
      /belongs to uid 65534, not to this user \(uid 0\)/,
    );
    assert.equal(existsSync(primaryRecordPath(cwd)), false);
    assert.equal(statSync(join(cwd, '.starlog')).mode & 0o777, 0o777, 'not chmodded');
  });
});
