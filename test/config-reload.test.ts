import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../src/config/errors.ts';
import { loadConfig, parseConfig, toSetupOptions } from '../src/config/load.ts';
import { diffReloadable, formatReloadReport, reloadConfig } from '../src/config/reload.ts';
import type { SetupOptions } from '../src/options.ts';

const tmp = mkdtempSync(join(tmpdir(), 'starlog-config-reload-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const options = (text: string, env: Record<string, string> = {}): SetupOptions =>
  toSetupOptions(parseConfig(text, 'x.yaml').config, env);

const BASE = `
service: { name: app, attributes: { region: eu } }
receiver: { endpoint: unix }
levels: info
status: { interval: 15s, template: '{TOTAL} records', destination: all }
lookback: { capacity: 100, maxAge: 5m, flushSeverity: error, maxKeys: 10000, maxBytes: 64MiB, followFor: 30s, onShutdown: drop }
exporters:
  otlp: { endpoint: 'http://c:4317', headers: { k: v }, compression: none, insecure: true, minSeverity: info }
  file: { path: /tmp/a.jsonl, maxSize: 10MiB, maxFiles: 3, minSeverity: debug }
  console: { template: '{level} {body}', colors: true, minSeverity: error }
shutdownTimeout: 5s
`;

/** BASE with one line's value replaced. */
function edit(find: string, replace: string): string {
  assert.ok(BASE.includes(find), find);
  return BASE.replace(find, replace);
}

test('no change (also when values are written differently)', () => {
  const before = options(BASE);
  const diff = diffReloadable(before, options(BASE));
  assert.deepEqual(diff, { apply: {}, applied: [], needsRestart: [] });
  assert.equal(formatReloadReport(diff), 'no changes');
  const same = edit('interval: 15s', 'interval: 15000')
    .replace('maxAge: 5m', 'maxAge: 300s')
    .replace('flushSeverity: error', 'flushSeverity: 17')
    .replace('levels: info', 'levels: { default: INFO }')
    .replace('maxBytes: 64MiB', 'maxBytes: 67108864');
  assert.deepEqual(diffReloadable(before, options(same)), {
    apply: {},
    applied: [],
    needsRestart: [],
  });
  // setupLogging options written by hand compare by value too
  assert.deepEqual(
    diffReloadable(
      {
        levels: 'info, app=debug',
        status: { interval: '1m' },
        lookback: { flushSeverity: 'WARN' },
      },
      { levels: 'info,app=debug', status: { interval: 60_000 }, lookback: { flushSeverity: 13 } },
    ),
    { apply: {}, applied: [], needsRestart: [] },
  );
});

test('levels, status interval and template, lookback bounds are applied', () => {
  const before = options(BASE);
  let diff = diffReloadable(before, options(edit('levels: info', `levels: 'warn,app.db=debug'`)));
  assert.deepEqual(diff, {
    apply: { levels: 'warn,app.db=debug' },
    applied: ['levels'],
    needsRestart: [],
  });
  assert.equal(formatReloadReport(diff), 'applied levels');

  diff = diffReloadable(before, options(edit('interval: 15s', 'interval: 1m')));
  assert.deepEqual(diff.apply, {
    status: { interval: 60_000, template: '{TOTAL} records', destination: 'all' },
  });
  assert.deepEqual(diff.applied, ['status.interval']);
  assert.deepEqual(diff.needsRestart, []);

  diff = diffReloadable(
    before,
    options(edit(`template: '{TOTAL} records'`, `template: '{ERROR} errors'`)),
  );
  assert.deepEqual(diff.applied, ['status.template']);
  assert.equal(diff.apply.status?.template, '{ERROR} errors');

  const bounds = edit(
    'capacity: 100, maxAge: 5m, flushSeverity: error, maxKeys: 10000, maxBytes: 64MiB, followFor: 30s, onShutdown: drop',
    'capacity: 50, maxAge: 1m, flushSeverity: warn, maxKeys: 10, maxBytes: 1MiB, followFor: 0, onShutdown: flush',
  );
  diff = diffReloadable(before, options(bounds));
  assert.deepEqual(diff.applied, [
    'lookback.capacity',
    'lookback.maxAge',
    'lookback.flushSeverity',
    'lookback.maxKeys',
    'lookback.maxBytes',
    'lookback.followFor',
    'lookback.onShutdown',
  ]);
  assert.deepEqual(diff.apply, {
    lookback: {
      capacity: 50,
      maxAge: 60_000,
      flushSeverity: 'warn',
      maxKeys: 10,
      maxBytes: 1024 * 1024,
      followFor: 0,
      onShutdown: 'flush',
    },
  });
  assert.deepEqual(diff.needsRestart, []);

  // a key removed from the file goes back to its default: apply holds the complete new options
  diff = diffReloadable(before, options(edit('lookback: { capacity: 100, ', 'lookback: { ')));
  assert.deepEqual(diff.applied, ['lookback.capacity']);
  assert.equal(diff.apply.lookback?.capacity, undefined);
  assert.equal(diff.apply.lookback?.maxKeys, 10_000);

  // levels removed: back to info
  assert.deepEqual(diffReloadable({ levels: 'debug' }, {}).apply, { levels: 'info' });
});

test('receiver endpoint, exporters, service and the rest need a restart', () => {
  const before = options(BASE);
  const cases: [string, string, string[]][] = [
    [
      'receiver: { endpoint: unix }',
      `receiver: { endpoint: '127.0.0.1:0' }`,
      ['receiver.endpoint'],
    ],
    ['name: app', 'name: other', ['service.name']],
    ['region: eu', 'region: us', ['service.attributes']],
    [`endpoint: 'http://c:4317'`, `endpoint: 'http://d:4317'`, ['exporters.otlp.endpoint']],
    ['headers: { k: v }', 'headers: { k: w }', ['exporters.otlp.headers']],
    ['compression: none', 'compression: gzip', ['exporters.otlp.compression']],
    ['insecure: true', 'insecure: false', ['exporters.otlp.insecure']],
    ['minSeverity: info', 'minSeverity: warn', ['exporters.otlp.minSeverity']],
    ['otlp: {', 'otlp: { enabled: false,', ['exporters.otlp.enabled']],
    ['path: /tmp/a.jsonl', 'path: /tmp/b.jsonl', ['exporters.file.path']],
    [
      'maxSize: 10MiB, maxFiles: 3',
      'maxSize: 20MiB, maxFiles: 4',
      ['exporters.file.maxSize', 'exporters.file.maxFiles'],
    ],
    ['minSeverity: debug', 'minSeverity: trace', ['exporters.file.minSeverity']],
    ['file: {', 'file: { enabled: false,', ['exporters.file.enabled']],
    [`template: '{level} {body}'`, `template: '{body}'`, ['exporters.console.template']],
    ['colors: true', 'colors: auto', ['exporters.console.colors']],
    ['minSeverity: error }', 'minSeverity: fatal }', ['exporters.console.minSeverity']],
    ['console: {', 'console: { enabled: false,', ['exporters.console.enabled']],
    ['destination: all', 'destination: console', ['status.destination']],
    ['status: {', 'status: { enabled: false,', ['status.enabled']],
    ['lookback: {', 'lookback: { enabled: false,', ['lookback.enabled']],
    ['shutdownTimeout: 5s', 'shutdownTimeout: 10s', ['shutdownTimeout']],
  ];
  for (const [find, replace, paths] of cases) {
    const diff = diffReloadable(before, options(edit(find, replace)));
    assert.deepEqual(
      diff,
      { apply: {}, applied: [], needsRestart: paths },
      `${find} -> ${replace}`,
    );
  }
  // options the file has no key for
  assert.deepEqual(diffReloadable({}, { role: 'primary', exitHooks: false }).needsRestart, [
    'role',
    'exitHooks',
  ]);
  // a mix: what can be applied is, the rest is reported
  const mixed = diffReloadable(
    before,
    options(edit('levels: info', 'levels: debug').replace('name: app', 'name: other')),
  );
  assert.deepEqual(mixed.apply, { levels: 'debug' });
  assert.deepEqual(mixed.needsRestart, ['service.name']);
  assert.equal(
    formatReloadReport(mixed),
    'applied levels; changed but needs a restart: service.name',
  );
});

test('sections on by default (status, file, console) versus off by default (lookback, collector)', () => {
  assert.deepEqual(diffReloadable({}, { status: {}, file: {}, console: {} }).needsRestart, []);
  assert.deepEqual(diffReloadable({}, { lookback: {} }).needsRestart, ['lookback.enabled']);
  assert.deepEqual(diffReloadable({}, { collector: { endpoint: 'http://c:4317' } }).needsRestart, [
    'exporters.otlp.enabled',
  ]);
  assert.deepEqual(diffReloadable({ lookback: false, collector: false }, {}).needsRestart, []);
  assert.deepEqual(diffReloadable({}, { status: false, file: false }).needsRestart, [
    'status.enabled',
    'exporters.file.enabled',
  ]);
  // status from default to an explicit interval: applied
  assert.deepEqual(diffReloadable({}, { status: { interval: '5s' } }).apply, {
    status: { interval: '5s' },
  });
});

test('STARLOG_LEVEL at start keeps winning over the file on reload', () => {
  const env = { STARLOG_LEVEL: 'warn' };
  const diff = diffReloadable(
    options(BASE, env),
    options(edit('levels: info', 'levels: debug'), env),
  );
  assert.deepEqual(diff.applied, []);
});

test('reloadConfig re-reads the same file with the environment of the start', async () => {
  const file = join(tmp, 'starlog.config.yaml');
  writeFileSync(file, BASE);
  const env = { OTEL_SERVICE_NAME: 'from-env' };
  const first = await loadConfig({ cwd: tmp, env });
  assert.ok(first);
  assert.equal(first.options.serviceName, 'from-env');

  writeFileSync(
    file,
    edit('levels: info', 'levels: debug')
      .replace('interval: 15s', 'interval: 2s')
      .replace('name: app', 'name: renamed'),
  );
  const second = await reloadConfig(first, { cwd: tmp, env });
  assert.equal(second.config?.file, file);
  assert.deepEqual(second.diff.applied, ['levels', 'status.interval']);
  assert.deepEqual(
    second.diff.needsRestart,
    [],
    'OTEL_SERVICE_NAME still wins: no service.name change',
  );
  assert.equal(second.options.levels, 'debug');

  // an invalid file: ConfigError, nothing to apply
  writeFileSync(file, 'levels: loud\n');
  await assert.rejects(reloadConfig(second.config, { cwd: tmp, env }), {
    name: 'ConfigError',
    message:
      'starlog.config.yaml:1:9: levels: expected a level (trace, debug, info, warn, error, fatal, off) or a severity number 1-24, got "loud" in "loud"',
  });
  // the file is gone: an error naming it (it was named by the previous load)
  rmSync(file);
  await assert.rejects(reloadConfig(second.config, { cwd: tmp, env }), ConfigError);
});

test('reloadConfig without a file at start: a file that appears is compared with the defaults', async () => {
  const d = mkdtempSync(join(tmp, 'none-'));
  const first = await loadConfig({ cwd: d, env: {} });
  assert.equal(first, undefined);
  assert.deepEqual((await reloadConfig(first, { cwd: d, env: {} })).diff, {
    apply: {},
    applied: [],
    needsRestart: [],
  });
  writeFileSync(
    join(d, 'starlog.config.json'),
    '{ "levels": "debug", "lookback": { "capacity": 5 } }',
  );
  const result = await reloadConfig(first, { cwd: d, env: {} });
  assert.deepEqual(result.diff.apply, { levels: 'debug' });
  assert.deepEqual(result.diff.needsRestart, ['lookback.enabled']);
  assert.equal(result.config?.file, join(d, 'starlog.config.json'));
});
