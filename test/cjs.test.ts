import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/require-starlog.cjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

test('a .cjs file can require("starlog") (the built package, through require(esm))', () => {
  assert.ok(existsSync(dist), 'dist/index.js missing: npm test builds it first (pretest)');
  const out = execFileSync(process.execPath, [fixture], { encoding: 'utf8' });
  const result = JSON.parse(out) as { names: string[]; getLogger: string };
  assert.equal(result.getLogger, 'function');
  for (const name of ['getLogger', 'Pipeline', 'LevelTable']) {
    assert.ok(result.names.includes(name), `${name} is exported to CommonJS`);
  }
});
