/**
 * The token on the level-control channel (`/starlog.v1.LevelControl/*`, served by the receiver on
 * the same socket): every way of getting it wrong, on Get, Set and Watch, with a raw gRPC client.
 * Nothing is read, changed or streamed without the right token; every refusal is counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  LEVEL_GET_PATH,
  LEVEL_SET_PATH,
  LEVEL_WATCH_PATH,
} from '../src/multiprocess/protocol/level-control.ts';
import { generateToken, TOKEN_METADATA_KEY } from '../src/multiprocess/protocol/token.ts';
import { type Receiver, startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { identity } from '../src/otlp/grpc-methods.ts';
import { LevelTable } from '../src/pipeline/level-table.ts';

const processor: LogRecordProcessor = {
  onEmit() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

function metadataOf(entries: [string, string][]): Metadata {
  const m = new Metadata();
  for (const [k, v] of entries) m.add(k, v);
  return m;
}

function unary(
  client: Client,
  path: string,
  body: Buffer,
  metadata: Metadata,
): Promise<{ err: ServiceError | null; reply?: Buffer }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      body,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, reply) => resolve({ err, reply }),
    );
  });
}

/** Opens a Watch stream; resolves with the messages seen and the final status. */
function watch(client: Client, metadata: Metadata): Promise<{ messages: number; code: number }> {
  return new Promise((resolve) => {
    let messages = 0;
    const call = client.makeServerStreamRequest(
      LEVEL_WATCH_PATH,
      identity,
      identity,
      Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + 10_000 },
    );
    call.on('data', () => {
      messages++;
      call.cancel(); // the right token: the first state arrived; stop here
    });
    call.on('error', (err: ServiceError) => resolve({ messages, code: err.code }));
    call.on('status', (s) => {
      if (s.code === status.OK) resolve({ messages, code: s.code });
    });
  });
}

describe('level control: the token', () => {
  let receiver: Receiver;
  let levels: LevelTable;
  let client: Client;
  before(async () => {
    levels = new LevelTable('info,app.db=warn');
    receiver = await startReceiver({ processor, levels });
    client = new Client(receiver.endpoint, credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await receiver.close();
  });

  function wrongTokens(): [string, [string, string][]][] {
    const token = receiver.env.STARLOG_TOKEN;
    return [
      ['missing', []],
      ['empty', [[TOKEN_METADATA_KEY, '']]],
      ['wrong', [[TOKEN_METADATA_KEY, generateToken()]]],
      [
        'right length, one digit off',
        [[TOKEN_METADATA_KEY, token.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))]],
      ],
      ['very long (4 KiB)', [[TOKEN_METADATA_KEY, 'a'.repeat(4096)]]],
      ['right value under another key', [['authorization', token]]],
    ];
  }

  it('Get, Set and Watch answer UNAUTHENTICATED for every wrong token; nothing read, changed or streamed', async () => {
    const before = receiver.stats().rejected.unauthenticated;
    const cases = wrongTokens();
    for (const [name, entries] of cases) {
      const get = await unary(client, LEVEL_GET_PATH, Buffer.alloc(0), metadataOf(entries));
      assert.equal(get.err?.code, status.UNAUTHENTICATED, `Get: ${name}`);
      assert.equal(get.reply, undefined);
      const set = await unary(
        client,
        LEVEL_SET_PATH,
        Buffer.from(JSON.stringify({ spec: 'trace', replace: true })),
        metadataOf(entries),
      );
      assert.equal(set.err?.code, status.UNAUTHENTICATED, `Set: ${name}`);
      const w = await watch(client, metadataOf(entries));
      assert.equal(w.code, status.UNAUTHENTICATED, `Watch: ${name}`);
      assert.equal(w.messages, 0, `Watch: ${name}`);
    }
    assert.equal(levels.toString(), 'info,app.db=warn');
    assert.equal(receiver.stats().rejected.unauthenticated - before, cases.length * 3);
    assert.equal(receiver.stats().levels?.sets, 0);
    assert.equal(receiver.stats().levels?.gets, 0);
  });

  it('with the right token the same calls work (the refusals above were about the token)', async () => {
    const right = metadataOf([[TOKEN_METADATA_KEY, receiver.env.STARLOG_TOKEN]]);
    const get = await unary(client, LEVEL_GET_PATH, Buffer.alloc(0), right);
    assert.equal(get.err, null);
    assert.match(String(get.reply), /app\.db=warn/);
    const set = await unary(
      client,
      LEVEL_SET_PATH,
      Buffer.from(JSON.stringify({ spec: 'app.db=debug' })),
      right,
    );
    assert.equal(set.err, null);
    assert.equal(levels.toString(), 'info,app.db=debug');
    const w = await watch(client, right);
    assert.equal(w.messages, 1);
  });
});
