import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LevelTable, parseLevelSpec } from '../src/pipeline/level-table.ts';

test('default level and patterns: most specific wins', () => {
  const t = new LevelTable('warn,app.*=info,app.db=debug,app.db.pool=error,noisy=off');
  assert.equal(t.minSeverity('other'), 13);
  assert.equal(t.minSeverity('app'), 9);
  assert.equal(t.minSeverity('app.http'), 9);
  assert.equal(t.minSeverity('app.db'), 5);
  assert.equal(t.minSeverity('app.db.query'), 5, 'app.db covers its descendants');
  assert.equal(t.minSeverity('app.db.pool'), 17);
  assert.equal(t.minSeverity('application'), 13, 'app.* does not match application');
  assert.equal(t.enabled('noisy', 24), false);
  assert.equal(t.enabled('other', 0), true, 'UNSPECIFIED always passes');
  assert.equal(t.enabled('other', undefined), true);
  assert.equal(t.enabled('app.db', 5), true);
  assert.equal(t.enabled('app.db', 4), false);
});

test('level names, aliases and numbers', () => {
  assert.equal(new LevelTable('trace').minSeverity('x'), 1);
  assert.equal(new LevelTable('WARNING').minSeverity('x'), 13);
  assert.equal(new LevelTable('critical').minSeverity('x'), 21);
  assert.equal(new LevelTable('10').minSeverity('x'), 10);
  assert.equal(new LevelTable('').minSeverity('x'), 9, 'empty string keeps the info default');
  assert.equal(new LevelTable('*=error').minSeverity('x'), 17);
});

test('bad specs are rejected with a message that names them, and leave the table as it was', () => {
  const t = new LevelTable('info,app=debug');
  assert.throws(() => t.set('info,app.db=loud'), /unknown level 'loud' in 'app.db=loud'/);
  assert.throws(() => t.set('verbose'), /unknown level 'verbose'/);
  assert.throws(() => t.set('info,a..b=debug'), /malformed logger pattern 'a..b'/);
  assert.throws(() => t.set('info,=debug'), /malformed logger pattern ''/);
  assert.throws(() => t.set('info,app=25'), /unknown level '25'/);
  assert.equal(t.toString(), 'info,app=debug');
  assert.equal(t.version, 0);
});

test('set() replaces the table, bumps the version, clears the cache and notifies', () => {
  const t = new LevelTable('info');
  const seen: string[] = [];
  const off = t.onChange((table) => seen.push(table.toString()));
  assert.equal(t.minSeverity('app'), 9);
  t.set('error,app=debug');
  assert.equal(t.version, 1);
  assert.equal(t.minSeverity('app'), 5);
  assert.equal(t.minSeverity('x'), 17);
  off();
  t.set('info');
  assert.deepEqual(seen, ['error,app=debug']);
});

test('parseLevelSpec round-trips through toString', () => {
  const spec = parseLevelSpec('debug,a.b=warn,c.*=off');
  assert.deepEqual(spec, {
    defaultMinSeverity: 5,
    rules: [
      { pattern: 'a.b', minSeverity: 13 },
      { pattern: 'c.*', minSeverity: Number.POSITIVE_INFINITY },
    ],
  });
  assert.equal(new LevelTable(spec).toString(), 'debug,a.b=warn,c.*=off');
});
