import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, formatPath } from '../src/config/errors.ts';
import { loadConfig, loadConfigSync, parseConfig, toSetupOptions } from '../src/config/load.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const fixtures = join(root, 'test/fixtures/config');
const tmp = mkdtempSync(join(tmpdir(), 'starlog-config-errors-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The ConfigError thrown for a file's text (the message is the snapshot). */
function errorOf(text: string, format: 'yaml' | 'json' = 'yaml'): ConfigError {
  const file = format === 'json' ? 'starlog.config.json' : 'starlog.config.yaml';
  try {
    parseConfig(text, file, format);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}
const messageOf = (text: string, format: 'yaml' | 'json' = 'yaml') => errorOf(text, format).message;

const LEVELS = 'a level (trace, debug, info, warn, error, fatal, off) or a severity number 1-24';
const DURATION = `a duration like '30s', '5m', '1h' or milliseconds`;
const SIZE = `a size in bytes like 1048576, '64MiB', '10MB' or '512KiB'`;

test('unknown keys at every depth name the key path, the known keys and a likely fix', () => {
  assert.equal(
    messageOf('servce: { name: x }'),
    'starlog.config.yaml:1:1: servce: unknown key (did you mean service?); expected one of service, receiver, levels, status, lookback, view, httpTasks, instrumentations, exporters, shutdownTimeout',
  );
  assert.equal(
    messageOf('service:\n  name: x\n  version: 2'),
    'starlog.config.yaml:3:3: service.version: unknown key; expected one of name, attributes',
  );
  assert.equal(
    messageOf('lookback:\n  maxage: 5m'),
    'starlog.config.yaml:2:3: lookback.maxage: unknown key (did you mean maxAge?); expected one of enabled, capacity, maxAge, flushSeverity, holdSeverity, hold, holdUntraced, maxKeys, maxBytes, followFor, onShutdown',
  );
  assert.equal(
    messageOf('exporters:\n  kafka: {}'),
    'starlog.config.yaml:2:3: exporters.kafka: unknown key; expected one of otlp, file, console',
  );
  assert.equal(
    messageOf('exporters:\n  otlp:\n    endpoint: http://c:4317\n    timeout: 10s'),
    'starlog.config.yaml:4:5: exporters.otlp.timeout: unknown key; expected one of enabled, endpoint, headers, compression, insecure, minimumSeverity, minSeverity',
  );
  assert.equal(
    messageOf('exporters: { file: { rotate: 3 }, console: { colour: true } }'),
    [
      'starlog.config.yaml:1:22: exporters.file.rotate: unknown key; expected one of enabled, path, maxSize, maxFiles, minimumSeverity, minSeverity',
      'starlog.config.yaml:1:46: exporters.console.colour: unknown key (did you mean colors?); expected one of enabled, template, colors, minimumSeverity, minSeverity',
    ].join('\n'),
  );
  assert.equal(
    messageOf('status: { intervall: 1s }\nreceiver: { port: 1 }'),
    [
      'starlog.config.yaml:1:11: status.intervall: unknown key (did you mean interval?); expected one of enabled, interval, template, destination',
      'starlog.config.yaml:2:13: receiver.port: unknown key; expected one of endpoint',
    ].join('\n'),
  );
});

test('wrong types', () => {
  assert.equal(
    messageOf('- a\n- b'),
    'starlog.config.yaml:1:1: expected a mapping (key: value pairs) at the top level, got a list',
  );
  assert.equal(
    messageOf('just text'),
    'starlog.config.yaml:1:1: expected a mapping (key: value pairs) at the top level, got "just text"',
  );
  assert.equal(
    messageOf('service: checkout'),
    'starlog.config.yaml:1:10: service: expected a mapping (key: value pairs), got "checkout"',
  );
  assert.equal(
    messageOf('status: 15s'),
    'starlog.config.yaml:1:9: status: expected a mapping (key: value pairs) or true/false, got "15s"',
  );
  assert.equal(
    messageOf('lookback:\nexporters: [otlp]'),
    [
      'starlog.config.yaml:1:10: lookback: expected a mapping (key: value pairs) or true/false, got null (an empty value)',
      'starlog.config.yaml:2:12: exporters: expected a mapping (key: value pairs), got a list',
    ].join('\n'),
  );
  assert.equal(
    messageOf('service: { name: 42 }'),
    'starlog.config.yaml:1:18: service.name: expected a non-empty string, got 42',
  );
  assert.equal(
    messageOf(`service: { name: '' }`),
    'starlog.config.yaml:1:18: service.name: expected a non-empty string, got ""',
  );
  assert.equal(
    messageOf('status: { enabled: yes }'),
    'starlog.config.yaml:1:20: status.enabled: expected true or false, got "yes"',
  );
  assert.equal(
    messageOf('lookback: { capacity: 0, maxKeys: 1.5 }'),
    [
      'starlog.config.yaml:1:23: lookback.capacity: expected a positive integer, got 0',
      'starlog.config.yaml:1:35: lookback.maxKeys: expected a positive integer, got 1.5',
    ].join('\n'),
  );
  assert.equal(
    messageOf(
      `status: { destination: both }\nlookback: { onShutdown: keep }\nexporters: { otlp: { endpoint: 'http://c:4317', compression: brotli } }`,
    ),
    [
      `starlog.config.yaml:1:24: status.destination: expected one of 'all', 'console', 'file', got "both"`,
      `starlog.config.yaml:2:25: lookback.onShutdown: expected one of 'drop', 'flush', got "keep"`,
      `starlog.config.yaml:3:62: exporters.otlp.compression: expected one of 'gzip', 'none', got "brotli"`,
    ].join('\n'),
  );
  assert.equal(
    messageOf('exporters: { console: { colors: sometimes, template: 5 } }'),
    [
      `starlog.config.yaml:1:33: exporters.console.colors: expected 'auto', true or false, got "sometimes"`,
      'starlog.config.yaml:1:54: exporters.console.template: expected a non-empty template string, got 5',
    ].join('\n'),
  );
  assert.equal(
    messageOf(
      'service:\n  attributes:\n    ok: 1\n    nested: { a: 1 }\n    mixed: [1, a]\n    nothing: null',
    ),
    [
      'starlog.config.yaml:4:13: service.attributes.nested: expected a string, number, boolean or a list of one of them, got a mapping',
      'starlog.config.yaml:5:12: service.attributes.mixed: expected a string, number, boolean or a list of one of them, got a list',
      'starlog.config.yaml:6:14: service.attributes.nothing: expected a string, number, boolean or a list of one of them, got null (an empty value)',
    ].join('\n'),
  );
  assert.equal(
    messageOf('service: { attributes: [a] }'),
    'starlog.config.yaml:1:24: service.attributes: expected a mapping of attribute names to values, got a list',
  );
  assert.equal(
    messageOf(
      `exporters:\n  otlp:\n    endpoint: 'http://c:4317'\n    headers: { 'api key': x, ok: [1], fine: y }`,
    ),
    [
      `starlog.config.yaml:4:16: exporters.otlp.headers["api key"]: expected a header name (letters, digits, '-', '_', '.'), got "api key"`,
      'starlog.config.yaml:4:34: exporters.otlp.headers.ok: expected a string, got a list',
    ].join('\n'),
  );
  assert.equal(
    messageOf(`exporters: { otlp: { endpoint: 'http://c:4317', headers: x } }`),
    'starlog.config.yaml:1:58: exporters.otlp.headers: expected a mapping of header names to values, got "x"',
  );
});

test('bad durations and sizes', () => {
  assert.equal(
    messageOf('lookback:\n  maxAge: 5x'),
    `starlog.config.yaml:2:11: lookback.maxAge: expected ${DURATION}, got "5x"`,
  );
  assert.equal(
    messageOf('lookback: { maxAge: 0, followFor: -1 }'),
    [
      `starlog.config.yaml:1:21: lookback.maxAge: expected ${DURATION}, got 0`,
      `starlog.config.yaml:1:35: lookback.followFor: expected ${DURATION} (0 allowed), got -1`,
    ].join('\n'),
  );
  assert.equal(
    messageOf('status: { interval: 30d }\nshutdownTimeout: 2147483648'),
    [
      `starlog.config.yaml:1:21: status.interval: expected ${DURATION} up to 2147483647 ms (about 24.8 days), got "30d"`,
      `starlog.config.yaml:2:18: shutdownTimeout: expected ${DURATION} up to 2147483647 ms (about 24.8 days), got 2147483648`,
    ].join('\n'),
  );
  assert.equal(
    messageOf('shutdownTimeout: true'),
    `starlog.config.yaml:1:18: shutdownTimeout: expected ${DURATION} up to 2147483647 ms (about 24.8 days), got true`,
  );
  assert.equal(
    messageOf('lookback: { maxBytes: 64 megs }\nexporters: { file: { maxSize: 0 } }'),
    [
      `starlog.config.yaml:1:23: lookback.maxBytes: expected ${SIZE}, got "64 megs"`,
      `starlog.config.yaml:2:31: exporters.file.maxSize: expected ${SIZE}, got 0`,
    ].join('\n'),
  );
  assert.equal(
    messageOf('exporters: { file: { maxFiles: 3 } }'),
    'starlog.config.yaml:1:32: exporters.file.maxFiles: expected exporters.file.maxSize to be set too (files rotate by size), got maxFiles without maxSize',
  );
});

test('bad levels, logger patterns and minimum severities', () => {
  assert.equal(
    messageOf(`levels: 'info,app.db=verbose'`),
    `starlog.config.yaml:1:9: levels: expected ${LEVELS}, got "verbose" in "app.db=verbose"`,
  );
  assert.equal(
    messageOf(`levels: 'info,app..db=debug'`),
    'starlog.config.yaml:1:9: levels: expected a logger name like app.db or a prefix like app.*, got "app..db" in "app..db=debug"',
  );
  assert.equal(
    messageOf('levels: 25'),
    `starlog.config.yaml:1:9: levels: expected ${LEVELS}, got "25" in "25"`,
  );
  assert.equal(
    messageOf('levels: [info]'),
    `starlog.config.yaml:1:9: levels: expected a level list like 'info,app.db=debug' or a mapping like { default: info, app.db: debug }, got a list`,
  );
  assert.equal(
    messageOf(`levels:\n  default: loud\n  'a b': info\n  app: [debug]`),
    [
      `starlog.config.yaml:2:12: levels.default: expected ${LEVELS}, got "loud"`,
      'starlog.config.yaml:3:3: levels["a b"]: expected a logger name like app.db or a prefix like app.*, got the key "a b"',
      `starlog.config.yaml:4:8: levels.app: expected ${LEVELS}, got a list`,
    ].join('\n'),
  );
  assert.equal(
    messageOf(
      'lookback: { flushSeverity: severe }\nexporters:\n  console: { minSeverity: 0 }\n  file: { minSeverity: true }',
    ),
    [
      `starlog.config.yaml:1:28: lookback.flushSeverity: expected ${LEVELS}, got "severe"`,
      `starlog.config.yaml:3:27: exporters.console.minSeverity: expected ${LEVELS}, got 0`,
      `starlog.config.yaml:4:24: exporters.file.minSeverity: expected ${LEVELS}, got true`,
    ].join('\n'),
  );
});

test('bad endpoints and console templates', () => {
  assert.equal(
    messageOf(`receiver: { endpoint: '0.0.0.0:4317' }`),
    `starlog.config.yaml:1:23: receiver.endpoint: expected 'unix', 'unix:///absolute/path.sock', 'tcp' or a loopback 'host:port' like '127.0.0.1:0', got "0.0.0.0:4317"`,
  );
  assert.equal(
    messageOf(`receiver: { endpoint: 'unix://relative.sock' }`),
    `starlog.config.yaml:1:23: receiver.endpoint: expected 'unix', 'unix:///absolute/path.sock', 'tcp' or a loopback 'host:port' like '127.0.0.1:0', got "unix://relative.sock"`,
  );
  assert.equal(
    messageOf(`exporters: { otlp: { endpoint: 'ftp://collector:21' } }`),
    `starlog.config.yaml:1:32: exporters.otlp.endpoint: expected a collector endpoint like 'http://collector:4317', 'https://collector:4317', 'unix:///path/to.sock' or 'host:port', got "ftp://collector:21"`,
  );
  assert.equal(
    messageOf(`exporters: { console: { template: '{time} {message}' } }`),
    'starlog.config.yaml:1:35: exporters.console.template: expected placeholders among {time} {level} {pid} {service} {scope} {body} {attributes} {trace_id} {span_id}, got {message}',
  );
});

test('the collector needs an endpoint from the file or the environment', () => {
  const { config } = parseConfig(
    'exporters: { otlp: { compression: gzip } }',
    'starlog.config.yaml',
  );
  assert.throws(() => toSetupOptions(config, {}, { file: 'starlog.config.yaml' }), {
    name: 'ConfigError',
    message: `starlog.config.yaml: exporters.otlp.endpoint: expected a collector endpoint like 'http://collector:4317' (or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT in the environment), got nothing`,
  });
});

test('YAML syntax errors give line and column', () => {
  // (broken files are written at run time: the linter would reject them as fixtures)
  writeFileSync(
    join(tmp, 'syntax.yaml'),
    'service:\n  name: checkout\nlookback:\n  capacity: 100\n maxAge: 5m\n',
  );
  assert.throws(() => loadConfigSync({ file: 'syntax.yaml', cwd: tmp, env: {} }), {
    name: 'ConfigError',
    file: 'syntax.yaml',
    message: 'syntax.yaml:5:1: YAML syntax error: All mapping items must start at the same column',
  });
  assert.equal(
    messageOf(`status:\n  template: '{time} {body}\n  interval: 5s\n`),
    `starlog.config.yaml:4:1: YAML syntax error: Missing closing 'quote`,
  );
  assert.equal(
    messageOf('service:\n  name: x\n\tlevels: info\n'),
    'starlog.config.yaml:3:1: YAML syntax error: Tabs are not allowed as indentation',
  );
  assert.equal(
    messageOf('service:\n  name: a\n  name: b'),
    'starlog.config.yaml:3:3: YAML syntax error: Map keys must be unique',
  );
  assert.equal(
    messageOf('levels: [info\nstatus: {}'),
    'starlog.config.yaml:2:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
  );
});

test('invalid JSON gives a clear message with line and column; JSON schema errors give key paths', () => {
  writeFileSync(
    join(tmp, 'starlog.config.json'),
    '{\n  "levels": "info",\n  "status": { "interval": "15s" }\n  "lookback": {}\n}\n',
  );
  assert.throws(() => loadConfigSync({ cwd: tmp, env: {} }), {
    name: 'ConfigError',
    file: 'starlog.config.json',
    message: `starlog.config.json:4:3: invalid JSON: Expected ',' or '}' after property value`,
  });
  rmSync(join(tmp, 'starlog.config.json'));
  assert.equal(
    messageOf('{ "lookback": { "maxAge": "5x" }, "extra": 1 }', 'json'),
    [
      `starlog.config.json: lookback.maxAge: expected ${DURATION}, got "5x"`,
      'starlog.config.json: extra: unknown key; expected one of service, receiver, levels, status, lookback, view, httpTasks, instrumentations, exporters, shutdownTimeout',
    ].join('\n'),
  );
  assert.equal(
    messageOf('[1, 2]', 'json'),
    'starlog.config.json: expected a mapping (key: value pairs) at the top level, got a list',
  );
});

test('several problems: one per line, in file order, with .file and .issues', () => {
  const err = (() => {
    try {
      loadConfigSync({ file: join(fixtures, 'several.yaml'), cwd: fixtures, env: {} });
    } catch (e) {
      return e as ConfigError;
    }
    assert.fail('no error');
  })();
  assert.ok(err instanceof ConfigError);
  assert.equal(err.name, 'ConfigError');
  assert.equal(err.file, 'several.yaml');
  assert.equal(
    err.message,
    [
      'several.yaml:4:3: service.nmae: unknown key (did you mean name?); expected one of name, attributes',
      `several.yaml:5:34: levels["app.db"]: expected ${LEVELS}, got "chatty"`,
      `several.yaml:7:11: lookback.maxAge: expected ${DURATION}, got "5x"`,
      `several.yaml:8:13: lookback.maxBytes: expected ${SIZE}, got "64 megs"`,
      `several.yaml:10:22: exporters.console.colors: expected 'auto', true or false, got "sometimes"`,
    ].join('\n'),
  );
  assert.deepEqual(err.issues[2], {
    path: 'lookback.maxAge',
    message: `expected ${DURATION}, got "5x"`,
    line: 7,
    column: 11,
  });
});

test('STARLOG_CONFIG (or the file option) naming a missing file is an error naming it', async () => {
  const missing = join(tmp, 'nope.yaml');
  await assert.rejects(loadConfig({ cwd: tmp, env: { STARLOG_CONFIG: missing } }), {
    name: 'ConfigError',
    file: 'nope.yaml',
    message: 'nope.yaml: expected a configuration file (named by STARLOG_CONFIG), got no such file',
  });
  assert.throws(
    () => loadConfigSync({ cwd: root, env: { STARLOG_CONFIG: '/nonexistent/starlog.yaml' } }),
    {
      message:
        '/nonexistent/starlog.yaml: expected a configuration file (named by STARLOG_CONFIG), got no such file',
    },
  );
  assert.throws(() => loadConfigSync({ cwd: tmp, file: 'missing.json', env: {} }), {
    message: 'missing.json: expected a configuration file, got no such file',
  });
});

test('an unreadable file is an error naming it', { skip: process.getuid?.() === 0 }, async () => {
  const file = join(tmp, 'starlog.config.yaml');
  writeFileSync(file, 'levels: info\n', { mode: 0o000 });
  try {
    await assert.rejects(loadConfig({ cwd: tmp, env: {} }), {
      message: 'starlog.config.yaml: expected a readable configuration file, got EACCES',
    });
  } finally {
    rmSync(file);
  }
});

test('an invalid STARLOG_LEVEL is an environment error', () => {
  assert.throws(() => toSetupOptions(undefined, { STARLOG_LEVEL: 'info,db=loud' }), {
    name: 'ConfigError',
    file: 'environment',
    message: `environment: STARLOG_LEVEL: expected ${LEVELS}, got "loud" in "db=loud"`,
  });
});

test('formatPath quotes keys that are not plain identifiers', () => {
  assert.equal(
    formatPath(['service', 'attributes', 'deployment.environment']),
    'service.attributes["deployment.environment"]',
  );
  assert.equal(
    formatPath(['exporters', 'otlp', 'headers', 'api-key']),
    'exporters.otlp.headers.api-key',
  );
  assert.equal(formatPath(['x', 0, 'y z']), 'x[0]["y z"]');
  assert.equal(formatPath([]), '');
});
