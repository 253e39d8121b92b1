/**
 * `starlog tree` reads more than JSON lines: one OTLP/JSON document, pretty-printed (like
 * opentelemetry-proto's `examples/logs.json`; our own fixture test/fixtures/tree/pretty.json), a
 * stream of documents one after another, and says on stderr (exit 1) when nothing could be read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { FIXTURES, starlog } from './support/tree-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'starlog-tree-formats-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const PRETTY = join(FIXTURES, 'pretty.json');

function shownBodies(stdout: string): string[] {
  return [...stdout.matchAll(/(first|second) pretty record/g)].map((m) => m[0]);
}

it('reads one pretty-printed OTLP/JSON document', { timeout: 60_000 }, async () => {
  const r = await starlog(['tree', PRETTY]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(shownBodies(r.stdout), ['first pretty record', 'second pretty record']);
});

it('reads a stream of documents: pretty ones, compact ones, several on one line', {
  timeout: 60_000,
}, async () => {
  const pretty = readFileSync(PRETTY, 'utf8');
  const compact = JSON.stringify(JSON.parse(pretty));
  const path = join(dir, 'stream.json');
  // the same trace three times over: pretty, then two compact documents on one line, then pretty
  writeFileSync(path, `${pretty}${compact}${compact}\n${pretty.trimEnd()}`);
  const r = await starlog(['tree', path]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(shownBodies(r.stdout).length, 8);
});

it('a torn document costs only itself; nothing readable → stderr and exit 1', {
  timeout: 60_000,
}, async () => {
  const compact = JSON.stringify(JSON.parse(readFileSync(PRETTY, 'utf8')));
  const torn = join(dir, 'torn.jsonl');
  writeFileSync(torn, `${compact.slice(0, 100)}\n${compact}\n`);
  const ok = await starlog(['tree', torn]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /torn\.jsonl:1: skipped: invalid JSON/);
  assert.equal(shownBodies(ok.stdout).length, 2);

  const junk = join(dir, 'junk.json');
  writeFileSync(junk, 'not json at all\n{"resourceLogs": [\n');
  const bad = await starlog(['tree', junk]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /junk\.json:1: skipped/);
  assert.match(bad.stderr, /junk\.json:2: skipped: invalid JSON \(an incomplete document/);
  assert.match(bad.stderr, /no log records found/);
});
