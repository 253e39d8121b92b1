import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  findConfigFile,
  loadConfig,
  loadConfigSync,
  parseConfig,
  parseKeyValueList,
  toSetupOptions,
} from '../src/config/load.ts';
import type { SetupOptions } from '../src/options.ts';
import { LevelTable } from '../src/pipeline/level-table.ts';
import { parseSize } from '../src/util/size.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const example = join(root, 'examples/config/starlog.config.yaml');
const fixtures = join(root, 'test/fixtures/config');

const tmp = mkdtempSync(join(tmpdir(), 'starlog-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
/** A fresh directory holding the given files. */
function dir(files: Record<string, string> = {}): string {
  const d = join(tmp, String(dirs++));
  mkdirSync(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

/** What examples/config/starlog.config.yaml maps to (every key of the file). */
function exampleOptions(baseDir: string): SetupOptions {
  return {
    serviceName: 'checkout',
    resourceAttributes: { 'deployment.environment': 'production', 'service.version': '1.4.2' },
    levels: 'info,app.db=debug,app.http=warn',
    endpoint: 'unix',
    status: {
      interval: 30_000,
      template:
        '{TOTAL} records ({ERROR} errors, {WARN} warnings), {requests} requests in {window}',
      destination: 'all',
    },
    lookback: {
      capacity: 200,
      maxAge: 120_000,
      flushSeverity: 'error',
      holdSeverity: 'debug',
      hold: 'debug,app.sql=info',
      holdUntraced: false,
      maxKeys: 5000,
      maxBytes: 32 * 1024 * 1024,
      followFor: 10_000,
      onShutdown: 'flush',
    },
    collector: {
      endpoint: 'http://otel-collector:4317',
      headers: { 'x-tenant': 'checkout' },
      compression: 'gzip',
      insecure: true,
      minimumSeverity: 'trace',
    },
    file: {
      path: join(baseDir, 'logs/checkout.jsonl'),
      maxSize: 100 * 1024 * 1024,
      maxFiles: 10,
      minimumSeverity: 'debug',
    },
    console: {
      template: '{time} {level} {service}/{pid} {scope}: {body} {attributes}',
      minimumSeverity: 'error',
    },
    httpTasks: { entryRecord: false, counters: true },
    instrumentations: { pino: true, winston: true, bunyan: true, keepOutput: false },
    shutdownTimeoutMs: 5000,
  };
}

test('the example file loads cleanly and maps every key to setupLogging options', async () => {
  const loaded = await loadConfig({ file: example, env: {} });
  assert.ok(loaded);
  assert.equal(loaded.file, example);
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(loaded.options, exampleOptions(join(root, 'examples/config')));
  // the raw content is kept as parsed
  assert.equal((loaded.raw as { lookback: { maxBytes: string } }).lookback.maxBytes, '32MiB');
  // the synchronous variant gives the same result
  assert.deepEqual(loadConfigSync({ file: example, env: {} }), loaded);
});

test('a JSON file with the same content maps to the same options', async () => {
  const loaded = await loadConfig({ file: join(fixtures, 'full.json'), env: {} });
  assert.ok(loaded);
  const expected = exampleOptions(fixtures);
  (expected.collector as { minimumSeverity: number | string }).minimumSeverity = 1; // written as 1 there
  assert.deepEqual(loaded.options, expected);
});

test('lookup: STARLOG_CONFIG, else starlog.config.yaml, .yml, .json in the working directory', async () => {
  const yaml = 'service: { name: from-yaml }\n';
  const yml = 'service: { name: from-yml }\n';
  const json = '{ "service": { "name": "from-json" } }';
  const all = dir({
    'starlog.config.yaml': yaml,
    'starlog.config.yml': yml,
    'starlog.config.json': json,
  });
  const name = async (cwd: string, env = {}) =>
    (await loadConfig({ cwd, env }))?.options.serviceName;
  assert.equal(await name(all), 'from-yaml');
  assert.equal(
    await name(dir({ 'starlog.config.yml': yml, 'starlog.config.json': json })),
    'from-yml',
  );
  assert.equal(await name(dir({ 'starlog.config.json': json })), 'from-json');
  // none: no configuration (the defaults apply)
  const empty = dir();
  assert.equal(await loadConfig({ cwd: empty, env: {} }), undefined);
  assert.equal(findConfigFile({ cwd: empty, env: {} }), undefined);
  // STARLOG_CONFIG wins over the lookup; relative to the working directory
  const other = dir({ 'custom.yaml': 'service: { name: from-env }\n' });
  assert.equal(await name(all, { STARLOG_CONFIG: join(other, 'custom.yaml') }), 'from-env');
  assert.equal(await name(other, { STARLOG_CONFIG: 'custom.yaml' }), 'from-env');
  // an empty STARLOG_CONFIG counts as unset
  assert.equal(await name(all, { STARLOG_CONFIG: '' }), 'from-yaml');
  // the file option wins over STARLOG_CONFIG
  const loaded = await loadConfig({
    cwd: all,
    file: 'starlog.config.json',
    env: { STARLOG_CONFIG: join(other, 'custom.yaml') },
  });
  assert.equal(loaded?.options.serviceName, 'from-json');
  assert.equal(loaded?.file, join(all, 'starlog.config.json'));
  // a directory with the file's name is not a configuration file
  const withDir = dir();
  mkdirSync(join(withDir, 'starlog.config.yaml'));
  assert.equal(await loadConfig({ cwd: withDir, env: {} }), undefined);
});

test('an empty file or a file of comments is an empty configuration', () => {
  const d = dir({ 'starlog.config.yaml': '# nothing yet\n' });
  assert.deepEqual(loadConfigSync({ cwd: d, env: {} })?.options, {});
  assert.deepEqual(parseConfig('', 'x.yaml').config, {});
  assert.deepEqual(parseConfig('\ufeffservice: { name: bom }', 'x.yaml').config, {
    service: { name: 'bom' },
  });
});

test('levels: a string, a single level or number, or a mapping; normalized', () => {
  const levels = (text: string) => toSetupOptions(parseConfig(text, 'x.yaml').config, {}).levels;
  assert.equal(levels(`levels: 'info, app.db=DEBUG ,app.*=warn'`), 'info,app.db=debug,app.*=warn');
  assert.equal(levels('levels: warning'), 'warn');
  assert.equal(levels('levels: 10'), '10');
  assert.equal(
    levels('levels: { app.db: debug, default: error, noisy: off }'),
    'error,app.db=debug,noisy=off',
  );
  assert.equal(levels(`levels: { '*': warn, app: 5 }`), 'warn,app=debug');
  assert.equal(levels('levels: { app: trace }'), 'info,app=trace', 'default stays info');
  // the result is a valid level table
  assert.equal(
    new LevelTable(levels('levels: { default: error, app.db: debug }')).minSeverity('app.db.pool'),
    5,
  );
});

test('durations and sizes in every accepted form', () => {
  const cfg = (text: string) => parseConfig(text, 'x.yaml').config;
  assert.deepEqual(cfg('status: { interval: 250ms }').status, { interval: 250 });
  assert.deepEqual(cfg('status: { interval: 1.5s }').status, { interval: 1500 });
  assert.deepEqual(cfg('status: { interval: 2h }').status, { interval: 7_200_000 });
  assert.deepEqual(cfg('status: { interval: 1000 }').status, { interval: 1000 });
  assert.deepEqual(cfg('lookback: { followFor: 0 }').lookback, { followFor: 0 });
  assert.equal(cfg('shutdownTimeout: 2147483647').shutdownTimeout, 2_147_483_647);

  assert.equal(parseSize(1), 1);
  assert.equal(parseSize('100'), 100);
  assert.equal(parseSize('100B'), 100);
  assert.equal(parseSize('10kB'), 10_000);
  assert.equal(parseSize('10KB'), 10_000);
  assert.equal(parseSize('10MB'), 10_000_000);
  assert.equal(parseSize('2GB'), 2_000_000_000);
  assert.equal(parseSize('512KiB'), 512 * 1024);
  assert.equal(parseSize('64 MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('64mib'), 64 * 1024 * 1024);
  assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('1.0001KiB'), 1024, 'rounded down to whole bytes');
  for (const bad of [0, -1, 1.5, '0', '10 megs', '10M', 'MiB', '', '-5MiB', true, null, '1e3']) {
    assert.equal(parseSize(bad), undefined, `parseSize(${JSON.stringify(bad)})`);
  }
  assert.equal(
    cfg('exporters: { file: { maxSize: 10MB, maxFiles: 3 } }').exporters?.file?.maxSize,
    10e6,
  );
});

test('sections: true/false shorthand, enabled: false, absent; colours; paths', () => {
  const options = (text: string, baseDir?: string) =>
    toSetupOptions(parseConfig(text, 'x.yaml').config, {}, { baseDir });
  assert.deepEqual(
    options('status: false\nlookback: true\nexporters: { file: false, console: true }'),
    {
      status: false,
      lookback: {},
      file: false,
      console: {},
    },
  );
  assert.deepEqual(
    options(
      'status: { enabled: false, interval: 1s }\nlookback: { enabled: false }\nexporters: { otlp: { enabled: false }, console: { enabled: false } }',
    ),
    { status: false, lookback: false, collector: false, console: false },
  );
  assert.deepEqual(options('lookback: {}\nstatus: { enabled: true }'), {
    lookback: {},
    status: {},
  });
  assert.deepEqual(options('exporters: { console: { colors: true } }').console, { colors: true });
  assert.deepEqual(options('exporters: { console: { colors: false } }').console, { colors: false });
  assert.deepEqual(options('exporters: { console: { colors: auto } }').console, {});
  // relative file paths resolve against the configuration file's directory; absolute ones stay
  assert.deepEqual(options('exporters: { file: { path: a/b.jsonl } }', '/srv/app').file, {
    path: '/srv/app/a/b.jsonl',
  });
  assert.deepEqual(options('exporters: { file: { path: /var/log/x.jsonl } }', '/srv/app').file, {
    path: '/var/log/x.jsonl',
  });
  assert.deepEqual(options('exporters: { file: { path: a.jsonl } }').file, { path: 'a.jsonl' });
  // receiver endpoints
  for (const endpoint of [
    'unix',
    'tcp',
    'unix:///run/a.sock',
    'unix:/run/a.sock',
    '127.0.0.1:0',
    'localhost:4711',
    '[::1]:4711',
    'http://127.0.0.1:4711',
  ]) {
    assert.equal(options(`receiver: { endpoint: '${endpoint}' }`).endpoint, endpoint);
  }
  // collector endpoints; header values that are numbers become strings
  for (const endpoint of [
    'http://c:4317',
    'https://collector.example.com',
    'unix:///run/otel.sock',
    'collector:4317',
    '10.0.0.5:4317',
  ]) {
    const collector = options(
      `exporters: { otlp: { endpoint: '${endpoint}', headers: { n: 1 } } }`,
    ).collector;
    assert.deepEqual(collector, { endpoint, headers: { n: '1' } });
  }
  // attributes of every allowed type
  assert.deepEqual(
    options('service: { attributes: { s: x, n: 1.5, b: true, l: [a, b], ln: [1, 2] } }')
      .resourceAttributes,
    { s: 'x', n: 1.5, b: true, l: ['a', 'b'], ln: [1, 2] },
  );
  // minimum severities: names are lower-cased, numbers stay numbers
  assert.deepEqual(
    options('exporters: { file: { minSeverity: WARN }, console: { minSeverity: 17 } }'),
    {
      file: { minSeverity: 'warn' },
      console: { minSeverity: 17 },
    },
  );
});

test('env: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override and merge', () => {
  const config = parseConfig(
    'service: { name: file, attributes: { a: from-file, b: 2 } }',
    'x.yaml',
  ).config;
  assert.deepEqual(toSetupOptions(config, { OTEL_SERVICE_NAME: 'env' }), {
    serviceName: 'env',
    resourceAttributes: { a: 'from-file', b: 2 },
  });
  assert.deepEqual(
    toSetupOptions(config, { OTEL_RESOURCE_ATTRIBUTES: 'a=from%20env, c = x%2Cy ,,' })
      .resourceAttributes,
    { a: 'from env', b: 2, c: 'x,y' },
  );
  // without a file
  assert.deepEqual(
    toSetupOptions(undefined, { OTEL_SERVICE_NAME: 'svc', OTEL_RESOURCE_ATTRIBUTES: 'k=v' }),
    {
      serviceName: 'svc',
      resourceAttributes: { k: 'v' },
    },
  );
  // unreadable entries are left out with a warning; empty variables count as unset
  const warnings: string[] = [];
  assert.deepEqual(
    toSetupOptions(
      undefined,
      { OTEL_RESOURCE_ATTRIBUTES: 'ok=1,novalue,bad=%E0%A4%A', OTEL_SERVICE_NAME: ' ' },
      { warnings },
    ),
    { resourceAttributes: { ok: '1' } },
  );
  assert.deepEqual(warnings, [
    'OTEL_RESOURCE_ATTRIBUTES: ignored "novalue": expected key=value',
    'OTEL_RESOURCE_ATTRIBUTES: ignored "bad=%E0%A4%A": the value is not valid percent-encoding',
  ]);
});

test('env: STARLOG_LEVEL replaces levels', () => {
  const config = parseConfig('levels: { default: info, app: debug }', 'x.yaml').config;
  assert.equal(toSetupOptions(config, {}).levels, 'info,app=debug');
  assert.equal(toSetupOptions(config, { STARLOG_LEVEL: 'warn,db=TRACE' }).levels, 'warn,db=trace');
  assert.equal(toSetupOptions(undefined, { STARLOG_LEVEL: 'error' }).levels, 'error');
});

test('env: OTEL_EXPORTER_OTLP_* override the collector; the logs variables win over the generic ones', () => {
  const config = parseConfig(
    `exporters: { otlp: { endpoint: 'http://file:4317', headers: { a: file, b: file }, compression: none, insecure: false, minSeverity: warn } }`,
    'x.yaml',
  ).config;
  const collector = (env: Record<string, string>) => toSetupOptions(config, env).collector;
  assert.deepEqual(collector({}), {
    endpoint: 'http://file:4317',
    headers: { a: 'file', b: 'file' },
    compression: 'none',
    insecure: false,
    minSeverity: 'warn',
  });
  assert.deepEqual(
    collector({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4317',
      OTEL_EXPORTER_OTLP_HEADERS: 'b=generic,c=generic%3D1',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_INSECURE: 'TRUE',
    }),
    {
      endpoint: 'http://generic:4317',
      headers: { a: 'file', b: 'generic', c: 'generic=1' },
      compression: 'gzip',
      insecure: true,
      minSeverity: 'warn',
    },
  );
  assert.deepEqual(
    collector({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4317',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://logs:4317',
      OTEL_EXPORTER_OTLP_HEADERS: 'b=generic,c=generic',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'c=logs',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_INSECURE: 'true',
      OTEL_EXPORTER_OTLP_LOGS_INSECURE: 'false',
    }),
    {
      endpoint: 'https://logs:4317',
      headers: { a: 'file', b: 'generic', c: 'logs' },
      compression: 'gzip',
      insecure: false,
      minSeverity: 'warn',
    },
  );
  // without exporters.otlp in the file, an endpoint in the environment turns the collector on
  assert.deepEqual(
    toSetupOptions(undefined, {
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://c:4317',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'k=v',
    }).collector,
    { endpoint: 'http://c:4317', headers: { k: 'v' } },
  );
  // headers alone do not
  assert.equal(
    toSetupOptions(undefined, { OTEL_EXPORTER_OTLP_HEADERS: 'k=v' }).collector,
    undefined,
  );
  // exporters.otlp.enabled: false wins over the environment
  const off = parseConfig('exporters: { otlp: false }', 'x.yaml').config;
  assert.equal(
    toSetupOptions(off, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).collector,
    false,
  );
  // the environment alone may give the endpoint the file leaves out
  const noEndpoint = parseConfig('exporters: { otlp: { compression: gzip } }', 'x.yaml').config;
  assert.deepEqual(
    toSetupOptions(noEndpoint, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).collector,
    {
      endpoint: 'http://c:4317',
      compression: 'gzip',
    },
  );
});

test('env: invalid OTEL_* values are ignored with a warning (OpenTelemetry environment spec)', () => {
  const config = parseConfig(
    `exporters: { otlp: { endpoint: 'http://file:4317', compression: gzip, insecure: true } }`,
    'x.yaml',
  ).config;
  const warnings: string[] = [];
  const options = toSetupOptions(
    config,
    {
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'ftp://nope',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'br',
      OTEL_EXPORTER_OTLP_LOGS_INSECURE: 'yes',
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_HEADERS: '=x',
    },
    { warnings },
  );
  assert.deepEqual(options.collector, {
    endpoint: 'http://file:4317',
    compression: 'gzip',
    insecure: true,
  });
  assert.deepEqual(warnings, [
    `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: ignored "ftp://nope": expected a gRPC endpoint like 'http://collector:4317'`,
    'OTEL_EXPORTER_OTLP_HEADERS: ignored "=x": expected key=value',
    `OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: ignored "br": expected 'gzip' or 'none'`,
    'OTEL_EXPORTER_OTLP_LOGS_INSECURE: ignored "yes": expected true or false',
    'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: ignored "http/protobuf": starlog forwards to a collector over OTLP/gRPC only',
  ]);
  // an invalid logs variable falls back to the generic one
  const fallback = toSetupOptions(
    config,
    { OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'br', OTEL_EXPORTER_OTLP_COMPRESSION: 'none' },
    { warnings: [] },
  );
  assert.deepEqual(fallback.collector, {
    endpoint: 'http://file:4317',
    compression: 'none',
    insecure: true,
  });
  // warnings also reach a LoadedConfig
  const d = dir({ 'starlog.config.yaml': 'service: { name: x }\n' });
  assert.deepEqual(loadConfigSync({ cwd: d, env: { OTEL_RESOURCE_ATTRIBUTES: 'x' } })?.warnings, [
    'OTEL_RESOURCE_ATTRIBUTES: ignored "x": expected key=value',
  ]);
});

test('parseKeyValueList: trims, percent-decodes values, keeps "=" inside values', () => {
  const warn = (m: string) => assert.fail(m);
  assert.deepEqual(parseKeyValueList('X', ' a = 1 , b=c=d,e=%F0%9F%8C%9F', warn), {
    a: '1',
    b: 'c=d',
    e: '🌟',
  });
  assert.deepEqual(parseKeyValueList('X', '', warn), {});
});

test('the environment is taken from the env option, not process.env', async () => {
  const d = dir({ 'starlog.config.yaml': 'service: { name: from-file }\n' });
  const saved = process.env.OTEL_SERVICE_NAME;
  process.env.OTEL_SERVICE_NAME = 'from-process-env';
  try {
    assert.equal((await loadConfig({ cwd: d, env: {} }))?.options.serviceName, 'from-file');
    assert.equal((await loadConfig({ cwd: d }))?.options.serviceName, 'from-process-env');
  } finally {
    if (saved === undefined) delete process.env.OTEL_SERVICE_NAME;
    else process.env.OTEL_SERVICE_NAME = saved;
  }
});
