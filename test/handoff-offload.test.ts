/**
 * `HandoffOffloads` (src/export/handoff-offload.ts) on a real directory, without a primary: a
 * batch counts as delivered only once its file is gone (not while a primary holds it claimed), a
 * file nobody claimed by its deadline is taken back (deleted, the batch retried), and the wait
 * for the oldest file ends when it is ingested or after its bound.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { HandoffOffloads } from '../src/export/handoff-offload.ts';

const root = mkdtempSync(join(tmpdir(), 'starlog-handoff-offload-'));
after(() => rmSync(root, { recursive: true, force: true }));
const files = (d: string) => readdirSync(d).filter((n) => n.includes('handoff-'));

test('delivered once the file is gone, not while it is claimed; taken back after its deadline', () => {
  const dir = mkdtempSync(join(root, 'd-'));
  const offloads = new HandoffOffloads(dir);
  const outcomes: boolean[] = [];
  try {
    assert.equal(
      offloads.post(new Uint8Array([1, 2, 3]), 60_000, (ok) => outcomes.push(ok)),
      true,
    );
    // told apart by when they appear: two names written in the same millisecond sort by their
    // random part, not by the order they were posted in
    const [first] = files(dir);
    assert.equal(
      offloads.post(new Uint8Array([4]), 0, (ok) => outcomes.push(ok)),
      true,
    );
    const second = files(dir).find((n) => n !== first);
    assert.ok(first && second, `two files written: ${files(dir)}`);
    // a primary claims the first one (its rename) and is still ingesting it
    const claimed = join(dir, `.${first}.4242.claimed`);
    renameSync(join(dir, first), claimed);
    // the second one's deadline (0 ms) has passed and nobody claimed it: taken back
    offloads.read();
    assert.deepEqual(outcomes, [false], 'the unclaimed file past its deadline is taken back');
    assert.deepEqual(files(dir), [basename(claimed)], 'the taken-back file is deleted');
    assert.equal(offloads.size, 1);
    // the primary has ingested and deleted the first one
    unlinkSync(claimed);
    offloads.read();
    assert.deepEqual(outcomes, [false, true]);
    assert.equal(offloads.size, 0);
  } finally {
    offloads.close();
  }
});

test('awaitOldest ends after its bound while nobody ingests, and at once when the file goes', () => {
  const dir = mkdtempSync(join(root, 'w-'));
  const offloads = new HandoffOffloads(dir);
  let delivered = 0;
  try {
    offloads.post(new Uint8Array([1]), 60_000, (ok) => {
      if (ok) delivered++;
    });
    const t0 = performance.now();
    assert.equal(offloads.awaitOldest(50), false, 'nothing ingested');
    const waited = performance.now() - t0;
    assert.ok(waited >= 45 && waited < 5000, `waited ${waited} ms for a 50 ms bound`);
    for (const f of files(dir)) unlinkSync(join(dir, f));
    assert.equal(offloads.awaitOldest(5000), true, 'the file is gone');
    assert.equal(delivered, 1);
  } finally {
    offloads.close();
  }
});

test('a directory that cannot be written: post() returns false and calls nothing', () => {
  const offloads = new HandoffOffloads(join(root, 'missing'));
  let called = false;
  assert.equal(
    offloads.post(new Uint8Array([1]), 1000, () => {
      called = true;
    }),
    false,
  );
  assert.equal(offloads.size, 0);
  assert.equal(called, false);
});

test('close() takes back the files nobody claimed (given up at shutdown) and leaves a claimed one', () => {
  const dir = mkdtempSync(join(root, 'd-'));
  const offloads = new HandoffOffloads(dir, 4242);
  const outcomes: boolean[] = [];
  assert.equal(
    offloads.post(new Uint8Array([1]), 60_000, (ok) => outcomes.push(ok)),
    true,
  );
  const [first] = files(dir);
  assert.ok(first, 'a file written');
  assert.equal(
    offloads.post(new Uint8Array([2]), 60_000, (ok) => outcomes.push(ok)),
    true,
  );
  // the primary it is addressed to claims the first one and is still ingesting it
  const claimed = `.${first}.4242.claimed`;
  renameSync(join(dir, first), join(dir, claimed));
  offloads.close();
  assert.deepEqual(
    files(dir),
    [claimed],
    'the unclaimed file is taken back, the claimed one stays',
  );
  assert.equal(offloads.size, 0);
  assert.deepEqual(
    outcomes,
    [],
    'the batches were settled by the queue already: nothing is called',
  );
});
