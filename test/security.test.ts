/**
 * Security of the receiver: where it listens and who may reach it (file modes, loopback only),
 * the token (every way of getting it wrong), and log injection end to end (a hostile child's
 * records through the pretty console and `starlog tree`, text and HTML).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Metadata, status } from '@grpc/grpc-js';
import { type ReadWriteLogRecord, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { JsonlFileExporter } from '../src/exporters/jsonl-file.ts';
import { PrettyConsoleExporter } from '../src/exporters/pretty-console.ts';
import {
  generateToken,
  TOKEN_METADATA_KEY,
  tokenMatches,
} from '../src/multiprocess/protocol/token.ts';
import { type Receiver, startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { CollectingProcessor } from './support/collect.ts';
import { validRequest } from './support/fuzz/corpus.ts';
import { RawExportClient } from './support/fuzz/driver.ts';
import { CONTROL, NASTY } from './support/fuzz/nasty.ts';
import { type ProcessResult, runProcess } from './support/process.ts';
import { starlog } from './support/tree-cli.ts';

const INJECTION_CHILD = fileURLToPath(
  new URL('./fixtures/fuzz/injection-child.ts', import.meta.url),
);

describe('where the receiver listens', () => {
  it('puts its default socket in a fresh directory only the owner can enter (0700), socket 0600', async () => {
    const receivers: Receiver[] = [];
    try {
      for (let i = 0; i < 2; i++)
        receivers.push(await startReceiver({ processor: new CollectingProcessor() }));
      const dirs = new Set<string>();
      for (const receiver of receivers) {
        const socket = receiver.endpoint.slice('unix://'.length);
        const dir = dirname(socket);
        dirs.add(dir);
        const d = await stat(dir);
        assert.ok(d.isDirectory());
        assert.equal(d.mode & 0o777, 0o700, `${dir} mode ${(d.mode & 0o777).toString(8)}`);
        assert.equal(d.uid, process.getuid?.());
        const s = await stat(socket);
        assert.ok(s.isSocket());
        assert.equal(s.mode & 0o777, 0o600, `${socket} mode ${(s.mode & 0o777).toString(8)}`);
      }
      assert.equal(dirs.size, 2, 'each receiver gets its own directory');
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });

  it('makes an explicitly placed socket 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'starlog-sec-'));
    const receiver = await startReceiver({
      processor: new CollectingProcessor(),
      endpoint: `unix://${join(dir, 'r.sock')}`,
    });
    try {
      assert.equal((await stat(join(dir, 'r.sock'))).mode & 0o777, 0o600);
    } finally {
      await receiver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses every non-loopback TCP address with an error that says why', async () => {
    for (const endpoint of [
      '0.0.0.0:0',
      'http://0.0.0.0:4317',
      '[::]:0',
      'http://[::]:0',
      '192.168.1.10:4317',
      '10.0.0.1:0',
      '172.16.0.5:0',
      '[fe80::1]:0',
      '[::ffff:192.168.1.10]:0',
      '[::ffff:127.0.0.1]:0',
      'example.com:4317',
      '127.0.0.1.nip.io:0',
    ]) {
      await assert.rejects(
        startReceiver({ processor: new CollectingProcessor(), endpoint }),
        (err: Error) => {
          assert.ok(err instanceof TypeError, endpoint);
          assert.match(err.message, /not a loopback address/, endpoint);
          assert.ok(err.message.includes(JSON.stringify(endpoint)), err.message);
          return true;
        },
      );
    }
  });

  it('binds loopback addresses (IPv4, and IPv6 ::1 where the host has it)', async () => {
    for (const endpoint of ['127.0.0.1:0', 'localhost:0', '127.0.0.2:0', '[::1]:0']) {
      let receiver: Receiver;
      try {
        receiver = await startReceiver({ processor: new CollectingProcessor(), endpoint });
      } catch (err) {
        // a host without IPv6 cannot bind ::1; that is the only acceptable failure
        if (endpoint === '[::1]:0' && (err as { code?: string }).code === 'EADDRNOTAVAIL') continue;
        throw err;
      }
      try {
        assert.match(receiver.endpoint, /^http:\/\/(127\.0\.0\.[12]|\[::1\]):\d+$/);
      } finally {
        await receiver.close();
      }
    }
  });
});

describe('compressed requests', () => {
  it('accepts gzip, and refuses a gzip bomb by its inflated size without ingesting anything', async () => {
    const processor = new CollectingProcessor();
    const receiver = await startReceiver({ processor, maxMessageBytes: 1024 * 1024 });
    // grpc-js compresses every message with gzip (algorithm 2), as OTLP exporters may
    const client = new RawExportClient(receiver.endpoint, receiver.env.STARLOG_TOKEN, {
      'grpc.default_compression_algorithm': 2,
    });
    try {
      assert.equal(await client.call(validRequest(['zipped']), 10_000), null);
      assert.deepEqual(
        processor.records.map((r) => r.body),
        ['zipped'],
      );
      // 8 MiB of zeros is about 8 KiB on the wire; inflated it exceeds maxMessageBytes
      const bomb = await client.call(new Uint8Array(8 * 1024 * 1024), 10_000);
      assert.equal(bomb?.code, status.RESOURCE_EXHAUSTED);
      assert.match(bomb?.details ?? '', /decompresses to a size larger than/);
      assert.equal(processor.records.length, 1);
      assert.equal(await client.call(validRequest(['still here']), 10_000), null);
      assert.equal(processor.records.length, 2);
    } finally {
      client.close();
      await receiver.close();
    }
  });
});

describe('the token', () => {
  const processor = new CollectingProcessor();
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver({ processor });
  });
  after(() => receiver.close());

  /** One Export call with the given metadata entries. */
  async function callWith(entries: [string, string][]): Promise<number> {
    const client = new RawExportClient(receiver.endpoint, undefined);
    const metadata = new Metadata();
    for (const [k, v] of entries) metadata.add(k, v);
    try {
      const err = await client.callWithMetadata(validRequest(['secret body']), metadata, 10_000);
      return err === null ? status.OK : err.code;
    } finally {
      client.close();
    }
  }

  it('is random, at least 128 bits of hex, and different for every receiver', async () => {
    const other = await startReceiver({ processor: new CollectingProcessor() });
    try {
      const a = receiver.env.STARLOG_TOKEN;
      const b = other.env.STARLOG_TOKEN;
      assert.match(a, /^[0-9a-f]{32,}$/);
      assert.match(b, /^[0-9a-f]{32,}$/);
      assert.notEqual(a, b);
      // passed to children only through the environment
      assert.equal(receiver.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS, `${TOKEN_METADATA_KEY}=${a}`);
      assert.ok(!receiver.endpoint.includes(a));
    } finally {
      await other.close();
    }
    const many = new Set(Array.from({ length: 1000 }, () => generateToken()));
    assert.equal(many.size, 1000);
  });

  it('every wrong token gets UNAUTHENTICATED, is counted, and nothing is ingested', async () => {
    const token = receiver.env.STARLOG_TOKEN;
    const flipped = token.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const cases: [string, [string, string][]][] = [
      ['missing', []],
      ['wrong', [[TOKEN_METADATA_KEY, generateToken()]]],
      ['right length, one digit off', [[TOKEN_METADATA_KEY, flipped]]],
      ['prefix', [[TOKEN_METADATA_KEY, token.slice(0, 31)]]],
      ['token plus one', [[TOKEN_METADATA_KEY, `${token}0`]]],
      ['empty', [[TOKEN_METADATA_KEY, '']]],
      ['very long (4 KiB)', [[TOKEN_METADATA_KEY, 'f'.repeat(4096)]]],
      ['padded with spaces', [[TOKEN_METADATA_KEY, ` ${token} `]]],
      ['right value under another key', [['authorization', `Bearer ${token}`]]],
      [
        'wrong first, right second',
        [
          [TOKEN_METADATA_KEY, generateToken()],
          [TOKEN_METADATA_KEY, token],
        ],
      ],
    ];
    // (a 32-digit hex token without a letter has probability (10/16)^32 ≈ 3e-7)
    if (token !== token.toUpperCase())
      cases.push(['upper case', [[TOKEN_METADATA_KEY, token.toUpperCase()]]]);
    const before = receiver.stats();
    for (const [name, entries] of cases) {
      assert.equal(await callWith(entries), status.UNAUTHENTICATED, name);
    }
    const stats = receiver.stats();
    assert.equal(stats.rejected.unauthenticated - before.rejected.unauthenticated, cases.length);
    assert.equal(stats.records, 0);
    assert.equal(processor.records.length, 0);
    assert.deepEqual(stats.children, {});
    // and the right token is accepted
    assert.equal(await callWith([[TOKEN_METADATA_KEY, token]]), status.OK);
    assert.equal(processor.records.length, 1);
    processor.records.length = 0;
  });

  it('a token larger than gRPC allows for metadata is refused before the handler, nothing ingested', async () => {
    const code = await callWith([[TOKEN_METADATA_KEY, 'f'.repeat(64 * 1024)]]);
    assert.notEqual(code, status.OK);
    assert.equal(processor.records.length, 0);
    // the receiver keeps serving
    assert.equal(await callWith([[TOKEN_METADATA_KEY, receiver.env.STARLOG_TOKEN]]), status.OK);
    processor.records.length = 0;
  });

  it('the comparison never throws, whatever the lengths and encodings', () => {
    const token = generateToken();
    const expected = Buffer.from(token);
    for (const given of [
      undefined,
      '',
      'a',
      token.slice(1),
      `${token}a`,
      'f'.repeat(100_000),
      'é'.repeat(16), // 32 UTF-8 bytes, 16 characters: same byte length, different value
      '\u0000'.repeat(32),
      Buffer.alloc(0),
      Buffer.alloc(32),
      Buffer.from(token.toUpperCase()),
    ]) {
      assert.equal(tokenMatches(expected, given), false, JSON.stringify(given));
    }
    assert.equal(tokenMatches(expected, token), true);
    assert.equal(tokenMatches(expected, Buffer.from(token)), true);
  });
});

/** A Writable that keeps everything written to it. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function runChild(env: Record<string, string>): Promise<ProcessResult> {
  return runProcess(process.execPath, [INJECTION_CHILD], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
  });
}

function assertNoControl(text: string, what: string): void {
  text.split('\n').forEach((line, i) => {
    const m = CONTROL.exec(line);
    assert.equal(
      m,
      null,
      `${what} line ${i + 1} has U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')}: ${JSON.stringify(line)}`,
    );
  });
}

describe('log injection from a hostile child', () => {
  let dir: string;
  let jsonl: string;
  let plain: string;
  let coloured: string;
  let received: ReadWriteLogRecord[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'starlog-inject-'));
    jsonl = join(dir, 'logs.jsonl');
    const plainOut = capture();
    const colourOut = capture();
    const file = new JsonlFileExporter({ path: jsonl });
    const collect = new CollectingProcessor();
    const pipeline = new Pipeline({
      levels: 'trace',
      stages: [
        collect,
        new SimpleLogRecordProcessor({
          exporter: new PrettyConsoleExporter({ stream: plainOut.stream, colors: false }),
        }),
        new SimpleLogRecordProcessor({
          exporter: new PrettyConsoleExporter({ stream: colourOut.stream, colors: true }),
        }),
        new SimpleLogRecordProcessor({ exporter: file }),
      ],
    });
    const receiver = await startReceiver({ processor: pipeline });
    try {
      const result = await runChild(receiver.env as unknown as Record<string, string>);
      assert.equal(result.code, 0, result.stderr);
      const sent = Number(/SENT (\d+)/.exec(result.stdout)?.[1]);
      assert.equal(sent, NASTY.length + 1);
    } finally {
      await receiver.close();
      await pipeline.shutdown();
    }
    received = collect.records;
    plain = plainOut.text();
    coloured = colourOut.text();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the child really sent the raw sequences (they reach the primary unchanged)', () => {
    const bodies = received.map((r) => r.body);
    for (const text of NASTY) assert.ok(bodies.includes(text), JSON.stringify(text));
    assert.ok(received.length >= NASTY.length + 1);
  });

  it('pretty console: one line per record and no raw control character at all', () => {
    assert.ok(plain.endsWith('\n'));
    const lines = plain.slice(0, -1).split('\n');
    assert.equal(lines.length, received.length, plain);
    assertNoControl(plain, 'console');
    // each hostile body is shown, escaped
    assert.ok(plain.includes('\\x1b[31mRED\\x1b[0m'));
    assert.ok(plain.includes('\\x1b]0;pwned title\\x07'));
    assert.ok(plain.includes('line1\\n2026-01-01T00:00:00.000Z ERROR'));
    assert.ok(plain.includes('bidi \\u202eevil\\u202c'));
    assert.ok(plain.includes('nul\\0byte'));
    assert.ok(plain.includes('c1 \\x9b31m'));
    // no line starts with a forged timestamp
    assert.equal(lines.filter((l) => l.startsWith('2026-01-01T00:00:00.000Z')).length, 0);
  });

  it('pretty console with colours: the only escape sequences are its own SGR colours', () => {
    const lines = coloured.slice(0, -1).split('\n');
    assert.equal(lines.length, received.length);
    const stripped = coloured.replace(/\x1b\[[0-9;]*m/g, '');
    assertNoControl(stripped, 'coloured console');
    assert.equal(stripped, plain);
  });

  it('starlog tree (text): no raw control characters, the hostile text escaped', async () => {
    for (const args of [
      [jsonl, '--all', '--no-color'],
      [jsonl, '--all', '--stack', '--no-color'],
    ]) {
      const r = await starlog(['tree', ...args]);
      assert.equal(r.code, 0, r.stderr);
      assertNoControl(r.stdout, `tree ${args.join(' ')}`);
      assert.ok(r.stdout.includes('\\x1b[31mRED'), r.stdout);
      assert.ok(r.stdout.includes('\\u202e'), r.stdout);
      assertNoControl(r.stderr, 'tree stderr');
    }
    const coloured = await starlog(['tree', jsonl, '--all', '--color']);
    assert.equal(coloured.code, 0);
    assertNoControl(coloured.stdout.replace(/\x1b\[[0-9;]*m/g, ''), 'tree --color');
  });

  it('starlog tree --html: HTML-escaped, no raw <script> from a body, no control characters', async () => {
    const out = join(dir, 'tree.html');
    const r = await starlog(['tree', jsonl, '--all', '--html', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = await readFile(out, 'utf8');
    assertNoControl(html, 'html');
    assert.ok(!html.includes('<script>alert'), 'raw <script> from a body');
    assert.ok(!html.includes('<b>bold</b>'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    // exactly one <script> element: the page's own
    assert.equal(html.match(/<script/g)?.length, 1);
  });
});
