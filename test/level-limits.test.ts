// Issue 11 item 6: the level table and the Watch streams are bounded. A change over 1,000 rules or
// with a pattern over 256 characters is refused with a message naming the limit and changes
// nothing; the largest table allowed is answered and streamed in full; the primary's environment
// keeps the table as at start (children learn changes over the control channel); Watch streams
// are limited per connection and in total, the oldest idle ones closed first, children served.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { subscribeLevels } from '../src/multiprocess/child/level-subscriber.ts';
import { getLevels, setLevels } from '../src/multiprocess/control/level-client.ts';
import { grpcChannelTarget, parseEndpointAddress } from '../src/multiprocess/protocol/endpoint.ts';
import { LEVEL_WATCH_PATH } from '../src/multiprocess/protocol/level-control.ts';
import { TOKEN_METADATA_KEY } from '../src/multiprocess/protocol/token.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { identity } from '../src/otlp/grpc-methods.ts';
import {
  LevelTable,
  MAX_LEVEL_PATTERN_LENGTH,
  MAX_LEVEL_RULES,
} from '../src/pipeline/level-table.ts';
import { setupLogging } from '../src/setup/setup-logging.ts';
import { CollectingProcessor } from './support/collect.ts';
import { until, within } from './support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'starlog-level-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rules = (n: number, width = 8, from = 0): string =>
  Array.from({ length: n }, (_, i) => `${'p'.repeat(width)}${from + i}=debug`).join(',');

describe('the level table is bounded', () => {
  test('over 1,000 rules or a 257-character pattern: refused, naming the limit; nothing changes', async () => {
    assert.equal(MAX_LEVEL_RULES, 1000);
    assert.equal(MAX_LEVEL_PATTERN_LENGTH, 256);
    const levels = new LevelTable('info');
    const receiver = await startReceiver({ processor: new CollectingProcessor(), levels });
    const client = { endpoint: receiver.endpoint, token: receiver.env.STARLOG_TOKEN };
    try {
      // the largest table: 1,000 rules of 250-character patterns (≈ 257 KB, beyond the old 64 KiB)
      const big = rules(1000, 246);
      const state = await setLevels({ ...client, spec: big, replace: true });
      assert.equal(state.spec.length > 250_000, true);
      assert.equal((await getLevels(client)).spec, levels.toString());
      const follower = new LevelTable('info');
      const sub = subscribeLevels(follower, receiver.env);
      assert.equal(await sub.ready, true, 'a child follows the largest table');
      assert.equal(follower.toString(), levels.toString());
      sub.close();

      const before = { spec: levels.toString(), version: levels.version };
      await assert.rejects(setLevels({ ...client, spec: 'one.more=warn' }), (err: Error) => {
        assert.match(err.message, /at most 1000 rules/);
        return true;
      });
      await assert.rejects(
        setLevels({ ...client, spec: `${'x'.repeat(257)}=warn`, replace: true }),
        (err: Error) => {
          assert.match(err.message, /at most 256 characters/);
          return true;
        },
      );
      assert.deepEqual({ spec: levels.toString(), version: levels.version }, before);
      assert.equal(receiver.stats().levels?.invalidSets, 2);
    } finally {
      await receiver.close();
    }
  });

  test("the primary's environment keeps the table as at start", async () => {
    const start = process.env.STARLOG_LEVEL;
    const handle = await setupLogging({
      config: false,
      console: false,
      file: { path: join(dir, 'out.jsonl') },
      levels: 'info',
    });
    try {
      assert.equal(process.env.STARLOG_LEVEL, 'info');
      for (let i = 0; i < 20; i++) await handle.setLevels(rules(50, 8, i * 50));
      assert.equal(handle.levels.get().rules.length, 1000);
      assert.equal(process.env.STARLOG_LEVEL, 'info', 'no copy of the grown table');
    } finally {
      await handle.shutdown();
      if (start === undefined) delete process.env.STARLOG_LEVEL;
      else process.env.STARLOG_LEVEL = start;
    }
  });
});

/** A raw Watch stream; `ended` resolves with its final status code. */
function watch(client: Client, token: string): { ended: Promise<number>; messages: () => number } {
  const metadata = new Metadata();
  metadata.set(TOKEN_METADATA_KEY, token);
  let messages = 0;
  const call = client.makeServerStreamRequest(
    LEVEL_WATCH_PATH,
    identity,
    identity,
    Buffer.alloc(0),
    metadata,
  );
  call.on('data', () => {
    messages++;
  });
  const ended = new Promise<number>((resolve) => {
    call.on('error', (err: ServiceError) => resolve(err.code));
    call.on('status', (s) => {
      if (s.code === status.OK) resolve(s.code);
    });
  });
  return { ended, messages: () => messages };
}

describe('Watch streams are bounded', () => {
  test('per connection and in total; the oldest idle go first; a child is always served', async () => {
    const levels = new LevelTable('info');
    const receiver = await startReceiver({
      processor: new CollectingProcessor(),
      levels,
      maxLevelWatchers: 4,
      maxLevelWatchersPerConnection: 2,
    });
    const token = receiver.env.STARLOG_TOKEN;
    const target = grpcChannelTarget(parseEndpointAddress(receiver.endpoint));
    // distinct channel options: grpc-js would otherwise share one connection between the clients
    const a = new Client(target, credentials.createInsecure(), { 'grpc.primary_user_agent': 'a' });
    const b = new Client(target, credentials.createInsecure(), { 'grpc.primary_user_agent': 'b' });
    const watchers = () => receiver.stats().levels!;
    try {
      const a1 = watch(a, token);
      await until(() => a1.messages() === 1, { what: 'the first stream on connection a' });
      const a2 = watch(a, token);
      await until(() => a2.messages() === 1, { what: 'the second stream on connection a' });
      const a3 = watch(a, token); // over 2 on this connection: a1 (its oldest) is closed
      assert.equal(
        await within(a1.ended, { what: 'the oldest stream of connection a to be closed' }),
        status.RESOURCE_EXHAUSTED,
      );
      await until(() => a3.messages() === 1, { what: 'the third stream on connection a' });
      const b1 = watch(b, token);
      await until(() => b1.messages() === 1, { what: 'a stream on connection b' });
      const b2 = watch(b, token);
      await until(() => b2.messages() === 1, { what: 'the second stream on connection b' });
      assert.deepEqual([watchers().watchers, watchers().watchersClosed], [4, 1]);

      // the total is reached: a child (its own connection) is still served, the oldest idle
      // stream of a connection holding several (a2) is closed for it
      const follower = new LevelTable('info');
      const sub = subscribeLevels(follower, receiver.env);
      assert.equal(await sub.ready, true, 'the child is served');
      assert.equal(
        await within(a2.ended, { what: 'the oldest idle stream (a2) to be closed' }),
        status.RESOURCE_EXHAUSTED,
      );
      levels.set('warn');
      await until(() => follower.toString() === 'warn', { what: 'the child to follow a change' });
      assert.deepEqual([watchers().watchers, watchers().watchersClosed], [4, 2]);
      sub.close();
    } finally {
      a.close();
      b.close();
      await receiver.close();
    }
  });
});
