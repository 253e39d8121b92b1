import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordProcessor,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { generateToken, tokenMatches } from '../src/multiprocess/protocol/token.ts';
import { IngestedLogRecord } from '../src/multiprocess/receiver/ingested-log-record.ts';
import {
  OTLP_LOGS_EXPORT_PATH,
  type Receiver,
  startReceiver,
} from '../src/multiprocess/receiver/receiver.ts';
import { CollectingProcessor } from './support/collect.ts';
import { emittedRecord, expectedRecord, receivedRecord } from './support/records.ts';

/** Sends raw bytes to the receiver's Export method, like any gRPC client would. */
function rawExport(
  target: string,
  body: Uint8Array,
  token: string | undefined,
): Promise<ServiceError | null> {
  const client = new Client(target, credentials.createInsecure());
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('x-starlog-token', token);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      OTLP_LOGS_EXPORT_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(body),
      metadata,
      (err) => {
        client.close();
        resolve(err);
      },
    );
  });
}

async function sdkRequest(
  count: number,
  child = 0,
  pid = 777,
): Promise<{ bytes: Uint8Array; records: ReadableLogRecord[] }> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': `svc-${child}`, 'process.pid': pid }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('receiver.test');
  for (let i = 0; i < count; i++) logger.emit(emittedRecord(child, i));
  await provider.forceFlush();
  const records = exporter.getFinishedLogRecords();
  const bytes = ProtobufLogsSerializer.serializeRequest(records);
  assert.ok(bytes);
  return { bytes, records };
}

/** Runs `fn` with `vars` set in process.env (the official exporter reads its configuration there). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function exportWith(
  exporter: OTLPLogExporter,
  records: ReadableLogRecord[],
): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(records, resolve));
}

describe('startReceiver on its default private unix socket', () => {
  const processor = new CollectingProcessor();
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver({ processor });
  });
  after(() => receiver.close());

  it('hands out exactly the environment contract', () => {
    const env = receiver.env;
    assert.deepEqual(Object.keys(env).sort(), [
      'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
      'OTEL_EXPORTER_OTLP_LOGS_HEADERS',
      'OTEL_EXPORTER_OTLP_LOGS_INSECURE',
      'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL',
      'STARLOG_ENDPOINT',
      'STARLOG_HANDOFF_DIR',
      'STARLOG_PRIMARY_PID',
      'STARLOG_TOKEN',
    ]);
    // the hand-off directory of exiting children is the private socket directory (protocol/handoff.ts)
    assert.equal(`unix://${env.STARLOG_HANDOFF_DIR}/receiver.sock`, env.STARLOG_ENDPOINT);
    assert.match(env.STARLOG_ENDPOINT, /^unix:\/\/\/.+\/receiver\.sock$/);
    assert.equal(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, env.STARLOG_ENDPOINT);
    assert.equal(receiver.endpoint, env.STARLOG_ENDPOINT);
    assert.match(env.STARLOG_TOKEN, /^[0-9a-f]{32}$/);
    assert.equal(env.STARLOG_PRIMARY_PID, String(process.pid));
    assert.equal(env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, 'grpc');
    assert.equal(env.OTEL_EXPORTER_OTLP_LOGS_INSECURE, 'true');
    assert.equal(env.OTEL_EXPORTER_OTLP_LOGS_HEADERS, `x-starlog-token=${env.STARLOG_TOKEN}`);
  });

  it('makes the socket directory 0700 and the socket 0600', async () => {
    const socket = receiver.endpoint.slice('unix://'.length);
    const dir = dirname(socket);
    assert.ok(dir.startsWith(join(tmpdir(), 'starlog-')));
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const s = await stat(socket);
    assert.ok(s.isSocket());
    assert.equal(s.mode & 0o777, 0o600);
  });

  it('answers a missing or wrong token with UNAUTHENTICATED and ingests nothing', async () => {
    const { bytes } = await sdkRequest(3);
    const before = receiver.stats().rejected.unauthenticated;
    const none = await rawExport(receiver.endpoint, bytes, undefined);
    assert.equal(none?.code, status.UNAUTHENTICATED);
    const wrong = await rawExport(receiver.endpoint, bytes, generateToken());
    assert.equal(wrong?.code, status.UNAUTHENTICATED);
    const short = await rawExport(receiver.endpoint, bytes, 'abc');
    assert.equal(short?.code, status.UNAUTHENTICATED);
    assert.equal(receiver.stats().rejected.unauthenticated, before + 3);
    assert.equal(processor.records.length, 0);
  });

  it('answers garbage with INVALID_ARGUMENT and still ingests the next valid request', async () => {
    const token = receiver.env.STARLOG_TOKEN;
    const garbage = await rawExport(
      receiver.endpoint,
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]),
      token,
    );
    assert.equal(garbage?.code, status.INVALID_ARGUMENT);
    assert.match(garbage?.details ?? '', /length|truncated/);
    assert.equal(receiver.stats().rejected.invalidArgument, 1);
    const { bytes, records } = await sdkRequest(5, 2, 4321);
    assert.equal(await rawExport(receiver.endpoint, bytes, token), null);
    assert.equal(processor.records.length, 5);
    processor.records.forEach((r, i) => {
      assert.ok(r instanceof IngestedLogRecord);
      assert.deepEqual(r.body, records[i].body);
      assert.deepEqual(r.hrTime, expectedRecord(2, i).hrTime);
    });
    const stats = receiver.stats();
    assert.equal(stats.records, 5);
    assert.equal(stats.children['4321']?.records, 5);
    assert.equal(stats.children['4321']?.requests, 1);
    assert.equal(stats.children['4321']?.serviceName, 'svc-2');
    processor.records.length = 0;
  });

  it('is reachable by the official exporter configured purely from the environment (unix socket)', async () => {
    const { records } = await sdkRequest(4, 1, 999);
    // the exporter reads OTEL_EXPORTER_OTLP_LOGS_INSECURE lazily, at its first export: keep the env set
    const result = await withEnv(receiver.env as unknown as Record<string, string>, async () => {
      const exporter = new OTLPLogExporter();
      try {
        return await exportWith(exporter, records);
      } finally {
        await exporter.shutdown();
      }
    });
    assert.equal(result.code, 0, String(result.error));
    assert.equal(processor.records.length, 4);
    assert.deepEqual(processor.records[3].attributes, receivedRecord(1, 3).attributes);
    processor.records.length = 0;
  });
});

describe('startReceiver limits, processors and TCP', () => {
  it('answers an oversized request with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const processor = new CollectingProcessor();
    const receiver = await startReceiver({ processor, maxMessageBytes: 2048, maxDepth: 4 });
    try {
      const token = receiver.env.STARLOG_TOKEN;
      const big = await sdkRequest(60);
      assert.ok(big.bytes.length > 2048);
      const err = await rawExport(receiver.endpoint, big.bytes, token);
      assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
      // a decoder limit (nesting depth) is RESOURCE_EXHAUSTED too, and counted
      const deep = await sdkRequestWithBody([[[[['deep']]]]]);
      const deepErr = await rawExport(receiver.endpoint, deep, token);
      assert.equal(deepErr?.code, status.RESOURCE_EXHAUSTED);
      assert.equal(receiver.stats().rejected.resourceExhausted, 1);
      const small = await sdkRequest(2);
      assert.equal(await rawExport(receiver.endpoint, small.bytes, token), null);
      assert.equal(processor.records.length, 2);
    } finally {
      await receiver.close();
    }
  });

  it('survives a throwing processor, counts and reports the errors', async () => {
    let seen = 0;
    const processor: LogRecordProcessor = {
      onEmit() {
        seen++;
        if (seen % 2 === 0) throw new Error('processor bug');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const reported: unknown[][] = [];
    const logger: DiagLogger = {
      error: (...args: unknown[]) => reported.push(args),
      warn: () => {},
      info: () => {},
      debug: () => {},
      verbose: () => {},
    };
    diag.setLogger(logger, DiagLogLevel.ERROR);
    const receiver = await startReceiver({ processor });
    try {
      const { bytes } = await sdkRequest(10);
      assert.equal(await rawExport(receiver.endpoint, bytes, receiver.env.STARLOG_TOKEN), null);
      assert.equal(seen, 10);
      const stats = receiver.stats();
      assert.equal(stats.processorErrors, 5);
      assert.equal(stats.records, 10);
      assert.ok(reported.some((args) => String(args[0]).includes('processor.onEmit threw')));
    } finally {
      diag.disable();
      await receiver.close();
    }
  });

  it('binds loopback TCP only, and the official exporter reaches it from the environment', async () => {
    for (const bad of [
      '0.0.0.0:0',
      '192.168.1.10:4317',
      'example.com:4317',
      'http://10.0.0.1:0',
      'https://127.0.0.1:0',
      'unix:relative.sock',
    ]) {
      await assert.rejects(
        startReceiver({ processor: new CollectingProcessor(), endpoint: bad }),
        TypeError,
        bad,
      );
    }
    await assert.rejects(
      startReceiver({ processor: new CollectingProcessor(), token: 'short' }),
      /token/,
    );
    for (const endpoint of ['tcp', '127.0.0.1:0', 'localhost:0']) {
      const processor = new CollectingProcessor();
      const receiver = await startReceiver({ processor, endpoint });
      try {
        assert.match(receiver.endpoint, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
        const { records } = await sdkRequest(3);
        const result = await withEnv(
          receiver.env as unknown as Record<string, string>,
          async () => {
            const exporter = new OTLPLogExporter();
            try {
              return await exportWith(exporter, records);
            } finally {
              await exporter.shutdown();
            }
          },
        );
        assert.equal(result.code, 0, String(result.error));
        assert.equal(processor.records.length, 3);
      } finally {
        await receiver.close();
      }
    }
  });

  it('close() drains, removes the socket directory and is idempotent', async () => {
    const receiver = await startReceiver({ processor: new CollectingProcessor() });
    const dir = dirname(receiver.endpoint.slice('unix://'.length));
    await stat(dir);
    await Promise.all([receiver.close(), receiver.close()]);
    await assert.rejects(stat(dir), { code: 'ENOENT' });
    const err = await rawExport(receiver.endpoint, new Uint8Array(0), receiver.env.STARLOG_TOKEN);
    assert.equal(err?.code, status.UNAVAILABLE);
  });
});

describe('token', () => {
  it('generates 128+ bit hex tokens and compares them', () => {
    const t = generateToken();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.notEqual(generateToken(), t);
    assert.match(generateToken(32), /^[0-9a-f]{64}$/);
    assert.throws(() => generateToken(8), /128/);
    const expected = Buffer.from(t);
    assert.equal(tokenMatches(expected, t), true);
    assert.equal(tokenMatches(expected, `${t}0`), false);
    assert.equal(
      tokenMatches(
        expected,
        t.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
      ),
      false,
    );
    assert.equal(tokenMatches(expected, undefined), false);
    assert.equal(tokenMatches(expected, ''), false);
  });
});

async function sdkRequestWithBody(body: unknown): Promise<Uint8Array> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  provider.getLogger('deep').emit({ body: body as never });
  await provider.forceFlush();
  const bytes = ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords());
  assert.ok(bytes);
  return bytes;
}
