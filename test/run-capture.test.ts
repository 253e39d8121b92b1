/**
 * The line splitting and record making of `starlog run --capture-output`, with the real sdk-logs
 * in-memory exporter behind a Pipeline (as in the primary).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeverityNumber } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  CAPTURE_SCOPE_NAME,
  childResource,
  defaultServiceName,
  LineSplitter,
  OutputCapture,
  SPLIT_ATTRIBUTE,
} from '../src/cli/run/capture.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';

function split(chunks: (string | Buffer)[], max?: number): [string, boolean][] {
  const out: [string, boolean][] = [];
  const s = new LineSplitter((line, isSplit) => out.push([line, isSplit]), max);
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
  s.end();
  return out;
}

describe('LineSplitter', () => {
  test('lines across chunks, CRLF, empty lines skipped, last line without newline', () => {
    assert.deepEqual(split(['a\nb', 'c\r\n\n\r\nd', 'e\n', 'partial']), [
      ['a', false],
      ['bc', false],
      ['de', false],
      ['partial', false],
    ]);
  });

  test('a multi-byte character split between chunks is decoded whole', () => {
    const bytes = Buffer.from('é€😀\n');
    assert.deepEqual(split([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)]), [
      ['é€😀', false],
    ]);
  });

  test('long lines are cut at maxLineBytes, at a character boundary, pieces marked', () => {
    assert.deepEqual(split(['abcdefghij\nxy\n'], 4), [
      ['abcd', true],
      ['efgh', true],
      ['ij', true],
      ['xy', false],
    ]);
    // '€' is 3 bytes: 'a€' + '€' would put the cut inside the second '€'
    assert.deepEqual(split(['a€€b\n'], 5), [
      ['a€', true],
      ['€b', true],
    ]);
    // a line of exactly maxLineBytes is not split
    assert.deepEqual(split(['abcd\n'], 4), [['abcd', false]]);
  });

  test('invalid UTF-8 becomes U+FFFD, and is cut anywhere', () => {
    assert.deepEqual(split([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x0a])], 4), [
      ['\ufffd\ufffd\ufffd\ufffd', true],
      ['\ufffd', true],
    ]);
  });

  test('rejects a tiny maxLineBytes', () => {
    assert.throws(
      () => new LineSplitter(() => {}, 2),
      /maxLineBytes must be an integer >= 4, got 2/,
    );
  });
});

describe('OutputCapture', () => {
  test('stdout lines → INFO, stderr lines → WARN, with the child resource and scope', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const pipeline = new Pipeline({
      stages: [new SimpleLogRecordProcessor({ exporter })],
      levels: 'info',
    });
    const resource = childResource({
      pid: 4242,
      command: '/bin/sh',
      args: ['-c', 'echo a'],
      parentPid: 1,
    });
    const capture = new OutputCapture({ processor: pipeline, resource, maxLineBytes: 8 });
    capture.stdout.push(Buffer.from('hello\n"quoted" \x1b[1m'));
    capture.stderr.push(Buffer.from('oops\n'));
    capture.end();
    await pipeline.forceFlush();
    const records = exporter.getFinishedLogRecords();
    assert.deepEqual(
      records.map((r) => [r.body, r.severityNumber, r.severityText, r.attributes]),
      [
        ['hello', SeverityNumber.INFO, 'INFO', { 'log.iostream': 'stdout' }],
        // 12 bytes without newline: the first 8 leave at once, the rest at end()
        [
          '"quoted"',
          SeverityNumber.INFO,
          'INFO',
          { 'log.iostream': 'stdout', [SPLIT_ATTRIBUTE]: true },
        ],
        ['oops', SeverityNumber.WARN, 'WARN', { 'log.iostream': 'stderr' }],
        [
          ' \x1b[1m',
          SeverityNumber.INFO,
          'INFO',
          { 'log.iostream': 'stdout', [SPLIT_ATTRIBUTE]: true },
        ],
      ],
    );
    for (const r of records) {
      assert.equal(r.instrumentationScope.name, CAPTURE_SCOPE_NAME);
      assert.equal(r.resource, resource);
    }
    assert.deepEqual(resource.attributes, {
      'service.name': 'sh',
      'process.command': '/bin/sh',
      'process.command_args': ['/bin/sh', '-c', 'echo a'],
      'process.executable.name': 'sh',
      'starlog.role': 'child',
      'process.pid': 4242,
      'process.parent_pid': 1,
    });
    assert.deepEqual(capture.stats(), { stdout: 3, stderr: 1, split: 2 });
  });

  test('the level table applies (logger name starlog.capture)', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const pipeline = new Pipeline({
      stages: [new SimpleLogRecordProcessor({ exporter })],
      levels: 'info,starlog.capture=warn',
    });
    const capture = new OutputCapture({
      processor: pipeline,
      resource: childResource({ pid: 1, command: 'x', args: [] }),
    });
    capture.stdout.push(Buffer.from('dropped\n'));
    capture.stderr.push(Buffer.from('kept\n'));
    await pipeline.forceFlush();
    assert.deepEqual(
      exporter.getFinishedLogRecords().map((r) => r.body),
      ['kept'],
    );
  });

  test('a throwing processor is not thrown to the stream', () => {
    const capture = new OutputCapture({
      processor: {
        onEmit() {
          throw new Error('boom');
        },
        forceFlush: async () => {},
        shutdown: async () => {},
      },
      resource: childResource({ pid: 1, command: 'x', args: [] }),
    });
    capture.stdout.push(Buffer.from('a\nb\n'));
    assert.equal(capture.stats().stdout, 2);
  });

  test('service name: the command, or the script of node', () => {
    assert.equal(defaultServiceName('/usr/bin/python3', ['app.py']), 'python3');
    assert.equal(defaultServiceName('node', ['--enable-source-maps', 'dist/server.js']), 'server');
    assert.equal(defaultServiceName('/opt/node/bin/node', ['srv.mts']), 'srv');
    assert.equal(defaultServiceName('node', []), 'node');
  });
});
